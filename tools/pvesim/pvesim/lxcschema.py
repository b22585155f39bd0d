# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The container configuration schema (contract §4) and PVE's property-string machinery."""

from __future__ import annotations

import ipaddress
import random
import re

from .schema import FormatError, Param, PropertyFormatError, check_value

MAX_MOUNT_POINTS = 256
MAX_NETS = 32
MAX_DEVICES = 256
MAX_UNUSED = 256

LOCKS = ["backup", "create", "destroyed", "disk", "fstrim", "migrate", "mounted", "rollback", "snapshot", "snapshot-delete"]
OSTYPES = ["debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged"]
ARCHES = ["amd64", "i386", "arm64", "armhf", "riscv32", "riscv64"]


# --------------------------------------------------------------------------------------------
# sizes
# --------------------------------------------------------------------------------------------

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([KMGT])?(?:iB)?$")
_UNIT = {None: 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}


def parse_size(s):
    m = _SIZE_RE.match(str(s))
    if not m:
        return None
    return int(float(m.group(1)) * _UNIT[m.group(2)])


def format_size(size):
    size = int(size)
    kb = size // 1024
    if kb * 1024 != size:
        return str(size)
    mb = kb // 1024
    if mb * 1024 != kb:
        return "%dK" % kb
    gb = mb // 1024
    if gb * 1024 != mb:
        return "%dM" % mb
    tb = gb // 1024
    if tb * 1024 != gb:
        return "%dG" % gb
    return "%dT" % tb


# --------------------------------------------------------------------------------------------
# property strings
# --------------------------------------------------------------------------------------------

class PropDesc:
    """A property-string format: ``{key: Param}`` plus the default key."""

    def __init__(self, name, keys, default_key=None, disk_size_keys=()):
        self.name = name
        self.keys = keys
        self.default_key = default_key
        self.disk_size_keys = set(disk_size_keys)

    @property
    def required(self):
        return sorted(k for k, p in self.keys.items() if not p.optional and k != self.default_key)


def parse_property_string(desc, data):
    """PVE::JSONSchema::parse_property_string: returns {key: typed value}.

    A malformed list dies at once (``invalid key in comma-separated list property: k``,
    ``duplicate key ...``); the values are then checked together and their errors raised as one
    :class:`PropertyFormatError` (``format error`` + one line per key)."""
    raw = {}
    for part in str(data).split(","):
        if part.strip() == "":
            continue
        if "=" in part:
            m = re.match(r"^([^=]+)=(.+)$", part, re.S)
            if not m:
                raise FormatError("missing key in comma-separated list property")
            k, v = m.group(1), m.group(2)
            if k in raw:
                raise FormatError("duplicate key in comma-separated list property: %s" % k)
            if k not in desc.keys:
                raise FormatError("invalid key in comma-separated list property: %s" % k)
        else:
            k, v = desc.default_key, part
            if k is None:
                raise FormatError("value without key, but schema does not define a default key")
            if k in raw:
                raise FormatError("duplicate key in comma-separated list property: %s" % k)
        raw[k] = v
    res = {}
    errors = {}
    for k, p in desc.keys.items():
        if k not in raw:
            if k in desc.required or (k == desc.default_key and not p.optional):
                errors[k] = "property is missing and it is not optional"
            continue
        v = raw[k]
        try:
            if k in desc.disk_size_keys:
                if parse_size(v) is None:
                    raise ValueError("invalid format - value does not look like a valid disk size: %s\n" % v)
                res[k] = v
            else:
                # property-string booleans accept yes/no/on/off/true/false (JSONSchema parse_boolean)
                res[k] = check_value(p, v, cli=True)
        except ValueError as exc:
            errors[k] = str(exc)
    if errors:
        raise PropertyFormatError(errors)
    return {k: res[k] for k in raw if k in res}


def _fmt_val(desc, k, v):
    if k in desc.disk_size_keys:
        n = parse_size(v) if not isinstance(v, int) else v
        return format_size(n)
    if desc.keys[k].type == "boolean":
        return "1" if int(v) else "0"
    return str(v)


def print_property_string(desc, data, skip=()):
    out = []
    done = set(skip)
    dk = desc.default_key
    if dk and data.get(dk) is not None and dk not in done:
        out.append(_fmt_val(desc, dk, data[dk]))
        done.add(dk)
    for k in desc.required:
        if k in done or data.get(k) is None:
            continue
        out.append("%s=%s" % (k, _fmt_val(desc, k, data[k])))
        done.add(k)
    for k in sorted(data):
        if k in done or data[k] is None or k not in desc.keys:
            continue
        out.append("%s=%s" % (k, _fmt_val(desc, k, data[k])))
    return ",".join(out)


