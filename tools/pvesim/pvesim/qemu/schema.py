# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The qemu-server VM config schema and its property strings (contract §9).

Sources (proxmox/qemu-server 9.2.6): ``PVE/QemuServer.pm`` ``$confdesc``, ``$confdesc_cloudinit``,
``$boot_fmt``, ``$smbios1_fmt``, ``$vga_fmt``, ``check_type``; ``PVE/QemuServer/Drive.pm``
``%drivedesc_base`` and the per-bus formats, ``parse_drive``, ``print_drive``;
``PVE/QemuServer/Network.pm`` ``$net_fmt`` (``keyAlias`` fuses model and MAC), ``$ipconfig_fmt``,
``parse_ipconfig``; ``PVE/QemuServer/Agent.pm`` ``$agent_fmt``; ``PVE/QemuServer/Memory.pm``
``$memory_fmt``; ``PVE/QemuServer/MetaInfo.pm`` ``$meta_info_fmt``; ``PVE/QemuServer/CPUConfig.pm``
``$cpu_fmt``.  The generic property-string parser and printer and the formats shared with
containers come from :mod:`pvesim.lxcschema` and :mod:`pvesim.schema`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from .. import lxcschema
from ..lxcschema import PropDesc, parse_property_string, parse_size, print_property_string
from ..schema import FormatError, Param, check_value

MAX_IDE = 4
MAX_SATA = 6
MAX_SCSI = 31
MAX_VIRTIO = 16
MAX_NETS = 32
MAX_UNUSED = 256
MAX_SERIAL = 4

NIC_MODELS = ("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b",
              "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3")
IMAGE_FORMATS = ["raw", "qcow", "qed", "qcow2", "vmdk", "cloop"]
OSTYPES = ["other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris"]
LOCKS = ["backup", "clone", "create", "migrate", "rollback", "snapshot", "snapshot-delete", "suspending", "suspended"]
SCSIHW = ["lsi", "lsi53c810", "virtio-scsi-pci", "virtio-scsi-single", "megasas", "pvscsi"]
DRIVE_BUSES = ("ide", "scsi", "virtio", "sata")
_CT = lxcschema.CONFDESC  # keys whose format containers and VMs share (onboot, startup, tags, ...)


def _b(default: int | None = None) -> Param:
    return Param("boolean", default=default)


def _fmt_urlencoded(s: str) -> None:
    """PVE::JSONSchema::pve_verify_urlencoded."""
    if not re.match(r"^[-%a-zA-Z0-9_.!~*'()]*$", s):
        raise FormatError("invalid urlencoded string: %s" % s)


