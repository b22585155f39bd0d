#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_container_info
short_description: Read Proxmox VE LXC containers in the canonical shape pve_container accepts
version_added: 0.1.0
description:
  - Lists containers, optionally filtered by O(vmid), O(hostname) or O(tags), and returns each configuration in the same
    canonical shape that M(lxcri.containers.pve_container) accepts as options, so a result can be fed back as input.
  - Reads the configuration with pending changes merged in (C(pct config) or C(GET .../config)).
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.attributes.ACTIONGROUP_PROXMOX
  - lxcri.containers.attributes.INFO_MODULE
  - lxcri.containers.pve
  - lxcri.containers.pve.api
options:
  vmid:
    description: Only the container with this ID.
    type: int
  hostname:
    description: Only containers with this host name.
    type: str
  tags:
    description: Only containers that carry all of these tags (compared lower-cased).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: All containers tagged web
  lxcri.containers.pve_container_info:
    tags: [web]
  register: web

- name: Copy the configuration of CT 120 onto CT 121
  lxcri.containers.pve_container:
    vmid: 121
    memory: "{{ web.containers[0].config.memory }}"
    net: "{{ web.containers[0].config.net }}"
"""

RETURN = r"""
containers:
  description: The matching containers, sorted by vmid.
  returned: always
  type: list
  elements: dict
  contains:
    vmid:
      description: ID of the container.
      type: int
      returned: always
    node:
      description: Node that holds it.
      type: str
      returned: always
    status:
      description: C(running) or C(stopped).
      type: str
      returned: always
    lock:
      description: Config lock (C(backup), C(mounted) ...) or null.
      type: str
      returned: always
    template:
      description: Whether it is a template.
      type: bool
      returned: always
    config:
      description: Canonical configuration in the option shape of M(lxcri.containers.pve_container).
      type: dict
      returned: always
    unmanaged:
      description: Configuration keys that M(lxcri.containers.pve_container) does not manage (C(devN), C(unusedN), C(env) ...).
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
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import connection_spec, make_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import query


def converge(module):
    transport = make_transport(module)
    containers = query(transport, module.params)
    return {"changed": False, "containers": containers, "reads": [list(r) for r in transport.reads]}


def argument_spec():
    spec = connection_spec()
    spec.update(vmid=dict(type="int"), hostname=dict(type="str"), tags=dict(type="list", elements="str"))
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, converge)


if __name__ == "__main__":
    main()