# --------------------------------------------------------------------------------------------
# formats
# --------------------------------------------------------------------------------------------

def _fmt_mac(s):
    if not re.match(r"^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$", s, re.I):
        raise FormatError("value does not look like a valid unicast MAC address")


def _fmt_ipv4_cidr(allowed):
    def f(s):
        if s in allowed:
            return
        try:
            ipaddress.IPv4Interface(s)
            if "/" not in s:
                raise ValueError
        except ValueError:
            raise FormatError("value does not look like a valid IPv4 network configuration") from None
    return f


def _fmt_ipv6_cidr(allowed):
    def f(s):
        if s in allowed:
            return
        try:
            ipaddress.IPv6Interface(s)
            if "/" not in s:
                raise ValueError
        except ValueError:
            raise FormatError("value does not look like a valid IPv6 network configuration") from None
    return f


def _fmt_ip(version):
    def f(s):
        try:
            a = ipaddress.ip_address(s)
        except ValueError:
            raise FormatError("value does not look like a valid IPv%d address" % version) from None
        if a.version != version:
            raise FormatError("value does not look like a valid IPv%d address" % version)
    return f


def _fmt_volume(s):
    if re.search(r"(^|/)\.\.?(/|$)", s) and s.startswith("/"):
        raise FormatError("path with '.' or '..' components is not allowed")
    return None


def _fmt_mp_path(s):
    if re.search(r"(^|/)\.\.?(/|$)", s):
        raise FormatError("invalid mount point path")


def _b(desc="", default=None):
    return Param("boolean", description=desc, default=default)


ROOTFS_KEYS = {
    "volume": Param("string", optional=False, format=_fmt_volume),
    "size": Param("string"),
    "acl": _b(), "ro": _b(), "quota": _b(), "replicate": _b(default=1), "shared": _b(default=0),
    "mountoptions": Param("string", pattern=r"(?:discard|lazytime|noatime|nodev|noexec|nosuid)(?:;(?:discard|lazytime|noatime|nodev|noexec|nosuid))*"),
    "idmap": Param("string"),
}
ROOTFS_DESC = PropDesc("rootfs", ROOTFS_KEYS, default_key="volume", disk_size_keys=("size",))
MP_KEYS = dict(ROOTFS_KEYS)
MP_KEYS.update({"backup": _b(), "mp": Param("string", optional=False, format=_fmt_mp_path), "keepattrs": _b(default=0)})
MP_DESC = PropDesc("mp", MP_KEYS, default_key="volume", disk_size_keys=("size",))
UNUSED_DESC = PropDesc("unused", {"volume": Param("string", optional=False)}, default_key="volume")

NET_KEYS = {
    "type": Param("string", enum=["veth"]),
    "name": Param("string", optional=False, pattern=r"[-_.\w\d]+"),
    "bridge": Param("string", pattern=r"[-_.\w\d]+"),
    "hwaddr": Param("string", format=_fmt_mac),
    "mtu": Param("integer", minimum=64, maximum=65535),
    "ip": Param("string", format=_fmt_ipv4_cidr(("dhcp", "manual"))),
    "gw": Param("string", format=_fmt_ip(4)),
    "ip6": Param("string", format=_fmt_ipv6_cidr(("auto", "dhcp", "manual"))),
    "gw6": Param("string", format=_fmt_ip(6)),
    "firewall": _b(), "tag": Param("integer", minimum=1, maximum=4094),
    "trunks": Param("string", pattern=r"\d+(?:-\d+)?(?:;\d+(?:-\d+)?)*"),
    "rate": Param("number", minimum=0), "link_down": _b(), "host-managed": _b(),
}
NET_DESC = PropDesc("net", NET_KEYS)

FEATURES_KEYS = {
    "mount": Param("string", pattern=r"[a-zA-Z0-9_; ]+"),
    "nesting": _b(default=0), "keyctl": _b(default=0), "fuse": _b(default=0), "mknod": _b(default=0),
    "force_rw_sys": _b(default=0),
}
FEATURES_DESC = PropDesc("features", FEATURES_KEYS)

DEV_KEYS = {
    "path": Param("string"),
    "mode": Param("string", pattern=r"0[0-7]{3}"),
    "uid": Param("integer", minimum=0), "gid": Param("integer", minimum=0), "deny-write": _b(default=0),
}
DEV_DESC = PropDesc("dev", DEV_KEYS, default_key="path")