def _fmt_mac(s: str) -> None:
    """PVE::JSONSchema 'mac-addr': a unicast MAC."""
    if not re.match(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$", s, re.I):
        raise FormatError("value does not look like a valid unicast MAC address")


def _fmt_bridge(s: str) -> None:
    """'pve-bridge-id': ``[-_.\\w\\d]+``."""
    if not re.match(r"^[-_.\w\d]+$", s):
        raise FormatError("invalid format - value does not look like a valid bridge name")


def _fmt_volume_or_path(s: str) -> None:
    """Drive.pm ``verify_volume_id_or_qm_path``: a volume id, ``none``, ``cdrom`` or an absolute path."""
    if s in ("none", "cdrom") or s.startswith("/"):
        if re.search(r"(^|/)\.\.?(/|$)", s):
            raise FormatError("path with '.' or '..' components is not allowed")
        return
    if not re.match(r"^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$", s, re.I):
        raise FormatError("unable to parse volume ID '%s'" % s)


# -------------------------------------------------------------------------------------------
# property-string formats with PVE's aliases
# -------------------------------------------------------------------------------------------

class QmFormat:
    """A property-string format plus PVE's ``alias`` keys and ``keyAlias`` fusions.

    ``aliases`` maps an accepted key to the key it stands for (``volume`` -> ``file``).
    ``fused`` names the ``keyAlias`` pair of ``$net_fmt``: ``(model_key, value_key, names)``, so that
    ``virtio=BC:24:11:...`` parses to ``model=virtio, macaddr=BC:24:11:...`` and prints back fused.
    """

    def __init__(self, desc: PropDesc, aliases: dict[str, str] | None = None,
                 fused: tuple[str, str, tuple[str, ...]] | None = None,
                 check: Callable[[dict], None] | None = None) -> None:
        self.desc = desc
        self.aliases = aliases or {}
        self.fused = fused
        self.check = check

    def parse(self, data: str) -> dict:
        """PVE::JSONSchema::parse_property_string with alias resolution; raises FormatError."""
        parts = []
        fused_model = None
        for part in str(data).split(","):
            if not part.strip():
                continue  # parse_property_string skips empty and blank parts
            key, eq, value = part.partition("=")
            if eq and self.fused and key in self.fused[2]:
                model_key, value_key, _models = self.fused
                if fused_model is not None or re.search(r"(^|,)%s=" % model_key, data):
                    raise FormatError("key alias '%s' is already defined" % model_key)
                fused_model = key
                parts += ["%s=%s" % (model_key, key), "%s=%s" % (value_key, value)]
            elif eq and key in self.aliases:
                parts.append("%s=%s" % (self.aliases[key], value))
            else:
                parts.append(part)
        res = parse_property_string(self.desc, ",".join(parts))
        if self.check is not None:
            self.check(res)
        return res

    def print(self, data: dict, skip: tuple[str, ...] = ()) -> str:
        """PVE::JSONSchema::print_property_string: default (or fused) key first, then sorted."""
        if self.fused:
            model_key, value_key, _models = self.fused
            if data.get(model_key) is not None and data.get(value_key) is not None:
                rest = print_property_string(self.desc, data, skip=(*skip, model_key, value_key))
                head = "%s=%s" % (data[model_key], data[value_key])
                return head + ("," + rest if rest else "")
        return print_property_string(self.desc, data, skip=skip)

    def param(self) -> Param:
        def fmt(s: str) -> None:
            self.parse(s)
        return Param("string", format=fmt)


def _throttle_keys() -> dict[str, Param]:
    keys: dict[str, Param] = {}
    for what in ("", "_rd", "_wr"):
        keys["bps" + what] = Param("integer")
        keys["mbps" + what] = Param("number")
        keys["iops" + what] = Param("integer")
        keys["mbps%s_max" % what] = Param("number")
        keys["iops%s_max" % what] = Param("integer")
        keys["bps%s_max_length" % what] = Param("integer", minimum=1)
        keys["iops%s_max_length" % what] = Param("integer", minimum=1)
    return keys


_DRIVE_BASE = {
    "file": Param("string", optional=False, format=_fmt_volume_or_path),
    "media": Param("string", enum=["cdrom", "disk"], default="disk"),
    "snapshot": _b(), "cache": Param("string", enum=["none", "writethrough", "writeback", "unsafe", "directsync"]),
    "format": Param("string", enum=IMAGE_FORMATS), "size": Param("string"), "backup": _b(),
    "replicate": _b(default=1), "rerror": Param("string", enum=["ignore", "report", "stop"]),
    "werror": Param("string", enum=["enospc", "ignore", "report", "stop"]),
    "aio": Param("string", enum=["native", "threads", "io_uring"]), "discard": Param("string", enum=["ignore", "on"]),
    "detect_zeroes": _b(), "serial": Param("string", format=_fmt_urlencoded, max_length=60),
    "shared": _b(default=0), **_throttle_keys(),
}
_DRIVE_EXTRA = {
    "iothread": {"iothread": _b()},
    "model": {"model": Param("string", format=_fmt_urlencoded, max_length=120)},
    "product": {"product": Param("string", pattern=r"[A-Za-z0-9\-_\s]{0,16}")},
    "vendor": {"vendor": Param("string", pattern=r"[A-Za-z0-9\-_\s]{0,8}")},
    "queues": {"queues": Param("integer", minimum=2)},
    "ro": {"ro": _b()}, "scsiblock": {"scsiblock": _b(default=0)}, "ssd": {"ssd": _b()},
    "wwn": {"wwn": Param("string", pattern=r"(0x)[0-9a-fA-F]{16}.*")},
}
_BUS_EXTRAS = {
    "ide": ("model", "ssd", "wwn"),
    "scsi": ("iothread", "product", "queues", "ro", "scsiblock", "ssd", "vendor", "wwn"),
    "sata": ("ssd", "wwn"),
    "virtio": ("iothread", "ro"),
}
_DRIVE_ALIASES = {"volume": "file", "bps_rd_length": "bps_rd_max_length", "bps_wr_length": "bps_wr_max_length",
                  "iops_rd_length": "iops_rd_max_length", "iops_wr_length": "iops_wr_max_length"}
_SIZE = ("size",)


def _drive_check(bus: str) -> Callable[[dict], None]:
    """Drive.pm ``parse_drive``'s checks after the property string parsed."""
    def check(res: dict) -> None:
        if res.get("size") is not None and parse_size(res["size"]) is None:
            raise FormatError("unable to parse size '%s'" % res["size"])
        if res.get("media") == "cdrom":
            if res.get("snapshot") or res.get("format"):
                raise FormatError("unable to parse drive options (cdrom with snapshot or format)")
            if bus == "virtio":
                raise FormatError("unable to parse drive options (virtio cannot be a cdrom)")
        for a, b in (("mbps_rd", "mbps"), ("mbps_wr", "mbps"), ("iops_rd", "iops"), ("iops_wr", "iops")):
            if res.get(a) and res.get(b):
                raise FormatError("unable to parse drive options (%s and %s)" % (a, b))
    return check


def _bus_format(bus: str) -> QmFormat:
    keys = dict(_DRIVE_BASE)
    for extra in _BUS_EXTRAS[bus]:
        keys.update(_DRIVE_EXTRA[extra])
    return QmFormat(PropDesc(bus, keys, default_key="file", disk_size_keys=_SIZE), _DRIVE_ALIASES, check=_drive_check(bus))


DRIVE_FORMATS = {bus: _bus_format(bus) for bus in DRIVE_BUSES}
_VOLUME_KEYS = {"file": _DRIVE_BASE["file"], "format": _DRIVE_BASE["format"], "size": Param("string")}
EFIDISK_FORMAT = QmFormat(PropDesc("efidisk", {
    **_VOLUME_KEYS, "efitype": Param("string", enum=["2m", "4m"], default="2m"),
    "pre-enrolled-keys": _b(default=0), "ms-cert": Param("string", enum=["2011", "2023", "2023w", "2023k"], default="2011"),
}, default_key="file", disk_size_keys=_SIZE), {"volume": "file"}, check=_drive_check("efidisk"))
TPMSTATE_FORMAT = QmFormat(PropDesc("tpmstate", {
    **_VOLUME_KEYS, "version": Param("string", enum=["v1.2", "v2.0"], default="v1.2"),
}, default_key="file", disk_size_keys=_SIZE), {"volume": "file"}, check=_drive_check("tpmstate"))
UNUSED_FORMAT = QmFormat(PropDesc("unused", {"file": Param("string", optional=False, format=_fmt_volume_or_path)},
                                  default_key="file"), {"volume": "file"})

NET_FORMAT = QmFormat(PropDesc("net", {
    "model": Param("string", optional=False, enum=list(NIC_MODELS)),
    "macaddr": Param("string", format=_fmt_mac),
    "bridge": Param("string", format=_fmt_bridge),
    "queues": Param("integer", minimum=0, maximum=64), "rate": Param("number", minimum=0),
    "tag": Param("integer", minimum=1, maximum=4094), "trunks": Param("string", pattern=r"\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*"),
    "firewall": _b(), "link_down": _b(), "mtu": Param("integer", minimum=1, maximum=65520), "host-tunnel": _b(),
}, default_key="model"), fused=("model", "macaddr", NIC_MODELS))


def _fmt_ipv4_config(s: str) -> None:
    """'pve-ipv4-config': ``dhcp`` or an address in CIDR notation."""
    if s == "dhcp":
        return
    try:
        ipaddress.IPv4Interface(s)
    except ValueError:
        raise FormatError("value does not look like a valid IPv4 network configuration") from None
    if "/" not in s:
        raise FormatError("value does not look like a valid IPv4 network configuration")


def _fmt_ipv6_config(s: str) -> None:
    """'pve-ipv6-config': ``dhcp``, ``auto`` or an address in CIDR notation."""
    if s in ("dhcp", "auto"):
        return
    try:
        ipaddress.IPv6Interface(s)
    except ValueError:
        raise FormatError("value does not look like a valid IPv6 network configuration") from None
    if "/" not in s:
        raise FormatError("value does not look like a valid IPv6 network configuration")


def _fmt_ip(version: int) -> Callable[[str], None]:
    def fmt(s: str) -> None:
        try:
            ok = ipaddress.ip_address(s).version == version
        except ValueError:
            ok = False
        if not ok:
            raise FormatError("value does not look like a valid IPv%d address" % version)
    return fmt


def _ipconfig_check(res: dict) -> None:
    """Network.pm ``parse_ipconfig``: gateways need an address of their family, never DHCP."""
    if res.get("gw") and not res.get("ip"):
        raise FormatError("gateway specified without specifying an IP address")
    if res.get("gw6") and not res.get("ip6"):
        raise FormatError("IPv6 gateway specified without specifying an IPv6 address")
    if res.get("gw") and res.get("ip") == "dhcp":
        raise FormatError("gateway specified together with DHCP")
    if res.get("gw6") and res.get("ip6") in ("dhcp", "auto"):
        raise FormatError("IPv6 gateway specified together with %s address" % res["ip6"])


IPCONFIG_FORMAT = QmFormat(PropDesc("ipconfig", {
    "ip": Param("string", format=_fmt_ipv4_config), "gw": Param("string", format=_fmt_ip(4)),
    "ip6": Param("string", format=_fmt_ipv6_config), "gw6": Param("string", format=_fmt_ip(6)),
}), check=_ipconfig_check)

_UUID = r"[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}"
_B64 = r"[A-Za-z0-9+/]+={0,2}"
SMBIOS1_FORMAT = QmFormat(PropDesc("smbios1", {
    "uuid": Param("string", pattern=_UUID), "version": Param("string", pattern=_B64),
    "serial": Param("string", pattern=_B64), "manufacturer": Param("string", pattern=_B64),
    "product": Param("string", pattern=_B64), "sku": Param("string", pattern=_B64),
    "family": Param("string", pattern=_B64), "base64": _b(),
}))
META_FORMAT = QmFormat(PropDesc("meta", {
    "ctime": Param("integer", minimum=0), "creation-qemu": Param("string", pattern=r"\d+(\.\d+)+"),
}))
MEMORY_FORMAT = QmFormat(PropDesc("memory", {"current": Param("integer", optional=False, minimum=16, default=512)},
                                  default_key="current"))
AGENT_FORMAT = QmFormat(PropDesc("agent", {
    "enabled": Param("boolean", optional=False, default=0), "fstrim_cloned_disks": _b(default=0),
    "freeze-fs": _b(default=1), "type": Param("string", enum=["virtio", "isa"], default="virtio"),
}, default_key="enabled"), {"freeze-fs-on-backup": "freeze-fs", "guest-fsfreeze": "freeze-fs"})


def _boot_check(res: dict) -> None:
    """QemuServer.pm ``verify_bootdev`` for every device of ``order``."""
    for dev in (res.get("order") or "").split(";"):
        if dev and not is_boot_device(dev):
            raise FormatError("invalid boot device '%s'" % dev)


BOOT_FORMAT = QmFormat(PropDesc("boot", {
    "legacy": Param("string", pattern=r"[acdn]{1,4}", default="cdn"), "order": Param("string"),
}, default_key="legacy"), check=_boot_check)
CPU_FORMAT = QmFormat(PropDesc("cpu", {
    "cputype": Param("string", pattern=r"[\w\-.]+", default="kvm64"), "reported-model": Param("string"),
    "hidden": _b(default=0), "hv-vendor-id": Param("string", pattern=r"[a-zA-Z0-9]{1,12}"),
    "flags": Param("string", pattern=r"[+-][\w\-.]+(;[+-][\w\-.]+)*"), "guest-phys-bits": Param("integer", minimum=32, maximum=64),
    "phys-bits": Param("string", pattern=r"host|\d+"), "level": Param("integer"),
}, default_key="cputype"))
VGA_FORMAT = QmFormat(PropDesc("vga", {
    "type": Param("string", enum=["cirrus", "qxl", "qxl2", "qxl3", "qxl4", "none", "serial0", "serial1", "serial2",
                                  "serial3", "std", "virtio", "virtio-gl", "vmware"], default="std"),
    "memory": Param("integer", minimum=4, maximum=512), "clipboard": Param("string", enum=["vnc"]),
}, default_key="type"))
CICUSTOM_FORMAT = QmFormat(PropDesc("cicustom", {k: Param("string", format=_fmt_volume_or_path)
                                                 for k in ("meta", "network", "user", "vendor")}))


def is_drive_key(key: str) -> bool:
    """Drive.pm ``is_valid_drivename`` (unusedN excluded)."""
    m = re.match(r"^(ide|scsi|virtio|sata)(\d+)$", key)
    if m:
        return int(m.group(2)) < {"ide": MAX_IDE, "scsi": MAX_SCSI, "virtio": MAX_VIRTIO, "sata": MAX_SATA}[m.group(1)]
    return key in ("efidisk0", "tpmstate0")


def is_boot_device(dev: str) -> bool:
    """QemuServer.pm ``verify_bootdev``: a drive (not efidisk/tpmstate), netN, usbN or hostpciN."""
    if is_drive_key(dev):
        return dev not in ("efidisk0", "tpmstate0")
    m = re.match(r"^(net|usb|hostpci)(\d+)$", dev)
    return m is not None and int(m.group(2)) < {"net": MAX_NETS, "usb": 14, "hostpci": 16}[m.group(1)]


def drive_format(key: str) -> QmFormat:
    if key == "efidisk0":
        return EFIDISK_FORMAT
    if key == "tpmstate0":
        return TPMSTATE_FORMAT
    if key.startswith("unused"):
        return UNUSED_FORMAT
    return DRIVE_FORMATS[re.sub(r"\d+$", "", key)]


def _fmt_vmgenid(s: str) -> None:
    if not re.match(r"^(?:%s|[01])$" % _UUID, s):
        raise FormatError("value does not match the regex pattern")


CONFDESC: dict[str, Param] = {
    "onboot": _CT["onboot"], "autostart": _b(default=0), "reboot": _b(default=1), "lock": Param("string", enum=LOCKS),
    "cpulimit": Param("number", minimum=0, maximum=128, default=0), "cpuunits": Param("integer", minimum=1, maximum=262144),
    "memory": MEMORY_FORMAT.param(), "balloon": Param("integer", minimum=0),
    "shares": Param("integer", minimum=0, maximum=50000, default=1000),
    "name": _CT["hostname"].copy(max_length=None), "scsihw": Param("string", enum=SCSIHW, default="lsi"),
    "description": _CT["description"], "ostype": Param("string", enum=OSTYPES, default="other"),
    "boot": BOOT_FORMAT.param(), "bootdisk": Param("string", pattern=r"(ide|sata|scsi|virtio)\d+"),
    "smp": Param("integer", minimum=1, default=1), "sockets": Param("integer", minimum=1, default=1),
    "cores": Param("integer", minimum=1, default=1), "numa": _b(default=0), "vcpus": Param("integer", minimum=1),
    "acpi": _b(default=1), "agent": AGENT_FORMAT.param(), "kvm": _b(default=1), "tdf": _b(default=0),
    "localtime": _b(), "freeze": _b(), "vga": VGA_FORMAT.param(),
    "startdate": Param("string", pattern=r"(now|\d{4}-\d{1,2}-\d{1,2}(T\d{1,2}:\d{1,2}:\d{1,2})?)", default="now"),
    "startup": _CT["startup"], "template": _CT["template"], "args": Param("string"), "tablet": _b(default=1),
    "cpu": CPU_FORMAT.param(), "parent": _CT["parent"], "snaptime": Param("integer", minimum=0),
    "vmstate": Param("string", format=_fmt_volume_or_path), "machine": Param("string", pattern=r"[\w.+\-]+", max_length=40),
    "runningmachine": Param("string", pattern=r"[\w.+\-]+", max_length=40), "runningcpu": Param("string"),
    "arch": Param("string", enum=["x86_64", "aarch64"]), "smbios1": SMBIOS1_FORMAT.param().copy(max_length=512),
    "protection": _CT["protection"], "bios": Param("string", enum=["seabios", "ovmf"], default="seabios"),
    "vmgenid": Param("string", format=_fmt_vmgenid), "hookscript": _CT["hookscript"], "tags": _CT["tags"],
    "meta": META_FORMAT.param(), "hotplug": Param("string", pattern=r"[a-z,]+|0|1"),
    # cloud-init ($confdesc_cloudinit)
    "citype": Param("string", enum=["configdrive2", "nocloud", "opennebula"]), "ciuser": Param("string"),
    "cipassword": Param("string"), "ciupgrade": _b(default=1), "cicustom": CICUSTOM_FORMAT.param(),
    "searchdomain": _CT["searchdomain"], "nameserver": _CT["nameserver"],
    "sshkeys": Param("string", format=_fmt_urlencoded),
    "efidisk0": EFIDISK_FORMAT.param(), "tpmstate0": TPMSTATE_FORMAT.param(),
    "cdrom": DRIVE_FORMATS["ide"].param(),  # legacy alias of ide2 (parse_vm_config renames it)
}
for _i in range(MAX_NETS):
    CONFDESC["net%d" % _i] = NET_FORMAT.param()
    CONFDESC["ipconfig%d" % _i] = IPCONFIG_FORMAT.param()
for _bus, _max in (("ide", MAX_IDE), ("scsi", MAX_SCSI), ("virtio", MAX_VIRTIO), ("sata", MAX_SATA)):
    for _i in range(_max):
        CONFDESC["%s%d" % (_bus, _i)] = DRIVE_FORMATS[_bus].param()
for _i in range(MAX_UNUSED):
    CONFDESC["unused%d" % _i] = UNUSED_FORMAT.param()
for _i in range(MAX_SERIAL):
    CONFDESC["serial%d" % _i] = Param("string", pattern=r"(/dev/.+|socket)")


def check_type(key: str, value: str) -> str:
    """QemuServer.pm ``check_type``: the typed, canonical text of one config value (ValueError)."""
    return lxcschema.check_type(key, value, confdesc=CONFDESC, unquote=True)


def validate_value(key: str, value: object) -> object:
    """The API's schema check of one parameter (enum, pattern, range, format); raises ValueError."""
    p = CONFDESC.get(key)
    if p is None:
        raise ValueError("property is not defined in schema and the schema does not allow additional properties")
    return check_value(p, value)
