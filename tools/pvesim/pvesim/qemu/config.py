# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``/etc/pve/qemu-server/<vmid>.conf``: parse, write, and the values ``qm create`` adds.

Sources (proxmox/qemu-server 9.2.6): ``PVE/QemuServer.pm`` ``parse_vm_config``,
``write_vm_config``, ``filename_to_volume_id``, ``get_default_bootdevices``, ``print_bootorder``,
``generate_smbios1_uuid``; ``PVE/QemuServer/Drive.pm`` ``parse_drive``, ``print_drive``,
``resolve_first_disk``; ``PVE/QemuServer/MetaInfo.pm`` ``new_meta_info_string``;
``PVE/API2/Qemu.pm`` ``create_vm`` (meta, boot, smbios1, vmgenid) and its parameter pass that
adds a MAC to every ``netN``; pve-common ``PVE/Tools.pm`` ``random_ether_addr`` (datacenter
``mac_prefix``, ``BC:24:11`` by default).

A parsed config is a dict as PVE's: ``key -> text``, ``description`` (decoded, trailing
whitespace stripped), ``pending`` (may hold ``delete``), ``snapshots`` ({name: dict}),
``special-sections`` ({name: dict}) and ``digest`` (SHA-1 of the raw text).
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable

from ..config import decode_text, encode_text
from ..lxcschema import random_ether_addr
from . import schema

SPECIAL_SECTIONS = ("cloudinit", "fleecing")
_NOT_KEYS = ("digest", "description", "pending", "snapshots", "special-sections")


class ConfigError(ValueError):
    """A config that PVE would refuse to parse (strict) or to write."""


def filename_to_volume_id(vmid: int | str, file: str, media: str | None) -> str | None:
    """Old-style bare file names become ``local:<vmid>/<file>`` (``local:iso/<file>`` for CD-ROMs)."""
    if file in ("none", "cdrom") or file.startswith("/dev/") or re.match(r"^([^:]+):(.+)$", file):
        return file
    if "/" in file:
        return None
    return ("local:iso/%s" if media == "cdrom" else "local:%s/%%s" % vmid) % file


def parse_drive(key: str, value: str) -> dict:
    """Drive.pm ``parse_drive``: the drive's options, with ``interface`` and ``index``."""
    m = re.match(r"^([^\d]+)(\d+)$", key)
    if not m or not (schema.is_drive_key(key) or key.startswith("unused")):
        raise schema.FormatError("invalid drive key: %s" % key)
    res = schema.drive_format(key).parse(value)
    res["interface"], res["index"] = m.group(1), int(m.group(2))
    return res


def print_drive(drive: dict) -> str:
    """Drive.pm ``print_drive``: ``file`` first, then the other options sorted (size as 32G)."""
    key = "%s%d" % (drive["interface"], drive["index"])
    return schema.drive_format(key).print(drive, skip=("interface", "index"))


def drive_is_cdrom(drive: dict) -> bool:
    return drive.get("media") == "cdrom"


def drive_is_cloudinit(drive: dict) -> bool:
    """Drive.pm ``drive_is_cloudinit``."""
    return re.search(r"[:/](?:vm-\d+-)?cloudinit(?:\.(?:raw|qcow|qcow2|qed|vmdk|cloop))?$", drive["file"]) is not None


def drive_keys(conf: dict) -> list[str]:
    """The drive keys of ``conf`` in PVE's order (``valid_drive_names``: ide, scsi, virtio, sata, efidisk0, tpmstate0)."""
    order = {"ide": 0, "scsi": 1, "virtio": 2, "sata": 3, "efidisk": 4, "tpmstate": 5}

    def sort_key(k: str) -> tuple[int, int]:
        m = re.match(r"^([a-z]+)(\d+)$", k)
        return (order[m.group(1)], int(m.group(2))) if m else (9, 0)
    return sorted((k for k in conf if k not in _NOT_KEYS and schema.is_drive_key(k)), key=sort_key)


