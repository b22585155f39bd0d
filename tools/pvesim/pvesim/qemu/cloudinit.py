# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The NoCloud cloud-init drive of a VM, built locally.

Sources (proxmox/qemu-server 9.2.6) ``PVE/QemuServer/Cloudinit.pm``: ``cloudinit_userdata``,
``nocloud_network``, ``get_hostname_fqdn``, ``get_dns_conf``, ``nocloud_gen_metadata``,
``generate_nocloud`` and ``commit_cloudinit_disk`` (``genisoimage -quiet -iso-level 3 -J -R -V cidata``).
The password only ever lands in ``user-data`` inside a private temporary directory (0700, files
0600) and in the image; never in an argv.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import shutil
import tempfile
import urllib.parse
from pathlib import Path

from . import config as qmconfig
from . import hostcmd, schema

LABEL = "cidata"


def hostname_fqdn(conf: dict, vmid: int | str) -> tuple[str, str]:
    hostname = conf.get("name") or "VM%s" % vmid
    if "." in hostname:
        return hostname.split(".", 1)[0], hostname
    if conf.get("searchdomain"):
        return hostname, "%s.%s" % (hostname, conf["searchdomain"])
    return hostname, hostname


def read_host_resolv(path: str = "/etc/resolv.conf") -> dict:
    """``search`` and up to three ``nameserver`` entries of the host (PVE::INotify 'resolvconf')."""
    res: dict = {"search": None, "dns": []}
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return res
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] in ("search", "domain"):
            res["search"] = " ".join(words[1:])
        elif len(words) >= 2 and words[0] == "nameserver" and len(res["dns"]) < 3:
            res["dns"].append(words[1])
    return res


def dns_conf(conf: dict, host_resolv: dict) -> tuple[list[str], list[str]]:
    """``get_dns_conf``: the VM's searchdomain/nameserver, else the host's."""
    search = conf.get("searchdomain")
    search = (search if search is not None else host_resolv.get("search")) or ""
    nameserver = conf.get("nameserver")
    servers = nameserver.split() if nameserver is not None else list(host_resolv.get("dns") or [])
    return search.split(), servers


def user_data(conf: dict, vmid: int | str) -> str:
    """``cloudinit_userdata``."""
    hostname, fqdn = hostname_fqdn(conf, vmid)
    out = "#cloud-config\nhostname: %s\nmanage_etc_hosts: true\nfqdn: %s\n" % (hostname, fqdn)
    user = conf.get("ciuser")
    if user is not None:
        out += "user: %s\n" % user
        if user == "root":
            out += "disable_root: False\n"
    if conf.get("cipassword") is not None:
        out += "password: %s\n" % conf["cipassword"]
    if conf.get("sshkeys") is not None:
        keys = [k.rstrip("\n") for k in urllib.parse.unquote(conf["sshkeys"]).split("\n")]
        out += "ssh_authorized_keys:\n" + "".join("  - %s\n" % k for k in keys if k.strip())
    out += "chpasswd:\n  expire: False\n"
    if user != "root":
        out += "users:\n  - default\n"
    if conf.get("ciupgrade") in (None, "1", 1):
        out += "package_upgrade: true\n"
    return out


def network_config(conf: dict, host_resolv: dict) -> str:
    """``nocloud_network``: version 1, one ``physical`` entry per netN with an ipconfigN."""
    out = "version: 1\nconfig:\n"
    for key in sorted(k for k in conf if re.match(r"^net\d+$", k)):
        nid = key[3:]
        if not conf.get("ipconfig" + nid):
            continue
        net = schema.NET_FORMAT.parse(conf[key])
        ipc = schema.IPCONFIG_FORMAT.parse(conf["ipconfig" + nid])
        if not ipc.get("ip") and not ipc.get("ip6"):
            ipc = {"ip": "dhcp", "ip6": "dhcp"}
        if not net.get("macaddr"):
            raise ValueError("network interface '%s' has no mac address" % key)
        i = "    "
        out += "%s- type: physical\n%s  name: eth%s\n%s  mac_address: '%s'\n%s  subnets:\n" % (
            i, i, nid, i, net["macaddr"].lower(), i)
        i += "  "
        ip = ipc.get("ip")
        if ip == "dhcp":
            out += "%s- type: dhcp4\n" % i
        elif ip:
            iface = ipaddress.IPv4Interface(ip)
            out += "%s- type: static\n%s  address: '%s'\n%s  netmask: '%s'\n" % (i, i, iface.ip, i, iface.netmask)
            if ipc.get("gw"):
                out += "%s  gateway: '%s'\n" % (i, ipc["gw"])
        ip6 = ipc.get("ip6")
        if ip6 == "dhcp":
            out += "%s- type: dhcp6\n" % i
        elif ip6 == "auto":
            out += "%s- type: ipv6_slaac\n" % i
        elif ip6:
            out += "%s- type: static6\n%s  address: '%s'\n" % (i, i, ip6)
            if ipc.get("gw6"):
                out += "%s  gateway: '%s'\n" % (i, ipc["gw6"])
    i = "    "
    search, servers = dns_conf(conf, host_resolv)
    out += "%s- type: nameserver\n" % i
    if servers:
        out += "%s  address:\n" % i + "".join("%s  - '%s'\n" % (i, s) for s in servers)
    if search:
        out += "%s  search:\n" % i + "".join("%s  - '%s'\n" % (i, s) for s in search)
    return out


def nocloud_files(conf: dict, vmid: int | str, host_resolv: dict | None = None) -> dict[str, str]:
    """``generate_nocloud`` without ``cicustom``: the four files of the drive."""
    resolv = read_host_resolv() if host_resolv is None else host_resolv
    user = user_data(conf, vmid)
    network = network_config(conf, resolv)
    meta = "instance-id: %s\n" % hashlib.sha1((user + network).encode()).hexdigest()
    return {"user-data": user, "network-config": network, "meta-data": meta, "vendor-data": ""}


def build_nocloud_image(conf: dict, vmid: int | str, dest: Path | str, image_format: str = "raw",
                        host_resolv: dict | None = None) -> Path:
    """Write the NoCloud ISO of ``conf`` to ``dest`` (raw, or converted to ``image_format``)."""
    if qmconfig.has_cloudinit(conf) is None:
        raise ValueError("VM %s has no cloud-init drive" % vmid)
    files = nocloud_files(conf, vmid, host_resolv)
    dest = Path(dest)
    tmp = Path(tempfile.mkdtemp(prefix="pvesim-cloudinit-"))
    try:
        content = tmp / "content"
        content.mkdir(mode=0o700)
        for name, text in files.items():
            fd = os.open(content / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(text)
        iso = tmp / "cidata.iso"
        hostcmd.run(["genisoimage", "-quiet", "-iso-level", "3", "-J", "-R", "-V", LABEL, "-o", str(iso), str(content)])
        dest.parent.mkdir(parents=True, exist_ok=True)
        if image_format == "raw":
            shutil.copyfile(iso, dest)
        else:
            hostcmd.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", image_format, str(iso), str(dest)])
        os.chmod(dest, 0o600)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
