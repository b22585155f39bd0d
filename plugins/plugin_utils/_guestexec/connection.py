# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the pct and oci connection plugins share: run a guest's argv on a node runner, turn the
tool's refusals (missing or stopped guest) into unreachable hosts."""

from __future__ import annotations

from collections.abc import Callable

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.commands import GuestUnavailable

display = Display()


class GuestConnection(ConnectionBase):
    """Subclasses set ``self._commands`` (``PctCommands``/``OciCommands``) and ``self._runner`` (a ``NodeRunner``) in ``_connect``."""

    has_pipelining = True
    default_user = "root"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._commands = None
        self._runner = None

    def _checked(self, result: tuple[int, bytes, bytes]) -> tuple[int, bytes, bytes]:
        rc, stdout, stderr = result
        try:
            self._commands.check(rc, to_text(stderr, errors="surrogate_or_replace"))
        except GuestUnavailable as exc:
            raise AnsibleConnectionFailure("%s: %s" % (self.transport, exc)) from None
        return rc, stdout, stderr

    def _on_runner(self, call: Callable[[], tuple[int, bytes, bytes]]) -> tuple[int, bytes, bytes]:
        """``call()`` on the node runner; a node that cannot be reached (or staged on) fails as unreachable."""
        try:
            return call()
        except (OSError, AnsibleConnectionFailure) as exc:
            raise AnsibleConnectionFailure("%s: %s" % (self.transport, exc)) from None

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        argv = self._commands.exec_argv(cmd)
        display.vvv("EXEC %s" % argv, host=self._play_context.remote_addr)
        return self._checked(self._on_runner(lambda: self._runner.run(argv, in_data=in_data)))

    def reset(self):
        self.close()

    def close(self):
        if self._runner is not None:
            self._runner.close()
        self._runner = None
        self._connected = False
