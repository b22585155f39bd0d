# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the pct (or runtime) commands run: on the controller itself, or on a node reached through
another Ansible connection plugin (the node's own SSH connection).

Both runners have the same public methods, so a connection plugin never knows which one it has.
Files go through a node path: the controller's own file when local; on a remote node, a file in
a private temporary directory (``mktemp -d``, mode 0700; a pushed file is made empty with mode
0600 before its content is transferred), removed again by the same command (or at once when the
transfer fails).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from typing import Protocol, TypeVar

from ansible.errors import AnsibleConnectionFailure

Argv = list[str]
T = TypeVar("T")

# Run "$@", then print its exit status after its output (see RemoteNode.run).
_REPORT_STATUS = '"$@"; printf "lxcri-exit-status:%d" "$?"'
_STATUS_TRAILER = re.compile(rb"lxcri-exit-status:(\d+)\Z")


class NodeRunner(Protocol):
    def run(self, argv: Argv, in_data: bytes | None = None) -> tuple[int, bytes, bytes]: ...

    def push(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]: ...

    def pull(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]: ...

    def close(self) -> None: ...


class LocalNode:
    """The controller is the node: commands run as child processes, files are used in place."""

    def run(self, argv: Argv, in_data: bytes | None = None) -> tuple[int, bytes, bytes]:
        try:
            # An argv list built by the plugin, run without a shell.
            proc = subprocess.run(argv, input=in_data, stdin=None if in_data is not None else subprocess.DEVNULL,  # noqa: S603
                                  capture_output=True, check=False)
        except FileNotFoundError:
            return 127, b"", ("%s: command not found on the controller" % argv[0]).encode()
        return proc.returncode, proc.stdout, proc.stderr

    def push(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]:
        return self.run(argv_for(local_path))

    def pull(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]:
        return self.run(argv_for(local_path))

    def close(self) -> None:
        """Nothing stays open."""


class RemoteNode:
    """The node behind another connection plugin instance (``ansible.builtin.ssh`` by default).

    ``where`` names the node and how it is reached, ``hint`` the options to check: both for the
    message when the node cannot be reached.
    """

    def __init__(self, connection, where: str, hint: str):
        self.connection = connection
        self.where = where
        self.hint = hint

    def _node_call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except AnsibleConnectionFailure as exc:
            raise AnsibleConnectionFailure("cannot reach %s: %s; %s" % (self.where, str(exc).strip(), self.hint)) from None

    def run(self, argv: Argv, in_data: bytes | None = None) -> tuple[int, bytes, bytes]:
        # The node's login shell runs one command line: argv quoted for a POSIX shell. ssh (and
        # other node connections) take exit status 255 for their own failure, and pct exits 255
        # when it refuses; so the command's status travels at the end of stdout and the shell exits 0.
        line = shlex.join(["sh", "-c", _REPORT_STATUS, "sh"] + argv)
        rc, stdout, stderr = self._node_call(lambda: self.connection.exec_command(line, in_data=in_data, sudoable=False))
        match = _STATUS_TRAILER.search(stdout)
        if rc != 0 or match is None:
            raise AnsibleConnectionFailure("cannot run %s on %s: the node's shell exited %d without reporting the command's "
                                           "exit status (%s)" % (argv[0], self.where, rc, stderr.decode(errors="replace").strip()))
        return int(match.group(1)), stdout[:match.start()], stderr

    def _tempdir(self, staged_file: str | None = None) -> str:
        """A private directory on the node; ``staged_file`` in it is made empty (mode 0600) before any content reaches it."""
        make_file = ': > "$d/$1" && ' if staged_file else ""
        rc, out, err = self.run(["sh", "-c", 'umask 077 && d=$(mktemp -d /tmp/lxcri-pct.XXXXXXXX) && %sprintf %%s "$d"' % make_file,
                                 "sh", staged_file or ""])
        if rc != 0:
            raise OSError("could not make a temporary directory on the node: %s" % err.decode(errors="replace").strip())
        return out.decode()

    def push(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]:
        tempdir = self._tempdir(staged_file="file")
        node_path = tempdir + "/file"
        try:
            self._node_call(lambda: self.connection.put_file(local_path, node_path))
        except Exception:
            self.run(["rm", "-rf", "--", tempdir])
            raise
        # one round trip: run the command, remove the directory, keep the command's exit status
        return self.run(["sh", "-c", '"$@"; rc=$?; rm -rf -- "$0"; exit $rc', tempdir] + argv_for(node_path))

    def pull(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]:
        # pct pull creates the file itself, with the mode it gives a file pulled on a local node too
        tempdir = self._tempdir()
        node_path = tempdir + "/file"
        try:
            result = self.run(argv_for(node_path))
            if result[0] == 0:
                self._node_call(lambda: self.connection.fetch_file(node_path, local_path))
            return result
        finally:
            self.run(["rm", "-rf", "--", tempdir])

    def close(self) -> None:
        self.connection.close()
