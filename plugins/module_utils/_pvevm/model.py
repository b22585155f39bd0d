# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one canonical model of a Proxmox VM (qemu-server) config, client side.

As ``_pve.model`` for containers: a config is a *flat* dict keyed by Proxmox config keys (``net0``,
``scsi0``, ``ipconfig0``, ``memory`` ...) with canonical Python values: property strings become
dicts, sizes ``32G``, booleans ``True``/``False``, ``boot`` the list of its ``order`` devices,
``sshkeys`` the list of keys, tags and DNS lists sorted lists.  ``from_raw`` reads what
``qm config`` or ``GET .../qemu/{vmid}/config`` prints; ``desired_from_params`` builds the same shape
from module parameters; ``value_to_raw`` renders one value for ``qm set`` or the API.  The property
strings go through ``_pve.propstring`` with the VM schemas below (qemu-server 9.2.6
``PVE/QemuServer/Network.pm`` ``$net_fmt``, ``Drive.pm`` ``%drivedesc_base``, ``$ipconfig_fmt``,
``Agent.pm`` ``$agent_fmt``), plus the one VM speciality: ``netN`` prints model and MAC fused
(``virtio=BC:24:11:AA:BB:CC,bridge=vmbr0``).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps

NIC_MODELS = ("e1000", "e1000-82540em", "e1000-82544gc", "e1000-82545em", "e1000e", "i82551", "i82557b",
              "i82559er", "ne2k_isa", "ne2k_pci", "pcnet", "rtl8139", "virtio", "vmxnet3")
DISK_BUSES = {"ide": 3, "sata": 5, "scsi": 30, "virtio": 15}
MAX_NET = 31

NET_SCHEMA = {"default": "model", "required": ("model",), "keys": {
    "model": "str", "macaddr": "str", "bridge": "str", "firewall": "bool", "link_down": "bool", "mtu": "int",
    "queues": "int", "rate": "number", "tag": "int", "trunks": "intlist", "host-tunnel": "bool"}}
DISK_SCHEMA = {"default": "file", "required": ("file",), "keys": {
    "file": "str", "size": "size", "iothread": "bool", "ssd": "bool", "backup": "bool", "replicate": "bool",
    "ro": "bool", "shared": "bool", "snapshot": "bool", "detect_zeroes": "bool", "queues": "int"}}
IPCONFIG_SCHEMA = {"default": None, "required": (), "keys": {"ip": "str", "gw": "str", "ip6": "str", "gw6": "str"}}
AGENT_SCHEMA = {"default": "enabled", "required": ("enabled",), "keys": {
    "enabled": "bool", "fstrim_cloned_disks": "bool", "freeze-fs": "bool", "type": "str"}}

INT_KEYS = ("cores", "sockets", "balloon", "cpuunits", "vcpus")
NUMBER_KEYS = ("cpulimit",)
BOOL_KEYS = ("onboot", "protection", "numa", "acpi", "kvm", "tablet", "template", "ciupgrade")
STR_KEYS = ("name", "ostype", "machine", "bios", "scsihw", "cpu", "hookscript", "ciuser", "citype")
LIST_KEYS = ("nameserver", "searchdomain")
# Written by Proxmox itself, or secrets it never prints back: outside the compared model.
IGNORED_KEYS = ("digest", "lock", "meta", "smbios1", "vmgenid", "parent", "snaptime", "vmstate", "cipassword",
                "runningmachine", "runningcpu")

# Scalar keys by the kind ``_pve.propstring`` parses and formats.
SCALAR_KINDS = dict([(k, "int") for k in INT_KEYS] + [(k, "number") for k in NUMBER_KEYS] + [(k, "bool") for k in BOOL_KEYS])

NET_RE = re.compile(r"^net(\d+)$")
IPCONFIG_RE = re.compile(r"^ipconfig(\d+)$")
DISK_RE = re.compile(r"^(ide|sata|scsi|virtio)(\d+)$|^(efidisk0|tpmstate0)$")
_MAC_RE = re.compile(r"^[a-f0-9][02468ace](:[a-f0-9]{2}){5}$", re.IGNORECASE)


def is_disk(key):
    match = DISK_RE.match(key)
    return bool(match) and (match.group(3) is not None or int(match.group(2)) <= DISK_BUSES[match.group(1)])


def _schema(key):
    if NET_RE.match(key):
        return NET_SCHEMA
    if IPCONFIG_RE.match(key):
        return IPCONFIG_SCHEMA
    if is_disk(key) or key.startswith("unused"):
        return DISK_SCHEMA
    if key == "agent":
        return AGENT_SCHEMA
    if key == "startup":
        return ps.SCHEMAS["startup"]
    return None


def parse_net(key, text):
    """``virtio=BC:24:11:AA:BB:CC,bridge=vmbr0`` -> ``{model: virtio, macaddr: ..., bridge: vmbr0}``."""
    parts = []
    for part in str(text).split(","):
        name, sep, value = part.strip().partition("=")
        if sep and name in NIC_MODELS:  # the keyAlias pair: <model>=<macaddr>
            parts += ["model=" + name, "macaddr=" + value]
        else:
            parts.append(part)
    return ps.parse_propstring(key, ",".join(parts), NET_SCHEMA)


