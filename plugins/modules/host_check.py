#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_check
short_description: Check that a host can run Proxmox LXC, crun or runc containers
version_added: 0.1.0
description:
  - Reads the host and reports, check by check, whether it can run the backends named in O(backends).
    Each check has a C(name), a C(status) (V(ok), V(warn) or V(fail)), a C(detail) saying what was found
    and a C(remedy) saying what to do (C(null) when the check is V(ok)).
  - "Checks: the binaries and their versions (C(pct), C(pveam), C(pvesh) for V(lxc); C(crun) or C(runc) and, as warnings only,
    C(umoci) and C(skopeo)); the OCI runtime-spec versions the runtimes implement (C(features), or the C(spec:) line of
    C(--version) for releases without C(features), such as Debian 12's crun 1.8.1); the cgroup layout (v1, hybrid or v2, read
    with C(statfs) as crun reads it, plus C(/proc/self/mountinfo)) and whether crun, runc and Proxmox VE can run on it;
    user namespaces (C(user.max_user_namespaces), and root's ranges in C(/etc/subuid) and C(/etc/subgid) for V(lxc));
    the bridges in O(bridges); the storages in O(storages) and the templates in O(templates) (with C(pvesh) and C(pveam list));
    the state directories in O(state_dirs) are writable; the free space in O(free_space)."
  - The cgroup layout is the one of the mount namespace the module runs in. On a hybrid host, crun refuses to create
    containers (C(cgroups in hybrid mode not supported)) unless it runs in a private mount namespace where
    C(/sys/fs/cgroup/unified) is unmounted; run there, this module reports crun as usable.
  - Never changes the host. The facts are returned as C(lxcri_host).
  - The task fails only as O(fail_on) says.
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.attributes.INFO_MODULE
attributes:
  facts:
    support: full
    description: Returns the C(lxcri_host) fact.
options:
  backends:
    description:
      - The backends this host must be able to run. V(lxc) means Proxmox VE containers through C(pct)/C(pveam)/C(pvesh).
    type: list
    elements: str
    choices: [lxc, crun, runc]
    default: [lxc, crun, runc]
  bridges:
    description:
      - Bridges the containers on this host use (C(bridge=) of their network interfaces); each must exist, be a bridge and be up.
    type: list
    elements: str
    default: []
  templates:
    description:
      - Proxmox VE templates the containers need, as volume ids C(storage:vztmpl/<file>).
      - Each must be listed by C(pveam list <storage>); its storage must exist, be active and allow C(vztmpl) content.
    type: list
    elements: str
    default: []
  storages:
    description:
      - Other Proxmox VE storages the containers need (for example the root disk storage); each must exist and be active.
    type: list
    elements: str
    default: []
  node:
    description:
      - Name of this Proxmox VE node, for reading its storages. Defaults to the short host name (or the only node of the cluster).
    type: str
  state_dirs:
    description:
      - Directories the backends write state to; each must be writable (or, if it does not exist yet, its nearest existing parent).
      - Defaults to the runtimes' state roots, C(/run/crun) and C(/run/runc), for the runtimes in O(backends).
    type: list
    elements: path
  min_free_bytes:
    description:
      - Free space, in bytes, each state directory's file system (and each O(free_space) entry without C(min_bytes)) must have.
      - Also a warning threshold for the free space of the storages checked.
    type: int
    default: 1073741824
  free_space:
    description:
      - Paths whose file system must have free space. Defaults to the O(state_dirs) with O(min_free_bytes).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: An absolute path (the nearest existing parent is measured).
        type: path
        required: true
      min_bytes:
        description: Bytes that must be free; defaults to O(min_free_bytes).
        type: int
  oci_version:
    description:
      - The C(ociVersion) your bundles declare. A runtime whose highest spec version is lower gets a warning.
    type: str
  fail_on:
    description:
      - When the task fails. V(fail) on any failed check, V(warn) on any warning or failed check, V(never) reports only.
      - The checks are returned in both cases (in the failure result too).
    type: str
    choices: [fail, warn, never]
    default: fail
notes:
  - Run it with C(become) as root; the checks of writability are those of the user the module runs as.
seealso:
  - module: lxcri.containers.pve_template
  - module: lxcri.containers.oci_container
"""

EXAMPLES = r"""
- name: Check an OCI host for runc and crun, report only
  lxcri.containers.host_check:
    backends: [crun, runc]
    fail_on: never
  register: hc

- name: Show what to fix
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.detail }} -> {{ item.remedy }}"
  loop: "{{ hc.checks | rejectattr('status', 'eq', 'ok') }}"

- name: A Proxmox node must have the bridge and templates its containers use
  lxcri.containers.host_check:
    backends: [lxc]
    bridges: [vmbr0]
    templates:
      - local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    storages: [local-lvm]
    free_space:
      - path: /var/lib/vz
        min_bytes: 5368709120
"""

RETURN = r"""
checks:
  description: Every check, in the order they ran.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: C(<kind>:<subject>), for example C(binary:crun), C(cgroup:crun), C(bridge:vmbr0), C(template:local:vztmpl/x.tar.gz).
      type: str
    status:
      description: V(ok), V(warn) or V(fail).
      type: str
    detail:
      description: What was found.
      type: str
    remedy:
      description: What to do about it; C(null) for V(ok).
      type: str
  sample:
    - name: cgroup:crun
      status: fail
      detail: "crun refuses this hybrid layout: /sys/fs/cgroup/unified is cgroup2 and its cgroup.controllers lists hugetlb, ..."
      remedy: "run crun inside a private mount namespace where /sys/fs/cgroup/unified is unmounted, ..."
summary:
  description: How many checks have each status.
  returned: always
  type: dict
  sample: {ok: 12, warn: 2, fail: 1}
failed_checks:
  description: Names of the checks with status V(fail).
  returned: always
  type: list
  elements: str
warned_checks:
  description: Names of the checks with status V(warn).
  returned: always
  type: list
  elements: str
ansible_facts:
  description: Facts about the host.
  returned: success
  type: dict
  contains:
    lxcri_host:
      description:
        - C(backends), C(summary), C(checks) (name to status), C(binaries) (path and version per binary), C(runtimes)
          (spec versions per runtime), C(cgroup) (C(layout) V(v1), V(hybrid), V(v2) or V(none), C(v2_controllers), C(crun_usable)),
          C(userns), C(bridges), C(proxmox) (C(node), C(storages), C(templates)), C(state_dirs), C(disk).
      type: dict
error_kind:
  description: V(unsupported_host) when O(fail_on) made the task fail, V(invalid_argument) for bad parameters.
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module
from ansible_collections.lxcri.containers.plugins.module_utils._hostcheck.probe import LocalHost
from ansible_collections.lxcri.containers.plugins.module_utils._hostcheck.run import host_check


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backends=dict(type="list", elements="str", choices=["lxc", "crun", "runc"], default=["lxc", "crun", "runc"]),
            bridges=dict(type="list", elements="str", default=[]),
            templates=dict(type="list", elements="str", default=[]),
            storages=dict(type="list", elements="str", default=[]),
            node=dict(type="str"),
            state_dirs=dict(type="list", elements="path"),
            min_free_bytes=dict(type="int", default=1073741824),
            free_space=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                min_bytes=dict(type="int"),
            )),
            oci_version=dict(type="str"),
            fail_on=dict(type="str", choices=["fail", "warn", "never"], default="fail"),
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda mod: host_check(mod.params, LocalHost(mod)))


if __name__ == "__main__":
    main()
