#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_containers
short_description: Converge many OCI containers (crun, runc) of one host in one task
version_added: 0.2.0
description:
  - Converges every container of O(containers) as M(lxcri.containers.oci_container) would, with the same code for each container
    (lock, plan, run, record), in one module run.
  - Reads cost one C(list) per runtime and root for all containers, instead of one C(state) per container; a container whose
    listing shows something to do is read again under its lock before anything runs. Config digests come from the bundles.
  - With C(bundle_config) the bundle is written first, as the P(lxcri.containers.oci_bundle#role) role writes it, from a
    C(config.json) rendered by that role's template on the controller (the M(lxcri.containers.containers) action does this);
    the spec version and the rootfs directory, which only the host knows, are filled in here.
  - Containers run in parallel on at most O(parallel) workers, each container's steps in order.
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.fleet
attributes:
  check_mode:
    support: full
    details:
      - Each container is planned against its bundle as it will be written, so a changed C(config.json) shows as a recreate.
  diff_mode:
    support: full
options:
  containers:
    description:
      - The containers, each a dict of the options of M(lxcri.containers.oci_container), plus two keys.
      - C(bundle_config) writes the bundle at C(bundle) before converging the container. Its C(config) is the rendered
        C(config.json) document. C(rootfs_source) is V(dir), V(tar), V(oci_layout), or V(auto) (C(rootfs_dir) names a directory
        or a tar archive). C(rootfs_dir), C(rootfs_tar), C(rootfs_image), C(rootfs_image_tag), C(rootfs_prune), C(runtimes)
        and C(oci_version_fallback) mean what the P(lxcri.containers.oci_bundle#role) variables of the same name (with the
        C(oci_bundle_) prefix) mean.
      - C(remove_bundle=true) with C(state=absent) also removes the bundle directory C(bundle).
    type: list
    elements: dict
    required: true
seealso:
  - module: lxcri.containers.oci_container
  - module: lxcri.containers.pve_containers
"""

EXAMPLES = r"""
- name: Converge two runc containers whose bundles exist
  lxcri.containers.oci_containers:
    containers:
      - {name: web, runtime: runc, bundle: /var/lib/lxcri/bundles/web}
      - {name: old, runtime: runc, state: absent}
"""

RETURN = r"""
containers:
  description:
    - One result per item, in order, with the keys M(lxcri.containers.oci_container) returns (C(container), C(changed), C(actions),
      C(diff), C(runtime), C(root), C(commands)), plus C(name), C(status) (after the run, predicted in check mode), C(bundle_changed)
      and C(failed).
    - C(actions) starts with the bundle steps (C(bundle_dir), C(unpack), C(config), C(prune)).
    - A failed container has C(failed=true), C(msg), C(error_kind), and C(actions) (the steps that finished) and C(failed_action).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: web, changed: false, failed: false, status: running, actions: [], runtime: runc, root: /run/runc}
commands:
  description: The runtime listings shared by every container.
  returned: always
  type: list
  elements: list
spec_version_probes:
  description:
    - How many C(<runtime> features) / C(--version) probes ran to learn the spec version; 0 when the versions cached beside the
      bundles (C(.lxcri-oci-spec-versions.json), keyed by each runtime binary's path, size and mtime) still hold.
  returned: always
  type: int
msg:
  description: On failure, which containers failed and why.
  returned: failure
  type: str
error_kind:
  description: On failure, C(task_failed) when containers failed, or the kind of a validation error.
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._fleet.oci import Listings, check_sources, converge_one, item_spec
from ansible_collections.lxcri.containers.plugins.module_utils._fleet.ocibundle import HostFacts
from ansible_collections.lxcri.containers.plugins.module_utils._fleet.pool import exit_fleet, refuse_duplicates, validate_items
from ansible_collections.lxcri.containers.plugins.module_utils._oci.argspec import REQUIRED_IF


def _label(item):
    return str(item.get("name"))


def main():
    module = AnsibleModule(argument_spec=dict(containers=dict(type="list", elements="dict", required=True), parallel=dict(type="int", default=4)),
                           supports_check_mode=True)
    listings = Listings(module.run_command)
    facts = HostFacts(module.run_command, module.check_mode)

    def prepare():
        items, _secrets = validate_items(module.params["containers"], item_spec(), _label, required_if=REQUIRED_IF)
        refuse_duplicates(items, lambda item: (item.get("runtime"), item.get("root"), item["name"]), _label, "name")
        check_sources(items, _label)
        return items, lambda item, warn: converge_one(item, facts, listings, module.run_command, module.check_mode, warn), _label, None

    def extra():
        facts.save_cache()
        return {"commands": listings.commands, "spec_version_probes": facts.probes}

    exit_fleet(module, prepare, extra)


if __name__ == "__main__":
    main()
