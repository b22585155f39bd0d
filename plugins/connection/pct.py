# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pct
short_description: Run tasks inside Proxmox VE LXC containers with pct exec
version_added: 0.1.0
description:
  - Runs modules inside an LXC container with C(pct exec <vmid> -- /bin/sh -c ...) on the Proxmox VE node that
    holds it, and moves files with C(pct push) and C(pct pull). The container needs no network, no SSH server
    and no account for Ansible; it needs C(/bin/sh) and, for most modules, Python.
  - Where pct runs is O(node_host). Unset, the controller is the node and pct runs locally.
    Set, pct runs on that host through another connection plugin (O(node_connection), SSH by default) as
    O(node_user), which must be root on the node and find C(pct) on the PATH of its sessions (or set O(pct_executable)).
  - Through O(node_host), each command is one C(sh -c) line for the node user's shell, every argument quoted, and
    the exit status of pct travels back after its output, so a status of 255 (pct's own refusals, or a command
    inside) is not taken for a failed SSH connection. Files are staged on the node in a private temporary directory
    (mode 0700, the file 0600 before any content reaches it), removed again after the push or pull and when the
    transfer fails.
  - The node connection gets O(node_host), O(node_user), O(node_port) and O(node_private_key_file); its other settings
    (host key checking, C(ssh_common_args), retries) come from its own configuration, for example the
    C([ssh_connection]) section of C(ansible.cfg) or C(ANSIBLE_SSH_COMMON_ARGS).
  - A node that cannot be reached fails the task as unreachable with a message naming the options to check.
  - C(pct exec) is called with C(--keep-env 0), so the node's environment does not leak into the container.
  - Tasks run as root inside the container; C(become) switches to another user inside it (C(su) or C(sudo) of the container).
  - A missing or stopped container fails the task as unreachable with a message saying which and what to do.
  - The P(lxcri.containers.pve#inventory) inventory plugin sets C(pve_vmid) and C(pve_node), and this connection, on every container.
extends_documentation_fragment:
  - connection_pipelining
options:
  vmid:
    description:
      - The container's vmid.
      - If not set, the inventory host's address (C(ansible_host), else its name) is used when it is a number.
    type: int
    vars:
      - name: pve_vmid
      - name: lxcri_pct_vmid
  node:
    description: Name of the node that holds the container, used in messages.
    type: str
    vars:
      - name: pve_node
      - name: lxcri_pct_node
  node_host:
    description:
      - Address of the node to run pct on. Unset, pct runs on the controller.
      - "To reach the node as it is defined in the inventory, template it, for example
        C(lxcri_pct_node_host: '{{ hostvars[pve_node].ansible_host | default(pve_node) }}')."
    type: str
    vars:
      - name: lxcri_pct_node_host
    env:
      - name: LXCRI_PCT_NODE_HOST
  node_user:
    description: User on the node for O(node_host); pct needs root.
    type: str
    default: root
    vars:
      - name: lxcri_pct_node_user
  node_port:
    description: Port of the connection to O(node_host); the plugin's default when unset.
    type: int
    vars:
      - name: lxcri_pct_node_port
  node_private_key_file:
    description: Private key file of the connection to O(node_host).
    type: path
    vars:
      - name: lxcri_pct_node_private_key_file
  node_connection:
    description: The connection plugin that reaches O(node_host).
    type: str
    default: ansible.builtin.ssh
    vars:
      - name: lxcri_pct_node_connection
  pct_executable:
    description: The pct command on the node.
    type: str
    default: pct
    vars:
      - name: lxcri_pct_executable
  shell_executable:
    description: The shell inside the container that runs each command.
    type: str
    default: /bin/sh
    vars:
      - name: lxcri_pct_shell
"""

EXAMPLES = r"""
# inventory (or use the lxcri.containers.pve inventory plugin, which sets all of this)
# [web]
# web1 ansible_connection=lxcri.containers.pct pve_vmid=101 pve_node=pve1

# Through the node's SSH connection, with the node defined in the inventory:
# group_vars/pve_type_lxc.yml
#   lxcri_pct_node_host: "{{ hostvars[pve_node].ansible_host | default(pve_node) }}"
#   ansible_pipelining: true

- name: Configure the containers
  hosts: pve_type_lxc
  tasks:
    - name: Install the site config
      ansible.builtin.template:
        src: site.conf.j2
        dest: /etc/site.conf
        mode: "0644"
"""

import os  # noqa: E402

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound  # noqa: E402
from ansible.module_utils.common.text.converters import to_text  # noqa: E402
from ansible.plugins.loader import connection_loader  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

from ansible_collections.lxcri.containers.plugins.module_utils._pve.messages import error_lines  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.commands import PctCommands  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.connection import GuestConnection  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.node import LocalNode, RemoteNode  # noqa: E402

display = Display()


class Connection(GuestConnection):
    """pct exec / push / pull on the container's node."""

    transport = "lxcri.containers.pct"

    # -- setup -----------------------------------------------------------------------------
    def _vmid(self):
        vmid = self.get_option("vmid")
        if vmid is None:
            address = str(self._play_context.remote_addr or "")
            if not address.isdigit():
                raise AnsibleConnectionFailure("lxcri.containers.pct: no vmid for host %s; set pve_vmid (the pve inventory "
                                               "plugin does) or lxcri_pct_vmid, or use the vmid as ansible_host" % address)
            vmid = int(address)
        return vmid

    def _connect(self):
        if self._connected:
            return self
        self._commands = PctCommands(self._vmid(), node=self.get_option("node"), executable=self.get_option("pct_executable"),
                                     shell=self.get_option("shell_executable"))
        node_host = self.get_option("node_host")
        if node_host:
            self._runner = RemoteNode(self._node_connection(node_host), self._node_description(node_host),
                                      "check node_host (lxcri_pct_node_host), node_port (lxcri_pct_node_port), node_user "
                                      "(lxcri_pct_node_user) and node_private_key_file (lxcri_pct_node_private_key_file)")
        else:
            self._runner = LocalNode()
        display.vvv("PCT CONNECTION TO CT %d ON %s" % (self._commands.vmid, node_host or "the controller"),
                    host=self._play_context.remote_addr)
        self._connected = True
        return self

    def _node_description(self, node_host: str) -> str:
        port = self.get_option("node_port")
        at_port = " port %d" % port if port else ""
        return "node %s%s as %s through %s" % (node_host, at_port, self.get_option("node_user"), self.get_option("node_connection"))

    def _node_connection(self, node_host):
        name = self.get_option("node_connection")
        play_context = self._play_context.copy()
        play_context.remote_addr = node_host
        play_context.remote_user = self.get_option("node_user")
        connection = connection_loader.get(name, play_context)
        if connection is None:
            raise AnsibleConnectionFailure("lxcri.containers.pct: node_connection %r is not a connection plugin" % name)
        node_vars = {"ansible_host": node_host, "ansible_user": self.get_option("node_user"),
                     "ansible_port": self.get_option("node_port"),
                     "ansible_private_key_file": self.get_option("node_private_key_file")}
        connection.set_options(var_options={key: value for key, value in node_vars.items() if value is not None})
        return connection

    # -- commands ----------------------------------------------------------------------------
    def _checked(self, result):
        rc, _stdout, stderr = result
        if rc == 127 and b"command not found on the controller" in stderr:
            raise AnsibleConnectionFailure("lxcri.containers.pct: %s; the controller is not a Proxmox VE node, so set "
                                           "node_host (lxcri_pct_node_host) to the node that holds CT %d"
                                           % (to_text(stderr).strip(), self._commands.vmid))
        return super()._checked(result)

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._play_context.remote_addr)
        if not os.path.exists(in_path):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        result = self._checked(self._on_runner(
            lambda: self._runner.push(in_path, lambda node_path: self._commands.push_argv(node_path, out_path))))
        _transfer_check(result, "pct push of %s to %s" % (in_path, out_path))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._play_context.remote_addr)
        result = self._checked(self._on_runner(
            lambda: self._runner.pull(out_path, lambda node_path: self._commands.pull_argv(in_path, node_path))))
        _transfer_check(result, "pct pull of %s to %s" % (in_path, out_path))


def _transfer_check(result, what):
    """``pct push``/``pull`` exit 0 when their worker fails, with the error on stderr only (pct.pm: no
    ``$upid_exit`` for them); stderr then holds more than ``Task finished with N warning(s)!``."""
    rc, _stdout, stderr = result
    problems = error_lines(to_text(stderr))
    if rc != 0 or problems:
        raise AnsibleError("lxcri.containers.pct: %s failed: %s" % (what, problems[-1] if problems else to_text(stderr).strip()))
