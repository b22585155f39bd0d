# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one canonical model of a container config.

Internally a config is a *flat* dict keyed by Proxmox config keys (``net0``,
``mp1``, ``rootfs``, ``memory`` ...) whose values are canonical Python values:
property strings become dicts, sizes ``8G``, booleans ``True``/``False``,
tags/nameservers sorted lists, the description without trailing newlines.
Both sides of a comparison are built here: ``from_raw`` for what Proxmox prints
(pct or API), ``desired_from_params`` for the module parameters.  ``public``
groups ``netN``/``mpN`` into ``net``/``mp`` dicts: that is the shape the module
accepts and the info module returns.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.lxcri.containers.plugins.module_utils._common import secretmask
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._pve import inputcheck
from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps

INT_KEYS = ("cores", "cpuunits", "memory", "swap", "tty")
NUMBER_KEYS = ("cpulimit",)
BOOL_KEYS = ("onboot", "protection", "console", "debug", "template", "unprivileged")
STR_KEYS = ("hostname", "ostype", "arch", "cmode", "timezone", "hookscript", "entrypoint")
LIST_KEYS = ("nameserver", "searchdomain")
PROP_KEYS = ("rootfs", "features", "startup")
# Proxmox's ostype enum (PVE::LXC::Config $confdesc ostype).
OSTYPES = ("debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo", "nixos", "unmanaged")
# Keys of `pct config` that are internal or not part of the managed model.
IGNORED_KEYS = ("digest", "lock", "parent", "snaptime", "snapstate", "vmstate")

NET_RE = re.compile(r"net(\d+)")
MP_RE = re.compile(r"mp(\d+)")
MAX_NET = 31
MAX_MP = 255

# Option name in the module -> config key (where they differ).
CPUUNITS_MAX = 10000  # cgroup v2 clamps cpu.weight; Proxmox stores the clamped value.

# Keys a running CT applies without a restart (contract 4.5): fast-plug + hotplug.
FASTPLUG_KEYS = ("description", "onboot", "startup", "protection", "hostname", "hookscript", "cores", "tags", "lock")
HOTPLUG_KEYS = ("cpulimit", "cpuunits", "memory", "swap")
HOT_DELETE_KEYS = ("swap", "cpulimit", "cpuunits")


def is_net(key):
    return bool(NET_RE.fullmatch(key))


def is_mp(key):
    return bool(MP_RE.fullmatch(key))


def is_prop(key):
    return key in PROP_KEYS or is_net(key) or is_mp(key)


def value_from_raw(key, value):
    """One Proxmox-printed value -> canonical value (``None`` for keys outside the model)."""
    if key in IGNORED_KEYS or key.startswith("unused") or key.startswith("lxc"):
        return None
    if value is None:
        return None
    if key in INT_KEYS:
        return ps.parse_int(value, key)
    if key in NUMBER_KEYS:
        return ps.parse_number(value, key)
    if key in BOOL_KEYS:
        return ps.parse_bool(value, key)
    if key in LIST_KEYS:
        return ps.parse_list(value)
    if key == "tags":
        return ps.parse_tags(value)
    if key == "description":
        return ps.canonical_description(value)
    if is_prop(key):
        return ps.parse_propstring(key, value)
    return str(value)


def from_raw(raw):
    """A dict of Proxmox key -> printed value (already URL-decoded) -> canonical flat config."""
    config = {}
    for key, value in raw.items():
        canonical = value_from_raw(key, value)
        if canonical is not None:
            config[key] = canonical
    return config


def value_to_raw(key, value):
    """Canonical value -> the string Proxmox accepts for ``pct set``/``create`` and the API."""
    if key in BOOL_KEYS:
        return ps.format_bool(value)
    if key in NUMBER_KEYS:
        return ps.format_number(value)
    if key in LIST_KEYS:
        return " ".join(value)
    if key == "tags":
        return ps.format_tags(value)
    if is_prop(key):
        return ps.format_propstring(key, mount_for_write(value) if (key == "rootfs" or is_mp(key)) else value)
    return str(value)


# ---------------------------------------------------------------------------
# Mount points: allocation form vs existing volume.

def is_alloc_volume(volume):
    """``local-lvm:8`` / ``local-lvm:0.5`` (allocate a new volume of N GiB)."""
    return bool(volume) and bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9\-_.]*:\d+(\.\d+)?", str(volume)))


