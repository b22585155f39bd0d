#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_container
short_description: Manage Proxmox VE LXC containers idempotently over pct or the REST API
version_added: 0.1.0
description:
  - Creates, configures, starts, stops, restarts, converts to a template and destroys Proxmox VE LXC containers.
  - The current configuration is read in its pending view and canonicalised together with the options (property strings
    become dicts, sizes C(8G), booleans, sorted tag sets, descriptions without the trailing newline Proxmox adds, generated
    C(hwaddr) kept); only the keys that differ are written (C(pct set) or C(PUT .../config) with the config C(digest)),
    removed keys with C(delete). A run that changes nothing makes no mutating call; over C(pct) it makes two reads
    (C(pct list) and the container's config file under C(/etc/pve/nodes/<node>/lxc), the file C(pct pending) reads,
    whose SHA-1 is the C(digest) C(pct set) sends; C(pct pending) where that directory is not readable).
  - A change that a running container keeps pending until its next start is reported in RV(restart_required);
    O(apply_pending=restart) reboots it to apply such changes.
  - A locked container (C(CT is locked), config lock file timeouts) is retried with backoff up to O(lock_timeout).
  - A create that fails halfway removes what it made.
  - Check mode runs every read and no write and returns the exact plan in RV(actions); diff mode shows the canonical
    configuration before and after.
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
  diff_mode:
    support: full
