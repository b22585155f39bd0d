# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The qemu-server config format: literal round trips and errors (contract §9 and qemu-server 9.2.6).

Each test names the qemu-server function whose behaviour it pins.
"""

from __future__ import annotations

import hashlib
import re

import pytest

from pvesim.qemu import cloudinit, schema
from pvesim.qemu import config as qmconfig
from pvesim.schema import FormatError

UUIDS = iter("00000000-0000-4000-8000-%012d" % i for i in range(1, 1000))


def _uuid() -> str:
    return next(UUIDS)


# --- netN: PVE/QemuServer/Network.pm $net_fmt (keyAlias), parse_net, print_net -------------------

def test_net_model_and_mac_are_fused_both_ways():
    net = schema.NET_FORMAT.parse("virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1")
    assert net == {"model": "virtio", "macaddr": "BC:24:11:AA:BB:CC", "bridge": "vmbr0", "firewall": 1}
    # the long form prints fused too: print_property_string combines keyAlias pairs
    long_form = schema.NET_FORMAT.parse("bridge=vmbr0,firewall=1,macaddr=BC:24:11:AA:BB:CC,model=virtio")
    assert schema.NET_FORMAT.print(long_form) == "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1"
    assert schema.NET_FORMAT.print(schema.NET_FORMAT.parse("e1000,tag=5,mtu=1400,rate=12.5")) == "e1000,mtu=1400,rate=12.5,tag=5"


# Errors of the sub-keys: pve-common JSONSchema.pm parse_property_string raises "format error" with the
# errors per key, which PVE::Exception prints one per line after the message (a message that ends in a
# newline leaves a blank line).
@pytest.mark.parametrize(("value", "message"), [
    ("virtio=BC:24:11:AA:BB:CC,model=e1000", "key alias 'model' is already defined"),
    ("virtio=01:24:11:AA:BB:CC", "format error\nmacaddr: invalid format - value does not look like a valid unicast MAC address\n\n"),
    ("rtl9999=BC:24:11:AA:BB:CC", "invalid key in comma-separated list property: rtl9999"),
    ("virtio,tag=4095", "format error\ntag: value must have a maximum value of 4094\n"),
    ("bridge=vmbr0", "format error\nmodel: property is missing and it is not optional\n"),
    ("virtio,bridge=vmbr0,bridge=vmbr1", "duplicate key in comma-separated list property: bridge"),
])
def test_net_errors(value, message):
    with pytest.raises(FormatError) as exc:
        schema.NET_FORMAT.parse(value)
    assert str(exc.value) == message


def test_parse_net_adds_a_random_mac_with_the_datacenter_prefix():
    for _attempt in range(20):
        mac = qmconfig.parse_net("virtio,bridge=vmbr0")["macaddr"]
        assert re.match(r"^BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$", mac)
    assert qmconfig.parse_net("virtio", mac_prefix="02:AA")["macaddr"].startswith("02:AA:")


# --- drives: PVE/QemuServer/Drive.pm parse_drive, print_drive ------------------------------------

def test_drive_canonical_text():
    assert qmconfig.print_drive(qmconfig.parse_drive("scsi0", "local-lvm:vm-100-disk-0,iothread=1,size=32G")) \
        == "local-lvm:vm-100-disk-0,iothread=1,size=32G"
    # volume= is an alias of file=; the size is re-printed by format_size; keys sorted
    assert qmconfig.print_drive(qmconfig.parse_drive("virtio1", "size=32768M,volume=local:100/vm-100-disk-1.qcow2,discard=on")) \
        == "local:100/vm-100-disk-1.qcow2,discard=on,size=32G"
    assert qmconfig.print_drive(qmconfig.parse_drive("ide2", "none,media=cdrom")) == "none,media=cdrom"
    drive = qmconfig.parse_drive("sata3", "local-lvm:vm-100-disk-3,ssd=1")
    assert (drive["interface"], drive["index"], drive["ssd"]) == ("sata", 3, 1)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("ide0", "local-lvm:vm-100-disk-0,iothread=1", "invalid key in comma-separated list property: iothread"),
    ("virtio0", "local:iso/x.iso,media=cdrom", "unable to parse drive options (virtio cannot be a cdrom)"),
    ("ide2", "local:iso/x.iso,media=cdrom,format=raw", "unable to parse drive options (cdrom with snapshot or format)"),
    ("scsi0", "local-lvm:vm-100-disk-0,size=12X", "format error\nsize: invalid format - value does not look like a valid disk size: 12X\n\n"),
    ("scsi0", "local-lvm:vm-100-disk-0,cache=fast", "format error\ncache: value 'fast' does not have a value in the "
                                                    "enumeration 'none, writethrough, writeback, unsafe, directsync'\n"),
    ("scsi0", "iothread=1", "format error\nfile: property is missing and it is not optional\n"),
    ("scsi31", "local-lvm:vm-100-disk-0", "invalid drive key: scsi31"),
])
def test_drive_errors(key, value, message):
    with pytest.raises(FormatError) as exc:
        qmconfig.parse_drive(key, value)
    assert str(exc.value) == message


def test_cloudinit_drive_detection():
    """Drive.pm drive_is_cloudinit."""
    assert qmconfig.drive_is_cloudinit({"file": "local-lvm:vm-100-cloudinit"})
    assert qmconfig.drive_is_cloudinit({"file": "local:100/vm-100-cloudinit.qcow2"})
    assert not qmconfig.drive_is_cloudinit({"file": "local-lvm:vm-100-disk-0"})


# --- ipconfigN: Network.pm $ipconfig_fmt, parse_ipconfig -----------------------------------------

@pytest.mark.parametrize(("value", "message"), [
    ("gw=10.0.0.1", "gateway specified without specifying an IP address"),
    ("ip=dhcp,gw=10.0.0.1", "gateway specified together with DHCP"),
    ("ip6=auto,gw6=fd00::1", "IPv6 gateway specified together with auto address"),
    ("ip=10.0.0.5", "format error\nip: invalid format - value does not look like a valid IPv4 network configuration\n\n"),
    ("ip=10.0.0.5/24,gw=fd00::1", "format error\ngw: invalid format - value does not look like a valid IPv4 address\n\n"),
])
def test_ipconfig_errors(value, message):
    with pytest.raises(FormatError) as exc:
        schema.IPCONFIG_FORMAT.parse(value)
    assert str(exc.value) == message


def test_ipconfig_prints_sorted():
    assert schema.IPCONFIG_FORMAT.print(schema.IPCONFIG_FORMAT.parse("ip6=auto,gw=10.0.0.1,ip=10.0.0.5/24")) \
        == "gw=10.0.0.1,ip=10.0.0.5/24,ip6=auto"


# --- boot, smbios1, meta, memory, agent, startup -------------------------------------------------

def test_boot_order_devices_are_checked():
    """QemuServer.pm $boot_fmt and verify_bootdev: drives (not efidisk0/tpmstate0), netN, usbN, hostpciN."""
    assert schema.BOOT_FORMAT.parse("order=scsi0;ide2;net0") == {"order": "scsi0;ide2;net0"}
    assert schema.BOOT_FORMAT.parse("cdn") == {"legacy": "cdn"}
    for bad in ("order=efidisk0", "order=scsi0;floppy0", "order=net32"):
        with pytest.raises(FormatError, match="invalid boot device"):
            schema.BOOT_FORMAT.parse(bad)
    # an empty 'boot: ' (what create writes for a VM without devices) is a valid, empty order
    assert schema.BOOT_FORMAT.parse(" ") == {}


def test_small_formats():
    assert schema.META_FORMAT.print({"ctime": 1700000000, "creation-qemu": "9.2.0"}) == "creation-qemu=9.2.0,ctime=1700000000"
    assert schema.MEMORY_FORMAT.parse("2048") == {"current": 2048}
    with pytest.raises(FormatError, match="minimum value of 16"):
        schema.MEMORY_FORMAT.parse("8")
    assert schema.AGENT_FORMAT.parse("1,freeze-fs-on-backup=0") == {"enabled": 1, "freeze-fs": 0}
    assert schema.SMBIOS1_FORMAT.print({"uuid": "7b10d7af-b932-4c66-b2c3-3996152ec465", "base64": 1,
                                        "serial": "c2VyaWFs"}) == "base64=1,serial=c2VyaWFs,uuid=7b10d7af-b932-4c66-b2c3-3996152ec465"
    with pytest.raises(FormatError):
        schema.SMBIOS1_FORMAT.parse("uuid=not-a-uuid")


# --- the file: QemuServer.pm parse_vm_config / write_vm_config ------------------------------------

RAW = """#first line of the description
#a colon%3A and 100%25
agent: 1
boot: order=scsi0;ide2;net0
cores: 2
ide2: local-lvm:vm-100-cloudinit,media=cdrom
ipconfig0: ip=10.0.0.5/24,gw=10.0.0.1
memory: 2048
meta: creation-qemu=9.2.0,ctime=1700000000
name: vm1
net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1
onboot: 1
scsi0: local-lvm:vm-100-disk-0,iothread=1,size=32G
scsihw: virtio-scsi-single
smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465
sockets: 1
startup: order=2,up=30
tags: prod;web
vmgenid: c773c261-d800-4348-9f5d-167fadd53cf8

