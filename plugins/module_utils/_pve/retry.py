# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Retry a mutating call while the guest is locked, with backoff, up to ``lock_timeout`` seconds."""

from __future__ import annotations

import time

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LOCKED, LxcriError


def with_lock_retry(call, lock_timeout, vmid=None, sleep=time.sleep, clock=time.monotonic, first_delay=0.5, max_delay=5.0, tool="pct"):
    """Run ``call()``; on an ``error_kind: locked`` failure wait and retry until ``lock_timeout`` has passed.

    The final failure is ``locked`` and says how long it waited, how many
    attempts were made and how to clear a stale lock (``<tool> unlock <vmid>``: ``pct`` for a CT, ``qm`` for a VM).
    """
    deadline = clock() + max(0, lock_timeout)
    delay = first_delay
    attempts = 0
    while True:
        attempts += 1
        try:
            return call()
        except LxcriError as exc:
            if exc.error_kind != LOCKED:
                raise
            remaining = deadline - clock()
            if remaining <= 0:
                details = dict(exc.details, attempts=attempts, lock_timeout=lock_timeout)
                hint = ("; if the lock is stale, clear it on the node with '%s unlock %s'" % (tool, vmid)) if vmid else ""
                raise LxcriError("%s (still locked after %d attempt(s) over lock_timeout=%ss%s)" % (exc.msg, attempts, lock_timeout, hint),
                                 LOCKED, cmd=exc.cmd, rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr, details=details) from exc
            sleep(min(delay, remaining))
            delay = min(delay * 2, max_delay)
