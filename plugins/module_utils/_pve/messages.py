# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Proxmox error text -> ``error_kind`` (contract section 3), shared by both transports."""

from __future__ import annotations

import re

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors

_RULES = (
    (errors.LOCKED, re.compile(r"CT is locked|VM is locked|can't lock file .* got timeout|Lost 'create' config lock")),
    (errors.NOT_FOUND, re.compile(r"Configuration file '[^']*' does not exist|no such cluster node|does not exist")),
    (errors.CONFLICT, re.compile(r"already exists on node|detected modified configuration|file change by other user|already running|not running|"
                                 r"protection mode enabled|can't convert a template|is running - destroy failed|container is running")),
    (errors.PERMISSION, re.compile(r"Permission check failed|only allowed for root@pam|Only root can pass|please run as root|"
                                   r"^401|^403|authentication failure|[Cc]ouldn't authenticate", re.MULTILINE)),
    (errors.TIMEOUT, re.compile(r"got timeout|timed out|did not stop")),
    (errors.INVALID_ARGUMENT, re.compile(r"Parameter verification failed|unable to parse option|not enough arguments|too many arguments|"
                                         r"unknown option|unable to (delete|modify) read-only option|does not support container directories|"
                                         r"unable to shrink disk size|invalid format")),
)

# Lines a successful command may print on stderr (not errors).
_HARMLESS = re.compile(r"^(trying to acquire lock\.\.\.( OK)?|\s*OK|Task finished with \d+ warning\(s\)!|WARN(ING)?: .*|"
                       r"cannot delete '[^']*' - not set in current configuration!)\s*$")


_MISSING = re.compile(r"\b(bridge|storage|volume|disk|snapshot|user|group|role) '([^']+)' does not exist|"
                      r"Configuration file '[^']*/(\d+)\.conf' does not exist|no such cluster node '([^']+)'")


def missing(text):
    """What a ``not_found`` error is about: ``{"kind": bridge|storage|template|volume|ct|node|..., "name": ...}`` or None.

    A volume of ``vztmpl`` content is the template; the CT's own config file missing is the CT."""
    match = _MISSING.search(text or "")
    if not match:
        return None
    kind, name, vmid, node = match.groups()
    if vmid:
        return {"kind": "ct", "name": vmid}
    if node:
        return {"kind": "node", "name": node}
    if kind == "volume" and ":vztmpl/" in name:
        kind = "template"
    return {"kind": kind, "name": name}


def classify(text, default=errors.RUNTIME_ERROR):
    text = text or ""
    for kind, pattern in _RULES:
        if pattern.search(text):
            return kind
    return default


def error_lines(stderr):
    """The stderr lines that are real errors (for commands that exit 0 on task failure)."""
    return [line for line in (stderr or "").splitlines() if line.strip() and not _HARMLESS.match(line)]


def error_message(stderr):
    """The error of a failed command: its first error line, and for ``400 Parameter verification failed.``
    the ``field: reason`` lines pct prints after it (before the usage), which name what was refused."""
    first = first_error(stderr)
    if "Parameter verification failed" not in first:
        return first
    lines = (stderr or "").splitlines()
    details = []
    for line in lines[[line.strip() for line in lines].index(first) + 1:]:
        if not line.strip():
            break
        details.append(line.strip())
    return " ".join([first] + details)


def first_error(text):
    for line in (text or "").splitlines():
        if line.strip() and not _HARMLESS.match(line):
            return line.strip()
    return (text or "").strip()
