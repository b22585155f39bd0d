# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sidecar record of what a container was created from, beside the runtime's state root.

runc and crun forget the bundle's config once a container is created, and ``state``
reports nothing that allows comparing it.  So after each create the module writes
``<dirname(root)>/lxcri-oci/<basename(root)>-<hash of root>/<id>.json`` holding the
canonical config, its digest, the bundle and the runtime's ``created`` timestamp.  A
container whose ``created`` differs from the record was recreated behind our back,
and its config is unknown.  The same directory holds ``<id>.lock`` and the runtime's
own ``--log`` file ``<id>.runtime.log``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile

RECORD_VERSION = 1


class RecordPaths:
    """Where the files of one container (``root`` + ``id``) live."""

    def __init__(self, root, name):
        root = os.path.normpath(os.path.abspath(root))
        tag = hashlib.sha256(root.encode("utf-8")).hexdigest()[:12]
        self.root = root
        self.name = name
        self.directory = os.path.join(os.path.dirname(root), "lxcri-oci", "%s-%s" % (os.path.basename(root) or "root", tag))
        self.record = os.path.join(self.directory, name + ".json")
        self.lock = os.path.join(self.directory, name + ".lock")
        self.runtime_log = os.path.join(self.directory, name + ".runtime.log")

    def ensure_directory(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)


def read_record(path):
    """The record dict, or ``None`` when there is none or it cannot be read (then the config is unknown)."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
        return None
    return data


def make_record(runtime, root, name, bundle, created):
    return {
        "version": RECORD_VERSION,
        "id": name,
        "runtime": runtime,
        "root": root,
        "bundle": bundle.path,
        "created": created,
        "config_digest": bundle.digest,
        "config": bundle.config,
    }


def write_record(path, record):
    """Write atomically (temp file + rename), mode 0600: the config may hold secrets in its env."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle, sort_keys=True)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def remove_files(*paths):
    for path in paths:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