def parse_vm_config(raw: str, vmid: int | str, strict: bool = False,
                    warn: Callable[[str], None] | None = None) -> dict:
    """QemuServer.pm ``parse_vm_config``; non-strict problems go to ``warn`` and the line is skipped."""
    res: dict = {"digest": hashlib.sha1(raw.encode("utf-8", "surrogateescape")).hexdigest(),
                 "snapshots": {}, "pending": None, "special-sections": {}}

    def handle_error(msg: str) -> None:
        if strict:
            raise ConfigError(msg)
        if warn is not None:
            warn(msg)

    conf: dict = res
    section: tuple[str, str] | None = ("", "main")
    descr: str | None = None

    def finish_description() -> None:
        nonlocal descr
        if descr is not None:
            conf["description"] = descr.rstrip()
        descr = None

    for line in raw.split("\n"):
        if re.match(r"^\s*$", line):
            continue
        if re.match(r"^\[PENDING\]\s*$", line, re.I):
            finish_description()
            if res["pending"] is not None:
                handle_error("vm %s - duplicate section: pending" % vmid)
            section, conf = ("pending", "pending"), {}
            res["pending"] = conf
            continue
        m = re.match(r"^\[special:(%s)\]\s*$" % "|".join(SPECIAL_SECTIONS), line, re.I)
        if m:
            finish_description()
            if m.group(1) in res["special-sections"]:
                handle_error("vm %s - duplicate special section: %s" % (vmid, m.group(1)))
            section, conf = (m.group(1), "special"), {}
            res["special-sections"][m.group(1)] = conf
            continue
        m = re.match(r"^\[([a-z][a-z0-9_\-]+)\]\s*$", line, re.I)
        if m:
            finish_description()
            if m.group(1) in res["snapshots"]:
                handle_error("vm %s - duplicate snapshot section: %s" % (vmid, m.group(1)))
            section, conf = (m.group(1), "snapshot"), {}
            res["snapshots"][m.group(1)] = conf
            continue
        m = re.match(r"^\[([^\]]*)\]\s*$", line)
        if m:
            finish_description()
            section = None
            handle_error("vm %s - skipping unknown section: '%s'" % (vmid, m.group(1)))
            continue
        if section is None:
            continue
        m = re.match(r"^#(.*)$", line)
        if m:
            descr = (descr or "") + decode_text(m.group(1)) + "\n"
            continue
        m = re.match(r"^(description):\s*(.*\S)\s*$", line)
        if m:
            descr = (descr or "") + decode_text(m.group(2))
            continue
        m = re.match(r"snapstate:\s*(prepare|delete)\s*$", line)
        if m:
            conf["snapstate"] = m.group(1)
            continue
        m = re.match(r"^(args):\s*(.*\S)\s*$", line)
        if m:
            conf["args"] = m.group(2)
            continue
        m = re.match(r"^delete:\s*(.*\S)\s*$", line)
        if m:
            if section == ("pending", "pending"):
                conf["delete"] = m.group(1)
            else:
                handle_error("vm %s - property 'delete' is only allowed in [PENDING]" % vmid)
            continue
        m = re.match(r"^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$", line)
        if not m:
            handle_error("vm %s - unable to parse config: %s" % (vmid, line))
            continue
        key, value = m.group(1), m.group(2)
        if section[1] == "special" and section[0] == "cloudinit":
            conf[key] = value  # informative only, not validated (as PVE)
            continue
        try:
            value = schema.check_type(key, value)
        except ValueError as exc:
            handle_error("vm %s - unable to parse value of '%s' - %s" % (vmid, key, exc))
            continue
        if key == "cdrom":
            key = "ide2"
        if re.match(r"^(ide|scsi|virtio|sata)\d+$", key):
            drive = parse_drive(key, value)
            volid = filename_to_volume_id(vmid, drive["file"], drive.get("media"))
            if volid is None:
                handle_error("vm %s - unable to parse value of '%s'" % (vmid, key))
                continue
            drive["file"] = volid
            value = print_drive(drive)
        conf[key] = value
    finish_description()
    res.pop("snapstate", None)
    if res["pending"] is None:
        res["pending"] = {}
    return res


def _raw_section(conf: dict, pending: bool = False) -> str:
    raw = ""
    descr = conf.get("description")
    if descr is not None:
        if descr:
            raw += "".join("#%s\n" % encode_text(line) for line in descr.split("\n"))
        elif pending:
            raw += "#\n"
    for key in sorted(conf):
        if key in _NOT_KEYS:
            continue
        raw += "%s: %s\n" % (key, conf[key])
    return raw


def _check_section(conf: dict, pending: bool) -> None:
    for key, value in conf.items():
        if key in _NOT_KEYS or key == "snapstate":
            continue
        if key == "delete":
            if not pending:
                raise ConfigError("propertry 'delete' is only allowed in [PENDING]")  # sic, PVE's spelling
            continue
        try:
            conf[key] = schema.check_type(key, str(value))
        except ValueError as exc:
            raise ConfigError("unable to parse value of '%s' - %s" % (key, exc)) from None


