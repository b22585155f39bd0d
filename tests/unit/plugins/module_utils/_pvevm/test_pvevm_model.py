# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The client-side VM config model: qm config / API output and module parameters in one shape."""

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model

# What `qm config 100` prints for a VM made by `qm create` (formats from contract section 9 and
# qemu-server 9.2.6 PVE/QemuServer.pm write_vm_config: sorted keys, model and MAC fused in netN).
QM_CONFIG = """agent: 1,fstrim_cloned_disks=1
boot: order=scsi0;ide2;net0
cipassword: **********
ciuser: admin
cores: 2
description: web%20server%3A front
ide2: local-lvm:vm-100-cloudinit,media=cdrom
ipconfig0: ip=10.0.0.5/24,gw=10.0.0.1
memory: 2048
meta: creation-qemu=9.2.0,ctime=1700000000
name: web1
nameserver: 10.0.0.1 10.0.0.2
net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1
onboot: 1
scsi0: local-lvm:vm-100-disk-0,iothread=1,size=32G
scsihw: virtio-scsi-single
smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465
sshkeys: ssh-ed25519%20AAAAkey%20me%40host%0A
startup: order=2,up=30
tags: web;prod
vmgenid: c773c261-d800-4348-9f5d-167fadd53cf8

[PENDING]
memory: 4096
"""


def test_from_qm_config():
    config = model.from_raw(model.parse_config_text(QM_CONFIG))
    assert config == {
        "agent": {"enabled": True, "fstrim_cloned_disks": True},
        "boot": ["scsi0", "ide2", "net0"],
        "ciuser": "admin",
        "cores": 2,
        "description": "web server: front",
        "ide2": {"file": "local-lvm:vm-100-cloudinit", "media": "cdrom"},
        "ipconfig0": {"ip": "10.0.0.5/24", "gw": "10.0.0.1"},
        "memory": 2048,
        "name": "web1",
        "nameserver": ["10.0.0.1", "10.0.0.2"],
        "net0": {"model": "virtio", "macaddr": "BC:24:11:AA:BB:CC", "bridge": "vmbr0", "firewall": True},
        "onboot": True,
        "scsi0": {"file": "local-lvm:vm-100-disk-0", "iothread": True, "size": "32G"},
        "scsihw": "virtio-scsi-single",
        "sshkeys": ["ssh-ed25519 AAAAkey me@host"],
        "startup": {"order": 2, "up": 30},
        "tags": ["prod", "web"],
    }
    # meta, smbios1, vmgenid (Proxmox writes them) and cipassword (never printed back) stay outside


def test_render_is_what_proxmox_prints():
    config = model.from_raw(model.parse_config_text(QM_CONFIG))
    for key in ("agent", "boot", "ipconfig0", "net0", "scsi0", "startup", "ide2"):
        rendered = model.value_to_raw(key, config[key])
        assert model.value_from_raw(key, rendered) == config[key]
    assert model.value_to_raw("net0", config["net0"]) == "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1"
    assert model.value_to_raw("scsi0", config["scsi0"]) == "local-lvm:vm-100-disk-0,iothread=1,size=32G"
    assert model.value_to_raw("boot", config["boot"]) == "order=scsi0;ide2;net0"
    assert model.value_to_raw("sshkeys", config["sshkeys"]) == "ssh-ed25519%20AAAAkey%20me%40host%0A"
    assert model.value_to_raw("tags", config["tags"]) == "prod;web"
    assert model.value_to_raw("net1", {"model": "e1000", "bridge": "vmbr1"}) == "e1000,bridge=vmbr1"


def test_api_output_reads_the_same():
    """GET /nodes/{node}/qemu/{vmid}/config returns typed JSON values (numbers, unescaped description)."""
    api = {"cores": 2, "memory": "2048", "onboot": 1, "description": "web server: front",
           "net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1", "digest": "abc", "cipassword": "**********"}
    assert model.from_raw(api) == {"cores": 2, "memory": 2048, "onboot": True, "description": "web server: front",
                                   "net0": {"model": "virtio", "macaddr": "BC:24:11:AA:BB:CC", "bridge": "vmbr0", "firewall": True}}


