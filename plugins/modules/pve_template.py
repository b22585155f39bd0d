#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_template
short_description: Ensure a Proxmox VE container template is present in (or absent from) a storage
version_added: 0.1.0
description:
  - Makes sure the container template O(name) is in storage O(storage) of a Proxmox VE node, so that creating a
    container from it spends no time downloading.
  - Without O(src) the template comes from the node's appliance catalogue (C(pveam download), or
    C(POST /nodes/{node}/aplinfo) over the API), whose index carries a SHA-512 per template. When the template is not
    in the node's index, C(pveam update) refreshes it first (O(update_catalogue), V(pct) transport only).
  - With O(src) a local file is uploaded. Over V(pct) it is copied into the storage's template directory as given by
    C(pvesm path) (written under a temporary name, checked, then renamed), or, on a node without C(pvesm), handed to
    the node's own upload handler (C(pvesh create /nodes/{node}/storage/{storage}/upload --tmpfilename ...)). Over V(api)
    it is sent as C(POST /nodes/{node}/storage/{storage}/upload) (multipart) with C(checksum) and C(checksum-algorithm),
    so Proxmox VE verifies it before storing it.
  - "Idempotent: a present template is left alone when its checksum equals the wanted one. The checksum of a stored file can be
    read only on the node (V(pct) transport with C(pvesm)); otherwise a present upload is compared by size with O(src), and a
    present catalogue template by name (catalogue names carry the version). RV(verified) says which comparison was made."
  - The wanted checksum is O(checksum), else the catalogue's SHA-512, else the SHA-256 of O(src).
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.attributes.ACTIONGROUP_PROXMOX
  - lxcri.containers.pve
  - lxcri.containers.pve.api
attributes:
  check_mode:
    support: full
    details:
      - In check mode the catalogue index is not refreshed; a template missing from it is predicted to be downloaded.
  diff_mode:
    support: full
options:
  name:
    description:
      - File name of the template, for example C(debian-12-standard_12.7-1_amd64.tar.zst), or its volume id
        C(<storage>:vztmpl/<file>).
      - It must end in C(.tar), C(.tar.gz), C(.tar.xz), C(.tar.zst) or C(.tar.bz2) and use only letters, digits and C(._+-).
      - Required unless O(oci_bundle) is given (which names the template itself).
    type: str
  storage:
    description:
      - Storage that holds the template; it must allow C(vztmpl) content. Defaults to C(local), or to the storage named in O(name).
    type: str
  state:
    description:
      - V(present) makes sure the template is there (with the wanted checksum when it can be read); V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  src:
    description:
      - A local template file to upload instead of downloading from the catalogue. It is read on the host that runs the module
        (the node for V(pct), usually the controller for V(api)).
    type: path
  checksum:
    description:
      - Expected checksum as C(<algorithm>:<hex>), algorithm one of C(md5), C(sha1), C(sha224), C(sha256), C(sha384), C(sha512).
      - With O(src), the file is checked before anything is uploaded and the task fails if it differs.
      - Without O(src), the downloaded template must have it (when its file can be read on the node).
    type: str
  update_catalogue:
    description:
      - Run C(pveam update) once when the template is not in the node's catalogue index (transport V(pct) only; the REST API
        has no way to refresh the index).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for a download or upload task.
    type: int
    default: 600
  oci_bundle:
    description:
      - An OCI bundle directory (C(config.json) and its root file system) to turn into a template, instead of O(name)/O(src).
      - The bundle's rootfs becomes C(lxcri-oci-<24 hex digits of its content digest>_<arch>.tar.gz), built reproducibly in
        O(oci_cache_dir) and uploaded like O(src) with its SHA-256. Two bundles with the same rootfs give the same template,
        which is made once and reused; the name never depends on time.
      - The bundle's settings are mapped as Proxmox VE 9.1 runs application containers and returned in RV(container)
        (hostname, memory and swap from C(linux.resources.memory), cores and cpulimit from the CPU quota and period, cpuunits
        from the shares, the process as C(entrypoint) with C(cmode=console), env, cwd/user/groups as raw C(lxc.init.*) keys,
        rlimits as raw C(lxc.prlimit.*) keys, bind mounts as mount points). Settings without a Proxmox VE equivalent
        are listed in a warning and in the C(unmapped) list of RV(container), never dropped silently.
      - In check mode the template is built in a temporary directory (for its name and checksum) and removed.
    type: path
  oci_cache_dir:
    description:
      - Where templates built from O(oci_bundle) are kept on the host that runs the module.
    type: path
    default: /var/lib/lxcri/oci-templates
