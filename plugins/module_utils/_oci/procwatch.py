# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wait for a container's init process to exit by watching ``/proc/<pid>/stat``.

Polling ``/proc`` costs no runtime call; the process start time guards against pid reuse,
and a zombie (``Z``) or dead (``X``) process counts as exited, as it does for runc and crun.
"""

from __future__ import annotations

import time


def process_identity(pid, proc="/proc"):
    """``(state, starttime)`` of ``pid``, or ``None`` when there is no such process."""
    if not pid or pid <= 0:
        return None
    try:
        with open("%s/%d/stat" % (proc, pid)) as handle:
            data = handle.read()
    except (OSError, ValueError):
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    after = data.rfind(")") + 2
    rest = data[after:].split()
    if len(rest) < 20:
        return None
    return rest[0], rest[19]


def is_alive(pid, starttime, proc="/proc"):
    identity = process_identity(pid, proc)
    if identity is None:
        return False
    state, start = identity
    if starttime is not None and start != starttime:
        return False
    return state not in ("Z", "X", "x")


def wait_exit(pid, starttime, timeout, poll=0.05, proc="/proc"):
    """True when the process exited within ``timeout`` seconds."""
    deadline = time.monotonic() + max(timeout, 0)
    while is_alive(pid, starttime, proc):
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)
    return True
