# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``<vmid>.conf`` parser and writer (PVE::LXC::Config parse_pct_config / write_pct_config).

A parsed config is a dict as PVE's: scalar keys -> string values, ``description`` (decoded,
each comment line with a trailing newline), ``lxc`` = list of ``[key, value]``, ``env``
(NUL-joined), ``pending`` (dict, may hold ``delete``), ``snapshots`` ({name: dict}) and
``digest`` (SHA-1 of the raw text).
"""

from __future__ import annotations

import hashlib
import re

from .guest import GuestConfigs, GuestType, register_guest_type
from .lxcschema import check_type, is_volume_key, parse_volume
from .state import perl_sorted

SKIP_KEYS = ("digest", "description", "pending", "snapshots", "snapname", "env", "lxc")


def encode_text(text):
    """PVE::Tools::encode_text: control chars, bytes >= 0x7F, ':' and '%' -> %XX."""
    out = []
    for b in text.encode("utf-8", "surrogateescape"):
        if b < 0x20 or b >= 0x7F or b in (0x3A, 0x25):
            out.append("%%%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def decode_text(text):
    raw = re.sub(rb"%([A-Fa-f0-9]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8", "surrogateescape"))
    return raw.decode("utf-8", "surrogateescape")


# pve-container LXC/Config.pm $valid_lxc_conf_keys (1 = allowed, text = why not) and
# $deprecated_lxc_conf_keys (allowed with a warning)
_VALID_LXC_KEYS = dict.fromkeys((
    "lxc.apparmor.profile", "lxc.apparmor.allow_incomplete", "lxc.apparmor.allow_nesting", "lxc.apparmor.raw",
    "lxc.selinux.context", "lxc.include", "lxc.arch", "lxc.uts.name", "lxc.signal.halt", "lxc.signal.reboot",
    "lxc.signal.stop", "lxc.init.cmd", "lxc.init.cwd", "lxc.init.uid", "lxc.init.gid", "lxc.init.groups", "lxc.pty.max",
    "lxc.console.logfile", "lxc.console.path", "lxc.tty.max", "lxc.devtty.dir", "lxc.hook.autodev", "lxc.autodev",
    "lxc.kmsg", "lxc.mount.fstab", "lxc.mount.entry", "lxc.mount.auto", "lxc.rootfs.mount", "lxc.cap.drop",
    "lxc.cap.keep", "lxc.seccomp.profile", "lxc.seccomp.notify.proxy", "lxc.seccomp.notify.cookie", "lxc.idmap",
    "lxc.hook.pre-start", "lxc.hook.pre-mount", "lxc.hook.mount", "lxc.hook.start", "lxc.hook.stop",
    "lxc.hook.post-stop", "lxc.hook.clone", "lxc.hook.destroy", "lxc.hook.version", "lxc.log.level", "lxc.log.file",
    "lxc.start.auto", "lxc.start.delay", "lxc.start.order", "lxc.group", "lxc.environment",
    "lxc.environment.runtime", "lxc.environment.hooks", "lxc.sysctl.fs.mqueue", "lxc.sysctl.kernel.msgmax",
    "lxc.sysctl.kernel.msgmnb", "lxc.sysctl.kernel.msgmni", "lxc.sysctl.kernel.sem", "lxc.sysctl.kernel.shmall",
    "lxc.sysctl.kernel.shmmax", "lxc.sysctl.kernel.shmmni", "lxc.sysctl.kernel.shm_rmid_forced"), 1)
_VALID_LXC_KEYS.update({
    "lxc.rootfs.path": "lxc.rootfs.path is auto generated from rootfs",
    "lxc.rootfs.options": 'lxc.rootfs.options is not supported, please use mount point options in the "rootfs" key',
})
_DEPRECATED_LXC_KEYS = {
    "lxc.aa_profile": "lxc.apparmor.profile", "lxc.aa_allow_incomplete": "lxc.apparmor.allow_incomplete",
    "lxc.console": "lxc.console.path", "lxc.devttydir": "lxc.tty.dir", "lxc.haltsignal": "lxc.signal.halt",
    "lxc.rebootsignal": "lxc.signal.reboot", "lxc.stopsignal": "lxc.signal.stop", "lxc.id_map": "lxc.idmap",
    "lxc.init_cmd": "lxc.init.cmd", "lxc.loglevel": "lxc.log.level", "lxc.logfile": "lxc.log.file",
    "lxc.mount": "lxc.mount.fstab", "lxc.network.type": "lxc.net.INDEX.type",
    "lxc.network.flags": "lxc.net.INDEX.flags", "lxc.network.link": "lxc.net.INDEX.link",
    "lxc.network.mtu": "lxc.net.INDEX.mtu", "lxc.network.name": "lxc.net.INDEX.name",
    "lxc.network.hwaddr": "lxc.net.INDEX.hwaddr", "lxc.network.ipv4": "lxc.net.INDEX.ipv4.address",
    "lxc.network.ipv4.gateway": "lxc.net.INDEX.ipv4.gateway", "lxc.network.ipv6": "lxc.net.INDEX.ipv6.address",
    "lxc.network.ipv6.gateway": "lxc.net.INDEX.ipv6.gateway", "lxc.network.script.up": "lxc.net.INDEX.script.up",
    "lxc.network.script.down": "lxc.net.INDEX.script.down", "lxc.pts": "lxc.pty.max",
    "lxc.se_context": "lxc.selinux.context", "lxc.seccomp": "lxc.seccomp.profile", "lxc.tty": "lxc.tty.max",
    "lxc.utsname": "lxc.uts.name",
}


def _lxc_key_validity(vmid, key, warn):
    """``is_valid_lxc_conf_key``: 1 (keep), a reason (refused) or 0 (unparsable)."""
    if key.startswith("lxc.limit."):
        warn("vm %s - %s: lxc.limit.* was renamed to lxc.prlimit.*" % (vmid, key))
        return 1
    if key in _DEPRECATED_LXC_KEYS:
        warn("vm %s - %s is deprecated and was renamed to %s" % (vmid, key, _DEPRECATED_LXC_KEYS[key]))
        return 1
    if key in _VALID_LXC_KEYS:
        return _VALID_LXC_KEYS[key]
    if key.startswith("lxc.cgroup."):
        warn("vm %s - %s is deprecated, this will be a hard error in the future!" % (vmid, key))
        return 1
    return 1 if key.startswith(("lxc.cgroup2.", "lxc.prlimit.", "lxc.net.")) else 0


def parse_config(raw, vmid=None, warn=None, strict=False):
    """Parse the text of a CT config.  ``warn(msg)`` receives non-fatal problems."""
    res = {"digest": hashlib.sha1(raw.encode("utf-8", "surrogateescape")).hexdigest(), "snapshots": {}, "pending": {}}

    def always_warn(msg):
        if warn is not None:
            warn(msg)

    def handle_error(msg):
        if strict:
            raise ValueError(msg)
        always_warn(msg)

    conf = res
    descr = ""
    section = ""
    for line in raw.split("\n"):
        if re.match(r"^\s*$", line):
            continue
        if re.match(r"^\[pve:pending\]\s*$", line, re.I):
            section = "pending"
            if descr:
                conf["description"] = descr
            descr = ""
            conf = res["pending"] = {}
            continue
        m = re.match(r"^\[([a-z][a-z0-9_\-]+)\]\s*$", line, re.I)
        if m:
            section = m.group(1)
            if descr:
                conf["description"] = descr
            descr = ""
            conf = res["snapshots"][section] = {}
            continue
        m = re.match(r"^#(.*)$", line)
        if m:
            descr += decode_text(m.group(1)) + "\n"
            continue
        m = re.match(r"^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$", line)
        if m:
            key, value = m.group(1), m.group(3)
            validity = _lxc_key_validity(vmid, key, always_warn)
            if key == "lxc.environment.runtime":
                conf["env"] = value if conf.get("env") is None else conf["env"] + "\0" + value
            elif validity == 1:
                conf.setdefault("lxc", []).append([key, value])
            elif validity:
                handle_error("vm %s - %s: %s" % (vmid, key, validity))
            else:
                handle_error("vm %s - unable to parse config: %s" % (vmid, line))
            continue
        m = re.match(r"^(description):\s*(.*\S)\s*$", line)
        if m:
            descr += decode_text(m.group(2))
            continue
        m = re.search(r"snapstate:\s*(prepare|delete)\s*$", line)
        if m:
            conf["snapstate"] = m.group(1)
            continue
        m = re.match(r"^delete:\s*(.*\S)\s*$", line)
        if m:
            if section == "pending":
                conf["delete"] = m.group(1)
            else:
                handle_error("vm %s - property 'delete' is only allowed in [pve:pending]" % vmid)
            continue
        m = re.match(r"^([a-z][a-z_]*\d*):\s*(.+?)\s*$", line)
        if m:
            key, value = m.group(1), m.group(2)
            try:
                value = check_type(key, value)
            except ValueError as exc:
                handle_error("vm %s - unable to parse value of '%s' - %s" % (vmid, key, exc))
            conf[key] = value
            continue
        handle_error("vm %s - unable to parse config: %s" % (vmid, line))
    if descr:
        conf["description"] = descr
    res.pop("snapstate", None)
    return res


def _volumes(conf):
    out = set()
    for k, v in conf.items():
        if isinstance(v, str) and is_volume_key(k):
            try:
                mp = parse_volume(k, v)
            except ValueError:
                continue
            if mp["type"] == "volume":
                out.add(mp["volume"])
    return out


def write_config(conf):
    """Render a config dict (mutates it like PVE: drops snapstate and still-used unusedN)."""
    conf.pop("snapstate", None)
    used = _volumes(conf)  # get_vm_volumes: the current config's rootfs/mpN only
    for k in list(conf):
        if k.startswith("unused") and conf[k] in used:
            del conf[k]

    def gen(c):
        raw = ""
        descr = c.get("description") or ""
        lines = descr.split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        for cl in lines:
            raw += "#" + encode_text(cl) + "\n"
        for key in perl_sorted(c.keys()):
            if key in SKIP_KEYS:
                continue
            value = c[key]
            if value is None:
                continue
            value = str(value)
            if "\n" in value:
                raise ValueError("detected invalid newline inside property '%s'" % key)
            raw += "%s: %s\n" % (key, value)
        if c.get("env"):
            for var in [x for x in re.split("\0+", c["env"]) if x != ""]:
                raw += "lxc.environment.runtime: %s\n" % var
        for k, v in c.get("lxc") or []:
            if k == "lxc.environment.runtime":
                continue
            raw += "%s: %s\n" % (k, v)
        return raw

    raw = gen(conf)
    if conf.get("pending"):
        raw += "\n[pve:pending]\n" + gen(conf["pending"])
    for name in perl_sorted(conf.get("snapshots", {}).keys()):
        raw += "\n[%s]\n" % name + gen(conf["snapshots"][name])
    return raw


# The LXC guest type of the guest layer (pve-container PVE::LXC::Config).
LXC = register_guest_type(GuestType(name="lxc", conf_dir="lxc", label="CT", lock_dir="/run/lock/lxc",
                                    lock_name="pve-config-{vmid}.lock", parse=parse_config, render=write_config))


def lxc_configs(state, node=None) -> GuestConfigs:
    """The CT config store of ``state``'s node (or ``node``)."""
    return GuestConfigs(state, LXC, node)