def _propfmt(desc, extra=None):
    def f(s):
        res = parse_property_string(desc, s)
        if extra:
            extra(res)
        return None
    return f


def _dev_check(res):
    p = res.get("path")
    if p is None:
        raise FormatError("Path has to be defined")
    if re.search(r"/\.\.?(?:/|$)", p) or not p.startswith("/dev/"):
        raise FormatError("%s is not a valid device path" % p)


def _fmt_dns_name(s):
    if not re.match(r"^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])\.)*(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9\-]*[A-Za-z0-9])$", s):
        raise FormatError("value does not look like a valid DNS name")


def _fmt_startup(s):
    """``pve-startup-order`` is a plain format, not a property string (pve-common JSONSchema.pm
    pve_verify_startup_order / pve_parse_startup_order)."""
    parts = [x for x in s.split(",") if x.strip()]
    if not parts or not all(re.match(r"^((order=)?\d+|up=\d+|down=\d+)$", x) for x in parts):
        raise FormatError("unable to parse startup options")


def _fmt_tags(s):
    """``pve-tag-list``: pve-common JSONSchema.pm ``pve_verify_tag`` on every item."""
    for t in [x for x in re.split(r"[;,\s]+", s) if x]:
        if not re.match(r"^[a-z0-9_][a-z0-9_\-+.]*$", t, re.I):
            raise FormatError("invalid characters in tag")


def _fmt_address_list(s):
    for a in [x for x in re.split(r"[,;\s]+", s) if x]:
        try:
            ipaddress.ip_address(a.split("%", 1)[0])
        except ValueError:
            raise FormatError("value '%s' does not look like a valid IP address" % a) from None


def _fmt_dns_name_list(s):
    for a in [x for x in re.split(r"[,;\s]+", s) if x]:
        _fmt_dns_name(a)


def _fmt_timezone(s):
    if s in ("host", "UTC"):
        return
    try:
        with open("/usr/share/zoneinfo/zone.tab") as fh:
            zones = {ln.split("\t")[2] for ln in fh if ln.strip() and not ln.startswith("#")}
    except OSError:
        zones = None
    if zones is not None and s not in zones:
        raise FormatError("invalid time zone '%s'" % s)


def _fmt_volid_any(s):
    if not re.match(r"^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$", s, re.I):
        raise FormatError("unable to parse volume ID '%s'" % s)


CONFDESC = {
    "lock": Param("string", enum=LOCKS),
    "ostype": Param("string", enum=OSTYPES),
    "console": _b(default=1),
    "tty": Param("integer", minimum=0, maximum=6, default=2),
    "cores": Param("integer", minimum=1, maximum=8192),
    "cpulimit": Param("number", minimum=0, maximum=8192, default=0),
    "cpuunits": Param("integer", minimum=0, maximum=500000),
    "memory": Param("integer", minimum=16, default=512),
    "swap": Param("integer", minimum=0, default=512),
    "hostname": Param("string", format=_fmt_dns_name, max_length=255),
    "description": Param("string", max_length=8192),
    "searchdomain": Param("string", format=_fmt_dns_name_list, list_format=True),
    "nameserver": Param("string", format=_fmt_address_list, list_format=True),
    "timezone": Param("string", format=_fmt_timezone),
    "rootfs": Param("string", format=_propfmt(ROOTFS_DESC)),
    "parent": Param("string", pattern=r"[a-z][a-z0-9_\-]+", max_length=40),
    "snaptime": Param("integer"),
    "cmode": Param("string", enum=["shell", "console", "tty"], default="tty"),
    "protection": _b(default=0),
    "unprivileged": _b(default=0),
    "features": Param("string", format=_propfmt(FEATURES_DESC)),
    "hookscript": Param("string", format=_fmt_volid_any),
    "tags": Param("string", format=_fmt_tags, list_format=True),
    "debug": _b(default=0),
    "entrypoint": Param("string", default="/sbin/init"),
    "env": Param("string"),
    "onboot": _b(default=0),
    "startup": Param("string", format=_fmt_startup),
    "template": _b(default=0),
    "arch": Param("string", enum=ARCHES, default="amd64"),
}
for _i in range(MAX_NETS):
    CONFDESC["net%d" % _i] = Param("string", format=_propfmt(NET_DESC))
for _i in range(MAX_MOUNT_POINTS):
    CONFDESC["mp%d" % _i] = Param("string", format=_propfmt(MP_DESC))
for _i in range(MAX_DEVICES):
    CONFDESC["dev%d" % _i] = Param("string", format=_propfmt(DEV_DESC, _dev_check))
