# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``qm`` transport: ``_pve.transport_pct.CliGuestTransport`` (the commands qm shares with pct) plus
what only VMs have: ``qm list``'s layout, create from parameters, clone, and the cloud-init secrets.

qm.pm ``param_mapping`` maps two options of ``create``/``set``/``clone``: ``--sshkeys`` takes a FILE
whose content qm URL-encodes itself, and ``--cipassword`` is a ``pve-password`` that a bare option (last,
without a value) reads from stdin.  So neither the password nor the keys are ever in an argv.
"""

from __future__ import annotations

from urllib.parse import unquote

from ansible_collections.lxcri.containers.plugins.module_utils._pve.conffile import VM_FORMAT
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import CliGuestTransport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model


class QmTransport(CliGuestTransport):
    name = "qm"
    tool = "qm"
    word = "VM"
    config_format = VM_FORMAT

    def list(self):
        """``qm list`` -> rows {vmid, name, status, node}; the template flag is not listed (read the config)."""
        out, _err = self._run([self.cli, "list"], read=True)
        rows = model.parse_list_text(out)
        for row in rows:
            row["node"] = self.node
            row["lock"] = None
        return rows

    def read_config(self, vmid, node=None):
        """``qm config`` (pending values merged): the raw config."""
        out, _err = self._run([self.cli, "config", str(vmid)], read=True)
        return model.parse_config_text(out)

    def create(self, vmid, params, node=None, check=False):
        return self._write([self.cli, "create", str(vmid)], params, [], check, task=True)

    def clone(self, vmid, newid, name=None, full=None, storage=None, node=None, check=False):
        values = {}
        if name is not None:
            values["name"] = name
        if full is not None:
            values["full"] = "1" if full else "0"
        if storage:
            values["storage"] = storage
        return self._write([self.cli, "clone", str(vmid), str(newid)], values, [], check, task=True)

    def _write(self, head, values, tail, check, task=False):
        """``--sshkeys`` as a 0600 file (removed after), ``--cipassword`` bare and last with the password on stdin."""
        values = dict(values)
        password = values.pop("cipassword", None)
        sshkeys = values.pop("sshkeys", None)
        argv = list(head)
        for key in sorted(values):
            argv += ["--%s" % key, values[key]]
        return self._run_with_secrets(argv + tail, check, "--sshkeys", unquote(sshkeys) if sshkeys is not None else None,
                                      "--cipassword", password, task=task)