def format_net(key, net):
    """Proxmox's order: ``<model>=<mac>`` fused first, then the other keys sorted."""
    rest = dict((k, v) for k, v in net.items() if k not in ("model", "macaddr"))
    head = net["model"] if net.get("macaddr") is None else "%s=%s" % (net["model"], net["macaddr"])
    tail = ps.format_propstring(key, rest, dict(NET_SCHEMA, default=None, required=()))
    return head + ("," + tail if tail else "")


def value_from_raw(key, value):
    """One printed value -> canonical value (``None`` for keys outside the model)."""
    if value is None or key in IGNORED_KEYS:
        return None
    if key in SCALAR_KINDS:
        return ps._parse_value(SCALAR_KINDS[key], value, key)
    if key in LIST_KEYS:
        return ps.parse_list(value, r"[\s,;]+")
    if key == "memory":  # '[current=]<MiB>'
        return ps.parse_int(str(value).replace("current=", ""), key)
    if key == "tags":
        return ps.parse_tags(value)
    if key == "description":
        return ps.canonical_description(value)
    if key == "sshkeys":
        return [line.strip() for line in unquote(str(value)).split("\n") if line.strip()]
    if key == "boot":
        order = ps.parse_propstring(key, value, {"default": "legacy", "required": (), "keys": {}}).get("order", "")
        return [dev for dev in order.split(";") if dev]
    if NET_RE.match(key):
        return parse_net(key, value)
    schema = _schema(key)
    if schema is not None:
        return ps.parse_propstring(key, value, schema)
    return str(value)


def from_raw(raw):
    """A dict of key -> printed value -> canonical flat config (keys outside the model dropped)."""
    canonical = dict((key, value_from_raw(key, value)) for key, value in raw.items())
    return dict((key, value) for key, value in canonical.items() if value is not None)


def parse_config_text(text):
    """``qm config`` output (main section only) -> ``{key: printed value}``; ``description`` URL-decoded."""
    raw = {}
    for line in text.splitlines():
        if line.startswith("["):
            break
        key, sep, value = line.partition(": ")
        if sep:
            raw[key] = ps.decode_text(value) if key == "description" else value
    return raw


def value_to_raw(key, value):
    """Canonical value -> the string ``qm set``/``create`` and the API accept."""
    if key in SCALAR_KINDS:
        return ps._format_value(SCALAR_KINDS[key], value)
    if key in LIST_KEYS:
        return " ".join(value)
    if key == "tags":
        return ps.format_tags(value)
    if key == "sshkeys":
        return quote("\n".join(value) + "\n", safe="")
    if key == "boot":
        return "order=" + ";".join(value)
    if NET_RE.match(key):
        return format_net(key, value)
    schema = _schema(key)
    if schema is not None:
        return ps.format_propstring(key, value, schema)
    return str(value)


# ---------------------------------------------------------------------------
# Module parameters -> desired flat config.

def _plain(value, what):
    text = str(value)
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise invalid_argument(what, "must not contain control characters")
    return text


def _prop_value(what, value):
    """A property-string value: no control characters and none of ``,`` ``=`` ``;``."""
    text = _plain(value, what)
    if re.search(r"[,=;]", text):
        raise invalid_argument(what, "must not contain ',', '=' or ';' (got %r)" % (text,))
    return text


def _net_from_param(index, value):
    key = "net%d" % index
    if not isinstance(value, dict):
        raise invalid_argument(key, "expected a dict of interface options, got %r" % (value,))
    net = {}
    for sub, sub_value in value.items():
        if sub_value is None:
            continue
        if sub not in NET_SCHEMA["keys"]:
            raise invalid_argument("net[%d].%s" % (index, sub), "unknown option; known: %s" % ", ".join(sorted(NET_SCHEMA["keys"])))
        kind = NET_SCHEMA["keys"][sub]
        field = "net[%d].%s" % (index, sub)
        net[sub] = _prop_value(field, sub_value) if kind == "str" else ps.parse_propstring(
            key, "%s=%s" % (sub, _prop_value(field, sub_value)), NET_SCHEMA)[sub]
    net.setdefault("model", "virtio")
    if net["model"] not in NIC_MODELS:
        raise invalid_argument("net[%d].model" % index, "%r is not one of %s" % (net["model"], ", ".join(NIC_MODELS)))
    if net.get("macaddr") is not None and not _MAC_RE.match(net["macaddr"]):
        raise invalid_argument("net[%d].macaddr" % index, "%r is not a unicast MAC address" % (net["macaddr"],))
    if net.get("tag") is not None and not 1 <= net["tag"] <= 4094:
        raise invalid_argument("net[%d].tag" % index, "VLAN tag must be 1..4094")
    return net