PARAMS = {
    "cores": 2, "memory": "2048", "onboot": True, "name": "web1", "tags": ["web", "prod"],
    "net": [{"model": "virtio", "bridge": "vmbr0", "firewall": True}],
    "disks": {"scsi0": {"storage": "local-lvm", "size": "32G", "iothread": True}},
    "ipconfig": [{"ip": "10.0.0.5/24", "gw": "10.0.0.1"}], "boot": ["scsi0", "ide2", "net0"],
    "agent": {"enabled": True, "fstrim_cloned_disks": True}, "sshkeys": "ssh-ed25519 AAAAkey me@host\n",
    "nameserver": "10.0.0.1 10.0.0.2", "startup": "order=2,up=30", "description": "web server: front\n",
}


def test_params_against_the_current_config_is_a_no_op():
    current = model.from_raw(model.parse_config_text(QM_CONFIG))
    desired = model.desired_from_params(PARAMS)
    desired["net0"] = model.reconcile_net(desired["net0"], current.get("net0"))
    desired["scsi0"] = model.reconcile_disk("scsi0", desired["scsi0"], current.get("scsi0"))
    assert model.changed_keys(current, desired) == []


def test_changes_are_found_per_key():
    current = model.from_raw(model.parse_config_text(QM_CONFIG))
    desired = model.desired_from_params(dict(PARAMS, cores=4, net=[{"bridge": "vmbr1"}],
                                             disks={"scsi0": {"size": "40G"}}))
    desired["net0"] = model.reconcile_net(desired["net0"], current["net0"])
    desired["scsi0"] = model.reconcile_disk("scsi0", desired["scsi0"], current["scsi0"])
    assert model.changed_keys(current, desired) == ["cores", "net0", "scsi0"]
    assert desired["net0"] == {"model": "virtio", "bridge": "vmbr1", "macaddr": "BC:24:11:AA:BB:CC"}  # MAC kept
    assert desired["scsi0"] == {"file": "local-lvm:vm-100-disk-0", "size": "40G"}


def test_new_disk_is_an_allocation():
    disk = model.reconcile_disk("virtio1", model.desired_from_params({"disks": {"virtio1": {"storage": "local-lvm", "size": 8}}})["virtio1"], None)
    assert model.value_to_raw("virtio1", disk) == "local-lvm:8"


@pytest.mark.parametrize(("params", "field"), [
    ({"net": [{"model": "virtio", "bridge": "vmbr0,tag=5"}]}, "net[0].bridge"),
    ({"net": [{"model": "rtl9999"}]}, "net[0].model"),
    ({"net": [{"macaddr": "01:00:5E:00:00:01"}]}, "net[0].macaddr"),
    ({"net": [{"tag": 5000}]}, "net[0].tag"),
    ({"net": [{"colour": "red"}]}, "net[0].colour"),
    ({"disks": {"scsi31": {"storage": "local-lvm", "size": "8G"}}}, "disks"),
    ({"disks": {"scsi0": {"storage": "local;lvm", "size": "8G"}}}, "disks.scsi0.storage"),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "eight"}}}, "disks.scsi0.size"),
    ({"ipconfig": [{"ip": "10.0.0.5/24", "gateway": "10.0.0.1"}]}, "ipconfig[0].gateway"),
    ({"name": "web\n1"}, "name"),
    ({"sshkeys": ["ssh-ed25519 AAAA\rx"]}, "sshkeys"),
    ({"memory": 8}, "memory"),
    ({"boot": ["scsi0;net0"]}, "boot"),
])
def test_bad_input_names_the_field(params, field):
    with pytest.raises(LxcriError) as exc:
        model.desired_from_params(params)
    assert str(exc.value).startswith(field + ": ")


def test_disks_never_shrink_or_move():
    current = {"file": "local-lvm:vm-100-disk-0", "size": "32G"}
    with pytest.raises(LxcriError, match="disks.scsi0.size: 16G is smaller than the current 32G; disks never shrink"):
        model.reconcile_disk("scsi0", {"size": "16G"}, current)
    with pytest.raises(LxcriError, match="disks.scsi0.storage: the disk is on local-lvm"):
        model.reconcile_disk("scsi0", {"storage": "ceph", "size": "32G"}, current)
    with pytest.raises(LxcriError, match="disks.scsi1: a new disk needs storage and size"):
        model.reconcile_disk("scsi1", {"size": "32G"}, None)