[PENDING]
delete: onboot
memory: 4096

[before-upgrade]
cores: 1
memory: 1024
snaptime: 1700000100
vmstate: local-lvm:vm-100-state-before-upgrade
"""


def test_parse_and_write_round_trip_literally():
    conf = qmconfig.parse_vm_config(RAW, 100, strict=True)
    assert conf["digest"] == hashlib.sha1(RAW.encode()).hexdigest()
    assert conf["description"] == "first line of the description\na colon: and 100%"
    assert conf["pending"] == {"delete": "onboot", "memory": "4096"}
    assert conf["snapshots"]["before-upgrade"]["memory"] == "1024"
    assert conf["net0"] == "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1"
    assert qmconfig.write_vm_config(conf) == RAW


def test_parser_normalises_like_pve():
    raw = ("cdrom: none\nonboot: yes\nvirtio0: local:100/vm-100-disk-1.raw,size=4096M\ndescription: one line\n"
           "ciuser: \"quoted\"\n")
    conf = qmconfig.parse_vm_config(raw, 100, strict=True)
    assert conf["ide2"] == "none"  # 'cdrom' is read as ide2 (and 'none' stays)
    assert conf["onboot"] == "1"  # check_type: booleans to 1/0
    assert conf["virtio0"] == "local:100/vm-100-disk-1.raw,size=4G"  # print_drive re-prints the size
    assert conf["description"] == "one line"
    assert conf["ciuser"] == "quoted"  # check_type strips one pair of double quotes off a plain string


@pytest.mark.parametrize(("line", "message"), [
    ("foo: bar", "vm 100 - unable to parse value of 'foo' - unknown setting 'foo'"),
    ("cores: two", "vm 100 - unable to parse value of 'cores' - type check ('integer') failed - got 'two'"),
    ("net0: virtio=BC:24:11:AA:BB:CC,bogus=1", "vm 100 - unable to parse value of 'net0' - "
                                               "invalid key in comma-separated list property: bogus"),
    ("just text", "vm 100 - unable to parse config: just text"),
    # filename_to_volume_id: an absolute path outside /dev is no volume
    ("virtio0: /mnt/disk.img", "vm 100 - unable to parse value of 'virtio0'"),
    ("virtio1: vm-100-disk-1.raw", "vm 100 - unable to parse value of 'virtio1' - format error\n"
                                   "file: invalid format - unable to parse volume ID 'vm-100-disk-1.raw'\n"),
    ("delete: cores", "vm 100 - property 'delete' is only allowed in [PENDING]"),
])
def test_parse_errors_warn_or_raise(line, message):
    warnings: list[str] = []
    conf = qmconfig.parse_vm_config("memory: 512\n%s\n" % line, 100, warn=warnings.append)
    assert warnings == [message]
    assert conf["memory"] == "512"
    with pytest.raises(qmconfig.ConfigError) as exc:
        qmconfig.parse_vm_config("memory: 512\n%s\n" % line, 100, strict=True)
    assert str(exc.value) == message


def test_unknown_section_is_skipped_with_a_warning():
    warnings: list[str] = []
    conf = qmconfig.parse_vm_config("memory: 512\n[weird section]\ncores: 4\n", 100, warn=warnings.append)
    assert warnings == ["vm 100 - skipping unknown section: 'weird section'"]
    assert "cores" not in conf


def test_writer_rules():
    conf = {"smp": "4", "cores": "2", "memory": "512", "scsi0": "local-lvm:vm-100-disk-0",
            "unused0": "local-lvm:vm-100-disk-0", "unused1": "local-lvm:vm-100-disk-9", "pending": {}, "snapshots": {},
            "special-sections": {"cloudinit": {"ciuser": "old"}}}
    # smp becomes sockets (and drops cores); a re-attached unused volume disappears; [special:cloudinit]
    # is written only while the VM has a cloud-init drive
    assert qmconfig.write_vm_config(conf) == "memory: 512\nscsi0: local-lvm:vm-100-disk-0\nsockets: 4\n" \
                                             "unused1: local-lvm:vm-100-disk-9\n"
    with pytest.raises(qmconfig.ConfigError, match="only allowed in \\[PENDING\\]"):
        qmconfig.write_vm_config({"delete": "cores"})
    with pytest.raises(qmconfig.ConfigError, match="option ide2 conflicts with cdrom"):
        qmconfig.write_vm_config({"cdrom": "none", "ide2": "none,media=cdrom"})
    with pytest.raises(qmconfig.ConfigError, match="unable to parse value of 'memory' - "):
        qmconfig.write_vm_config({"memory": "a lot"})


# --- what qm create adds: API2/Qemu.pm create_vm ---------------------------------------------------

def test_create_defaults():
    conf = {"scsi0": "local-lvm:vm-100-disk-0,size=32G", "ide2": "local-lvm:vm-100-cloudinit,media=cdrom",
            "net0": "virtio,bridge=vmbr0", "net1": "e1000=BC:24:11:00:00:01"}
    qmconfig.add_create_defaults(conf, "9.2.0", now=1700000000.7, new_uuid=_uuid)
    assert conf["meta"] == "creation-qemu=9.2.0,ctime=1700000000"
    assert conf["boot"] == "order=scsi0;ide2;net0"  # get_default_bootdevices: first disk, first CD-ROM, first NIC
    assert re.match(r"^uuid=00000000-0000-4000-8000-\d{12}$", conf["smbios1"])
    assert re.match(r"^00000000-0000-4000-8000-\d{12}$", conf["vmgenid"])
    assert re.match(r"^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$", conf["net0"])
    assert conf["net1"] == "e1000=BC:24:11:00:00:01"  # a given MAC is kept
    raw = qmconfig.write_vm_config({**conf, "pending": {}, "snapshots": {}})
    assert qmconfig.parse_vm_config(raw, 100, strict=True)["boot"] == "order=scsi0;ide2;net0"


def test_create_defaults_keep_what_is_given():
    conf = {"smbios1": "uuid=7b10d7af-b932-4c66-b2c3-3996152ec465", "vmgenid": "0", "boot": "order=net0", "net0": "virtio=BC:24:11:00:00:02"}
    qmconfig.add_create_defaults(conf, "9.2.0", now=1, new_uuid=_uuid)
    assert conf["smbios1"] == "uuid=7b10d7af-b932-4c66-b2c3-3996152ec465"
    assert conf["vmgenid"] == "0"
    assert conf["boot"] == "order=net0"
    aarch = qmconfig.add_create_defaults({"arch": "aarch64"}, "9.2.0", now=1, new_uuid=_uuid)
    assert "vmgenid" not in aarch
    # no devices at all: an empty order, written as 'boot: ' and read back as an empty order
    assert aarch["boot"] == ""
    raw = qmconfig.write_vm_config({**aarch, "pending": {}, "snapshots": {}})
    assert "boot: \n" in raw
    assert schema.BOOT_FORMAT.parse(qmconfig.parse_vm_config(raw, 100, strict=True)["boot"]) == {}


# --- the NoCloud drive: Cloudinit.pm cloudinit_userdata, nocloud_network -------------------------

def test_nocloud_files_literally():
    conf = qmconfig.parse_vm_config(
        "name: web1\nciuser: admin\ncipassword: s3cret\nsshkeys: ssh-ed25519%20AAAAkey%20me%40host%0A\n"
        "net0: virtio=BC:24:11:AA:BB:CC,bridge=vmbr0\nipconfig0: ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto\n"
        "net1: virtio=BC:24:11:AA:BB:CD,bridge=vmbr0\nipconfig1: ip=dhcp\nnet2: virtio=BC:24:11:AA:BB:CE\n"
        "searchdomain: example.test\nnameserver: 10.0.0.1 10.0.0.2\nide2: local-lvm:vm-100-cloudinit,media=cdrom\n",
        100, strict=True)
    files = cloudinit.nocloud_files(conf, 100, host_resolv={"search": "host.test", "dns": ["192.0.2.53"]})
    assert files["user-data"] == (
        "#cloud-config\nhostname: web1\nmanage_etc_hosts: true\nfqdn: web1.example.test\nuser: admin\n"
        "password: s3cret\nssh_authorized_keys:\n  - ssh-ed25519 AAAAkey me@host\nchpasswd:\n  expire: False\n"
        "users:\n  - default\npackage_upgrade: true\n")
    assert files["network-config"] == (
        "version: 1\nconfig:\n"
        "    - type: physical\n      name: eth0\n      mac_address: 'bc:24:11:aa:bb:cc'\n      subnets:\n"
        "      - type: static\n        address: '10.0.0.5'\n        netmask: '255.255.255.0'\n        gateway: '10.0.0.1'\n"
        "      - type: ipv6_slaac\n"
        "    - type: physical\n      name: eth1\n      mac_address: 'bc:24:11:aa:bb:cd'\n      subnets:\n"
        "      - type: dhcp4\n"
        "    - type: nameserver\n      address:\n      - '10.0.0.1'\n      - '10.0.0.2'\n"
        "      search:\n      - 'example.test'\n")
    assert files["meta-data"] == "instance-id: %s\n" % hashlib.sha1(
        (files["user-data"] + files["network-config"]).encode()).hexdigest()
    # without the VM's own DNS settings the host's are used (Cloudinit.pm get_dns_conf)
    del conf["nameserver"], conf["searchdomain"]
    network = cloudinit.nocloud_files(conf, 100, host_resolv={"search": "host.test", "dns": ["192.0.2.53"]})["network-config"]
    assert network.endswith("    - type: nameserver\n      address:\n      - '192.0.2.53'\n      search:\n      - 'host.test'\n")


def test_nocloud_image_needs_a_cloudinit_drive(tmp_path):
    with pytest.raises(ValueError, match="VM 100 has no cloud-init drive"):
        cloudinit.build_nocloud_image({"ciuser": "x"}, 100, tmp_path / "ci.iso")
