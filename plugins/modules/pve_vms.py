#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_vms
short_description: Converge many Proxmox VE virtual machines of one node in one task
version_added: 0.2.0
description:
  - Converges every VM of O(containers) as M(lxcri.containers.pve_vm) would, with the same code for each VM (find, read,
    plan, run), in one module run.
  - "Reads cost a constant number of process starts for the node: one C(qm list) (or one API listing) serves every VM;
    with O(transport=qm) each VM's configuration is read from its config file C(<config_dir>/nodes/<node>/qemu-server/<vmid>.conf)
    (the same pmxcfs file C(qm pending) and the API read: the main section and C([PENDING]), with C(cipassword) masked as they
    show it), and its SHA-1 is the C(digest) that C(qm set) is checked against. Over the API each VM costs one C(GET .../pending)."
  - Writes (create, clone, set, resize, start, stop, template, destroy) go through C(qm) or the API exactly as
    M(lxcri.containers.pve_vm) makes them, only for VMs where something differs. Independent VMs run in parallel on at most
    O(parallel) workers, each VM's steps in order; new VMs without a C(vmid) are created one after the other, each taking the
    next free vmid. Cloning a template reads the template's configuration once more.
  - Every item is validated against the options of M(lxcri.containers.pve_vm) and its checks before anything is read.
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.fleet
  - lxcri.containers.attributes.ACTIONGROUP_PROXMOX
  - lxcri.containers.pve.qm
  - lxcri.containers.pve.api
attributes:
  check_mode:
    support: full
    details:
      - Each VM's plan is the one M(lxcri.containers.pve_vm) gives in check mode.
  diff_mode:
    support: full
options:
  containers:
    description:
      - The VMs, each a dict of the options of M(lxcri.containers.pve_vm) other than the connection options (which this module
        takes once). The name is the one the other fleet modules use, so the M(lxcri.containers.containers) action calls them alike.
      - Each VM is identified by C(vmid), else by C(name); two items may not name the same VM.
    type: list
    elements: dict
    required: true
  config_dir:
    description:
      - The Proxmox cluster file system with the C(nodes/<node>/qemu-server/<vmid>.conf) files, read by O(transport=qm).
      - When not set, E(PVESIM_STATE_DIR) (a pvesim node's state directory, laid out like C(/etc/pve)) or C(/etc/pve).
      - When C(<config_dir>/nodes/<node>/qemu-server) is not a directory, each VM is read with C(qm pending) instead.
    type: path
notes:
  - The M(lxcri.containers.containers) action and the P(lxcri.containers.container#role) role call this module for the
    containers routed to V(vm).
seealso:
  - module: lxcri.containers.pve_vm
  - module: lxcri.containers.pve_containers
"""

EXAMPLES = r"""
- name: Converge the build VMs of the node in one task, each a clone of the same template
  lxcri.containers.pve_vms:
    transport: qm
    parallel: 4
    containers:
      - {vmid: 301, name: build-1, clone: {source: debian-12-tmpl}, cores: 2, memory: 2048, ipconfig: [{ip: dhcp}], state: started}
      - {vmid: 302, name: build-2, clone: {source: debian-12-tmpl}, cores: 2, memory: 2048, ipconfig: [{ip: dhcp}], state: started}
      - {vmid: 399, state: absent}
"""

RETURN = r"""
containers:
  description:
    - One result per item, in order, with the keys M(lxcri.containers.pve_vm) returns (C(vmid), C(node), C(status), C(config),
      C(changed), C(actions), C(diff), C(restart_required), C(pending), C(template), C(cloudinit_changed), C(reads)), plus C(name)
      and C(failed).
    - A failed VM has C(failed=true), C(msg), C(error_kind), and C(actions) (the steps that finished) and C(failed_action).
  returned: always
  type: list
  elements: dict
  sample:
    - name: build-1
      vmid: 301
      changed: false
      failed: false
      status: running
      actions: []
      reads: [[read, /etc/pve/nodes/pve1/qemu-server/301.conf]]
reads:
  description: The read calls shared by every VM (the listing), to audit the cost of a run.
  returned: always
  type: list
  elements: list
  sample: [[qm, list]]
config_files_read:
  description: How many config files were read instead of running C(qm pending).
  returned: always
  type: int
transport:
  description: Transport used, V(qm) or V(api).
  returned: always
  type: str
msg:
  description: On failure, which VMs failed and why.
  returned: failure
  type: str
error_kind:
  description: On failure, C(task_failed) when VMs failed, or the kind of a validation or connection error.
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._fleet.pve import VM, argument_spec, run_module


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(VM), supports_check_mode=True), VM)


if __name__ == "__main__":
    main()
