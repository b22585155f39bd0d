# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for Proxmox tasks (UPIDs) over the API.

Success is ``exitstatus`` ``OK`` or ``WARNINGS: N`` (contract 6.2).  A failure
is classified (a lock becomes ``locked`` so it can be retried); a timeout
names the UPID and the tail of the task log so the user can re-attach.
"""

from __future__ import annotations

import re
import time

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import messages

LOG_TAIL = 15


def upid_node(upid, default=None):
    """The node a UPID ran on (``UPID:<node>:...:``)."""
    parts = str(upid or "").split(":")
    if len(parts) >= 9 and parts[0] == "UPID":
        return parts[1]
    return default


def log_tail(get_log, lines=LOG_TAIL):
    try:
        entries = get_log() or []
    except Exception:  # pylint: disable=broad-except
        return []
    texts = [str(entry.get("t", "")) if isinstance(entry, dict) else str(entry) for entry in entries]
    return texts[-lines:]


def wait(get_status, get_log, upid, timeout, what, poll=0.5, max_poll=2.0, sleep=time.sleep, clock=time.monotonic):
    """Poll ``get_status()`` until the task stops; return the status dict (with ``warnings`` count)."""
    deadline = clock() + timeout
    delay = poll
    while True:
        status = get_status() or {}
        if status.get("status") == "stopped":
            exitstatus = str(status.get("exitstatus", ""))
            warnings = re.match(r"^WARNINGS: (\d+)$", exitstatus)
            if exitstatus == "OK" or warnings:
                status["warnings"] = int(warnings.group(1)) if warnings else 0
                return status
            tail = log_tail(get_log)
            kind = messages.classify(exitstatus, errors.TASK_FAILED)
            details = {"upid": upid, "exitstatus": exitstatus, "task_log_tail": tail}
            if kind == errors.NOT_FOUND and messages.missing(exitstatus):
                details["missing"] = messages.missing(exitstatus)
            raise LxcriError("%s failed: %s" % (what, exitstatus), kind, details=details)
        if clock() >= deadline:
            tail = log_tail(get_log)
            raise LxcriError("%s did not finish within timeout=%ss; task %s is still running (last log lines: %s). "
                             "Raise 'timeout' or follow the task in the Proxmox UI." % (what, timeout, upid, " | ".join(tail) or "none"),
                             errors.TIMEOUT, details={"upid": upid, "task_log_tail": tail})
        sleep(min(delay, max(0.05, deadline - clock())))
        delay = min(delay * 1.5, max_poll)