notes:
  - With O(transport=api) the O(node) option is required.
seealso:
  - module: lxcri.containers.pve_container
  - module: lxcri.containers.host_check
"""

EXAMPLES = r"""
- name: Debian 12 from the appliance catalogue, on the node itself
  lxcri.containers.pve_template:
    name: debian-12-standard_12.7-1_amd64.tar.zst
    storage: local

- name: Upload an in-house template through the API, checked against its SHA-256
  lxcri.containers.pve_template:
    transport: api
    api_host: pve1.example.com
    api_token_id: automation@pve!ansible
    api_token_secret: "{{ vault_pve_token }}"
    node: pve1
    name: local:vztmpl/app-base_2.3-1_amd64.tar.zst
    src: files/app-base_2.3-1_amd64.tar.zst
    checksum: "sha256:4f0c8e5d8f6b0c1e7a5f1b7d0e0a1c9b3e0f7d2c6a4b8e1f0d3c5a7b9e2f4d6a"
  delegate_to: localhost

- name: Turn an OCI bundle into a template (named by its rootfs digest) and see what its config.json maps to
  lxcri.containers.pve_template:
    oci_bundle: /var/lib/lxcri/bundles/web
    storage: local
  register: web_template

- name: Remove an old template
  lxcri.containers.pve_template:
    name: local:vztmpl/debian-11-standard_11.7-1_amd64.tar.zst
    state: absent
"""

RETURN = r"""
template:
  description: The template after the task (in check mode, as it would be).
  returned: always
  type: dict
  contains:
    volid:
      description: Volume id C(<storage>:vztmpl/<file>).
      type: str
    storage:
      description: The storage.
      type: str
    name:
      description: The file name.
      type: str
    present:
      description: Whether the template is in the storage.
      type: bool
    size:
      description: Size in bytes, when known.
      type: int
    checksum:
      description: C(<algorithm>:<hex>), when known.
      type: str
  sample:
    volid: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    storage: local
    name: debian-12-standard_12.7-1_amd64.tar.zst
    present: true
    size: 126124032
    checksum: "sha512:1c4d0a..."
volid:
  description: Volume id of the template.
  returned: always
  type: str
source:
  description: V(catalogue) or V(file) (O(src)).
  returned: always
  type: str
verified:
  description:
    - How a present template was compared with the wanted one; V(checksum) (its file was hashed on the node), V(size)
      (compared with O(src)) or V(presence) (by name only).
  returned: always
  type: str
actions:
  description: The steps run (or, in check mode, that would run), each with C(kind), C(description) and C(argv).
  returned: always
  type: list
  elements: dict
diff:
  description: The template before and after.
  returned: always
  type: dict
container:
  description:
    - With O(oci_bundle), what the bundle maps to. C(params) are M(lxcri.containers.pve_container) options (C(ostemplate),
      C(hostname), C(memory), C(swap), C(cores), C(cpulimit), C(cpuunits), C(entrypoint), C(cmode), C(mp), C(unprivileged),
      C(ostype), and C(env), a NUL-separated C(NAME=value) list as Proxmox VE 9.1 stores it), C(env) the same list as a list,
      C(lxc) the raw C([key, value]) entries, C(unmapped) the settings that could not be mapped, C(template_file) the built template.
  returned: when O(oci_bundle) is given
  type: dict
error_kind:
  description: Machine-readable kind of the failure (C(invalid_argument), C(not_found), C(task_failed), ...).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import connection_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.run import converge


def argument_spec():
    spec = connection_spec()
    spec.update(
        name=dict(type="str"),
        storage=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        src=dict(type="path"),
        checksum=dict(type="str"),
        update_catalogue=dict(type="bool", default=True),
        timeout=dict(type="int", default=600),
        oci_bundle=dict(type="path"),
        oci_cache_dir=dict(type="path", default="/var/lib/lxcri/oci-templates"),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           required_one_of=[["name", "oci_bundle"]], mutually_exclusive=[["src", "oci_bundle"], ["name", "oci_bundle"]])
    run_module(module, converge)


if __name__ == "__main__":
    main()
