# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An OCI bundle's ``config.json`` -> Proxmox VE container settings, the way PVE 9.1 runs application containers.

``map_config(config)`` returns a ``Mapped`` with:

* ``params``: ``pve_container`` options (``hostname``, ``memory``, ``swap``, ``cores``, ``cpulimit``,
  ``cpuunits``, ``entrypoint`` + ``cmode: console``, ``env`` (NUL-separated ``NAME=value``, PVE >= 9.1;
  pve_container has no ``env`` option yet), ``mp`` (bind mounts as ``{mpN: {mp, volume, ro}}``, pve_container's
  shape), ``unprivileged``, ``ostype`` when the rootfs has no ``/etc/os-release``);
* ``lxc``: raw ``[key, value]`` entries PVE 9.1 itself writes for OCI images (``lxc.init.cwd``,
  ``lxc.init.uid``/``gid``/``groups``) plus ``lxc.prlimit.*`` and ``lxc.no_new_privs``;
* ``unmapped``: every setting that has no Proxmox VE equivalent, each ``"<json path>: <why>"``,
  never dropped silently (the caller turns them into one warning);
* ``defaults``: settings LXC replaces with its own equivalent (masked/read-only paths, the default device
  rule, the standard /proc /sys /dev mounts, the usual namespaces), listed for the record.
