# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One VM's config as `qm config` prints it and as the model reads it, shared by the _pvevm tests."""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model

# What `qm config 100` prints for a VM made by `qm create` plus a few `qm set`s.
QM_CONFIG = """agent: 1,fstrim_cloned_disks=1
balloon: 1024
bios: ovmf
boot: order=scsi0;ide2;net0
cipassword: **********
ciuser: admin
cores: 2
cpu: x86-64-v2-AES,flags=+aes;-pcid
description: web%20server%3A front%0Asecond line
efidisk0: local-lvm:vm-100-disk-1,efitype=4m,size=4M
hookscript: local:snippets/hook.sh
ide2: local-lvm:vm-100-cloudinit,media=cdrom
ipconfig0: ip=10.0.0.5/24,gw=10.0.0.1
ipconfig1: ip6=auto
machine: q35
memory: 2048
meta: creation-qemu=9.2.0,ctime=1700000000
name: web1
nameserver: 10.0.0.1 10.0.0.2
net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1
net1: e1000=BC:24:11:AA:BB:CD,bridge=vmbr1,mtu=1450,rate=12.5,tag=20
onboot: 1
ostype: l26
protection: 1
scsi0: local-lvm:vm-100-disk-0,iothread=1,size=32G
scsihw: virtio-scsi-single
searchdomain: example.com
smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465
sockets: 1
sshkeys: ssh-ed25519%20AAAAkey%20me%40host%0Assh-rsa%20BBBB%20you%40there%0A
startup: order=2,up=30
tags: web;prod
unused0: local-lvm:vm-100-disk-2
vmgenid: c773c261-d800-4348-9f5d-167fadd53cf8
"""

CURRENT = {
    "agent": {"enabled": True, "fstrim_cloned_disks": True},
    "balloon": 1024,
    "bios": "ovmf",
    "boot": ["scsi0", "ide2", "net0"],
    "cipassword": model.MASKED_VALUE,
    "ciuser": "admin",
    "cores": 2,
    "cpu": {"cputype": "x86-64-v2-AES", "flags": ["+aes", "-pcid"]},
    "description": "web server: front\nsecond line",
    "efidisk0": {"file": "local-lvm:vm-100-disk-1", "efitype": "4m", "size": "4M"},
    "hookscript": "local:snippets/hook.sh",
    "ide2": {"file": "local-lvm:vm-100-cloudinit", "media": "cdrom"},
    "ipconfig0": {"ip": "10.0.0.5/24", "gw": "10.0.0.1"},
    "ipconfig1": {"ip6": "auto"},
    "machine": {"type": "q35"},
    "memory": 2048,
    "name": "web1",
    "nameserver": ["10.0.0.1", "10.0.0.2"],
    "net0": {"model": "virtio", "macaddr": "BC:24:11:AA:BB:CC", "bridge": "vmbr0", "firewall": True},
    "net1": {"model": "e1000", "macaddr": "BC:24:11:AA:BB:CD", "bridge": "vmbr1", "mtu": 1450, "rate": 12.5, "tag": 20},
    "onboot": True,
    "ostype": "l26",
    "protection": True,
    "scsi0": {"file": "local-lvm:vm-100-disk-0", "iothread": True, "size": "32G"},
    "scsihw": "virtio-scsi-single",
    "searchdomain": ["example.com"],
    "sockets": 1,
    "sshkeys": ["ssh-ed25519 AAAAkey me@host", "ssh-rsa BBBB you@there"],
    "startup": {"order": 2, "up": 30},
    "tags": ["prod", "web"],
    "unused0": {"file": "local-lvm:vm-100-disk-2"},
}


def current():
    return model.from_raw(model.parse_config_text(QM_CONFIG))
