#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_container_info
short_description: List OCI containers of crun and runc
version_added: 0.1.0
description:
  - Lists the containers of C(crun), C(runc) or both, under their default state roots or the given O(root) directories,
    in the same shape as the C(container) value of M(lxcri.containers.oci_container).
  - Runs C(list --format json) once per runtime and root (runc prints C(null) when there are none), then C(state) for each
    listed container (for its annotations and root file system). A root directory that does not exist holds no
    containers and is not passed to the runtime.
  - With the default O(runtime=all), a runtime that is not installed is skipped and reported in RV(missing_runtimes).
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.attributes.INFO_MODULE
options:
  runtime:
    description:
      - The runtime whose containers to list; V(all) lists both.
    type: str
    choices: [all, crun, runc]
    default: all
  root:
    description:
      - State root directories to list (the runtime's global C(--root)). Needs O(runtime=crun) or O(runtime=runc).
      - Defaults to C(/run/crun) or C(/run/runc).
    type: list
    elements: path
  executable:
    description:
      - Path of the runtime binary. Needs O(runtime=crun) or O(runtime=runc).
    type: path
  name:
    description:
      - Only return containers with these ids.
    type: list
    elements: str
seealso:
  - module: lxcri.containers.oci_container
"""

EXAMPLES = r"""
- name: List every crun and runc container
  lxcri.containers.oci_container_info:
  register: oci

- name: Look up one runc container under a private root
  lxcri.containers.oci_container_info:
    runtime: runc
    root: [/run/myapp/runc]
    name: [batch-1]
  register: batch
"""

RETURN = r"""
containers:
  description: The containers, sorted by runtime, root and id, in the shape of M(lxcri.containers.oci_container)'s C(container).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The container id.
      type: str
    status:
      description: C(created), C(running), C(paused), C(stopped) or C(creating).
      type: str
    pid:
      description: PID of the init process on the host; 0 when it has none.
      type: int
    bundle:
      description: The bundle directory.
      type: str
    rootfs:
      description: Absolute path of the root file system.
      type: str
    created:
      description: When the runtime created the container.
      type: str
    annotations:
      description: The container's annotations.
      type: dict
    owner:
      description: The owner as the runtime reports it.
      type: str
    runtime:
      description: C(crun) or C(runc).
      type: str
    root:
      description: The state root the container lives under.
      type: str
    managed:
      description: Whether M(lxcri.containers.oci_container) created this very container.
      type: bool
    config_digest:
      description: SHA-256 of the canonical C(config.json) the container was created from, when C(managed).
      type: str
  sample:
    - id: web
      status: running
      pid: 4242
      bundle: /srv/oci/web
      rootfs: /srv/oci/web/rootfs
      created: "2026-11-22T19:06:17.970848Z"
      annotations: {}
      owner: root
      runtime: crun
      root: /run/crun
      managed: true
      config_digest: "sha256:0f3c..."
missing_runtimes:
  description: Runtimes that were not listed because they are not installed (only with O(runtime=all)).
  returned: always
  type: list
  elements: dict
  sample: [{runtime: crun, root: /run/crun, reason: crun is not installed}]
commands:
  description: The argv of every runtime call run, in order.
  returned: always
  type: list
  elements: list
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module
from ansible_collections.lxcri.containers.plugins.module_utils._oci.info import list_containers


def main():
    module = AnsibleModule(
        argument_spec=dict(
            runtime=dict(type="str", default="all", choices=["all", "crun", "runc"]),
            root=dict(type="list", elements="path"),
            executable=dict(type="path"),
            name=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda mod: list_containers(mod.params, mod.run_command))


if __name__ == "__main__":
    main()
