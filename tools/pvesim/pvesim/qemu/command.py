# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A QEMU argv from a VM config, the way qemu-server's ``config_to_command`` builds it.

Source: proxmox/qemu-server 9.2.6 ``PVE/QemuServer.pm`` ``config_to_command``,
``print_drive_commandline_full``, ``print_netdevice_full``, ``print_netdev_full``,
``device_bootorder`` and the expected command lines in ``src/test/cfg2cmd/*.conf.cmd``.  Kept:
``-name``, ``-no-shutdown``, the QMP socket, ``-pidfile``, ``-daemonize``,
``-smbios type=1,...``, ``-smp N,sockets=S,cores=C,maxcpus=N``, ``-nodefaults``, ``-boot``,
``-cpu``, ``-m``, the PIIX4 ``disable_s3/s4`` globals, ``vmgenid``, one controller and device per
disk with ``bootindex`` from ``boot: order=`` (100, 200, ...), tap netdevs named
``tap<vmid>i<N>`` with the NIC model's device, and ``-machine type=...``.

Where the simulator differs (said here, not hidden): no ``-id`` (a Proxmox patch of QEMU); disks use ``-drive if=none`` rather than
qemu-server 9's ``-blockdev`` JSON; PCI addresses are left to QEMU; no VNC, ``-display none``;
the taps are made by :mod:`pvesim.qemu.runner` (``script=no``) instead of ``pve-bridge``; the
first serial port is a file (the console log) so the boot can be read; and the guest boots the
locally built kernel and initramfs with ``-kernel``/``-initrd`` because the simulated disks are
empty images.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

from . import config as qmconfig
from . import schema

QEMU_BINARY = "/usr/bin/qemu-system-x86_64"
_NIC_DEVICE = {"virtio": "virtio-net-pci"}  # other models are QEMU device names already
_TCG_UNSAFE_CPU_FLAGS = ("+kvm_pv_eoi", "+kvm_pv_unhalt")


@dataclasses.dataclass(frozen=True)
class RuntimePaths:
    """Where one running VM keeps its sockets, pid file and console log (PVE: /var/run/qemu-server)."""

    run_dir: Path
    vmid: int

    @property
    def qmp_socket(self) -> Path:
        return self.run_dir / ("%d.qmp" % self.vmid)

    @property
    def pidfile(self) -> Path:
        return self.run_dir / ("%d.pid" % self.vmid)

    @property
    def console_log(self) -> Path:
        return self.run_dir / ("%d.console.log" % self.vmid)


@dataclasses.dataclass(frozen=True)
class Tap:
    """A tap device the runner creates and enslaves to ``bridge`` before QEMU starts."""

    ifname: str
    bridge: str
    mtu: int | None = None
    tag: int | None = None


@dataclasses.dataclass(frozen=True)
class VmCommand:
    argv: list[str]
    taps: list[Tap]


class CommandError(ValueError):
    """The config cannot be turned into a command line (message as qemu-server says it)."""


VolumeResolver = Callable[[str], "tuple[str, str]"]
"""``volid -> (path, format)`` as ``PVE::QemuServer::Drive::get_path_and_format`` answers it."""


def boot_order(conf: dict) -> dict[str, int]:
    """``device_bootorder`` for ``boot: order=``: 100, 200, ... in the listed order."""
    boot = conf.get("boot")
    if boot is None:
        # bootorder_from_legacy with the default 'cdn': the bootdisk, CD-ROMs, then NICs
        order = qmconfig.default_boot_devices(conf)
    else:
        order = [d for d in (schema.BOOT_FORMAT.parse(boot).get("order") or "").split(";") if d]
    return {dev: (i + 1) * 100 for i, dev in enumerate(order)}


def _smp(conf: dict) -> tuple[int, int, int]:
    sockets = int(conf.get("sockets") or conf.get("smp") or 1)
    cores = int(conf.get("cores") or 1)
    return sockets * cores, sockets, cores


def _cpu(conf: dict, accel: str) -> str:
    cpu = schema.CPU_FORMAT.parse(conf["cpu"]) if conf.get("cpu") else {}
    cputype = cpu.get("cputype") or "kvm64"
    if cputype == "host" and accel != "kvm":
        raise CommandError("CPU type 'host' needs KVM, which is not usable on this host")
    flags = ["enforce"] if cputype != "host" else []
    if accel == "kvm":
        flags += list(_TCG_UNSAFE_CPU_FLAGS)
    flags += ["+lahf_lm", "+sep"] if cputype == "kvm64" else []
    flags += [f for f in (cpu.get("flags") or "").split(";") if f]
    return ",".join([cputype, *flags])


def _memory(conf: dict) -> int:
    return schema.MEMORY_FORMAT.parse(conf["memory"])["current"] if conf.get("memory") else 512


def _drive_args(key: str, drive: dict, resolve: VolumeResolver, bootindex: int | None, scsihw: str,
                controllers: set[str], q35: bool) -> list[str]:
    bus, index = drive["interface"], drive["index"]
    node = "drive-%s" % key
    opts = ["if=none", "id=" + node]
    is_cdrom = qmconfig.drive_is_cdrom(drive)
    if drive["file"] not in ("none", "cdrom"):
        path, fmt = resolve(drive["file"])
        opts = ["file=" + path, *opts, "format=" + fmt]
    if is_cdrom:
        opts.append("media=cdrom")
        if drive["file"] not in ("none", "cdrom"):
            opts.append("readonly=on")
    for opt in ("cache", "aio", "discard", "rerror", "werror"):
        if drive.get(opt):
            opts.append("%s=%s" % (opt, "unmap" if opt == "discard" and drive[opt] == "on" else drive[opt]))
    if drive.get("ro"):
        opts.append("readonly=on")
    args = ["-drive", ",".join(opts)]
    dev: list[str]
    if bus == "ide":
        # q35's AHCI has one unit per bus; i440fx's PIIX IDE two
        bus_unit = ["bus=ide.%d" % index] if q35 else ["bus=ide.%d" % (index // 2), "unit=%d" % (index % 2)]
        dev = ["ide-cd" if is_cdrom else "ide-hd", *bus_unit]
    elif bus == "sata":
        if "ahci0" not in controllers:
            controllers.add("ahci0")
            args = ["-device", "ahci,id=ahci0,multifunction=on", *args]
        dev = ["ide-cd" if is_cdrom else "ide-hd", "bus=ahci0.%d" % index]
    elif bus == "virtio":
        dev = ["virtio-blk-pci"]
        if drive.get("iothread"):
            args = ["-object", "iothread,id=iothread-" + key, *args]
            dev.append("iothread=iothread-" + key)
    else:  # scsi
        single = scsihw == "virtio-scsi-single"
        controller = "virtioscsi%d" % index if single else "scsihw%d" % (index // 7)
        if controller not in controllers:
            controllers.add(controller)
            model = "virtio-scsi-pci" if scsihw.startswith("virtio-scsi") else scsihw
            extra = ",iothread=iothread-" + controller if single and drive.get("iothread") else ""
            if extra:
                args = ["-object", "iothread,id=iothread-" + controller, *args]
            args = ["-device", "%s,id=%s%s" % (model, controller, extra), *args]
        target = 0 if single else index % 7
        dev = ["scsi-cd" if is_cdrom else "scsi-hd", "bus=%s.0" % controller, "channel=0",
               "scsi-id=%d" % target, "lun=0"]
    dev += ["drive=" + node, "id=" + key]
    if bootindex is not None:
        dev.append("bootindex=%d" % bootindex)
    return [*args, "-device", ",".join(dev)]


def _net_args(key: str, net: dict, vmid: int, accel: str, bootindex: int | None) -> tuple[list[str], Tap | None]:
    nid = int(key[3:])
    tap = None
    if net.get("bridge"):
        ifname = "tap%di%d" % (vmid, nid)
        tap = Tap(ifname, net["bridge"], net.get("mtu"), net.get("tag"))
        netdev = "type=tap,id=%s,ifname=%s,script=no,downscript=no" % (key, ifname)
        if accel == "kvm" and net["model"] == "virtio":
            netdev += ",vhost=on"
    else:
        netdev = "type=user,id=%s,hostname=vm%d" % (key, vmid)  # no bridge: QEMU's user network (PVE too)
    device = [_NIC_DEVICE.get(net["model"], net["model"]), "mac=" + net["macaddr"], "netdev=" + key, "id=" + key]
    if bootindex is not None:
        device.append("bootindex=%d" % bootindex)
    if net["model"] == "virtio" and net.get("mtu"):
        device.append("host_mtu=%d" % net["mtu"])
    return ["-netdev", netdev, "-device", ",".join(device)], tap


def config_to_command(conf: dict, vmid: int, paths: RuntimePaths, resolve: VolumeResolver, accel: str,
                      kernel: Path, initrd: Path, qemu_binary: str = QEMU_BINARY) -> VmCommand:
    """The argv that starts VM ``vmid`` (daemonized) and the taps it needs."""
    if accel not in ("kvm", "tcg"):
        raise CommandError("unknown accelerator '%s'" % accel)
    if conf.get("arch", "x86_64") != "x86_64":
        raise CommandError("only x86_64 guests can be started here, not '%s'" % conf["arch"])
    vcpus, sockets, cores = _smp(conf)
    argv = [qemu_binary, "-name", conf.get("name") or "vm%d" % vmid, "-no-shutdown",
            "-chardev", "socket,id=qmp,path=%s,server=on,wait=off" % paths.qmp_socket,
            "-mon", "chardev=qmp,mode=control", "-pidfile", str(paths.pidfile), "-daemonize"]
    if conf.get("smbios1"):
        smbios = schema.SMBIOS1_FORMAT.parse(conf["smbios1"])
        argv += ["-smbios", ",".join(["type=1"] + ["%s=%s" % (k, smbios[k]) for k in sorted(smbios)])]
    argv += ["-smp", "%d,sockets=%d,cores=%d,maxcpus=%d" % (vcpus, sockets, cores, vcpus), "-nodefaults",
             "-boot", "menu=on,strict=on,reboot-timeout=1000", "-display", "none",
             "-cpu", _cpu(conf, accel), "-m", str(_memory(conf)),
             "-global", "PIIX4_PM.disable_s3=1", "-global", "PIIX4_PM.disable_s4=1"]
    if conf.get("vmgenid") and conf["vmgenid"] != "0":
        argv += ["-device", "vmgenid,guid=" + conf["vmgenid"]]
    argv += ["-chardev", "file,id=console,path=%s" % paths.console_log, "-device", "isa-serial,chardev=console"]
    bootindex = boot_order(conf)
    controllers: set[str] = set()
    scsihw = conf.get("scsihw") or "lsi"
    for key in qmconfig.drive_keys(conf):
        if key in ("efidisk0", "tpmstate0"):
            continue  # OVMF vars and TPM state: only with bios=ovmf / swtpm, not simulated
        argv += _drive_args(key, qmconfig.parse_drive(key, conf[key]), resolve, bootindex.get(key), scsihw, controllers,
                            _machine_type(conf) == "q35")
    taps = []
    for key in sorted((k for k in conf if re.match(r"^net\d+$", k)), key=lambda k: int(k[3:])):
        net = schema.NET_FORMAT.parse(conf[key])
        if not net.get("macaddr"):
            raise CommandError("%s has no MAC address" % key)
        net_argv, tap = _net_args(key, net, vmid, accel, bootindex.get(key))
        argv += net_argv
        if tap is not None:
            taps.append(tap)
    argv += ["-kernel", str(kernel), "-initrd", str(initrd), "-append", "console=ttyS0 quiet panic=-1",
             "-machine", "type=%s,accel=%s" % (_machine_type(conf), accel)]
    return VmCommand(argv, taps)


def _machine_type(conf: dict) -> str:
    """``machine`` without PVE's ``+pveN`` suffix, which Debian's QEMU does not know; default ``pc``."""
    machine = conf.get("machine") or "pc"
    if machine.startswith("q35"):
        return "q35"
    return re.sub(r"\+pve\d+$", "", machine)