for _i in range(MAX_UNUSED):
    CONFDESC["unused%d" % _i] = Param("string", format=_propfmt(UNUSED_DESC))

# what `create`/`set` accept (parent/snaptime are internal)
API_CONFIG_KEYS = {k: v for k, v in CONFDESC.items() if k not in ("parent", "snaptime")}

FASTPLUG = {"description", "onboot", "startup", "protection", "hostname", "hookscript", "cores", "tags", "lock"}


def check_type(key, value, confdesc=None, unquote=False):
    """PVE::LXC::Config->check_type used by the config *parser* (raises ValueError).

    qemu-server's ``check_type`` is the same over its own ``confdesc`` (``confdesc``), except that
    a string without a format loses one pair of double quotes (``unquote``).
    """
    p = (CONFDESC if confdesc is None else confdesc).get(key)
    if p is None:
        raise ValueError("unknown setting '%s'" % key)
    if re.search(r"[\n\r]", value):
        raise ValueError("property contains a line feed")
    if p.type == "boolean":
        if value == "1" or value.lower() in ("on", "yes", "true"):
            return "1"
        if value == "0" or value.lower() in ("off", "no", "false"):
            return "0"
        raise ValueError("type check ('boolean') failed - got '%s'" % value)
    if p.type == "integer":
        if re.match(r"^\d+$", value):
            return str(int(value))
        raise ValueError("type check ('integer') failed - got '%s'" % value)
    if p.type == "number":
        if re.match(r"^\d+(\.\d+)?$", value):
            return value
        raise ValueError("type check ('number') failed - got '%s'" % value)
    if p.format is not None:
        try:
            p.format(value)
        except FormatError as exc:
            text = str(exc)  # PVE::Exception text ends in the newline warn() would add
            raise ValueError(text[:-1] if text.endswith("\n") else text) from None
        return value
    return re.sub(r'^"(.*)"$', r"\1", value) if unquote else value


# --------------------------------------------------------------------------------------------
# normalisations
# --------------------------------------------------------------------------------------------

def random_ether_addr(prefix=None):
    prefix = (prefix or "BC:24:11").upper()
    parts = prefix.split(":")
    while len(parts) < 6:
        parts.append("%02X" % random.randint(0, 255))
    if len(prefix.split(":")) == 0:
        parts[0] = "%02X" % (int(parts[0], 16) & 0xFE | 0x02)
    return ":".join(parts[:6])


def normalise_net(value, mac_prefix=None):
    """parse_lxc_network + print_lxc_network: add type=veth and a hwaddr, canonical order."""
    net = parse_property_string(NET_DESC, value)
    net["type"] = "veth"
    if not net.get("hwaddr"):
        net["hwaddr"] = random_ether_addr(mac_prefix)
    return print_property_string(NET_DESC, net)


def net_with_new_mac(value, mac_prefix=None):
    """A netN value with a fresh random ``hwaddr`` (clone_vm; restore with ``unique``)."""
    net = parse_property_string(NET_DESC, value)
    net.pop("hwaddr", None)
    return normalise_net(print_property_string(NET_DESC, net), mac_prefix)


def unique_tags(value):
    """GuestHelpers::get_unique_tags with default tag-style: lowercase, dedup, sorted, ';'."""
    tags = {t.lower() for t in re.split(r"[;,\s]+", value) if t}
    return ";".join(sorted(tags))


def split_list(value):
    return [x for x in re.split(r"[,;\s]+", value) if x]


def volume_keys():
    return ["rootfs"] + ["mp%d" % i for i in range(MAX_MOUNT_POINTS)]


def is_volume_key(k):
    return k == "rootfs" or re.match(r"^mp\d+$", k) is not None


def parse_volume(key, value):
    desc = ROOTFS_DESC if key == "rootfs" else (UNUSED_DESC if key.startswith("unused") else MP_DESC)
    res = parse_property_string(desc, value)
    if key == "rootfs":
        res["mp"] = "/"
    vol = res["volume"]
    if vol.startswith("/dev/"):
        res["type"] = "device"
    elif vol.startswith("/"):
        res["type"] = "bind"
    else:
        res["type"] = "volume"
    return res


def print_volume(key, mp):
    mp = {k: v for k, v in mp.items() if k != "type"}
    if key == "rootfs":
        mp.pop("mp", None)
        return print_property_string(ROOTFS_DESC, mp)
    if key.startswith("unused"):
        return print_property_string(UNUSED_DESC, mp)
    return print_property_string(MP_DESC, mp)
