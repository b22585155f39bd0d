# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the pct (or runtime) commands run: on the controller itself, or on a node reached through
another Ansible connection plugin (the node's own SSH connection).

Both runners have the same public methods, so a connection plugin never knows which one it has.
Files go through a node path: the controller's own file when local; a private temporary
directory (``mktemp -d``, mode 0700) on a remote node, removed again by the same command.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from typing import Protocol

Argv = list[str]


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
    """The node behind another connection plugin instance (``ansible.builtin.ssh`` by default)."""

    def __init__(self, connection):
        self.connection = connection

    def run(self, argv: Argv, in_data: bytes | None = None) -> tuple[int, bytes, bytes]:
        return self.connection.exec_command(shlex.join(argv), in_data=in_data, sudoable=False)

    def _tempdir(self) -> str:
        rc, out, err = self.run(["sh", "-c", "umask 077 && mktemp -d /tmp/lxcri-pct.XXXXXXXX"])
        if rc != 0:
            raise OSError("could not make a temporary directory on the node: %s" % err.decode(errors="replace").strip())
        return out.decode().strip()

    def _then_remove(self, argv: Argv, tempdir: str) -> Argv:
        # one round trip: run the command, remove the directory, keep the command's exit status
        return ["sh", "-c", '"$@"; rc=$?; rm -rf -- "$0"; exit $rc', tempdir] + argv

    def push(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]:
        tempdir = self._tempdir()
        node_path = os.path.join(tempdir, "file")
        try:
            self.connection.put_file(local_path, node_path)
        except Exception:
            self.run(["rm", "-rf", "--", tempdir])
            raise
        return self.run(self._then_remove(argv_for(node_path), tempdir))

    def pull(self, local_path: str, argv_for: Callable[[str], Argv]) -> tuple[int, bytes, bytes]:
        tempdir = self._tempdir()
        node_path = os.path.join(tempdir, "file")
        try:
            result = self.run(argv_for(node_path))
            if result[0] == 0:
                self.connection.fetch_file(node_path, local_path)
            return result
        finally:
            self.run(["rm", "-rf", "--", tempdir])

    def close(self) -> None:
        self.connection.close()
