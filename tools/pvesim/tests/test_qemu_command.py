# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The QEMU argv built from a VM config (qemu-server 9.2.6 ``PVE/QemuServer.pm`` ``config_to_command``
and the expected lines of ``src/test/cfg2cmd/simple1.conf.cmd``), literally."""

from __future__ import annotations

from pathlib import Path

import pytest

from pvesim.qemu import config as qmconfig
from pvesim.qemu.command import CommandError, RuntimePaths, Tap, boot_order, config_to_command

RUN = Path("/run/sim")
PATHS = RuntimePaths(RUN, 100)
KERNEL, INITRD = Path("/cache/vmlinuz"), Path("/cache/initrd.img")


def _resolve(volid: str) -> tuple[str, str]:
    """The simulated storage's answer: ``local-lvm:NAME`` -> ``/images/NAME``, qcow2 by extension."""
    name = volid.split(":", 1)[1]
    return "/images/" + name, "qcow2" if name.endswith(".qcow2") else "raw"


def _conf(raw: str) -> dict:
    return qmconfig.parse_vm_config(raw, 100, strict=True)


SIMPLE = """boot: order=scsi0;ide2;net0
cores: 3
ide2: local-lvm:vm-100-cloudinit,media=cdrom
memory: 768
name: simple
net0: virtio=BC:24:11:77:08:A0,bridge=vmbr0,mtu=1400
scsi0: local-lvm:vm-100-disk-0.qcow2,discard=on,iothread=1,size=32G
scsihw: virtio-scsi-single
smbios1: uuid=7b10d7af-b932-4c66-b2c3-3996152ec465
sockets: 1
vmgenid: c773c261-d800-4348-9f5d-167fadd53cf8
"""


def test_simple_vm_under_tcg_literally():
    cmd = config_to_command(_conf(SIMPLE), 100, PATHS, _resolve, "tcg", KERNEL, INITRD)
    assert cmd.argv == [
        "/usr/bin/qemu-system-x86_64", "-name", "simple", "-no-shutdown",
        "-chardev", "socket,id=qmp,path=/run/sim/100.qmp,server=on,wait=off", "-mon", "chardev=qmp,mode=control",
        "-pidfile", "/run/sim/100.pid", "-daemonize",
        "-smbios", "type=1,uuid=7b10d7af-b932-4c66-b2c3-3996152ec465",
        "-smp", "3,sockets=1,cores=3,maxcpus=3", "-nodefaults", "-boot", "menu=on,strict=on,reboot-timeout=1000",
        "-display", "none", "-cpu", "kvm64,enforce,+lahf_lm,+sep", "-m", "768",
        "-global", "PIIX4_PM.disable_s3=1", "-global", "PIIX4_PM.disable_s4=1",
        "-device", "vmgenid,guid=c773c261-d800-4348-9f5d-167fadd53cf8",
        "-chardev", "file,id=console,path=/run/sim/100.console.log", "-device", "isa-serial,chardev=console",
        "-drive", "file=/images/vm-100-cloudinit,if=none,id=drive-ide2,format=raw,media=cdrom,readonly=on",
        "-device", "ide-cd,bus=ide.1,unit=0,drive=drive-ide2,id=ide2,bootindex=200",
        "-device", "virtio-scsi-pci,id=virtioscsi0,iothread=iothread-virtioscsi0",
        "-object", "iothread,id=iothread-virtioscsi0",
        "-drive", "file=/images/vm-100-disk-0.qcow2,if=none,id=drive-scsi0,format=qcow2,discard=unmap",
        "-device", "scsi-hd,bus=virtioscsi0.0,channel=0,scsi-id=0,lun=0,drive=drive-scsi0,id=scsi0,bootindex=100",
        "-netdev", "type=tap,id=net0,ifname=tap100i0,script=no,downscript=no",
        "-device", "virtio-net-pci,mac=BC:24:11:77:08:A0,netdev=net0,id=net0,bootindex=300,host_mtu=1400",
        "-kernel", "/cache/vmlinuz", "-initrd", "/cache/initrd.img", "-append", "console=ttyS0 quiet panic=-1",
        "-machine", "type=pc,accel=tcg",
    ]
    assert cmd.taps == [Tap("tap100i0", "vmbr0", 1400, None)]


