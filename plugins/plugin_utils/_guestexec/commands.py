# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The argv of every command the pct and oci connection plugins run, and what their failures mean.

Both plugins only build argv lists here (never shell strings to the host); the command Ansible
wants to run inside the guest is one argument of ``<shell> -c``.
"""

from __future__ import annotations

import re

# pct's own errors (pct-contract: "container '<vmid>' not running!" for exec, the push/pull
# texts of PVE::CLI::pct, "Configuration file ... does not exist" of load_config).
_PCT_NOT_RUNNING = re.compile(r"container '\d+' not running!|can only (?:push|pull) files (?:to|from) a running (?:CT|VM)")
_PCT_MISSING = re.compile(r"Configuration file 'nodes/[^/']+/lxc/\d+\.conf' does not exist")

# The runtimes' own error lines, not text a command inside could print by accident: runc's
# logrus line `level=error msg="exec failed: container does not exist"` (exit 255), crun's
# "error opening file `<root>/<id>/status`: No such file or directory"; for a stopped container
# runc's "cannot exec in a stopped container" and crun's "the container `<id>` is not running".
_OCI_MISSING = re.compile(r'level=error msg="exec failed: container does not exist"|'
                          r"^error opening file `[^`]*/status`: No such file or directory", re.M)
_OCI_NOT_RUNNING = re.compile(r'level=error msg="exec failed: cannot exec in a stopped container"|'
                              r"^the container `[^`]*` is not running", re.M)


class GuestUnavailable(Exception):
    """The guest is missing or not running: the task cannot run there at all."""


def refuse_unavailable(rc: int, stderr: str, where: str, missing: re.Pattern, not_running: re.Pattern,
                       missing_hint: str, start_with: str) -> None:
    """Raise ``GuestUnavailable`` when a failed call's stderr is the tool's own missing/stopped refusal."""
    if rc == 0:
        return
    if missing.search(stderr):
        raise GuestUnavailable("%s does not exist (%s); %s" % (where, stderr.strip(), missing_hint))
    if not_running.search(stderr):
        raise GuestUnavailable("%s is not running (%s); start it first, for example with %s" % (where, stderr.strip(), start_with))


class PctCommands:
    """``pct exec|push|pull`` for one CT. ``--keep-env 0``: the node's environment stays out of the CT."""

    def __init__(self, vmid: int, node: str | None = None, executable: str = "pct", shell: str = "/bin/sh"):
        self.vmid = int(vmid)
        self.node = node
        self.executable = executable
        self.shell = shell

    def exec_argv(self, cmd: str) -> list[str]:
        return [self.executable, "exec", str(self.vmid), "--keep-env", "0", "--", self.shell, "-c", cmd]

    def push_argv(self, node_path: str, guest_path: str) -> list[str]:
        return [self.executable, "push", str(self.vmid), node_path, guest_path]

    def pull_argv(self, guest_path: str, node_path: str) -> list[str]:
        return [self.executable, "pull", str(self.vmid), guest_path, node_path]

    def check(self, rc: int, stderr: str) -> None:
        """Raise ``GuestUnavailable`` when pct refused because the CT is missing or stopped."""
        where = "CT %d%s" % (self.vmid, " on node %s" % self.node if self.node else "")
        refuse_unavailable(rc, stderr, where, _PCT_MISSING, _PCT_NOT_RUNNING,
                           "check pve_vmid/lxcri_pct_vmid and the node the connection runs pct on",
                           "lxcri.containers.pve_container state=started")


class OciCommands:
    """``runc|crun --root <root> exec`` for one container; files go through ``exec`` with ``cat``."""

    def __init__(self, executable: str, root: str, container_id: str, shell: str = "/bin/sh"):
        self.executable = executable
        self.root = root
        self.container_id = container_id
        self.shell = shell

    def _exec(self, *argv: str) -> list[str]:
        return [self.executable, "--root", self.root, "exec", self.container_id] + list(argv)

    def exec_argv(self, cmd: str) -> list[str]:
        return self._exec(self.shell, "-c", cmd)

    def write_argv(self, guest_path: str) -> list[str]:
        """Writes stdin to ``guest_path`` (umask 077: a module's arguments may hold secrets)."""
        return self._exec(self.shell, "-c", 'umask 077 && exec cat > "$1"', "sh", guest_path)

    def read_argv(self, guest_path: str) -> list[str]:
        return self._exec("cat", "--", guest_path)

    def check(self, rc: int, stderr: str) -> None:
        """Raise ``GuestUnavailable`` when the runtime refused because the container is missing or stopped."""
        where = "OCI container %r (root %s)" % (self.container_id, self.root)
        refuse_unavailable(rc, stderr, where, _OCI_MISSING, _OCI_NOT_RUNNING,
                           "check lxcri_oci_id and lxcri_oci_root (the root of lxcri.containers.oci_container)",
                           "lxcri.containers.oci_container state=started")