options:
  vmid:
    description:
      - ID of the container, 100 to 999999999.
      - When omitted, the container is found by O(hostname); a new one gets the next free id (C(/cluster/nextid)).
    type: int
  hostname:
    description:
      - Host name of the container (a DNS name). Identifies the container when O(vmid) is not given
        (it must then be unique); with O(vmid) it is a setting.
    type: str
  state:
    description:
      - V(present) creates the container if needed and converges its configuration, leaving it running or stopped as it is.
      - V(started) and V(stopped) also ensure the run state (a stop is a shutdown with O(timeout), then a kill; see O(force_stop)).
      - V(restarted) reboots a running container (always a change) or starts a stopped one.
      - V(template) converts it to a template (stopping it first); a template stays unchanged on later runs.
      - V(absent) stops it (see O(force_stop)) and destroys it. A container with C(protection) enabled is refused
        (C(error_kind=conflict)) before anything is stopped; set O(protection=false) first.
    type: str
    choices: [present, started, stopped, restarted, absent, template]
    default: present
  purge:
    description:
      - With O(state=absent), also remove the container from backup jobs, replication and HA (C(--purge)).
    type: bool
    default: false
  force_stop:
    description:
      - Stop with an immediate kill (C(pct stop)) instead of a clean shutdown that kills only after O(timeout).
    type: bool
    default: false
  timeout:
    description:
      - Seconds each Proxmox operation (create, start, shutdown, reboot, resize, destroy) may take.
      - Over the API a timeout error names the task UPID and the tail of its log; the task keeps running on the node.
    type: int
    default: 300
  lock_timeout:
    description:
      - Seconds to keep retrying, with backoff, a change refused because the container is locked.
        After that the module fails with C(error_kind=locked).
    type: int
    default: 60
  apply_pending:
    description:
      - What to do when a running container has pending changes after the run (changes Proxmox applies only at the next start).
      - V(report) leaves it running and returns RV(restart_required=true); V(restart) reboots it.
    type: str
    choices: [report, restart]
    default: report
  exclusive:
    description:
      - Treat O(net), O(mp) and O(tags) as complete. Network interfaces and mount points that are not declared are removed
        (O(net) or O(mp) omitted means none), and so are undeclared tags.
      - When V(false), undeclared interfaces and mount points are left alone and O(tags) are added to the existing ones.
    type: bool
    default: false
  ostemplate:
    description:
      - Template volume to create from, for example C(local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst).
      - Required to create; ignored for an existing container.
    type: str
  oci_bundle:
    description:
      - An OCI bundle directory (C(config.json) and its root file system) to run as a Proxmox VE application container,
        instead of O(ostemplate).
      - The bundle's rootfs becomes a template (built reproducibly and uploaded once by M(lxcri.containers.pve_template)'s code
        over the same transport, see there) and its settings are mapped to this module's options (hostname, memory, swap,
        cores, cpulimit, cpuunits, C(entrypoint) with C(cmode=console), bind mounts as O(mp), env/cwd/user/rlimits as raw O(lxc)
        keys). Options given here win over mapped ones. Settings without a Proxmox VE equivalent are listed in a warning;
        over O(transport=api) the raw LXC keys are among them.
    type: path
  oci_storage:
    description:
      - Template storage for the template built from O(oci_bundle).
    type: str
    default: local
  oci_cache_dir:
    description:
      - Where templates built from O(oci_bundle) are kept on the host that runs the module.
    type: path
    default: /var/lib/lxcri/oci-templates
  storage:
    description:
      - Storage for new volumes (O(rootfs) and O(mp) given by size). Create only; Proxmox defaults to C(local).
    type: str
  rootfs:
    description:
      - Root file system. A size (V(8G), V(8) = 8 GiB, V(512M)) or a dict with C(size), C(storage), C(volume) and the mount
        options C(acl), C(ro), C(quota), C(replicate), C(shared), C(mountoptions) (list), C(idmap).
      - A bigger size grows the volume (C(pct resize)); a smaller one is an error (Proxmox cannot shrink).
    type: raw
  cores:
    description: Number of CPU cores.
    type: int
  cpulimit:
    description: CPU usage limit in cores (V(0) = unlimited).
    type: float
  cpuunits:
    description:
      - CPU weight. Values above 10000 are stored as 10000 (cgroup v2) and compared that way.
    type: int
  memory:
    description: Memory in MiB (at least 16).
    type: int
  swap:
    description: Swap in MiB.
    type: int
  net:
    description:
      - Network interfaces, as a dict keyed C(net0), C(net1) ... (the shape RV(config) returns) or as a list
        (position = index, or an C(id) key).
      - Each is a dict with C(name) (required), C(bridge), C(ip), C(gw), C(ip6), C(gw6), C(firewall), C(hwaddr), C(mtu),
        C(rate), C(tag), C(trunks) (list), C(link_down), C(host-managed), C(type).
      - A C(hwaddr) that is not declared keeps the one Proxmox generated.
    type: raw
  mp:
    description:
      - Mount points, as a dict keyed C(mp0), C(mp1) ... or as a list (position = index, or an C(id) key).
      - Each is a dict with C(mp) (path in the container, required) and either C(volume) (an existing volume, a host path for a
        bind mount, a device) or C(size) (+ C(storage), else O(storage)) for a new volume; plus C(acl), C(backup), C(ro),
        C(quota), C(replicate), C(shared), C(keepattrs), C(mountoptions) (list), C(idmap).
      - Bind and device mounts need O(transport=pct) (or a password login of C(root@pam)).
    type: raw
  features:
    description:
      - "Feature flags as a dict, for example C({nesting: true, keyctl: true, mount: [nfs]})."
      - Over the API only C(nesting) may be changed by users other than C(root@pam) with a password.
    type: dict
  nameserver:
    description: DNS servers of the container.
    type: list
    elements: str
  searchdomain:
    description: DNS search domains of the container.
    type: list
    elements: str
  onboot:
    description: Start the container when the node boots.
    type: bool
  startup:
    description:
      - Startup and shutdown behaviour, a dict with C(order), C(up), C(down) (or the Proxmox string C(order=1,up=30)).
    type: raw
  tags:
    description:
      - Tags. Compared as a set, lower-cased as Proxmox stores them. Added to the existing tags unless O(exclusive=true).
    type: list
    elements: str
  description:
    description: Notes shown in the Proxmox UI. Trailing newlines are not significant.
    type: str
  timezone:
    description: Time zone of the container (V(host), V(UTC) or a zone name).
    type: str
  protection:
    description: Protect the container from removal (and its disks from changes).
    type: bool
  hookscript:
    description: Hook script volume, for example C(local:snippets/hook.sh). Needs O(transport=pct) or a root@pam password login.
    type: str
  ostype:
    description:
      - OS type (Proxmox detects it at create when omitted).
      - One of C(debian), C(devuan), C(ubuntu), C(centos), C(fedora), C(opensuse), C(archlinux), C(alpine), C(gentoo),
        C(nixos), C(unmanaged) (Proxmox's list); any other value is accepted only when it is the container's current one,
        so what M(lxcri.containers.pve_container_info) returns for an older or hand-edited config can be fed back.
    type: str
  arch:
    description: Architecture (Proxmox detects it at create when omitted).
    type: str
    choices: [amd64, i386, arm64, armhf, riscv32, riscv64]
  cmode:
    description: Console mode.
    type: str
    choices: [shell, console, tty]
  console:
    description: Attach a console device.
    type: bool
  tty:
    description: Number of ttys (0 to 6).
    type: int
  entrypoint:
    description: Command run as init (application containers, Proxmox VE 9.1 and later).
    type: str
  debug:
    description: Log verbosely at start.
    type: bool
  unprivileged:
    description:
      - Create an unprivileged container (Proxmox VE 9 defaults to V(true)). Create only; a different value on an existing
        container is an error, because Proxmox cannot change it.
    type: bool
  password:
    description:
      - Root password inside the container (at least 5 characters, no line breaks). Set at create; see O(update_password).
      - Over O(transport=pct) it reaches C(pct create) on stdin, never on its command line (visible in C(ps)).
    type: str
  ssh_public_keys:
    description:
      - Public SSH keys for root inside the container (the content, one key per line). Set at create; see O(update_password).
    type: str
  update_password:
    description:
      - V(on_create) sets O(password) and O(ssh_public_keys) only when the container is created (they cannot be read back).
      - V(always) also sets them inside an existing running container on every run (reported as a change each time);
        needs O(transport=pct). The password goes to C(chpasswd) (or busybox C(passwd)) in the container on stdin,
        never on a command line; the keys replace C(/root/.ssh/authorized_keys).
    type: str
    choices: [on_create, always]
    default: on_create
  lxc:
    description:
      - Raw LXC keys, a list of C([lxc.key, value]) pairs, written in order to the container's config file.
        Proxmox has no API or C(pct set) for them, so they need O(transport=pct). The declared list replaces all raw keys.
      - Keys must match C(lxc\.[a-z0-9_.-]+); keys and values must not contain a newline, carriage return or NUL.
        The edit holds the container's config lock and waits for a C(lock:) to clear within O(lock_timeout).
      - C(lxc.environment) values are masked in RV(actions), RV(diff) and RV(config).
    type: list
    elements: raw
notes:
  - Over O(transport=pct) O(node) must be the local node (as C(/etc/pve/local) names it); another node fails with
    C(error_kind=invalid_argument) naming the local one.
  - Values Proxmox would refuse (IP addresses without a prefix length, gateways, interface names, time zones not in
    C(zone.tab), nameservers, search domains) and values that would inject config lines or property-string
    sub-keys (line breaks; C(,) C(=) C(;) in sub-values) fail with C(error_kind=invalid_argument) naming the field,
    before any command runs.
  - Changes that a running container cannot apply at once (features, rootfs, changed mount points, nameserver, ostype ...)
    stay pending in Proxmox; RV(restart_required) says so.
  - With O(transport=pct) the module must run on the Proxmox node as root.
seealso:
  - module: lxcri.containers.pve_container_info
"""

EXAMPLES = r"""
- name: Web container, created or converged, running
  lxcri.containers.pve_container:
    vmid: 120
    hostname: web
    ostemplate: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
    storage: local-lvm
    rootfs: 8G
    cores: 2
    memory: 1024
    net:
      net0: {name: eth0, bridge: vmbr0, ip: dhcp}
    features: {nesting: true}
    tags: [web, prod]
    state: started

- name: Same over the API from the controller, with a token
  lxcri.containers.pve_container:
    transport: api
    api_host: pve1.example.com
    api_token_id: "automation@pve!ansible"
    api_token_secret: "{{ vault_pve_token }}"
    node: pve1
    vmid: 120
    memory: 2048
    apply_pending: restart
  delegate_to: localhost

- name: Exactly these interfaces and tags, nothing else
  lxcri.containers.pve_container:
    vmid: 120
    exclusive: true
    net:
      - {name: eth0, bridge: vmbr0, ip: 10.0.0.5/24, gw: 10.0.0.1}
    tags: [web]

- name: A bind mount and raw LXC keys (pct only)
  lxcri.containers.pve_container:
    vmid: 120
    transport: pct
    mp:
      mp0: {volume: /srv/data, mp: /data}
    lxc:
      - [lxc.cgroup2.devices.allow, "c 10:200 rwm"]

- name: Destroy it
  lxcri.containers.pve_container:
    vmid: 120
    state: absent
    purge: true
"""

RETURN = r"""
vmid:
  description: ID of the container.
  returned: always
  type: int
  sample: 120
node:
  description: Node that holds the container.
  returned: always
  type: str
  sample: pve1
status:
  description: Run state after the module (predicted in check mode), V(absent) when it does not exist.
  returned: always
  type: str
  sample: running
template:
  description: Whether the container is a template.
  returned: always
  type: bool
config:
  description:
    - Canonical configuration after the module (predicted in check mode), in the shape the module accepts as options.
  returned: always
  type: dict
  sample:
    hostname: web
    memory: 1024
    net:
      net0: {name: eth0, bridge: vmbr0, hwaddr: "BC:24:11:5E:7D:2C", ip: dhcp, type: veth}
    rootfs: {volume: "local-lvm:vm-120-disk-0", size: 8G}
    tags: [prod, web]
actions:
  description: The changes made (planned in check mode), each with C(kind), C(description) and the C(argv) of the command or API call.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: set
      description: set memory of CT 120
      argv: [pct, set, "120", --memory, "2048"]
restart_required:
  description: The running container has changes that apply only at its next start (see O(apply_pending)).
  returned: always
  type: bool
pending:
  description: Config keys pending a restart when RV(restart_required) is true.
  returned: always
  type: list
  elements: str
reads:
  description: The read calls made (commands or API paths), to audit the cost of a run.
  returned: always
  type: list
  elements: list
transport:
  description: Transport used, V(pct) or V(api).
  returned: always
  type: str
diff:
  description: Canonical configuration keys that differ, before and after. Secrets are masked.
  returned: always
  type: dict
error_kind:
  description: On failure, a stable kind such as C(invalid_argument), C(not_found), C(conflict), C(locked), C(permission), C(timeout).
  returned: failure
  type: str
oci_template:
  description:
    - With O(oci_bundle), the M(lxcri.containers.pve_template) result for the bundle's template (its volume id, whether it was
      uploaded) and C(unmapped), the bundle settings that have no Proxmox VE equivalent.
  returned: when O(oci_bundle) is given
  type: dict
upid:
  description: On an API task failure or timeout, the task's UPID.
  returned: failure
  type: str
task_log_tail:
  description: On an API task failure or timeout, the last lines of the task log.
  returned: failure
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import connection_spec, container_spec, make_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager


def argument_spec():
    spec = connection_spec()
    spec.update(container_spec())
    return spec


def converge(module):
    transport = make_transport(module, timeout=module.params["timeout"])
    params = module.params
    oci_template = None
    if params.get("oci_bundle"):
        # Imported here: only runs that use a bundle need the OCI import code.
        from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.ocihook import apply_oci_bundle

        params, oci_template = apply_oci_bundle(module, transport, params=params)
    result = Manager(transport, params, check_mode=module.check_mode, warn=module.warn).run()
    if oci_template is not None:
        result["oci_template"] = oci_template
        result["actions"] = list(oci_template.get("actions") or []) + result["actions"]
        result["changed"] = bool(result["changed"] or oci_template.get("changed"))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True, mutually_exclusive=[["ostemplate", "oci_bundle"]])
    run_module(module, converge)


if __name__ == "__main__":
    main()
