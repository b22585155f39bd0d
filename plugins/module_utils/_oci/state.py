# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parse ``state <id>`` and ``list -f json`` of runc and crun into one canonical container dict.

The canonical dict has exactly these keys::

    id, status, pid, bundle, rootfs, created, annotations, owner, runtime, root

``pid`` is an int (0 when no process), ``rootfs`` is absolute (crun prints it
relative to the bundle), ``annotations`` is a dict (runc omits it when empty,
``crun list`` never prints it), ``owner`` is a string (runc's ``state`` prints "").
"""

from __future__ import annotations

import json
import os

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import RUNTIME_ERROR, LxcriError

CREATING = "creating"
CREATED = "created"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"
ABSENT = "absent"

STATUSES = (CREATING, CREATED, RUNNING, PAUSED, STOPPED)

CANONICAL_KEYS = ("id", "status", "pid", "bundle", "rootfs", "created", "annotations", "owner", "runtime", "root")


def canonical(raw, runtime, root):
    """One runtime JSON object (from ``state`` or a ``list`` entry) -> the canonical dict."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw.get("id"):
        raise LxcriError("%s printed a container without an id: %r" % (runtime, raw), RUNTIME_ERROR)
    bundle = raw.get("bundle") or ""
    rootfs = raw.get("rootfs") or ""
    if rootfs and bundle and not os.path.isabs(rootfs):
        rootfs = os.path.join(bundle, rootfs)
    try:
        pid = int(raw.get("pid") or 0)
    except (TypeError, ValueError):
        pid = 0
    annotations = raw.get("annotations")
    return {
        "id": raw["id"],
        "status": str(raw.get("status") or "unknown"),
        "pid": pid,
        "bundle": bundle,
        "rootfs": rootfs,
        "created": str(raw.get("created") or ""),
        "annotations": dict(annotations) if isinstance(annotations, dict) else {},
        "owner": str(raw.get("owner") or ""),
        "runtime": runtime,
        "root": root,
    }


def _load(text, runtime, what):
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LxcriError("%s %s printed something that is not JSON (%s): %r" % (runtime, what, exc, text[:200]), RUNTIME_ERROR) from None


def parse_state(text, runtime, root):
    """The output of ``<runtime> state <id>``."""
    return canonical(_load(text, runtime, "state"), runtime, root)


def parse_list(text, runtime, root):
    """The output of ``<runtime> list -f json``: a JSON array, or ``null`` (runc, no containers), or nothing."""
    if not text.strip():
        return []
    data = _load(text, runtime, "list -f json")
    if data is None:
        return []
    if not isinstance(data, list):
        raise LxcriError("%s list -f json printed %s instead of an array" % (runtime, type(data).__name__), RUNTIME_ERROR)
    return sorted((canonical(item, runtime, root) for item in data), key=lambda item: item["id"])


def public_view(container, record=None):
    """The ``container`` value modules return: canonical keys plus ``config_digest`` and ``managed`` from our record."""
    if not container:
        return {}
    result = dict((key, container.get(key)) for key in CANONICAL_KEYS)
    managed = bool(record) and record.get("created") == container.get("created")
    result["managed"] = managed
    result["config_digest"] = record.get("config_digest") if managed else None
    return result
