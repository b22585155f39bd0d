#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_vm_info
short_description: Read Proxmox VE virtual machines in the canonical shape pve_vm accepts
version_added: 0.2.0
description:
  - Lists VMs, optionally filtered by O(vmid), O(name) or O(tags), and returns each configuration in the same
    canonical shape that M(lxcri.containers.pve_vm) accepts as options, so a result fed back as input changes nothing.
  - Reads the configuration with pending changes merged in (C(qm config) or C(GET .../config)). The cloud-init password
    is never returned.
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.attributes.ACTIONGROUP_PROXMOX
  - lxcri.containers.attributes.INFO_MODULE
  - lxcri.containers.pve.api
requirements:
  - "With O(transport=api): the Python library proxmoxer >= 2.0 and requests on the host that runs the module."
  - "With O(transport=qm): a Proxmox VE node (C(qm)) as the target, and root."
options:
  transport:
    description:
      - V(qm) runs C(qm) on the target (a Proxmox node); V(api) uses the REST API through C(proxmoxer);
        V(auto) uses V(qm) when the target has it, otherwise V(api).
    type: str
    choices: [auto, qm, api]
    default: auto
  node:
    description: Only VMs on this node (with V(qm) the local node).
    type: str
  vmid:
    description: Only the VM with this ID.
    type: int
  name:
    description: Only VMs with this name.
    type: str
  tags:
    description: Only VMs that carry all of these tags (compared lower-cased).
    type: list
    elements: str
seealso:
  - module: lxcri.containers.pve_vm
"""

EXAMPLES = r"""
- name: All VMs tagged web
  lxcri.containers.pve_vm_info:
    tags: [web]
  register: web

- name: Give VM 201 the NICs and memory of the first web VM
  lxcri.containers.pve_vm:
    vmid: 201
    memory: "{{ web.vms[0].config.memory }}"
    net: "{{ web.vms[0].config.net | map('dict2items') | map('rejectattr', 'key', 'eq', 'macaddr') | map('items2dict') }}"
"""

RETURN = r"""
vms:
  description: The matching VMs, sorted by vmid.
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: ID of the VM.
      type: int
      returned: always
    node:
      description: Node that holds it.
      type: str
      returned: always
    status:
      description: C(running), C(stopped) or C(paused).
      type: str
      returned: always
    lock:
      description: Config lock (C(backup), C(clone) ...) or null.
      type: str
      returned: always
    template:
      description: Whether it is a template.
      type: bool
      returned: always
    config:
      description: Canonical configuration in the option shape of M(lxcri.containers.pve_vm) (without C(cipassword)).
      type: dict
      returned: always
    unmanaged:
      description: Configuration keys that M(lxcri.containers.pve_vm) does not manage (C(unusedN), C(hostpciN), C(meta) ...).
      type: dict
      returned: always
reads:
  description: The read calls made.
  returned: always
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import info_argument_spec, make_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.manager import query


def converge(module):
    transport = make_transport(module)
    return {"changed": False, "vms": query(transport, module.params), "reads": [list(r) for r in transport.reads]}


def main():
    module = AnsibleModule(argument_spec=info_argument_spec(), supports_check_mode=True)
    run_module(module, converge)


if __name__ == "__main__":
    main()