def _disk_from_param(key, value):
    if not DISK_RE.match(key) or not is_disk(key):
        raise invalid_argument("disks", "%r is not a disk key (ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0)" % (key,))
    if not isinstance(value, dict):
        raise invalid_argument("disks.%s" % key, "expected a dict with storage and size, got %r" % (value,))
    disk = {}
    for sub, sub_value in value.items():
        field = "disks.%s.%s" % (key, sub)
        if sub_value is None:
            continue
        if sub == "storage":
            disk["storage"] = _prop_value(field, sub_value)
        elif sub == "size":
            disk["size"] = ps.canonical_size(sub_value, field, default_unit="G")
        else:
            text = "%s=%s" % (sub, _prop_value(field, sub_value if not isinstance(sub_value, bool) else int(sub_value)))
            disk.update(ps.parse_propstring(key, text, DISK_SCHEMA))
    return disk


def _ipconfig_from_param(index, value):
    key = "ipconfig%d" % index
    if isinstance(value, str):
        return ps.parse_propstring(key, _plain(value, key), IPCONFIG_SCHEMA)
    if not isinstance(value, dict):
        raise invalid_argument("ipconfig[%d]" % index, "expected a dict with ip/gw/ip6/gw6, got %r" % (value,))
    unknown = sorted(set(value) - set(IPCONFIG_SCHEMA["keys"]))
    if unknown:
        raise invalid_argument("ipconfig[%d].%s" % (index, unknown[0]), "unknown option; known: gw, gw6, ip, ip6")
    return dict((k, _prop_value("ipconfig[%d].%s" % (index, k), v)) for k, v in value.items() if v is not None)


def desired_from_params(params):
    """Module parameters -> desired flat config (only declared keys).  Disks keep a ``storage`` helper key."""
    desired = {}
    for key in INT_KEYS + NUMBER_KEYS + BOOL_KEYS + STR_KEYS + LIST_KEYS + ("memory", "tags", "description", "startup"):
        value = params.get(key)
        if value is None:
            continue
        if key in STR_KEYS:
            value = _plain(value, key)
        elif key in LIST_KEYS:
            value = " ".join(ps.parse_list(value))
        elif key == "startup" and isinstance(value, dict):
            value = ps.format_propstring(key, value)
        desired[key] = value_from_raw(key, value)
    for index, net in enumerate(params.get("net") or []):
        if index > MAX_NET:
            raise invalid_argument("net", "at most %d interfaces" % (MAX_NET + 1))
        desired["net%d" % index] = _net_from_param(index, net)
    for key, disk in (params.get("disks") or {}).items():
        desired[key] = _disk_from_param(key, disk)
    for index, ipconfig in enumerate(params.get("ipconfig") or []):
        desired["ipconfig%d" % index] = _ipconfig_from_param(index, ipconfig)
    if params.get("boot") is not None:
        boot = params["boot"]
        desired["boot"] = [_prop_value("boot", dev) for dev in (boot if isinstance(boot, list) else [boot])]
    if params.get("agent") is not None:
        agent = params["agent"]
        desired["agent"] = {"enabled": ps.parse_bool(agent, "agent")} if not isinstance(agent, dict) else \
            ps.parse_propstring("agent", ",".join("%s=%s" % (k, _prop_value("agent." + k, v)) for k, v in agent.items()), AGENT_SCHEMA)
    if params.get("sshkeys") is not None:
        keys = params["sshkeys"]
        keys = keys if isinstance(keys, list) else str(keys).split("\n")
        desired["sshkeys"] = [_plain(k, "sshkeys").strip() for k in keys if str(k).strip()]
    for key, value in desired.items():
        if key in ("memory", "cores", "sockets") and value < (16 if key == "memory" else 1):
            raise invalid_argument(key, "must be at least %d" % (16 if key == "memory" else 1))
    return desired


# ---------------------------------------------------------------------------
# Desired vs current.

def reconcile_net(desired, current):
    """Keep the MAC Proxmox generated when none is declared."""
    desired = dict(desired)
    if current and desired.get("macaddr") is None and current.get("macaddr"):
        desired["macaddr"] = current["macaddr"]
    return desired


def reconcile_disk(key, desired, current):
    """The disk as it should be written: an existing volume keeps its ``file``; growth only (never shrink)."""
    desired = dict(desired)
    storage = desired.pop("storage", None)
    if current is None:
        if not storage or not desired.get("size"):
            raise invalid_argument("disks.%s" % key, "a new disk needs storage and size")
        gib = ps.parse_size(desired.pop("size")) / float(1024 ** 3)
        desired["file"] = "%s:%s" % (storage, ps.format_number(round(gib, 6)))
        return desired
    if storage and not str(current["file"]).startswith(storage + ":"):
        raise invalid_argument("disks.%s.storage" % key, "the disk is on %s; moving a disk is not supported"
                               % str(current["file"]).split(":", 1)[0])
    desired["file"] = current["file"]
    desired.setdefault("size", current.get("size"))
    if desired.get("size") and current.get("size") and ps.parse_size(desired["size"]) < ps.parse_size(current["size"]):
        raise invalid_argument("disks.%s.size" % key, "%s is smaller than the current %s; disks never shrink"
                               % (desired["size"], current["size"]))
    return desired


def changed_keys(current, desired):
    """Keys whose desired value differs from the current one (only declared keys count)."""
    return sorted(key for key, value in desired.items() if current.get(key) != value)
