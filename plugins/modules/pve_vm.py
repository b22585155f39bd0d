#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: pve_vm
short_description: Manage Proxmox VE virtual machines idempotently over qm or the REST API
version_added: 0.2.0
description:
  - Creates (from parameters, or by cloning a template, the usual way), configures, resizes, starts, stops, restarts,
    converts to a template and destroys Proxmox VE QEMU virtual machines.
  - The current configuration is read in its pending view and canonicalised together with the options (property strings
    become dicts, sizes C(32G), the MAC and model Proxmox generated kept when not declared); only the keys that differ are
    written (C(qm set) or C(PUT .../config) with the config C(digest)), removed keys with C(delete), bigger disks with a
    resize (disks never shrink). A run that changes nothing makes no mutating call and two reads (the listing and the
    pending view; over C(qm) that is the VM's config file under C(/etc/pve/nodes/<node>/qemu-server), the file C(qm pending)
    reads, whose SHA-1 is the C(digest) C(qm set) sends); over the API without O(node), a third (the live status, as the cluster listing's may be 10 s old).
  - Over the API with a token, or as a user other than root@pam logged in with a password, a change Proxmox allows only
    to root@pam (O(hookscript), set or removed; a disk whose C(file) or C(import-from) is a host path) is refused before any
    write with C(error_kind=permission), naming the fields.
  - A change that a running VM keeps pending until its next start (what QEMU cannot hot-plug) is reported in
    RV(restart_required); O(apply_pending=restart) reboots it to apply such changes.
  - A locked VM is retried with backoff up to O(lock_timeout). A create or clone that fails halfway removes what it made.
  - Check mode runs every read and no write and returns the exact plan in RV(actions); diff mode shows the canonical
    configuration before and after, with O(cipassword) masked.
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
  - lxcri.containers.attributes.ACTIONGROUP_PROXMOX
  - lxcri.containers.pve.qm
  - lxcri.containers.pve.api
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  vmid:
    description:
      - ID of the VM, 100 to 999999999 (unique across VMs and containers).
      - When omitted, the VM is found by O(name); a new one gets the next free id (C(/cluster/nextid)).
    type: int
  name:
    description:
      - Name of the VM (a DNS name). Identifies the VM when O(vmid) is not given (it must then be unique);
        with O(vmid) it is a setting.
    type: str
  state:
    description:
      - V(present) creates the VM if needed and converges its configuration, leaving it running or stopped as it is.
      - V(started) and V(stopped) also ensure the run state (a stop is an ACPI shutdown with O(timeout), then a kill;
        see O(force_stop)).
      - V(restarted) reboots a running VM (always a change) or starts a stopped one.
      - V(template) converts it to a template (stopping it first).
      - V(absent) stops it and destroys it with its disks. A VM with C(protection) enabled is refused
        (C(error_kind=conflict)) before anything is stopped.
    type: str
    choices: [present, started, stopped, restarted, absent, template]
    default: present
  purge:
    description:
      - With O(state=absent), also remove the VM from backup jobs, replication and HA (C(--purge)).
    type: bool
    default: false
  force_stop:
    description:
      - Stop with an immediate kill (C(qm stop)) instead of a clean shutdown that kills only after O(timeout).
    type: bool
    default: false
  timeout:
    description:
      - Seconds each Proxmox operation (create, clone, start, shutdown, reboot, resize, destroy) may take.
    type: int
    default: 300
  lock_timeout:
    description:
      - Seconds to keep retrying, with backoff, a change refused because the VM is locked; then C(error_kind=locked).
    type: int
    default: 60
  apply_pending:
    description:
      - What to do when a running VM has pending changes after the run.
      - V(report) leaves it running and returns RV(restart_required=true); V(restart) reboots it.
    type: str
    choices: [report, restart]
    default: report
  exclusive:
    description:
      - Treat O(net), O(ipconfig), O(disks) and O(tags) as complete, and each declared NIC or disk dict as the whole device.
        Undeclared NICs and ipconfigs are removed, undeclared disks are detached to C(unusedN) (never destroyed),
        undeclared tags removed.
      - When V(false), undeclared devices and sub-options are left alone and O(tags) are added to the existing ones.
    type: bool
    default: false
  update_password:
    description:
      - V(on_create) writes O(cipassword) only when the VM is created or cloned, or has none (it cannot be read back).
      - V(always) writes it on every run (reported as a change each time).
    type: str
    choices: [on_create, always]
    default: on_create
  clone:
    description:
      - Make a new VM by cloning a template (or a VM, with O(clone.full=true)); ignored when the VM exists.
      - The options given besides are then written to the clone (only the keys that differ from the template's).
    type: dict
    suboptions:
      source:
        description: The vmid or the name of the VM or template to clone.
        type: raw
        required: true
      full:
        description:
          - V(true) a full copy, V(false) a linked clone (templates only). Default is linked for a template without
            O(clone.target_storage), full otherwise.
        type: bool
      target_storage:
        description: Storage for the full clone's disks.
        type: str
  cores:
    description: CPU cores per socket.
    type: int
  sockets:
    description: CPU sockets.
    type: int
  vcpus:
    description: Hot-plugged vCPUs (at most O(cores) x O(sockets)).
    type: int
  cpu:
    description: "CPU type as a property string or dict, for example V(host) or C({cputype: x86-64-v2-AES, flags: +aes})."
    type: raw
  cpulimit:
    description: CPU time limit (0 no limit).
    type: float
  cpuunits:
    description: CPU weight.
    type: int
  numa:
    description: Enable NUMA.
    type: bool
  memory:
    description: Memory in MiB.
    type: int
  balloon:
    description: Minimum memory in MiB for the balloon device (0 disables it).
    type: int
  ostype:
    description: Guest operating system type.
    type: str
    choices: [other, wxp, w2k, w2k3, w2k8, wvista, win7, win8, win10, win11, l24, l26, solaris]
  machine:
    description: QEMU machine type, for example V(q35), as a string or dict.
    type: raw
  bios:
    description: Firmware.
    type: str
    choices: [seabios, ovmf]
  scsihw:
    description: SCSI controller model.
    type: str
    choices: [lsi, lsi53c810, virtio-scsi-pci, virtio-scsi-single, megasas, pvscsi]
  acpi:
    description: Enable ACPI (needed for a clean shutdown).
    type: bool
  kvm:
    description: Enable KVM hardware virtualisation.
    type: bool
  tablet:
    description: Enable the USB tablet device.
    type: bool
  net:
    description:
      - Network interfaces, in order (C(net0), C(net1), ...; an item with C(id) sets its index). Each a dict with C(model)
        (default V(virtio)), C(bridge), C(macaddr) (kept as Proxmox generated it when not declared), C(tag), C(firewall),
        C(mtu), C(rate), C(queues), C(link_down), C(trunks).
    type: list
    elements: dict
  disks:
    description:
      - Disks keyed C(scsiN), C(virtioN), C(sataN), C(ideN), C(efidisk0), C(tpmstate0); each a dict with C(storage) and
        C(size) for a new volume (C(<storage>:<GiB>)), or C(file), plus options such as C(iothread), C(discard), C(cache),
        C(ssd), C(media=cdrom).
      - A bigger C(size) on an existing disk is a resize; a smaller one is refused. C(file=<storage>:cloudinit) adds the
        cloud-init drive.
    type: dict
  boot:
    description: Boot order, a list of devices such as V([scsi0, net0]).
    type: raw
  agent:
    description: "QEMU guest agent, V(true)/V(false) or a dict such as C({enabled: true, fstrim_cloned_disks: true})."
    type: raw
  ciuser:
    description: Cloud-init user name.
    type: str
  cipassword:
    description:
      - Cloud-init password. Never on a command line (over qm read from stdin), never in results, diffs or actions; see
        O(update_password).
    type: str
  citype:
    description: Cloud-init configuration format.
    type: str
    choices: [configdrive2, nocloud, opennebula]
  ciupgrade:
    description: Let cloud-init upgrade packages on first boot.
    type: bool
  sshkeys:
    description: Cloud-init SSH public keys, a list or a newline-separated string (over qm passed in a 0600 temporary file).
    type: raw
  ipconfig:
    description: Cloud-init IP configuration per NIC, in order (C(ipconfig0) ...), each a dict with C(ip), C(gw), C(ip6), C(gw6).
    type: list
    elements: dict
  nameserver:
    description: Cloud-init DNS servers.
    type: list
    elements: str
  searchdomain:
    description: Cloud-init DNS search domains.
    type: list
    elements: str
  onboot:
    description: Start the VM when the node boots.
    type: bool
  startup:
    description: Startup order and delays, a property string or a dict with C(order), C(up), C(down).
    type: raw
  tags:
    description: Tags (merged with the existing ones unless O(exclusive)).
    type: list
    elements: str
  description:
    description: Notes shown in the web interface.
    type: str
  protection:
    description: Protection against removal.
    type: bool
  hookscript:
    description:
      - Hook script volume, for example C(local:snippets/hook.sh).
      - Proxmox lets only root@pam logged in with a password change it over the API (never a token); use O(transport=qm)
        on the node or O(api_user=root@pam) with O(api_password).
    type: str
seealso:
  - module: lxcri.containers.pve_vm_info
  - module: lxcri.containers.pve_container
"""

EXAMPLES = r"""
- name: Web VM cloned from the debian-13 template, running
  lxcri.containers.pve_vm:
    name: web1
    node: pve1
    clone:
      source: debian-13
      full: true
      target_storage: local-lvm
    cores: 2
    memory: 2048
    disks:
      scsi0: {size: 32G}
    net:
      - {bridge: vmbr0, tag: 20}
    ipconfig:
      - {ip: 192.0.2.10/24, gw: 192.0.2.1}
    ciuser: admin
    cipassword: "{{ vault_web_password }}"
    sshkeys: "{{ lookup('ansible.builtin.file', 'admin.pub') }}"
    state: started

- name: A VM from parameters over the API
  lxcri.containers.pve_vm:
    transport: api
    api_host: pve1.example.com
    api_token_id: automation@pve!ansible
    api_token_secret: "{{ vault_token }}"
    node: pve1
    vmid: 200
    name: db1
    ostype: l26
    scsihw: virtio-scsi-single
    disks:
      scsi0: {storage: local-lvm, size: 16G, iothread: true}
      ide2: {file: "local-lvm:cloudinit"}
    net:
      - {model: virtio, bridge: vmbr0}
    boot: [scsi0]

- name: More memory; reboot if the running VM keeps it pending
  lxcri.containers.pve_vm:
    vmid: 200
    memory: 4096
    apply_pending: restart

- name: Remove the VM and its disks
  lxcri.containers.pve_vm:
    vmid: 200
    state: absent
    purge: true
"""

RETURN = r"""
vmid:
  description: ID of the VM.
  returned: always
  type: int
  sample: 200
node:
  description: Node that holds the VM.
  returned: always
  type: str
  sample: pve1
status:
  description: Run state after the module (predicted in check mode), V(absent) when it does not exist.
  returned: always
  type: str
  sample: running
template:
  description: Whether the VM is a template.
  returned: always
  type: bool
config:
  description:
    - Canonical configuration after the module (predicted in check mode), in the shape the module accepts as options.
      O(cipassword) is never returned.
  returned: always
  type: dict
  sample:
    name: db1
    memory: 2048
    net:
      - {model: virtio, macaddr: "BC:24:11:5E:7D:2C", bridge: vmbr0}
    disks:
      scsi0: {file: "local-lvm:vm-200-disk-0", size: 16G, iothread: true}
actions:
  description: The changes made (planned in check mode), each with C(kind), C(description) and the C(argv) of the command or API call.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: set
      description: set memory of VM 200
      argv: [qm, set, "200", --memory, "4096"]
restart_required:
  description: The running VM has changes that apply only at its next start (see O(apply_pending)).
  returned: always
  type: bool
pending:
  description: Config keys pending a restart when RV(restart_required) is true.
  returned: always
  type: list
  elements: str
cloudinit_changed:
  description:
    - Cloud-init keys (and NICs) changed on a running VM that was not restarted; Proxmox writes them at once, but the guest
      sees them only when its cloud-init drive is regenerated at the next start.
  returned: always
  type: list
  elements: str
reads:
  description: The read calls made (commands or API paths), to audit the cost of a run.
  returned: always
  type: list
  elements: list
transport:
  description: Transport used, V(qm) or V(api).
  returned: always
  type: str
diff:
  description: Canonical configuration keys that differ, before and after. O(cipassword) is masked.
  returned: always
  type: dict
error_kind:
  description: On failure, a stable kind such as C(invalid_argument), C(not_found), C(conflict), C(locked), C(permission), C(timeout).
  returned: failure
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import argument_spec, make_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.manager import VmManager


def converge(module):
    transport = make_transport(module, timeout=module.params["timeout"])
    return VmManager(transport, module.params, check_mode=module.check_mode, warn=module.warn).run()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    run_module(module, converge)


if __name__ == "__main__":
    main()
