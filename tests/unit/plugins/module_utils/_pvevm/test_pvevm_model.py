# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The client-side VM config model: qm config / API output and module parameters in one shape.

Formats are qemu-server 9.2.6's: ``src/PVE/CLI/qm.pm`` ``config`` (sorted ``key: value``, digest
omitted, description ``encode_text``-escaped), ``src/PVE/API2/Qemu.pm`` ``vm_config`` (cipassword
printed as ``**********``) and ``vm_pending`` (``PVE::GuestHelpers::config_with_pending_array``),
``src/PVE/QemuServer/Network.pm`` ``$net_fmt`` (``keyAlias`` model=macaddr), ``Drive.pm``
``%drivedesc_base`` and ``$NEW_DISK_RE``, ``CPUConfig.pm`` ``$cpu_fmt``, contract section 9.
"""

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pvevm.qm_fixtures import CURRENT, QM_CONFIG, current


def test_from_qm_config():
    assert current() == CURRENT
    # meta, smbios1 and vmgenid (written by Proxmox) stay outside; cipassword only says "set".


def test_render_reads_back_the_same():
    """Every key renders to a value that parses back to the same canonical value.  netN and drives render
    byte-equal to what Proxmox prints (it re-prints them: Network.pm print_net, Drive.pm print_drive);
    the other property strings are stored as sent (API2/Qemu.pm update_vm_api), so they compare canonically."""
    printed = model.parse_config_text(QM_CONFIG)
    for key, value in current().items():
        if key in ("cipassword",):
            continue
        assert model.value_from_raw(key, model.value_to_raw(key, value)) == value, key
        if model.is_net(key) or model.is_disk(key) or key in ("boot", "sshkeys", "memory", "cores"):
            assert model.value_to_raw(key, value) == printed[key], key
    assert model.value_to_raw("ipconfig0", {"ip": "10.0.0.5/24", "gw": "10.0.0.1"}) == "gw=10.0.0.1,ip=10.0.0.5/24"
    assert model.value_to_raw("net1", {"model": "e1000", "bridge": "vmbr1"}) == "e1000,bridge=vmbr1"  # no MAC: Proxmox makes one
    assert model.value_to_raw("net0", {"model": "virtio", "bridge": "vmbr0", "trunks": [20, 10]}) == "virtio,bridge=vmbr0,trunks=20;10"


def test_sshkeys_are_url_encoded_as_pve_stores_them():
    """$confdesc_cloudinit sshkeys has format 'urlencoded'; PVE::Tools uri_escape keeps only [A-Za-z0-9._~-]."""
    assert model.value_to_raw("sshkeys", ["ssh-ed25519 AAAA+/= me@host"]) == "ssh-ed25519%20AAAA%2B%2F%3D%20me%40host%0A"
    assert model.value_from_raw("sshkeys", "ssh-ed25519%20AAAA%2B%2F%3D%20me%40host%0A") == ["ssh-ed25519 AAAA+/= me@host"]


def test_memory_property_string_and_legacy_boot():
    """Memory.pm $memory_fmt: '[current=]<MiB>'; the deprecated boot 'cdn' form is outside the model."""
    assert model.value_from_raw("memory", "current=4096") == 4096
    assert model.value_from_raw("memory", 4096) == 4096
    assert model.from_raw({"boot": "cdn", "bootdisk": "scsi0"}) == {"bootdisk": "scsi0"}


def test_api_output_reads_the_same():
    """GET /nodes/{node}/qemu/{vmid}/config returns typed JSON values (numbers, unescaped description)."""
    api = {"cores": 2, "memory": "2048", "onboot": 1, "description": "web server: front\nsecond line",
           "net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1", "digest": "abc", "cipassword": "**********",
           "balloon": 1024, "sshkeys": "ssh-ed25519%20AAAAkey%20me%40host%0Assh-rsa%20BBBB%20you%40there%0A"}
    expected = dict((key, CURRENT[key]) for key in api if key != "digest")
    assert model.from_raw(api) == expected


def test_pending_as_the_api_and_qm_return_it():
    """vm_pending: config_with_pending_array items; `qm pending` prints them with format_pending (cur/new/del)."""
    items = [{"key": "cores", "value": 2, "pending": 4}, {"key": "digest", "value": "d1"},
             {"key": "memory", "value": "2048"}, {"key": "tags", "value": "web", "delete": 1},
             {"key": "cipassword", "value": "**********", "pending": "********** "}]
    view, keys, digest = model.parse_pending_api(items)
    assert model.from_raw(view) == {"cores": 4, "memory": 2048, "cipassword": model.MASKED_VALUE}
    assert keys == {"cores", "tags", "cipassword"} and digest == "d1"
    text = "cur cores: 2\nnew cores: 4\ncur memory: 2048\ncur tags: web\ndel tags: web\n"
    view, keys = model.parse_pending_text(text)
    assert model.from_raw(view) == {"cores": 4, "memory": 2048} and keys == {"cores", "tags"}


def test_public_is_the_module_input_shape():
    config, extra = model.public(current())
    assert config["net"] == [CURRENT["net0"], CURRENT["net1"]]
    assert config["ipconfig"] == [CURRENT["ipconfig0"], CURRENT["ipconfig1"]]
    assert config["disks"] == {"efidisk0": CURRENT["efidisk0"], "ide2": CURRENT["ide2"], "scsi0": CURRENT["scsi0"]}
    assert config["cpu"] == "x86-64-v2-AES,flags=+aes;-pcid" and config["machine"] == "q35"
    assert "cipassword" not in config and extra == {"unused0": {"file": "local-lvm:vm-100-disk-2"}}
    assert model.public(current(), with_secrets=True)[0]["cipassword"] == model.MASKED_VALUE
    assert set(config) <= set(model.CONFIG_OPTIONS)


def test_public_lists_with_gaps_carry_the_index():
    config, _extra = model.public({"net0": {"model": "virtio"}, "net3": {"model": "e1000"}, "ipconfig3": {"ip": "dhcp"}})
    assert config["net"] == [{"model": "virtio", "id": 0}, {"model": "e1000", "id": 3}]
    assert config["ipconfig"] == [{"ip": "dhcp", "id": 3}]
    desired = model.desired_from_params(config)
    assert set(desired) == {"net0", "net3", "ipconfig3"}


def test_params_in_every_accepted_form():
    desired = model.desired_from_params({
        "cpu": "host", "machine": {"type": "q35", "viommu": "virtio"}, "agent": True, "memory": "4096",
        "net": [{"bridge": "vmbr0", "trunks": [10, 20]}], "boot": "order=scsi0;net0", "sshkeys": "a b\n\nc d\n",
        "disks": {"scsi1": {"file": "local-lvm:8", "ssd": True}, "ide2": {"file": "local-lvm:cloudinit"}},
        "ipconfig": [{"ip": "dhcp", "ip6": "2001:db8::5/64", "gw6": "2001:db8::1"}], "nameserver": ["10.0.0.1", "10.0.0.2"],
        "cipassword": "s3cret pw",
    })
    assert desired == {
        "cpu": {"cputype": "host"}, "machine": {"type": "q35", "viommu": "virtio"}, "agent": {"enabled": True}, "memory": 4096,
        "net0": {"bridge": "vmbr0", "trunks": [10, 20]}, "boot": ["scsi0", "net0"], "sshkeys": ["a b", "c d"],
        "scsi1": {"storage": "local-lvm", "size": "8G", "ssd": True},
        "ide2": {"file": "local-lvm:cloudinit", "media": "cdrom"},
        "ipconfig0": {"ip": "dhcp", "ip6": "2001:db8::5/64", "gw6": "2001:db8::1"}, "nameserver": ["10.0.0.1", "10.0.0.2"],
        "cipassword": "s3cret pw",
    }


@pytest.mark.parametrize(("params", "field"), [
    ({"net": [{"model": "virtio", "bridge": "vmbr0,tag=5"}]}, "net[0].bridge"),
    ({"net": [{"bridge": "vmbr0", "macaddr": "BC:24:11:AA:BB:CC,link_down=1"}]}, "net[0].macaddr"),
    ({"net": [{"model": "rtl9999"}]}, "net[0].model"),
    ({"net": [{"macaddr": "01:00:5E:00:00:01"}]}, "net[0].macaddr"),
    ({"net": [{"tag": 5000}]}, "net[0].tag"),
    ({"net": [{"mtu": 70000}]}, "net[0].mtu"),
    ({"net": [{"rate": "fast"}]}, "net[0].rate"),
    ({"net": [{"colour": "red"}]}, "net[0].colour"),
    ({"net": [{"bridge": "vmbr 0"}]}, "net[0].bridge"),
    ({"net": "vmbr0"}, "net"),
    ({"disks": {"scsi31": {"storage": "local-lvm", "size": "8G"}}}, "disks"),
    ({"disks": ["scsi0"]}, "disks"),
    ({"disks": {"scsi0": "local-lvm:8"}}, "disks.scsi0"),
    ({"disks": {"scsi0": {"storage": "local;lvm", "size": "8G"}}}, "disks.scsi0.storage"),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "eight"}}}, "disks.scsi0.size"),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": 0}}}, "disks.scsi0.size"),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "8G", "cache": "none,discard=on"}}}, "disks.scsi0.cache"),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "8G", "iothread": "maybe"}}}, "disks.scsi0.iothread"),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "8G", "media": "floppy"}}}, "disks.scsi0.media"),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "8G", "speed": 5}}}, "disks.scsi0.speed"),
    ({"ipconfig": [{"ip": "10.0.0.5/24", "gateway": "10.0.0.1"}]}, "ipconfig[0].gateway"),
    ({"ipconfig": [{"ip": "10.0.0.5"}]}, "ipconfig[0].ip"),
    ({"ipconfig": [{"ip": "dhcp", "gw": "10.0.0.1,ip6=auto"}]}, "ipconfig[0].gw"),
    ({"ipconfig": [{"gw": "10.0.0.1"}]}, "ipconfig[0].gw"),
    ({"ipconfig": [{"ip6": "auto", "gw6": "10.0.0.1"}]}, "ipconfig[0].gw6"),
    ({"name": "web\n1"}, "name"),
    ({"name": "web_1"}, "name"),
    ({"ciuser": "admin\x00"}, "ciuser"),
    ({"cipassword": "pass\nword"}, "cipassword"),
    ({"sshkeys": ["ssh-ed25519 AAAA\rx"]}, "sshkeys"),
    ({"memory": 8}, "memory"),
    ({"memory": "lots"}, "memory"),
    ({"cores": 0}, "cores"),
    ({"sockets": 0}, "sockets"),
    ({"balloon": -1}, "balloon"),
    ({"ostype": "linux"}, "ostype"),
    ({"bios": "uefi"}, "bios"),
    ({"scsihw": "virtio"}, "scsihw"),
    ({"citype": "cloudbase"}, "citype"),
    ({"boot": ["scsi0;net0"]}, "boot"),
    ({"boot": ["floppy0"]}, "boot"),
    ({"boot": {"order": "scsi0"}}, "boot"),
    ({"cpu": {"cputype": "host", "flags": ["+aes,hidden=1"]}}, "cpu.flags"),
    ({"cpu": "host\n"}, "cpu"),
    ({"cpu": {"turbo": True}}, "cpu.turbo"),
    ({"machine": {"type": "q35=1"}}, "machine.type"),
    ({"agent": {"enabled": True, "type": "virtio,freeze-fs=0"}}, "agent.type"),
    ({"agent": "maybe"}, "agent.enabled"),
    ({"tags": ["my tag"]}, "tags"),
    ({"nameserver": ["10.0.0.300"]}, "nameserver"),
    ({"searchdomain": ["exa_mple.com"]}, "searchdomain"),
    ({"description": "bell\x07"}, "description"),
    ({"hookscript": "local:snippets/a\nb"}, "hookscript"),
    ({"startup": {"order": 1, "first": True}}, "startup"),
    ({"onboot": "perhaps"}, "onboot"),
])
def test_bad_input_names_the_field(params, field):
    with pytest.raises(LxcriError) as exc:
        model.desired_from_params(params)
    assert exc.value.error_kind == "invalid_argument"
    assert str(exc.value).startswith(field + ": ") or str(exc.value).startswith(field + "."), str(exc.value)


def test_bad_input_never_echoes_the_password():
    with pytest.raises(LxcriError) as exc:
        model.desired_from_params({"cipassword": "hunter2\nx"})
    assert "hunter2" not in str(exc.value)


def test_qm_list():
    """qm.pm list: printf "%10s %-20s %-10s %-10s %12.2f %-10s"; vmstatus names an unnamed VM "VM <vmid>"."""
    text = ("%10s %-20s %-10s %-10s %12s %-10s\n" % ("VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID")
            + "%10s %-20s %-10s %-10s %12.2f %-10s\n" % (100, "VM 100", "stopped", 512, 0, 0)
            + "%10s %-20s %-10s %-10s %12.2f %-10s\n" % (200, "vm1", "running", 2048, 32, 12345)
            + "%10s %-20s %-10s %-10s %12.2f %-10s\n" % (201, "a-very-long-vm-name-over-twenty.example.com", "running", 1024, 8.5, 99))
    assert text.splitlines()[0] == "      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       "
    assert text.splitlines()[2] == "       200 vm1                  running    2048              32.00 12345     "
    assert model.parse_list_text(text) == [
        {"vmid": 100, "name": None, "status": "stopped", "maxmem_mb": 512, "bootdisk_gb": 0, "pid": None},
        {"vmid": 200, "name": "vm1", "status": "running", "maxmem_mb": 2048, "bootdisk_gb": 32, "pid": 12345},
        {"vmid": 201, "name": "a-very-long-vm-name-over-twenty.example.com", "status": "running", "maxmem_mb": 1024,
         "bootdisk_gb": 8.5, "pid": 99},
    ]
    assert model.parse_list_text("") == []  # no VMs: qm list prints nothing
