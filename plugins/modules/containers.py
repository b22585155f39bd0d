#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This is an action plugin (plugins/action/containers.py); this file holds its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
module: containers
short_description: Route a host's declared containers to LXC or VMs on Proxmox VE, crun or runc, and converge all of them in one task
version_added: 0.2.0
description:
  - The one task behind the P(lxcri.containers.container#role) role, usable on its own. It takes the container specs of a host
    (the format of the role's C(lxcri_containers)) and converges every one of them.
  - "On the controller, before anything on the host is touched: the specs are checked against the role's argument spec and the
    checks it cannot express (duplicate names or vmids, a source or field the backend cannot use, unknown override keys); each spec
    is routed as the P(lxcri.containers.backend#lookup) lookup routes it (the spec's C(backend), C(lxcri_backend), C(lxcri_routing),
    C(lxcri_default_backend)); the C(config.json) of every crun and runc container is rendered with the
    P(lxcri.containers.oci_bundle#role) role's own template, variables and assertions, and validated against the OCI runtime-spec
    schema; the M(lxcri.containers.pve_vm) parameters of every VM are checked as that module checks them. A bad spec fails the
    task naming the spec and the field (for example C(lxcri_containers[3] (web).vm.cores))."
  - "A spec routed to V(vm) becomes a VM cloned from its C(source.vm_template) (a template's vmid or name): C(cpu) gives C(cores)
    (and C(cpulimit) when fractional), C(memory) the memory in MiB, C(network) a virtio C(net0) on its bridge and cloud-init's
    C(ipconfig0) with its C(ip) and C(gw), C(state) the run state; O(vm_defaults) and the spec's own C(vm) are merged over that."
  - Then one M(lxcri.containers.oci_containers) run converges all crun and runc containers of the host, one
    M(lxcri.containers.pve_containers) run per Proxmox connection all LXC containers, and one M(lxcri.containers.pve_vms) run per
    Proxmox connection all VMs; each converges every container with the code of M(lxcri.containers.oci_container),
    M(lxcri.containers.pve_container) or M(lxcri.containers.pve_vm). Reads cost a constant number of process starts per
    host (one C(list) per runtime and root, one C(pct list) and one C(qm list) plus the guests' config files).
  - One container's failure does not stop the others. The task fails at the end when any container failed, naming each one.
  - Scale past one host with Ansible's own means - forks (one task per host runs in parallel across hosts), AWX / Automation Platform
    (the collection's execution environment) and job slicing for very large inventories.
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
attributes:
  action:
    description: Runs on the controller and calls modules on the target.
    support: full
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  check_mode:
    support: full
    details:
      - Every container's plan is the one its single-container module gives in check mode, against the bundle as it will be written.
  diff_mode:
    support: full
    details:
      - One diff per changed container, headed by its name.
options:
  containers:
    description:
      - The container specs, in the format of the P(lxcri.containers.container#role) role's C(lxcri_containers) (C(name), C(state),
        C(backend), C(hostname), C(cpu), C(memory), C(network), C(mounts), C(env), C(command), C(source), C(lxc), C(vm), C(oci)).
    type: list
    elements: dict
    default: []
  default_state:
    description: State of a spec that does not set one (the role's C(container_default_state)).
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  oci_bundle_dir:
    description: Directory of the OCI bundles, one C(<name>) each (the role's C(container_oci_bundle_dir)).
    type: path
    default: /var/lib/lxcri/bundles
  oci_roots:
    description: State roots of the runtimes keyed V(crun) and V(runc) (the role's C(container_oci_roots)).
    type: dict
    default: {}
  oci_container_defaults:
    description: M(lxcri.containers.oci_container) parameters for every OCI container (the role's C(container_oci_container_defaults)).
    type: dict
    default: {}
  oci_bundle_defaults:
    description: P(lxcri.containers.oci_bundle#role) variables without their prefix for every OCI container (C(container_oci_bundle_defaults)).
    type: dict
    default: {}
  pve:
    description:
      - Connection parameters of M(lxcri.containers.pve_container) and M(lxcri.containers.pve_vm) (the role's C(container_pve)).
      - C(transport=pct) (on the node) is C(qm) for the VMs.
    type: dict
    default: {}
  lxc_defaults:
    description: M(lxcri.containers.pve_container) parameters for every LXC container (the role's C(container_lxc_defaults)).
    type: dict
    default: {}
  lxc_bridge:
    description: Bridge of LXC interfaces whose network does not name one (the role's C(container_lxc_bridge)).
    type: str
    default: vmbr0
  vm_defaults:
    description: M(lxcri.containers.pve_vm) parameters for every VM (the role's C(container_vm_defaults)).
    type: dict
    default: {}
  vm_bridge:
    description: Bridge of the VMs' C(net0) whose network does not name one (the role's C(container_vm_bridge)).
    type: str
    default: vmbr0
  parallel:
    description: How many containers of a backend are converged at the same time on the host.
    type: int
    default: 4
  config_dir:
    description:
      - The O(lxcri.containers.pve_containers#module:config_dir) of the LXC containers' node, and the
        O(lxcri.containers.pve_vms#module:config_dir) of the VMs'.
    type: path
notes:
  - Large inventories - split a play over job slices in AWX / Automation Platform, or limit it with C(--limit); every host converges its
    own fleet in one task, so C(forks) decides how many hosts run at once.
seealso:
  - module: lxcri.containers.oci_containers
  - module: lxcri.containers.pve_containers
  - module: lxcri.containers.pve_vms
"""

EXAMPLES = r"""
- name: Converge the containers declared for each host, one task per host
  lxcri.containers.containers:
    containers: "{{ lxcri_containers }}"
    oci_bundle_dir: /var/lib/lxcri/bundles
    pve:
      transport: pct
    parallel: 8
  register: fleet

- name: Show what changed
  ansible.builtin.debug:
    msg: "{{ fleet.containers | selectattr('changed') | map(attribute='name') | list }}"

- name: A container and a VM on the same node, the VM a clone of a cloud-init template
  lxcri.containers.containers:
    pve:
      transport: pct  # qm for the VM
    vm_defaults:
      ciuser: admin
      sshkeys: "{{ lookup('ansible.builtin.file', 'admin.pub') }}"
    containers:
      - name: cache-1
        backend: lxc
        source: {template: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"}
        memory: 512
      - name: build-1
        backend: vm
        source: {vm_template: debian-12-cloud}
        cpu: 4
        memory: 4096
        network: {ip: 192.0.2.21/24, gw: 192.0.2.1}
        # vm is merged one level deep: its clone replaces the translated one, so it names the source again
        vm: {vmid: 321, clone: {source: debian-12-cloud, full: true}, disks: {scsi0: {size: 32G}}}
"""

RETURN = r"""
containers:
  description:
    - One row per spec, in order - C(name), C(backend), C(rule) and C(reason) (the routing decision), C(state) (desired), C(status) (after
      the run, predicted in check mode), C(changed), C(id) (the vmid for LXC and VMs, the container id for OCI), C(failed), C(actions) and
      C(diff); a failed container also has C(msg), C(error_kind) and C(failed_action).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: web-1, backend: lxc, rule: lxcri_default_backend, reason: "no rule matched", state: started, status: running,
       changed: false, id: 7701, failed: false, actions: []}
modules:
  description:
    - One entry per module run on the host - C(module), C(containers) (how many it converged), and what it read -
      C(commands) (the runtime listings of M(lxcri.containers.oci_containers)) or C(reads), C(config_files_read) and C(transport)
      (M(lxcri.containers.pve_containers), M(lxcri.containers.pve_vms)).
  returned: success
  type: list
  elements: dict
  sample:
    - {module: lxcri.containers.pve_containers, containers: 5, reads: [[pct, list]], config_files_read: 5, transport: pct}
msg:
  description: On failure, the invalid spec and field, or each failed container and its error.
  returned: failure
  type: str
error_kind:
  description: On failure, V(invalid_argument) (nothing was touched) or V(task_failed) (some containers failed).
  returned: failure
  type: str
"""