def test_kvm_adds_the_paravirt_flags_and_vhost():
    argv = config_to_command(_conf(SIMPLE), 100, PATHS, _resolve, "kvm", KERNEL, INITRD).argv
    assert argv[argv.index("-cpu") + 1] == "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep"
    assert "type=tap,id=net0,ifname=tap100i0,script=no,downscript=no,vhost=on" in argv
    assert argv[-1] == "type=pc,accel=kvm"


def test_buses_controllers_and_nics():
    conf = _conf("ide0: local-lvm:vm-100-disk-1\nsata2: local-lvm:vm-100-disk-2,ssd=1\nvirtio0: local-lvm:vm-100-disk-3,iothread=1\n"
                 "scsi8: local-lvm:vm-100-disk-4\nnet1: e1000=BC:24:11:00:00:02\nnet3: virtio=BC:24:11:00:00:03,bridge=vmbr1,tag=20\n"
                 "cpu: host\nsockets: 2\ncores: 2\nmachine: pc-i440fx-9.2+pve1\n")
    cmd = config_to_command(conf, 100, PATHS, _resolve, "kvm", KERNEL, INITRD)
    text = " ".join(cmd.argv)
    assert "-smp 4,sockets=2,cores=2,maxcpus=4" in text
    assert "-cpu host,+kvm_pv_eoi,+kvm_pv_unhalt " in text  # no "enforce" for host (as in cfg2cmd)
    assert "ide-hd,bus=ide.0,unit=0,drive=drive-ide0,id=ide0,bootindex=100" in text  # legacy order: first disk
    assert "-device ahci,id=ahci0,multifunction=on" in text
    assert "ide-hd,bus=ahci0.2,drive=drive-sata2,id=sata2" in text
    assert "-object iothread,id=iothread-virtio0" in text
    assert "virtio-blk-pci,iothread=iothread-virtio0,drive=drive-virtio0,id=virtio0" in text
    assert "-device lsi,id=scsihw1" in text  # default scsihw lsi, seven targets per controller
    assert "scsi-hd,bus=scsihw1.0,channel=0,scsi-id=1,lun=0,drive=drive-scsi8,id=scsi8" in text
    # no bridge: QEMU's user network, as qemu-server does
    assert "-netdev type=user,id=net1,hostname=vm100 -device e1000,mac=BC:24:11:00:00:02,netdev=net1,id=net1,bootindex=200" in text
    assert cmd.taps == [Tap("tap100i3", "vmbr1", None, 20)]
    assert cmd.argv[-1] == "type=pc-i440fx-9.2,accel=kvm"  # Debian's QEMU knows no +pveN


def test_q35_ide_and_empty_cdrom():
    conf = _conf("machine: q35\nide2: none,media=cdrom\nide0: local-lvm:vm-100-disk-0\n")
    text = " ".join(config_to_command(conf, 100, PATHS, _resolve, "tcg", KERNEL, INITRD).argv)
    assert "-drive if=none,id=drive-ide2,media=cdrom -device ide-cd,bus=ide.2,drive=drive-ide2,id=ide2" in text
    assert "ide-hd,bus=ide.0,drive=drive-ide0,id=ide0" in text
    assert text.endswith("-machine type=q35,accel=tcg")


def test_boot_order_indices():
    """device_bootorder: 100, 200, ... in 'order'; an empty 'boot:' boots nothing."""
    assert boot_order({"boot": "order=net0;scsi1"}) == {"net0": 100, "scsi1": 200}
    assert boot_order({"boot": " "}) == {}


@pytest.mark.parametrize(("raw", "accel", "message"), [
    ("cpu: host\n", "tcg", "CPU type 'host' needs KVM, which is not usable on this host"),
    ("arch: aarch64\n", "tcg", "only x86_64 guests can be started here, not 'aarch64'"),
    ("memory: 512\n", "hvf", "unknown accelerator 'hvf'"),
])
def test_command_errors(raw, accel, message):
    with pytest.raises(CommandError) as exc:
        config_to_command(_conf(raw), 100, PATHS, _resolve, accel, KERNEL, INITRD)
    assert str(exc.value) == message


def test_no_secret_reaches_the_argv():
    conf = _conf(SIMPLE + "ciuser: admin\ncipassword: hunter2-secret\nsshkeys: ssh-ed25519%20AAAA\n")
    argv = config_to_command(conf, 100, PATHS, _resolve, "tcg", KERNEL, INITRD).argv
    assert not [a for a in argv if "hunter2" in a or "AAAA" in a]