"""

from __future__ import annotations

import math
import re

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors

MIB = 1 << 20
# Mounts every LXC container gets anyway.
# Mount destinations inside the container (not files this code writes).
STANDARD_MOUNTS = ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/run", "/tmp")  # noqa: S108
# The capabilities runc spec and umoci give a container; LXC's default set is larger, so these are kept.
DEFAULT_CAPS = frozenset(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID",
                          "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                          "CAP_SYS_CHROOT"])
LXC_NAMESPACES = frozenset(["pid", "ipc", "uts", "mount", "network", "cgroup", "user"])
# linux.* keys with no Proxmox VE equivalent (anything else unknown is reported too).
_UNMAPPABLE_LINUX = {
    "seccomp": "Proxmox VE applies its own seccomp profile",
    "sysctl": "Proxmox VE has no per-container sysctl setting",
    "intelRdt": "no Proxmox VE equivalent",
    "personality": "no Proxmox VE equivalent",
    "cgroupsPath": "Proxmox VE places containers in its own cgroups",
    "mountLabel": "no Proxmox VE equivalent",
    "rootfsPropagation": "no Proxmox VE equivalent",
    "timeOffsets": "no Proxmox VE equivalent",
}
_SAFE_WORD = re.compile(r"^[^\s'\"\\]+$")


class Mapped:
    def __init__(self):
        self.params = {}
        self.lxc = []
        self.unmapped = []
        self.defaults = []

    def warning(self):
        """One warning text listing every unmapped setting, or ``None``."""
        if not self.unmapped:
            return None
        return "oci_bundle: %d setting(s) of config.json have no Proxmox VE equivalent and are not applied: %s" % (
            len(self.unmapped), "; ".join(self.unmapped))


def quote_arg(arg):
    """One argument for ``entrypoint``, a single string split back into words shell-style ('…' and "…" group a word);
    ``None`` when no such quoting can carry it (control characters, or both quote kinds)."""
    if any(ord(ch) < 32 and ch != "\t" for ch in arg):
        return None
    if arg and _SAFE_WORD.match(arg):
        return arg
    if "'" not in arg:
        return "'%s'" % arg
    if '"' not in arg:
        return '"%s"' % arg
    return None


def _mib(value):
    return int(math.ceil(float(value) / MIB))


def map_resources(resources, out):
    memory = resources.get("memory") or {}
    for key in sorted(memory):
        value = memory[key]
        if key == "limit" and isinstance(value, int) and value > 0:
            out.params["memory"] = max(16, _mib(value))
        elif key == "swap" and isinstance(value, int):
            limit = memory.get("limit")
            if isinstance(limit, int) and limit > 0 and value >= limit:
                out.params["swap"] = _mib(value - limit)   # OCI swap is memory+swap; PVE swap is swap only
            elif value == -1:
                out.unmapped.append("linux.resources.memory.swap=-1: unlimited swap has no Proxmox VE equivalent")
            else:
                out.unmapped.append("linux.resources.memory.swap=%s: needs a memory limit at or below it" % value)
        elif key in ("limit",) and value in (-1, 0):
            continue
        else:
            out.unmapped.append("linux.resources.memory.%s: no Proxmox VE equivalent" % key)
    cpu = resources.get("cpu") or {}
    quota, period = cpu.get("quota"), cpu.get("period") or 100000
    for key in sorted(cpu):
        value = cpu[key]
        if key == "quota":
            if isinstance(value, int) and value > 0:
                limit = float(value) / float(period)
                out.params["cores"] = max(1, int(math.ceil(limit)))
                if abs(limit - round(limit)) > 1e-9 or limit < 1:
                    out.params["cpulimit"] = round(limit, 2)
        elif key == "period":
            if quota is None:
                out.unmapped.append("linux.resources.cpu.period: without a quota it limits nothing")
        elif key == "shares" and isinstance(value, int) and value > 0:
            # cgroup v2 weight from v1 shares (the conversion crun and runc use)
            out.params["cpuunits"] = max(1, min(10000, 1 + ((value - 2) * 9999) // 262142))
        elif key == "cpus":
            out.unmapped.append("linux.resources.cpu.cpus=%s: Proxmox VE has no CPU pinning option for containers" % value)
        else:
            out.unmapped.append("linux.resources.cpu.%s: no Proxmox VE equivalent" % key)
    devices = resources.get("devices") or []
    if devices and not (len(devices) == 1 and devices[0].get("allow") is False and not devices[0].get("type")):
        out.unmapped.append("linux.resources.devices: device rules beyond deny-all (use pve_container dev0.. passthrough)")
    elif devices:
        out.defaults.append("linux.resources.devices (deny-all; LXC applies its own device list)")
    for key in sorted(resources):
        if key not in ("memory", "cpu", "devices"):
            out.unmapped.append("linux.resources.%s: no Proxmox VE equivalent" % key)


def map_process(process, out):
    args = process.get("args") or []
    if args:
        quoted = [quote_arg(str(arg)) for arg in args]
        if None in quoted:
            out.unmapped.append("process.args: an argument holds control characters or both quote kinds; LXC cannot pass it")
        elif list(args) != ["/sbin/init"]:
            out.params["entrypoint"] = " ".join(quoted)
            out.params["cmode"] = "console"
    env = [str(item) for item in process.get("env") or []]
    if env:
        bad = [item for item in env if "=" not in item or "\0" in item]
        if bad:
            out.unmapped.append("process.env: entries without NAME=value: %s" % ", ".join(bad))
        good = [item for item in env if item not in bad]
        if good:
            out.params["env"] = "\0".join(good)
    cwd = process.get("cwd")
    if cwd and cwd != "/":
        out.lxc.append(["lxc.init.cwd", cwd])
    user = process.get("user") or {}
    if user.get("uid"):
        out.lxc.append(["lxc.init.uid", str(user["uid"])])
    if user.get("gid"):
        out.lxc.append(["lxc.init.gid", str(user["gid"])])
    if user.get("additionalGids"):
        out.lxc.append(["lxc.init.groups", ",".join(str(gid) for gid in user["additionalGids"])])
    if user.get("umask") is not None:
        out.unmapped.append("process.user.umask: no Proxmox VE equivalent")
    if process.get("noNewPrivileges"):
        # pve-container's parse_pct_config drops raw keys outside $valid_lxc_conf_keys (LXC/Config.pm), so a written
        # lxc.no_new_privs would vanish on the next read and never converge.
        out.unmapped.append("process.noNewPrivileges: Proxmox VE's container config has no key for it (lxc.no_new_privs is not "
                            "a raw lxc key pve-container accepts)")
    for limit in process.get("rlimits") or []:
        kind = str(limit.get("type", ""))
        if kind.startswith("RLIMIT_"):
            out.lxc.append(["lxc.prlimit.%s" % kind[len("RLIMIT_"):].lower(), "%s:%s" % (limit.get("soft"), limit.get("hard"))])
    caps = process.get("capabilities") or {}
    extra = sorted(set().union(*[set(caps.get(kind) or []) for kind in ("bounding", "effective", "permitted")]) - DEFAULT_CAPS) if caps else []
    if extra:
        out.unmapped.append("process.capabilities: %s beyond the default set (Proxmox VE sets capabilities per container type, "
                            "not per container)" % ", ".join(extra))
    elif caps:
        out.defaults.append("process.capabilities (within LXC's default set)")
    for key, why in (("apparmorProfile", "Proxmox VE uses its own AppArmor profile"), ("selinuxLabel", "no Proxmox VE equivalent"),
                     ("oomScoreAdj", "no Proxmox VE equivalent"), ("consoleSize", "no Proxmox VE equivalent"),
                     ("ioPriority", "no Proxmox VE equivalent"), ("scheduler", "no Proxmox VE equivalent"),
                     ("execCPUAffinity", "no Proxmox VE equivalent")):
        if process.get(key) not in (None, "", {}, []):
            out.unmapped.append("process.%s: %s" % (key, why))


def map_mounts(mounts, out):
    index = 0
    for mount in mounts or []:
        dest = mount.get("destination") or ""
        options = mount.get("options") or []
        is_bind = mount.get("type") == "bind" or "bind" in options or "rbind" in options
        if dest in STANDARD_MOUNTS and not is_bind:
            out.defaults.append("mounts[%s] (LXC mounts it itself)" % dest)
            continue
        source = mount.get("source") or ""
        if is_bind and source.startswith("/"):
            value = {"mp": dest, "volume": source}
            if "ro" in options:
                value["ro"] = True
            out.params.setdefault("mp", {})["mp%d" % index] = value
            index += 1
            continue
        out.unmapped.append("mounts[%s]: a %s mount (only bind mounts of host paths become mount points)" % (dest, mount.get("type") or "typeless"))


def map_linux(linux, out):
    namespaces = set(ns.get("type") for ns in linux.get("namespaces") or [])
    if "network" not in namespaces:
        out.unmapped.append("linux.namespaces: no network namespace (host network); a Proxmox VE container always has its own")
    unknown = sorted(namespaces - LXC_NAMESPACES)
    if unknown:
        out.unmapped.append("linux.namespaces: %s" % ", ".join(unknown))
    if linux.get("uidMappings") or linux.get("gidMappings"):
        out.params["unprivileged"] = True
        out.defaults.append("linux.uidMappings/gidMappings (Proxmox VE maps unprivileged containers to 100000+)")
    for key in ("maskedPaths", "readonlyPaths"):
        if linux.get(key):
            out.defaults.append("linux.%s (LXC protects /proc and /sys itself)" % key)
    map_resources(linux.get("resources") or {}, out)
    if linux.get("devices"):
        out.unmapped.append("linux.devices: use pve_container dev0.. for device passthrough")
    for key in sorted(linux):
        if key in _UNMAPPABLE_LINUX and linux[key] not in (None, "", {}, []):
            out.unmapped.append("linux.%s: %s" % (key, _UNMAPPABLE_LINUX[key]))


def map_config(config, has_os_release=True):
    """The whole mapping; raises ``invalid_argument`` when ``config`` is not a runtime-spec document."""
    if not isinstance(config, dict) or not isinstance(config.get("process"), dict):
        raise errors.invalid_argument("oci_bundle", "config.json has no process object; it is not an OCI runtime configuration")
    out = Mapped()
    if config.get("hostname"):
        out.params["hostname"] = config["hostname"]
    map_process(config["process"], out)
    map_mounts(config.get("mounts"), out)
    map_linux(config.get("linux") or {}, out)
    root = config.get("root") or {}
    if root.get("readonly"):
        out.unmapped.append("root.readonly: a Proxmox VE container's root file system is always writable")
    if config.get("hooks"):
        out.unmapped.append("hooks: OCI hooks have no Proxmox VE equivalent (a hookscript runs on the host, not per OCI stage)")
    if config.get("annotations"):
        out.defaults.append("annotations (metadata, not applied)")
    if not has_os_release:
        out.params["ostype"] = "unmanaged"
    return out
