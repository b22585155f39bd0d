# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: oci
short_description: Run tasks inside OCI containers of runc or crun
version_added: 0.1.0
description:
  - Runs modules inside a running OCI container with C(runc exec) or C(crun exec) on the host that runs the
    runtime (the controller), under the same state root as M(lxcri.containers.oci_container).
  - Files are copied through C(exec) with C(cat) (written with umask 077), so the container needs C(/bin/sh) and C(cat),
    and Python for most modules.
  - Tasks run as the container's process user (root unless its C(config.json) says otherwise);
    C(become) switches users inside the container.
  - A missing or stopped container fails the task as unreachable with a message saying which and what to do.
extends_documentation_fragment:
  - connection_pipelining
options:
  container_id:
    description:
      - The container id, as given to M(lxcri.containers.oci_container) as C(name).
      - If not set, the inventory host's address (C(ansible_host), else its name) is used.
    type: str
    vars:
      - name: lxcri_oci_id
  runtime:
    description: The OCI runtime that runs the container.
    type: str
    choices: [runc, crun]
    default: runc
    vars:
      - name: lxcri_oci_runtime
  root:
    description:
      - The runtime's state root (its global C(--root)); the default is the runtime's own, as for
        M(lxcri.containers.oci_container) (C(/run/runc), C(/run/crun)).
    type: path
    vars:
      - name: lxcri_oci_root
  runtime_executable:
    description: Path of the runtime binary; by default O(runtime) is looked up in C(PATH).
    type: path
    vars:
      - name: lxcri_oci_executable
  shell_executable:
    description: The shell inside the container that runs each command.
    type: str
    default: /bin/sh
    vars:
      - name: lxcri_oci_shell
notes:
  - crun refuses hybrid cgroup layouts in the initial mount namespace; see M(lxcri.containers.host_check).
"""

EXAMPLES = r"""
# inventory
# [app]
# app1 ansible_connection=lxcri.containers.oci lxcri_oci_runtime=runc lxcri_oci_root=/run/myapp/runc

- name: Configure the container made by oci_container
  hosts: app
  gather_facts: false
  tasks:
    - name: Write the config
      ansible.builtin.copy:
        content: "listen 8080\n"
        dest: /etc/app.conf
        mode: "0644"
"""

import os  # noqa: E402
import shutil  # noqa: E402

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound  # noqa: E402
from ansible.module_utils.common.text.converters import to_text  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

from ansible_collections.lxcri.containers.plugins.module_utils._oci.runtime import DEFAULT_ROOTS  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.commands import OciCommands  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.connection import GuestConnection  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.node import LocalNode  # noqa: E402

display = Display()


class Connection(GuestConnection):
    """runc / crun exec on the controller."""

    transport = "lxcri.containers.oci"

    def _connect(self):
        if self._connected:
            return self
        runtime = self.get_option("runtime")
        executable = self.get_option("runtime_executable") or shutil.which(runtime)
        if not executable:
            raise AnsibleConnectionFailure("lxcri.containers.oci: %s is not installed on the controller (not in PATH); "
                                           "install it or set lxcri_oci_executable" % runtime)
        container_id = self.get_option("container_id") or self._play_context.remote_addr
        self._commands = OciCommands(executable, self.get_option("root") or DEFAULT_ROOTS[runtime], str(container_id),
                                     shell=self.get_option("shell_executable"))
        display.vvv("OCI CONNECTION TO %s (%s, root %s)" % (container_id, runtime, self._commands.root),
                    host=self._play_context.remote_addr)
        self._runner = LocalNode()
        self._connected = True
        return self

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._play_context.remote_addr)
        if not os.path.exists(in_path):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        with open(in_path, "rb") as source:
            rc, _stdout, stderr = self._checked(self._runner.run(self._commands.write_argv(out_path), in_data=source.read()))
        if rc != 0:
            raise AnsibleError("lxcri.containers.oci: writing %s in the container failed: %s" % (out_path, to_text(stderr).strip()))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._play_context.remote_addr)
        rc, stdout, stderr = self._checked(self._runner.run(self._commands.read_argv(in_path)))
        if rc != 0:
            raise AnsibleError("lxcri.containers.oci: reading %s in the container failed: %s" % (in_path, to_text(stderr).strip()))
        with open(out_path, "wb") as target:
            target.write(stdout)
