#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_containers
short_description: Converge many Proxmox VE LXC containers of one node in one task
version_added: 0.2.0
description:
  - Converges every container of O(containers) as M(lxcri.containers.pve_container) would, with the same code for each
    container (find, read, plan, run), in one module run.
  - "Reads cost a constant number of process starts for the node: one C(pct list) (or one API listing) serves every container;
    with O(transport=pct) each container's configuration is read from its config file C(<config_dir>/nodes/<node>/lxc/<vmid>.conf)
    (the same pmxcfs file C(pct pending) and the API read: the main section and C([pve:pending])), and its SHA-1 is the
    C(digest) that C(pct set) is checked against. Over the API each container costs one C(GET .../pending)."
  - Writes (create, set, resize, start, stop, destroy) go through C(pct) or the API exactly as M(lxcri.containers.pve_container) makes
    them, only for containers where something differs. Independent containers run in parallel on at most O(parallel) workers,
    each container's steps in order; new containers without a C(vmid) are created one after the other, each taking the
    next free vmid.
  - Every item is validated against the options of M(lxcri.containers.pve_container).
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.fleet
  - lxcri.containers.attributes.ACTIONGROUP_PROXMOX
  - lxcri.containers.pve
  - lxcri.containers.pve.api
attributes:
  check_mode:
    support: full
    details:
      - Each container's plan is the one M(lxcri.containers.pve_container) gives in check mode.
  diff_mode:
    support: full
options:
  containers:
    description:
      - The containers, each a dict of the options of M(lxcri.containers.pve_container) other than the connection options
        (which this module takes once) and O(lxcri.containers.pve_container#module:oci_bundle) (use that module for it).
      - Each container is identified by C(vmid), else by C(hostname); two items may not name the same container.
    type: list
    elements: dict
    required: true
  config_dir:
    description:
      - The Proxmox cluster file system with the C(nodes/<node>/lxc/<vmid>.conf) files, read by O(transport=pct).
      - When not set, E(PVESIM_STATE_DIR) (a pvesim node's state directory, laid out like C(/etc/pve)) or C(/etc/pve).
      - When C(<config_dir>/nodes/<node>/lxc) is not a directory, each container is read with C(pct pending) instead.
    type: path
notes:
  - The M(lxcri.containers.containers) action and the P(lxcri.containers.container#role) role call this module for the LXC
    containers of a host.
seealso:
  - module: lxcri.containers.pve_container
  - module: lxcri.containers.oci_containers
"""

EXAMPLES = r"""
- name: Converge the web tier of the node in one task
  lxcri.containers.pve_containers:
    transport: pct
    parallel: 8
    containers:
      - {vmid: 201, hostname: web-1, ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", memory: 512, state: started}
      - {vmid: 202, hostname: web-2, ostemplate: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", memory: 512, state: started}
      - {vmid: 299, state: absent}
"""

RETURN = r"""
containers:
  description:
    - One result per item, in order, with the keys M(lxcri.containers.pve_container) returns (C(vmid), C(node), C(status), C(config),
      C(changed), C(actions), C(diff), C(restart_required), C(pending), C(reads)), plus C(name) and C(failed).
    - A failed container has C(failed=true), C(msg), C(error_kind), and C(actions) (the steps that finished) and C(failed_action).
  returned: always
  type: list
  elements: dict
  sample:
    - name: web-1
      vmid: 201
      changed: false
      failed: false
      status: running
      actions: []
      reads: [[read, /etc/pve/nodes/pve1/lxc/201.conf]]
reads:
  description: The read calls shared by every container (the listing), to audit the cost of a run.
  returned: always
  type: list
  elements: list
  sample: [[pct, list]]
config_files_read:
  description: How many config files were read instead of running C(pct pending).
  returned: always
  type: int
transport:
  description: Transport used, V(pct) or V(api).
  returned: always
  type: str
msg:
  description: On failure, which containers failed and why.
  returned: failure
  type: str
error_kind:
  description: On failure, C(task_failed) when containers failed, or the kind of a validation or connection error.
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._fleet.pve import CT, argument_spec, run_module


def main():
    run_module(AnsibleModule(argument_spec=argument_spec(CT), supports_check_mode=True), CT)


if __name__ == "__main__":
    main()