def is_path_volume(volume):
    return str(volume).startswith("/")


def volume_storage(volume):
    volume = str(volume or "")
    if ":" in volume and not volume.startswith("/"):
        return volume.split(":", 1)[0]
    return None


def size_gib(size):
    number = ps.parse_size(size) / float(1024 ** 3)
    return ps.format_number(round(number, 6))


def mount_for_write(mount):
    """Drop our helper key ``storage`` and, for an allocation, the ``size`` (the volume carries it)."""
    out = dict(mount)
    out.pop("storage", None)
    if is_alloc_volume(out.get("volume")):
        out.pop("size", None)
    return out


def _mount_from_param(key, value, storage):
    """User mount (dict or size string) -> canonical mount dict, ``volume`` possibly an allocation."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        value = {"size": value}
    if not isinstance(value, dict):
        raise invalid_argument(key, "expected a dict of mount-point options or a size, got %r" % (value,))
    mount = {}
    known = dict(ps.SCHEMAS["mp"]["keys"], storage="str")
    for sub, sub_value in value.items():
        if sub_value is None:
            continue
        if sub not in known:
            raise invalid_argument("%s.%s" % (key, sub), "unknown mount-point option; known: %s" % ", ".join(sorted(known)))
        field = "%s.%s" % (key, sub)
        if sub == "size":
            mount["size"] = ps.canonical_size(sub_value, field, default_unit="G")
        elif sub == "storage":
            mount["storage"] = inputcheck.propstring_value(field, str(sub_value))
        elif sub == "mp":
            mount["mp"] = inputcheck.mount_path(field, str(sub_value))
        else:
            mount[sub] = user_sub_value(known[sub], sub_value, field)
    if key != "rootfs" and not mount.get("mp"):
        raise invalid_argument(key, "'mp' (the path inside the container) is required")
    volume = mount.get("volume")
    if volume is None:
        store = mount.get("storage") or storage
        if "size" in mount and store:
            mount["storage"] = store
        # A size alone is fine for an existing volume (a resize); a new one needs a storage
        # (checked in reconcile_mount, which knows whether the mount exists).
    elif is_alloc_volume(volume):
        store, amount = str(volume).split(":", 1)
        mount["storage"] = store
        mount["size"] = ps.canonical_size(amount, "%s.volume" % key, default_unit="G")
        del mount["volume"]
    return mount


def user_sub_value(kind, value, field):
    """A user-given property-string sub-value: typed, and strings free of separators and control characters."""
    parsed = ps._parse_value(kind, value, field)
    if kind == "str":
        inputcheck.propstring_value(field, parsed)
    elif kind == "list":
        for item in parsed:
            inputcheck.propstring_value(field, item)
    return parsed


def reconcile_mount(key, desired, current):
    """Complete a desired mount against the current one.

    Returns ``(mount, resize_to)``: the dict to compare/write and the size to grow
    to (``None`` when no resize is needed).  A mount declared by storage+size (no
    volume) matches an existing volume on that storage; its size is grown with
    ``resize`` (never shrunk: that is an error) instead of being rewritten.
    """
    desired = dict(desired)
    store = desired.pop("storage", None)
    if current is None or ("volume" not in desired and is_path_volume(current.get("volume") or "") and store):
        # A new mount, or a bind/device mount turned into a storage volume: allocate a new volume
        # (resizing the bind mount's path would be wrong).
        if "volume" not in desired:
            if "size" not in desired:
                raise invalid_argument(key, "a new mount point needs a 'volume' or a 'size' (with a storage)")
            if not store:
                raise invalid_argument(key, "a size needs a 'storage' (or the module's storage option) or a 'volume' to create %s" % key)
            desired["volume"] = "%s:%s" % (store, size_gib(desired.pop("size")))
        if key == "rootfs" and current is not None:
            raise invalid_argument(key, "the root file system of an existing CT cannot be replaced by a new volume")
        return desired, None
    resize_to = None
    want_size = desired.pop("size", None)
    if "volume" not in desired:
        if is_path_volume(current.get("volume") or ""):
            raise invalid_argument(key, "%s is a bind or device mount (%s): a size applies to a storage volume; give 'storage' "
                                        "to replace it by a new volume, or drop the size" % (key, current.get("volume")))
        if store and volume_storage(current.get("volume")) not in (store, None):
            raise invalid_argument(key, "moving %s from storage %s to %s is not supported; give the volume or keep the storage"
                                   % (key, volume_storage(current.get("volume")), store))
        desired["volume"] = current.get("volume")
    if current.get("size") is not None:
        desired["size"] = current["size"]
    if want_size is not None and desired["volume"] == current.get("volume"):
        have = ps.parse_size(current.get("size") or "0")
        want = ps.parse_size(want_size)
        if want > have:
            resize_to = want_size
            desired["size"] = want_size
        elif want < have and current.get("size") is not None:
            raise invalid_argument("%s.size" % key, "cannot shrink %s from %s to %s (Proxmox only grows volumes)"
                                   % (key, current.get("size"), want_size))
    if key == "rootfs":
        # A rootfs given only by size/storage manages nothing else: keep the current flags.
        for sub, sub_value in current.items():
            desired.setdefault(sub, sub_value)
    return desired, resize_to


# ---------------------------------------------------------------------------
# Network interfaces.

def _net_from_param(key, value):
    if isinstance(value, str):
        value = ps.parse_propstring(key, value)
    if not isinstance(value, dict):
        raise invalid_argument(key, "expected a dict of interface options, got %r" % (value,))
    net = {}
    schema = ps.SCHEMAS["net"]["keys"]
    for sub, sub_value in value.items():
        if sub in ("id", "index") or sub_value is None:
            continue
        sub_name = sub.replace("_", "-") if sub == "host_managed" else sub
        if sub_name not in schema:
            raise invalid_argument("%s.%s" % (key, sub), "unknown network option; known: %s" % ", ".join(sorted(schema)))
        net[sub_name] = user_sub_value(schema[sub_name], sub_value, "%s.%s" % (key, sub_name))
    if not net.get("name"):
        raise invalid_argument(key, "'name' (the interface name inside the container, e.g. eth0) is required")
    for sub in ("name", "bridge"):
        if net.get(sub) is not None:
            inputcheck.interface_name("%s.%s" % (key, sub), net[sub])
    for sub, version in (("ip", 4), ("ip6", 6)):
        if net.get(sub) is not None:
            inputcheck.ip_config("%s.%s" % (key, sub), net[sub], version)
    for sub, version in (("gw", 4), ("gw6", 6)):
        if net.get(sub) is not None:
            inputcheck.ip_address("%s.%s" % (key, sub), net[sub], version)
    if net.get("hwaddr") is not None and not re.fullmatch(r"[a-f0-9][02468ace](:[a-f0-9]{2}){5}", net["hwaddr"], re.IGNORECASE):
        raise invalid_argument("%s.hwaddr" % key, "%r is not a unicast MAC address" % (net["hwaddr"],))
    if net.get("tag") is not None and not 1 <= net["tag"] <= 4094:
        raise invalid_argument("%s.tag" % key, "VLAN tag must be 1..4094")
    if net.get("mtu") is not None and not 64 <= net["mtu"] <= 65535:
        raise invalid_argument("%s.mtu" % key, "MTU must be 64..65535")
    net.setdefault("type", "veth")
    return net


def reconcile_net(desired, current):
    """Keep the current ``hwaddr`` when none is declared (Proxmox generated it)."""
    desired = dict(desired)
    if current and "hwaddr" not in desired and current.get("hwaddr"):
        desired["hwaddr"] = current["hwaddr"]
    return desired


def indexed(option, value, prefix, maximum):
    """``net``/``mp`` as a dict keyed ``net0``/``0`` or a list (position or ``id``/``index``) -> {key: value}."""
    result = {}
    if value is None:
        return result
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = []
        for position, item in enumerate(value):
            index = item.get("id", item.get("index", position)) if isinstance(item, dict) else position
            items.append((index, item))
    else:
        raise invalid_argument(option, "expected a list or a dict keyed %s0, %s1 ..." % (prefix, prefix))
    for index, item in items:
        text = str(index)
        if text.startswith(prefix):
            text = text[len(prefix):]
        if not text.isdigit() or int(text) > maximum:
            raise invalid_argument(option, "%r is not a valid index (%s0..%s%d)" % (index, prefix, prefix, maximum))
        key = "%s%d" % (prefix, int(text))
        if key in result:
            raise invalid_argument(option, "%s declared twice" % key)
        result[key] = item
    return result


# ---------------------------------------------------------------------------
# Parameters -> desired flat config.

SIMPLE_OPTIONS = INT_KEYS + NUMBER_KEYS + BOOL_KEYS + STR_KEYS


def shared_from_params(params):
    """The options CTs and VMs share, as Proxmox checks them in both (pve-container ``$confdesc`` and
    qemu-server ``$confdesc``/``$confdesc_cloudinit`` give them the same formats): ``nameserver``,
    ``searchdomain``, ``tags``, ``description`` (at most 8192 characters), ``startup``."""
    desired = {}
    for key, check in (("nameserver", inputcheck.nameserver), ("searchdomain", inputcheck.dns_name)):
        if params.get(key) is not None:
            desired[key] = [check(key, item) for item in ps.parse_list(params[key], r"[,;\s]+")]
    if params.get("tags") is not None:
        tags = params["tags"]
        if isinstance(tags, (list, tuple)):
            # One list item is one tag: "my tag" must not silently become two.
            for tag in tags:
                if not ps.TAG_RE.fullmatch(str(tag)):
                    raise invalid_argument("tags", "tag %r must match [a-z0-9_][a-z0-9_-+.]* (one tag per list item)" % (tag,))
        desired["tags"] = ps.parse_tags(tags)
    if params.get("description") is not None:
        if len(params["description"]) > 8192:
            raise invalid_argument("description", "may be at most 8192 characters")
        desired["description"] = ps.canonical_description(inputcheck.description(params["description"]))
    if params.get("startup") is not None:
        startup = params["startup"]
        if isinstance(startup, (str, int)):
            startup = ps.parse_propstring("startup", str(startup))
        elif isinstance(startup, dict):
            startup = dict((k, ps.parse_int(v, "startup.%s" % k)) for k, v in startup.items() if v is not None)
            unknown = set(startup) - set(ps.SCHEMAS["startup"]["keys"])
            if unknown:
                raise invalid_argument("startup", "unknown keys %s; known: order, up, down" % ", ".join(sorted(unknown)))
        else:
            raise invalid_argument("startup", "expected a dict with order/up/down or a string")
        desired["startup"] = startup
    return desired


def desired_from_params(params):
    """Module parameters -> desired flat config (only declared keys).  Mounts keep their ``storage`` helper key."""
    desired = {}
    for key in SIMPLE_OPTIONS:
        if key == "template":
            continue
        value = params.get(key)
        if value is not None:
            desired[key] = value_from_raw(key, value)
    if desired.get("cpuunits") is not None:
        if not 0 <= desired["cpuunits"] <= 500000:
            raise invalid_argument("cpuunits", "must be 0..500000")
        desired["cpuunits"] = min(desired["cpuunits"], CPUUNITS_MAX)
    if desired.get("cores") is not None and not 1 <= desired["cores"] <= 8192:
        raise invalid_argument("cores", "must be 1..8192")
    if desired.get("cpulimit") is not None and not 0 <= desired["cpulimit"] <= 8192:
        raise invalid_argument("cpulimit", "must be 0..8192")
    if desired.get("memory") is not None and desired["memory"] < 16:
        raise invalid_argument("memory", "must be at least 16 (MiB)")
    if desired.get("swap") is not None and desired["swap"] < 0:
        raise invalid_argument("swap", "must be 0 or more (MiB)")
    if desired.get("tty") is not None and not 0 <= desired["tty"] <= 6:
        raise invalid_argument("tty", "must be 0..6")
    if desired.get("hostname") is not None:
        inputcheck.dns_name("hostname", desired["hostname"])
    if desired.get("timezone") is not None:
        inputcheck.timezone(desired["timezone"])
    for key in ("hookscript", "entrypoint", "cmode", "arch", "ostype"):
        if desired.get(key) is not None:
            inputcheck.no_control_chars(key, desired[key])
    desired.update(shared_from_params(params))
    if params.get("features") is not None:
        features = params["features"]
        if isinstance(features, str):
            features = ps.parse_propstring("features", features)
        schema = ps.SCHEMAS["features"]["keys"]
        parsed = {}
        for sub, sub_value in features.items():
            if sub not in schema:
                raise invalid_argument("features.%s" % sub, "unknown feature; known: %s" % ", ".join(sorted(schema)))
            if sub_value is not None:
                parsed[sub] = ps._parse_value(schema[sub], sub_value, "features.%s" % sub)
        if parsed.get("mount") is not None:
            inputcheck.fstypes("features.mount", parsed["mount"])
        desired["features"] = parsed
    storage = params.get("storage")
    if storage is not None:
        inputcheck.propstring_value("storage", storage)
    if params.get("rootfs") is not None:
        desired["rootfs"] = _mount_from_param("rootfs", params["rootfs"], storage)
    for key, value in indexed("net", params.get("net"), "net", MAX_NET).items():
        desired[key] = _net_from_param(key, value)
    for key, value in indexed("mp", params.get("mp"), "mp", MAX_MP).items():
        desired[key] = _mount_from_param(key, value, storage)
    return desired


def check_ostype(desired, current=None):
    """An ostype outside Proxmox's list is only accepted when it is already the CT's (a round trip of info output)."""
    ostype = desired.get("ostype")
    if ostype is not None and ostype not in OSTYPES and ostype != (current or {}).get("ostype"):
        raise invalid_argument("ostype", "%r is not one of %s" % (ostype, ", ".join(OSTYPES)))


def public(flat):
    """Flat canonical config -> the module's input shape (``net``/``mp`` grouped, sorted by index)."""
    out = {}
    nets = {}
    mps = {}
    for key, value in flat.items():
        if is_net(key):
            nets[key] = copy.deepcopy(value)
        elif is_mp(key):
            mps[key] = copy.deepcopy(value)
        else:
            out[key] = copy.deepcopy(value)
    if nets:
        out["net"] = dict(sorted(nets.items(), key=lambda item: int(item[0][3:])))
    if mps:
        out["mp"] = dict(sorted(mps.items(), key=lambda item: int(item[0][2:])))
    return out


