# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A small QMP client (QEMU Machine Protocol over the VM's unix socket).

As qemu-server's ``PVE/QMPClient.pm``: read the greeting, send ``qmp_capabilities``, then one
command at a time; asynchronous events that arrive between are collected in :attr:`events`.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any


class QMPError(RuntimeError):
    """The QMP socket cannot be reached or a command returned an error."""


class QMPClient:
    def __init__(self, path: Path | str, timeout: float = 10.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self.events: list[dict] = []
        self._sock: socket.socket | None = None
        self._buf = b""

    def __enter__(self) -> QMPClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise QMPError("unable to connect to VM socket %s - %s" % (self.path, exc)) from None
        self._sock = sock
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError("unexpected QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _read(self) -> dict:
        if self._sock is None:
            raise QMPError("QMP connection is closed")
        while b"\n" not in self._buf:
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                raise QMPError("QMP read failed - %s" % exc) from None
            if not chunk:
                raise QMPError("QMP socket closed by QEMU")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command: str, **arguments: Any) -> Any:
        """Run one command; returns its ``return`` value or raises :class:`QMPError`."""
        if self._sock is None:
            raise QMPError("not connected")
        msg: dict[str, Any] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as exc:
            raise QMPError("QMP write failed - %s" % exc) from None
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise QMPError("QMP command '%s' failed - %s" % (command, reply["error"].get("desc", reply["error"])))
            return reply.get("return")

    def status(self) -> str:
        """``query-status``'s run state: ``running``, ``paused``, ``shutdown``, ``prelaunch``, ..."""
        return self.execute("query-status")["status"]

    def wait_for_status(self, wanted: str, timeout: float, interval: float = 0.1) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if self.status() == wanted:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)
