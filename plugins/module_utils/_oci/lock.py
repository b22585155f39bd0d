# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An exclusive per-container ``fcntl.flock`` lock, so two module runs on one container queue up."""

from __future__ import annotations

import errno
import fcntl
import os
import time

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LOCKED, LxcriError


class ContainerLock:
    """``with ContainerLock(path, timeout):`` waits up to ``timeout`` seconds for the lock.

    After locking, the open file must still be the one at ``path``: a holder that
    removed the container unlinks the lock file (``remove()``), and a waiter that
    locked the unlinked file opens the new one and tries again.
    """

    def __init__(self, path, timeout, poll=0.05):
        self.path = path
        self.timeout = timeout
        self.poll = poll
        self.fd = None
        self.waited = 0.0

    def acquire(self):
        start = time.monotonic()
        deadline = start + max(self.timeout, 0)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EACCES):
                            raise
                        if time.monotonic() >= deadline:
                            raise LxcriError(
                                "another run holds the lock %s on this container; gave up after %s s (raise lock_timeout to wait longer)"
                                % (self.path, self.timeout),
                                LOCKED,
                            ) from None
                        time.sleep(self.poll)
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                self.fd = fd
                self.waited = time.monotonic() - start
                return self
            os.close(fd)

    def remove(self):
        """Unlink the lock file while holding it (the container is gone)."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def release(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()
        return False


class NoLock:
    """Check mode takes no lock: it must not create a lock file."""

    waited = 0.0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def remove(self):
        pass
