# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Everything the host checks read from the machine, behind one small object.

The checks never touch the host directly: they call a ``Host``.  Unit tests pass a
fake with recorded outputs; the module passes ``LocalHost``, which only reads
(files, ``statfs``/``statvfs``, ``access``) and runs read-only commands.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import struct

# statfs(2) f_type magic numbers (linux/magic.h)
FS_MAGIC = {
    0x63677270: "cgroup2fs",
    0x27E0EB: "cgroupfs",
    0x01021994: "tmpfs",
    0x9FA0: "proc",
    0x62656572: "sysfs",
}

EXTRA_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


class LocalHost:
    """The host this module runs on (in the mount namespace it runs in)."""

    def __init__(self, module):
        self.module = module
        self._libc = None

    def which(self, name):
        search = os.pathsep.join([os.environ.get("PATH", "")] + list(EXTRA_PATH))
        return shutil.which(name, path=search)

    def run(self, argv):
        """(rc, stdout, stderr); a command that cannot start gives rc 127."""
        try:
            return self.module.run_command(list(argv), check_rc=False)
        except OSError as exc:  # pragma: no cover - run_command reports most of these itself
            return 127, "", str(exc)

    def read(self, path):
        """The text of ``path``, or ``None`` when it cannot be read."""
        try:
            with open(path) as handle:
                return handle.read()
        except OSError:
            return None

    def exists(self, path):
        return os.path.exists(path)

    def isdir(self, path):
        return os.path.isdir(path)

    def access(self, path, mode):
        return os.access(path, mode)

    def statvfs(self, path):
        """(free bytes for unprivileged users, total bytes, read-only flag)."""
        st = os.statvfs(path)
        return st.f_bavail * st.f_frsize, st.f_blocks * st.f_frsize, bool(st.f_flag & os.ST_RDONLY)

    def fs_type(self, path):
        """The ``statfs`` file system type name (``cgroup2fs``, ``tmpfs`` ...), ``None`` when the path is absent.

        Uses libc ``statfs`` (as crun does); the number is returned as ``0x...`` when it has no name here.
        """
        if self._libc is None:
            self._libc = ctypes.CDLL(None, use_errno=True)
        buf = ctypes.create_string_buffer(512)
        if self._libc.statfs(os.fsencode(path), buf) != 0:
            err = ctypes.get_errno()
            if err in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise OSError(err, os.strerror(err), path)
        # f_type is the first member: a long on every Linux ABI but s390x (unsigned int).
        fmt = "=I" if os.uname()[4] == "s390x" else "l"
        magic = struct.unpack_from(fmt, buf.raw)[0] & 0xFFFFFFFF
        return FS_MAGIC.get(magic, "0x%x" % magic)
