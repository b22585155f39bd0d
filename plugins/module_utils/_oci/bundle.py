# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An OCI bundle: its checked ``config.json``, the canonical digest of it, and a diff view of its keys."""

from __future__ import annotations

import hashlib
import json
import os

from ansible_collections.lxcri.containers.plugins.module_utils._common import secretmask
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import NOT_FOUND, LxcriError, invalid_argument


def canonical_json(config):
    """The one serialisation digests are taken from: sorted keys, no whitespace."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_digest(config):
    return "sha256:" + hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


class Bundle:
    """A bundle directory whose ``config.json`` parsed and passed the checks a detached create needs."""

    __slots__ = ("path", "config", "digest")

    def __init__(self, path, config):
        self.path = path
        self.config = config
        self.digest = config_digest(config)


def load_bundle(path, field="bundle"):
    """Read and check ``<path>/config.json``; raise before any runtime command runs.

    Checks: the directory and ``config.json`` exist, the file is a JSON object,
    ``root.path`` names an existing directory, and ``process.terminal`` is not
    true (a detached ``create`` without a console socket cannot allocate a tty).
    """
    if not path or not os.path.isabs(path):
        raise invalid_argument(field, "must be an absolute path, got %r" % (path,))
    path = os.path.normpath(path)
    if not os.path.isdir(path):
        raise LxcriError("%s: bundle directory %s does not exist" % (field, path), NOT_FOUND, details={"field": field})
    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        raise LxcriError("%s: %s has no config.json" % (field, path), NOT_FOUND, details={"field": field})
    try:
        with open(config_path, "rb") as handle:
            config = json.loads(handle.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_argument(field, "%s is not valid JSON: %s" % (config_path, exc)) from None
    if not isinstance(config, dict):
        raise invalid_argument(field, "%s must hold a JSON object" % config_path)
    if not isinstance(config.get("ociVersion"), str):
        raise invalid_argument(field, "%s has no ociVersion string" % config_path)
    root = config.get("root")
    if not isinstance(root, dict) or not isinstance(root.get("path"), str) or not root.get("path"):
        raise invalid_argument(field, "%s has no root.path" % config_path)
    rootfs = root["path"] if os.path.isabs(root["path"]) else os.path.join(path, root["path"])
    if not os.path.isdir(rootfs):
        raise LxcriError("%s: root.path %s of %s is not a directory" % (field, rootfs, config_path), NOT_FOUND, details={"field": field})
    process = config.get("process")
    if isinstance(process, dict) and process.get("terminal") is True:
        raise invalid_argument(
            field, "%s sets process.terminal to true; set it to false, a detached create has no console socket to hand a tty to" % config_path
        )
    return Bundle(path, config)


def flatten(config, depth=2):
    """``{"process.args": [...], "linux.namespaces": [...], "hostname": "x"}``: keys down to ``depth`` levels."""
    flat = {}

    def walk(prefix, value, level):
        if isinstance(value, dict) and value and level < depth:
            for key in value:
                walk(prefix + "." + key if prefix else key, value[key], level + 1)
        else:
            flat[prefix] = value

    if isinstance(config, dict):
        for key in config:
            walk(key, config[key], 1)
    return flat


def mask_env(flat):
    """Replace ``process.env`` values by a keyed-hash mask, so a diff never prints secrets passed in the environment."""
    env = flat.get("process.env")
    if not isinstance(env, list):
        return flat
    masked = [secretmask.mask_assignment(item) for item in env]
    result = dict(flat)
    result["process.env"] = masked
    return result
