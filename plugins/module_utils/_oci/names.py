# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation of container names and signal names, before any runtime command runs."""

from __future__ import annotations

import re
import signal

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument

MAX_NAME_LENGTH = 64

# The intersection of what runc ([A-Za-z0-9_+.-], not "." or "..") and crun accept,
# without "+" (the seed project never allowed it and it is awkward in file names).
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")


def validate_name(name, field="name"):
    """Return ``name`` when it is a valid container id, else raise ``invalid_argument``."""
    if not isinstance(name, str) or not name:
        raise invalid_argument(field, "must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise invalid_argument(field, "%r is %d characters long, the limit is %d" % (name, len(name), MAX_NAME_LENGTH))
    if name in (".", ".."):
        raise invalid_argument(field, "%r is not a valid container id" % name)
    if not _NAME_RE.fullmatch(name):
        raise invalid_argument(field, "%r may only contain letters, digits, '_', '.' and '-' (no '/', no spaces)" % name)
    return name


def normalize_signal(value, field="stop_signal"):
    """Return the bare signal name both runtimes accept (``TERM``), from ``SIGTERM``, ``term`` or ``15``."""
    text = str(value).strip()
    if not text:
        raise invalid_argument(field, "must name a signal, for example SIGTERM")
    try:
        if text.isdigit():
            sig = signal.Signals(int(text))
        else:
            upper = text.upper()
            if not upper.startswith("SIG"):
                upper = "SIG" + upper
            sig = signal.Signals[upper]
    except (KeyError, ValueError):
        raise invalid_argument(field, "%r is not a signal name or number known on this host" % (value,)) from None
    return sig.name[3:]