def write_vm_config(conf: dict) -> str:
    """QemuServer.pm ``write_vm_config``: main, ``[PENDING]``, ``[special:...]``, then snapshots."""
    conf.pop("snapstate", None)
    if conf.get("cdrom"):
        if conf.get("ide2"):
            raise ConfigError("option ide2 conflicts with cdrom")
        conf["ide2"] = conf.pop("cdrom")
    if conf.get("sockets"):
        conf.pop("smp", None)
    elif conf.get("smp"):
        conf["sockets"] = conf.pop("smp")
        conf.pop("cores", None)
    _check_section(conf, False)
    pending = conf.get("pending") or {}
    _check_section(pending, True)
    snapshots = conf.get("snapshots") or {}
    for name, snap in snapshots.items():
        if name.lower() == "pending":
            raise ConfigError("internal error: snapshot name '%s' is forbidden" % name)
        _check_section(snap, False)
    used = {parse_drive(k, conf[k])["file"] for k in drive_keys(conf)}
    for key in [k for k in conf if re.match(r"^unused\d+$", k)]:
        if schema.UNUSED_FORMAT.parse(conf[key])["file"] in used:
            del conf[key]  # a re-attached volume is no longer unused
    raw = _raw_section(conf)
    if pending:
        raw += "\n[PENDING]\n" + _raw_section(pending, True)
    for name in sorted(conf.get("special-sections") or {}):
        if name == "cloudinit" and not has_cloudinit(conf):
            continue
        raw += "\n[special:%s]\n" % name + _raw_section(conf["special-sections"][name])
    for name in sorted(snapshots):
        raw += "\n[%s]\n" % name + _raw_section(snapshots[name])
    return raw


def has_cloudinit(conf: dict) -> str | None:
    """QemuConfig.pm ``has_cloudinit``: the key of the cloud-init drive, if any."""
    for key in drive_keys(conf):
        if drive_is_cloudinit(parse_drive(key, conf[key])):
            return key
    return None


def print_net(net: dict) -> str:
    return schema.NET_FORMAT.print(net)


def parse_net(value: str, mac_prefix: str | None = None) -> dict:
    """Network.pm ``parse_net``: a random MAC with the datacenter prefix if none is set."""
    net = schema.NET_FORMAT.parse(value)
    if not net.get("macaddr"):
        net["macaddr"] = random_ether_addr(mac_prefix or "BC:24:11")
    return net


def default_boot_devices(conf: dict) -> list[str]:
    """QemuServer.pm ``get_default_bootdevices``: first disk, first CD-ROM, first NIC."""
    devs: list[str] = []
    for want_cdrom in (False, True):
        for key in drive_keys(conf):
            if key in ("efidisk0", "tpmstate0"):
                continue
            if drive_is_cdrom(parse_drive(key, conf[key])) == want_cdrom:
                devs.append(key)
                break
    nets = sorted((k for k in conf if re.match(r"^net\d+$", k) and conf[k]), key=lambda k: int(k[3:]))
    return devs + nets[:1]


def print_bootorder(devs: list[str]) -> str:
    return schema.BOOT_FORMAT.print({"order": ";".join(devs)}) if devs else ""


def add_create_defaults(conf: dict, qemu_version: str, now: float | None = None,
                        new_uuid: Callable[[], str] = lambda: str(uuid.uuid4()),
                        mac_prefix: str | None = None) -> dict:
    """What ``qm create`` adds to the given parameters (API2/Qemu.pm ``create_vm``).

    A MAC for every ``netN`` without one, ``vmgenid: 1`` replaced by a UUID, then in the worker
    ``meta: creation-qemu=<ver>,ctime=<epoch>``, ``boot: order=...`` when not given,
    ``smbios1: uuid=<uuid>`` when not given and ``vmgenid`` (not on aarch64).
    """
    for key in [k for k in conf if re.match(r"^net\d+$", k)]:
        conf[key] = print_net(parse_net(conf[key], mac_prefix))
    if conf.get("vmgenid") == "1":
        conf["vmgenid"] = new_uuid()
    conf["meta"] = schema.META_FORMAT.print({"creation-qemu": qemu_version,
                                             "ctime": int(time.time() if now is None else now)})
    if not conf.get("boot"):
        conf["boot"] = print_bootorder(default_boot_devices(conf))
    if not conf.get("smbios1"):
        conf["smbios1"] = "uuid=" + new_uuid()
    if conf.get("vmgenid") in (None, "1") and conf.get("arch") != "aarch64":
        conf["vmgenid"] = new_uuid()
    return conf