# ---------------------------------------------------------------------------
# Parsing `pct config` / `pct pending` output.

def parse_config_text(text):
    """``pct config`` output -> (raw dict with decoded description, list of [lxc key, value])."""
    raw = {}
    lxc = []
    for line in text.splitlines():
        if not line.strip() or ":" not in line:
            continue
        key, value = line.split(":", 1)
        key = key.strip()
        if key.startswith("lxc."):
            lxc.append([key, value.strip()])
            continue
        raw[key] = _printed_value(key, value)
    return raw, lxc


def _printed_value(key, text):
    """One value as pct prints it after ``key:``.  pct writes exactly one space after the colon; the
    description keeps its own leading spaces (stripping them made it never converge)."""
    if key == "description":
        return ps.decode_text(text[1:] if text.startswith(" ") else text).rstrip("\r")
    return text.strip()


def mask_lxc(entries):
    """Raw ``lxc.*`` entries as shown in results: ``lxc.environment*`` values masked (they carry secrets)."""
    if entries is None:
        return None
    return [[key, secretmask.mask_assignment(value) if str(key).startswith("lxc.environment") else value] for key, value in entries]


def parse_pending_text(text):
    """``pct pending`` output -> (pending view raw dict, set of keys with a pending change).

    The pending view is what ``pct config`` prints: new values merged in,
    deleted keys removed.
    """
    view = {}
    pending_keys = set()
    for line in text.splitlines():
        match = re.fullmatch(r"(cur|new|del)\s+([A-Za-z0-9_.\-]+):(.*)", line)
        if not match:
            continue
        kind, key, value = match.groups()
        value = _printed_value(key, value)
        if kind == "cur":
            view.setdefault(key, value)
        elif kind == "new":
            view[key] = value
            pending_keys.add(key)
        else:
            view[key] = None
            pending_keys.add(key)
    return dict((k, v) for k, v in view.items() if v is not None), pending_keys


def parse_pending_api(items):
    """``GET …/pending`` array -> (pending view raw dict, pending keys, digest or None)."""
    view = {}
    pending_keys = set()
    digest = None
    for item in items or []:
        key = item.get("key")
        if key == "digest":
            digest = item.get("value")
            continue
        if item.get("delete"):
            pending_keys.add(key)
            continue
        if "pending" in item:
            view[key] = item["pending"]
            pending_keys.add(key)
        elif "value" in item:
            view[key] = item["value"]
    return view, pending_keys, digest
