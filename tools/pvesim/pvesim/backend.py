# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Execution modes.

* ``state``: a CT is only its config; "running" is a status file under
  ``.host/run/pvesim/<vmid>.json``.  Templates are checked and read (OS detection) but not
  unpacked; ``pct exec/push/pull/enter`` fail with a message naming the lxc mode.
* ``lxc``: every CT is a real LXC container named ``<vmid>`` in the dedicated lxcpath
  ``<state>/.host/var/lib/lxc``; its root filesystem is the unpacked template inside the
  rootfs volume directory.  The LXC config is generated at start from the PVE config
  (contract §5.1).  Unprivileged CTs get ``lxc.idmap = u/g 0 100000 65536`` and a rootfs whose
  owners are shifted by 100000 at create time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from pathlib import Path

from . import storage
from .handlers import PVEError

IDMAP_BASE = 100000
IDMAP_COUNT = 65536
ELF_ARCH = {62: "amd64", 3: "i386", 183: "arm64", 40: "armhf", 243: "riscv64"}


def get_backend(state):
    return LxcBackend(state) if state.mode == "lxc" else StateBackend(state)


# --------------------------------------------------------------------------------------------
# template inspection
# --------------------------------------------------------------------------------------------

OSTYPE_PLUGINS = ("alpine", "archlinux", "centos", "debian", "devuan", "fedora", "gentoo", "opensuse", "ubuntu", "nixos",
                  "unmanaged")
OSTYPE_ALIAS = {"opensuse-leap": "opensuse", "opensuse-tumbleweed": "opensuse", "opensuse-slowroll": "opensuse",
                "arch": "archlinux", "sles": "opensuse", "rocky": "centos", "almalinux": "centos"}


DETECT_FILES = ("etc/os-release", "usr/lib/os-release", "etc/lsb-release", "etc/debian_version", "etc/devuan_version",
                "etc/SuSE-brand", "etc/SuSE-release", "etc/fedora-release", "etc/centos-release", "etc/redhat-release",
                "etc/arch-release", "etc/alpine-release", "etc/gentoo-release", "etc/passwd", "etc/group")


def detect_ostype(read, log=None):
    """PVE::LXC::Setup's $autodetect_type.  ``read(relpath) -> bytes|None``.  Returns the
    ostype; raises PVEError('unable to detect OS distribution'); ``log`` gets PVE's warn lines."""
    def warn(msg):
        if log is not None:
            log(msg)

    osr = read("etc/os-release")
    if osr:
        m = re.search(rb"^ID=\"?([^\"\n]*)\"?\s*$", osr, re.M)
        osid = m.group(1).decode("utf-8", "replace") if m else None
        if osid:
            if osid in OSTYPE_PLUGINS:
                return osid
            if osid in OSTYPE_ALIAS:
                return OSTYPE_ALIAS[osid]
            warn("unknown ID '%s' in /etc/os-release file, trying fallback detection" % osid)
    lsb = read("etc/lsb-release")
    if lsb and re.search(rb"^DISTRIB_ID=Ubuntu$", lsb, re.M | re.I):
        return "ubuntu"
    for rels, ost in ((("etc/debian_version",), "debian"), (("etc/devuan_version",), "devuan"),
                      (("etc/SuSE-brand", "etc/SuSE-release"), "opensuse"), (("etc/fedora-release",), "fedora"),
                      (("etc/centos-release", "etc/redhat-release"), "centos"), (("etc/arch-release",), "archlinux"),
                      (("etc/alpine-release",), "alpine"), (("etc/gentoo-release",), "gentoo")):
        if any(read(r) is not None for r in rels):
            return ost
    if osr is not None:
        raise PVEError("unable to detect OS distribution")
    warn("/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'")
    return "unmanaged"


def detect_ostype_from_files(read):
    try:
        return detect_ostype(read)
    except PVEError:
        return None


def elf_arch(data):
    if not data or data[:4] != b"\x7fELF" or len(data) < 20:
        return None
    endian = "<" if data[5] == 1 else ">"
    machine = struct.unpack(endian + "H", data[18:20])[0]
    return ELF_ARCH.get(machine)


class Backend:
    def __init__(self, state):
        self.state = state

    # --- runtime ---------------------------------------------------------------------------
    def is_running(self, vmid):
        raise NotImplementedError

    def runtime_info(self, vmid):
        """{pid, uptime, mem} for a running CT (best effort)."""
        return {}

    # --- create ----------------------------------------------------------------------------
    def populate_rootfs(self, worker, conf, vmid, rootdir, archive_path, archive_display, unprivileged):
        raise NotImplementedError

    def hotplug(self, vmid, what, value):
        """Apply a hot-pluggable resource change to a running CT (no-op without real CTs)."""

    def hotplug_net(self, vmid, netid, oldnet, newnet):
        """Plug or update netN of a running CT (no-op without real CTs)."""

    def unplug_net(self, vmid, netid, oldnet):
        """Remove netN from a running CT (no-op without real CTs)."""

    def post_create(self, worker, conf, vmid, rootdir, password, ssh_keys):
        pass

    def destroy(self, vmid):
        pass


# --------------------------------------------------------------------------------------------
# state mode
# --------------------------------------------------------------------------------------------

class StateBackend(Backend):
    mode = "state"

    def _status_file(self, vmid):
        return self.state.host_path("/run/pvesim/%s.json" % vmid)

    def is_running(self, vmid):
        return self._status_file(vmid).exists()

    def runtime_info(self, vmid):
        try:
            data = json.loads(self._status_file(vmid).read_text())
        except (OSError, ValueError):
            return {}
        return {"pid": data.get("pid"), "uptime": max(0, int(time.time() - data.get("started", time.time())))}

    def start(self, worker, conf, vmid):
        p = self._status_file(vmid)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"started": time.time(), "pid": 100000 + int(vmid)}))

    def stop(self, worker, vmid, kill=True, timeout=None, nokill=True):
        try:
            self._status_file(vmid).unlink()
        except FileNotFoundError:
            pass
        return True

    def populate_rootfs(self, worker, conf, vmid, rootdir, archive_path, archive_display, unprivileged):
        worker.log("extracting archive '%s'" % archive_display)
        size = archive_path.stat().st_size
        # state mode keeps no files: unpack only what OS detection reads (one pass) and keep it
        # in memory

        tmp = self.state.root / ".pvesim" / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        d = tempfile.mkdtemp(prefix="detect-", dir=str(tmp))
        members = []
        for rel in DETECT_FILES + (ETC_SSH,):
            members += ["./" + rel, rel]
        try:
            subprocess.run(["tar", "-xf", str(archive_path), "-C", d, "--no-same-owner", "--no-recursion"] + members,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600, check=False)
            cache = {rel: read_in_root(d, rel) for rel in DETECT_FILES}
            ssh_dir = resolve_in_root(d, ETC_SSH)
            self.archive_has_etc_ssh = ssh_dir is not None and ssh_dir.is_dir()
        finally:
            shutil.rmtree(d, ignore_errors=True)
        worker.log("Total bytes read: %d (%s)" % (size, _human(size)))
        return cache.get

    def post_create(self, worker, conf, vmid, rootdir, password, ssh_keys):
        # nothing is kept, but the keys are made and shown as on a node (the template decides)
        if getattr(self, "archive_has_etc_ssh", False):
            with tempfile.TemporaryDirectory() as scratch:
                rewrite_ssh_host_keys(worker, conf, lambda name, private, public: None, Path(scratch))

    def destroy(self, vmid):
        self.stop(None, vmid)

    def exec_argv(self, vmid, argv, keep_env=True):
        raise PVEError("pvesim: 'pct exec' needs the lxc execution mode (this node runs in 'state' mode)")


def _human(n):
    return "%.2f MiB, %.1f MiB/s" % (n / 1048576.0, n / 1048576.0)


# --------------------------------------------------------------------------------------------
# lxc mode
# --------------------------------------------------------------------------------------------

class LxcBackend(Backend):
    mode = "lxc"

    @property
    def lxcpath(self):
        return str(self.state.lxcpath)

    def _lxc(self, tool, vmid, *args):
        return [tool, "-P", self.lxcpath, "-n", str(vmid)] + list(args)

    def is_running(self, vmid):
        """As PVE: running <=> LXC's abstract command socket ``@<lxcpath>/<vmid>/command`` exists."""
        if not (self.state.lxcpath / str(vmid) / "config").exists():
            return False
        sock = "@%s/%s/command" % (self.lxcpath, vmid)
        if len(sock) < 100:  # longer names are hashed by LXC; ask lxc-info then
            try:
                with open("/proc/net/unix") as fh:
                    return any(line.rstrip("\n").endswith(" " + sock) for line in fh)
            except OSError:
                pass
        try:
            out = subprocess.run(self._lxc("lxc-info", vmid, "-sH"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=20, check=False).stdout.decode().strip()
        except (OSError, subprocess.TimeoutExpired):
            return False
        return out in ("RUNNING", "FROZEN", "STOPPING", "FREEZING", "THAWED")

    def init_pid(self, vmid):
        try:
            out = subprocess.run(self._lxc("lxc-info", vmid, "-pH"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                 timeout=20, check=False).stdout.decode().strip()
            return int(out) if out else None
        except (OSError, ValueError, subprocess.TimeoutExpired):
            return None

    def runtime_info(self, vmid):
        pid = self.init_pid(vmid)
        if not pid:
            return {}
        info = {"pid": pid}
        try:
            with open("/proc/%d/stat" % pid) as fh:
                start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
            with open("/proc/uptime") as fh:
                up = float(fh.read().split()[0])
            info["uptime"] = max(0, int(up - start_ticks / os.sysconf("SC_CLK_TCK")))
        except (OSError, ValueError, IndexError):
            pass
        return info

    # --- config generation (contract §5.1) -------------------------------------------------
    def lxc_config(self, conf, vmid):
        from .lxcschema import NET_DESC, parse_property_string, parse_volume

        lines = []
        ostype = conf.get("ostype") or "unmanaged"
        unpriv = str(conf.get("unprivileged", "0")) == "1"
        cfgdir = Path("/usr/share/lxc/config")
        inc = cfgdir / ("%s.common.conf" % ostype)
        lines.append("lxc.arch = %s" % ({"amd64": "x86_64", "i386": "i686", "arm64": "aarch64", "armhf": "armv7l"}.get(conf.get("arch", "amd64"), "x86_64")))
        lines.append("lxc.include = %s" % (inc if inc.exists() else cfgdir / "common.conf"))
        if unpriv:
            uinc = cfgdir / ("%s.userns.conf" % ostype)
            lines.append("lxc.include = %s" % (uinc if uinc.exists() else cfgdir / "userns.conf"))
        lines.append("lxc.apparmor.profile = unconfined")
        from .lxcschema import DEV_DESC, FEATURES_DESC

        try:
            features = parse_property_string(FEATURES_DESC, conf.get("features") or "")
        except ValueError:
            features = {}
        if str(features.get("fuse", 0)) == "1":
            lines.append("lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file 0 0")
        if unpriv and str(features.get("force_rw_sys", 0)) != "1":
            lines.append("lxc.mount.auto = sys:mixed")
        cg = "lxc.cgroup2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "lxc.cgroup"
        for i in range(256):
            if "dev%d" % i not in conf:
                continue
            dev = parse_property_string(DEV_DESC, conf["dev%d" % i])
            try:
                st = os.stat(dev["path"])
            except OSError:
                raise PVEError("Path '%s' is not a valid device" % dev["path"]) from None
            import stat as _stat

            kind = "b" if _stat.S_ISBLK(st.st_mode) else "c"
            perms = "r" if str(dev.get("deny-write", 0)) == "1" else "rw"
            lines.append("%s.devices.allow = %s %d:%d %s" % (cg, kind, os.major(st.st_rdev), os.minor(st.st_rdev), perms))
            lines.append("lxc.mount.entry = %s %s none bind,create=file%s 0 0"
                         % (dev["path"], dev["path"].lstrip("/"), ",ro" if perms == "r" else ""))
        lines.append("lxc.monitor.unshare = 1")
        if unpriv:
            custom = any(k == "lxc.idmap" for k, _value in conf.get("lxc") or [])
            if not custom:
                lines.append("lxc.idmap = u 0 %d %d" % (IDMAP_BASE, IDMAP_COUNT))
                lines.append("lxc.idmap = g 0 %d %d" % (IDMAP_BASE, IDMAP_COUNT))
        if str(conf.get("console", "1")) == "0":
            lines.append("lxc.console.path = none")
        lines.append("lxc.tty.max = %s" % conf.get("tty", 2))
        lines.append("lxc.environment = TERM=linux")
        lines.append("lxc.uts.name = %s" % (conf.get("hostname") or "CT%s" % vmid))
        mem = int(conf.get("memory", 512))
        swap = int(conf.get("swap", 512))
        cpulimit = float(conf.get("cpulimit") or 0)
        cpuunits = conf.get("cpuunits")
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            if cpulimit:
                lines.append("lxc.cgroup2.cpu.max = %d 100000" % int(cpulimit * 100000))
            if cpuunits is not None:
                lines.append("lxc.cgroup2.cpu.weight = %s" % cpuunits)
        elif os.path.isdir("/sys/fs/cgroup/cpu"):
            if cpulimit:
                lines.append("lxc.cgroup.cpu.cfs_period_us = 100000")
                lines.append("lxc.cgroup.cpu.cfs_quota_us = %d" % int(cpulimit * 100000))
            if cpuunits is not None:
                lines.append("lxc.cgroup.cpu.shares = %s" % cpuunits)
        if os.path.isdir("/sys/fs/cgroup/memory"):
            lines.append("lxc.cgroup.memory.limit_in_bytes = %d" % (mem * 1048576))
            if os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"):
                lines.append("lxc.cgroup.memory.memsw.limit_in_bytes = %d" % ((mem + swap) * 1048576))
        elif os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            lines.append("lxc.cgroup2.memory.max = %d" % (mem * 1048576))
            if _cgroup2_has("memory.swap.max"):  # absent without swap accounting: LXC would fail
                lines.append("lxc.cgroup2.memory.swap.max = %d" % (swap * 1048576))
        rootfs = parse_volume("rootfs", conf["rootfs"])
        lines.append("lxc.rootfs.path = dir:%s" % self.volume_dir(rootfs))
        if conf.get("entrypoint") and conf["entrypoint"] != "/sbin/init":
            lines.append("lxc.init.cmd = %s" % conf["entrypoint"])
            # pve-container 6.1.10: application containers get a /dev/shm tmpfs
            lines.append("lxc.mount.entry = shm dev/shm tmpfs rw,nosuid,nodev,create=dir 0 0")
        for i in range(32):
            key = "net%d" % i
            if key not in conf:
                continue
            net = parse_property_string(NET_DESC, conf[key])
            lines.append("lxc.net.%d.type = veth" % i)
            lines.append("lxc.net.%d.veth.pair = veth%si%d" % (i, vmid, i))
            if net.get("hwaddr"):
                lines.append("lxc.net.%d.hwaddr = %s" % (i, net["hwaddr"]))
            lines.append("lxc.net.%d.name = %s" % (i, net["name"]))
            if net.get("bridge"):
                lines.append("lxc.net.%d.link = %s" % (i, net["bridge"]))
            if net.get("mtu"):
                lines.append("lxc.net.%d.mtu = %s" % (i, net["mtu"]))
            if str(net.get("link_down", 0)) != "1":
                lines.append("lxc.net.%d.flags = up" % i)
        for i in range(256):
            key = "mp%d" % i
            if key not in conf:
                continue
            mp = parse_volume(key, conf[key])
            src = self.volume_dir(mp) if mp["type"] == "volume" else mp["volume"]
            opts = "bind,create=dir" + (",ro" if str(mp.get("ro", 0)) == "1" else "")
            lines.append("lxc.mount.entry = %s %s none %s 0 0" % (src, mp["mp"].lstrip("/"), opts))
        if conf.get("env"):
            for var in [x for x in conf["env"].split("\0") if x]:
                lines.append("lxc.environment = %s" % var)
        for k, v in conf.get("lxc") or []:
            lines.append("%s = %s" % (k, v))
        return "\n".join(lines) + "\n"

    def volume_dir(self, mp):
        path, _vtype = storage.volume_path(self.state, mp["volume"])
        return str(path)

    def write_lxc_config(self, conf, vmid):
        d = self.state.lxcpath / str(vmid)
        d.mkdir(parents=True, exist_ok=True)
        (d / "config").write_text(self.lxc_config(conf, vmid))

    # --- lifecycle -------------------------------------------------------------------------
    def start(self, worker, conf, vmid):
        from .lxcschema import NET_DESC, parse_property_string

        for i in range(32):
            key = "net%d" % i
            if key in conf:
                net = parse_property_string(NET_DESC, conf[key])
                br = net.get("bridge")
                if br and not os.path.isdir("/sys/class/net/%s/bridge" % br):
                    raise PVEError("bridge '%s' does not exist" % br)
        self.write_lxc_config(conf, vmid)
        from .lxcschema import parse_volume

        root = Path(self.volume_dir(parse_volume("rootfs", conf["rootfs"])))
        uid = IDMAP_BASE if str(conf.get("unprivileged", "0")) == "1" else 0
        if uid:
            # the CT's root (host uid 100000) must be able to walk to its rootfs
            for anc in list(root.parents)[::-1]:
                try:
                    mode = anc.stat().st_mode
                except OSError:
                    continue
                if not mode & 0o001:
                    raise PVEError("pvesim: unprivileged CTs need search permission for others on every directory above "
                                   "the state directory; '%s' has mode %04o (chmod o+x it or use another --state-dir)"
                                   % (anc, mode & 0o7777))
        for sub in ("dev", "proc", "sys", "run", "tmp"):
            p = _safe_join(root, sub)
            if p is not None and not p.exists():
                # the LXC distribution configs mount onto these; minimal templates may lack them
                p.mkdir(mode=0o1777 if sub == "tmp" else 0o755)
                os.lchown(str(p), uid, uid)
        setup_guest(conf, vmid, root)
        warn_systemd_nesting(worker, conf, root)
        d = self.state.lxcpath / str(vmid)
        log = d / "start.log"
        if log.exists():
            log.unlink()
        argv = self._lxc("lxc-start", vmid, "-d", "-o", str(log), "-l", "ERROR")
        if conf.get("entrypoint") and conf["entrypoint"] != "/sbin/init":
            # LXC 5 splits lxc.init.cmd on spaces without honouring the quotes PVE writes
            # (cmd2string); hand the exact argv to lxc-start instead
            import shlex

            try:
                argv += ["--"] + shlex.split(conf["entrypoint"])
            except ValueError:
                raise PVEError("unable to parse entrypoint '%s'" % conf["entrypoint"]) from None
        proc = subprocess.run(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120, check=False, env=self._start_env(conf))
        ok = proc.returncode == 0 and subprocess.run(self._lxc("lxc-wait", vmid, "-s", "RUNNING", "-t", "10"),
                                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0
        if not ok:
            text = proc.stdout.decode("utf-8", "replace")
            try:
                text += log.read_text(errors="replace")
            except OSError:
                pass
            for line in text.splitlines()[-20:]:
                worker.log(line)
            raise PVEError("startup for container '%s' failed" % vmid)

    def hotplug(self, vmid, what, value):
        """memory (mem MiB, swap MiB) / cpulimit / cpuunits into the live cgroup via lxc-cgroup."""
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        settings = []
        if what == "memory":
            mem, swap = value
            if v2:
                settings = [("memory.max", mem * 1048576)]
                if _cgroup2_has("memory.swap.max"):
                    settings.append(("memory.swap.max", swap * 1048576))
            else:
                cur = self._cgroup_get(vmid, "memory.memsw.limit_in_bytes")
                memsw = ("memory.memsw.limit_in_bytes", (mem + swap) * 1048576)
                memlim = ("memory.limit_in_bytes", mem * 1048576)
                if cur is None:
                    settings = [memlim]
                elif (mem + swap) * 1048576 >= int(cur):
                    settings = [memsw, memlim]  # grow the combined limit first
                else:
                    settings = [memlim, memsw]
        elif what == "cpulimit":
            quota = int(float(value) * 100000) if value not in (None, "0", 0) else None
            if v2:
                settings = [("cpu.max", "%s 100000" % (quota if quota else "max"))]
            else:
                settings = [("cpu.cfs_period_us", 100000), ("cpu.cfs_quota_us", quota if quota else -1)]
        elif what == "cpuunits":
            if v2:
                settings = [("cpu.weight", int(value) if value is not None else 100)]
            else:
                settings = [("cpu.shares", int(value) if value is not None else 1024)]
        for key, val in settings:
            proc = subprocess.run(self._lxc("lxc-cgroup", vmid, key, str(val)), capture_output=True, check=False)
            if proc.returncode != 0:
                raise PVEError("failed to set %s: %s" % (key, proc.stderr.decode(errors="replace").strip() or "lxc-cgroup failed"))

    # --- network hotplug (PVE::LXC::hotplug_net / update_net / veth_delete) -------------------
    def _ip(self, *args):
        proc = subprocess.run(["ip"] + [str(a) for a in args], capture_output=True, check=False)
        if proc.returncode != 0:
            raise PVEError("command 'ip %s' failed: %s" % (" ".join(str(a) for a in args),
                                                           proc.stderr.decode(errors="replace").strip()))

    def _ct_ip(self, vmid, *args):
        argv = self._lxc("lxc-attach", vmid, "-s", "NETWORK", "--", "ip") + [str(a) for a in args]
        proc = subprocess.run(argv, capture_output=True, check=False)
        if proc.returncode != 0:
            raise PVEError("command 'lxc-attach -n %s -s NETWORK -- ip %s' failed: %s" % (
                vmid, " ".join(str(a) for a in args), proc.stderr.decode(errors="replace").strip()))

    def unplug_net(self, vmid, netid, oldnet):
        veth = "veth%si%d" % (vmid, netid)
        if os.path.exists("/sys/class/net/%s" % veth):
            self._ip("link", "delete", veth)

    def hotplug_net(self, vmid, netid, oldnet, newnet):
        veth = "veth%si%d" % (vmid, netid)
        if oldnet and (oldnet.get("hwaddr") != newnet.get("hwaddr") or oldnet.get("name") != newnet.get("name")):
            self.unplug_net(vmid, netid, oldnet)
            oldnet = None
        br = newnet.get("bridge")
        if br and not os.path.isdir("/sys/class/net/%s/bridge" % br):
            raise PVEError("bridge '%s' does not exist" % br)
        if oldnet is None:
            peer = veth + "p"
            self._ip("link", "add", "name", veth, "type", "veth", "peer", "name", peer, "addr", newnet["hwaddr"])
            try:
                if br:
                    self._ip("link", "set", veth, "master", br)
                self._ip("link", "set", veth, "up")
                # what `lxc-device add <peer> <name>` does (lxc-device itself needs /proc/1/ns/net,
                # which containerised hosts may refuse): move the peer into the CT's netns, rename it
                pid = self.init_pid(vmid)
                if not pid:
                    raise PVEError("unable to find the init pid of CT %s" % vmid)
                self._ip("link", "set", peer, "netns", pid)
                self._ct_ip(vmid, "link", "set", peer, "name", newnet["name"])
                if str(newnet.get("link_down", 0)) != "1":
                    self._ct_ip(vmid, "link", "set", newnet["name"], "up")
            except PVEError:
                subprocess.run(["ip", "link", "delete", veth], capture_output=True, check=False)
                raise
        else:
            if oldnet.get("bridge") != br:
                if br:
                    self._ip("link", "set", veth, "master", br)
                else:
                    self._ip("link", "set", veth, "nomaster")
            if str(oldnet.get("link_down", 0)) != str(newnet.get("link_down", 0)):
                self._ip("link", "set", veth, "down" if str(newnet.get("link_down", 0)) == "1" else "up")
        # update_ipconfig: static addresses and gateways inside the CT
        name = newnet["name"]
        for fam, ipkey, gwkey in (("-4", "ip", "gw"), ("-6", "ip6", "gw6")):
            old_ip = (oldnet or {}).get(ipkey)
            new_ip = newnet.get(ipkey)
            if old_ip != new_ip and old_ip and "/" in old_ip:
                try:
                    self._ct_ip(vmid, fam, "addr", "del", old_ip, "dev", name)
                except PVEError:
                    pass
            if new_ip and "/" in new_ip and old_ip != new_ip:
                self._ct_ip(vmid, fam, "addr", "add", new_ip, "dev", name)
            if newnet.get(gwkey) and (newnet.get(gwkey) != (oldnet or {}).get(gwkey) or old_ip != new_ip):
                self._ct_ip(vmid, fam, "route", "replace", "default", "via", newnet[gwkey], "dev", name)

    def _cgroup_get(self, vmid, key):
        proc = subprocess.run(self._lxc("lxc-cgroup", vmid, key), capture_output=True, check=False)
        out = proc.stdout.decode().strip()
        return out if proc.returncode == 0 and out.lstrip("-").isdigit() else None

    def _start_env(self, conf):
        """Environment for lxc-start.  For unprivileged CTs LXC calls newuidmap/newgidmap, which
        need /etc/subuid entries for root; as root the maps can be written directly, so a pair
        of tiny wrappers that do exactly that comes first in PATH (the host stays untouched)."""
        env = dict(os.environ)
        if str(conf.get("unprivileged", "0")) != "1":
            return env
        bindir = self.state.root / ".pvesim" / "bin"
        bindir.mkdir(parents=True, exist_ok=True)
        for kind in ("uid", "gid"):
            p = bindir / ("new%smap" % kind)
            text = ("#!/bin/sh\n# pvesim: lxc-start runs as root, which may write the %s map itself\n"
                    "pid=\"$1\"; shift\nmap=\"\"\n"
                    "while [ \"$#\" -ge 3 ]; do map=\"$map$1 $2 $3\n\"; shift 3; done\n"
                    "printf \"$map\" > \"/proc/$pid/%s_map\"\n") % (kind, kind)
            if not p.exists() or p.read_text() != text:
                p.write_text(text)
                p.chmod(0o755)
        env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        return env

    def stop(self, worker, vmid, kill=True, timeout=None, nokill=True):
        """kill: ``lxc-stop --kill``; else clean shutdown with ``--timeout`` (``--nokill`` unless forceStop)."""
        argv = self._lxc("lxc-stop", vmid)
        t = timeout if timeout is not None else 60
        if kill:
            extra = ["--kill"]
        else:
            extra = (["--nokill"] if nokill else []) + ["--timeout", str(t)]
        argv += extra
        display = " ".join(["lxc-stop", "-n", str(vmid)] + extra)
        try:
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=(timeout or 60) + 5 if not kill else 60, check=False)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            rc = None
        if rc != 0 and worker is not None:
            # PVE::LXC::vm_stop: a plain Perl warn (task output, not a counted task warning)
            worker.log("command '%s' failed: %s" % (display, "got timeout" if rc is None else "exit code %d" % rc))
        for _attempt in range(50):
            if not self.is_running(vmid):
                return True
            time.sleep(0.1)
        return False

    def exec_argv(self, vmid, argv, keep_env=True):
        return self._lxc("lxc-attach", vmid, "--keep-env" if keep_env else "--clear-env", "--") + list(argv)

    # --- create ----------------------------------------------------------------------------
    def populate_rootfs(self, worker, conf, vmid, rootdir, archive_path, archive_display, unprivileged):
        worker.log("extracting archive '%s'" % archive_display)
        rootdir.mkdir(parents=True, exist_ok=True)
        argv = ["tar", "xpf", str(archive_path), "--totals", "--one-file-system", "--sparse", "--numeric-owner",
                "--acls", "--xattrs", "--xattrs-include=user.*", "--xattrs-include=security.capability",
                "--warning=no-file-ignored", "--warning=no-xattr-write", "-C", str(rootdir), "--skip-old-files",
                "--anchored", "--exclude", "./dev/*"]
        worker.run_cmd(argv, errmsg="unable to extract archive")
        if unprivileged:
            shift_ids(rootdir, IDMAP_BASE)

        def read(rel):
            return read_in_root(rootdir, rel)
        return read

    def detect_arch(self, rootdir):
        for rel in ("bin/sh",):
            p = resolve_in_root(rootdir, rel)
            if p is not None and p.is_file():
                try:
                    with open(p, "rb") as fh:
                        a = elf_arch(fh.read(64))
                except OSError:
                    a = None
                if a:
                    return a
        return None

    def post_create(self, worker, conf, vmid, rootdir, password, ssh_keys):
        setup_guest(conf, vmid, rootdir)
        set_root_password(rootdir, password)
        uid = IDMAP_BASE if str(conf.get("unprivileged", "0")) == "1" else 0
        if ssh_keys:
            sshdir = _safe_join(rootdir, "root/.ssh")
            if sshdir is not None:
                sshdir.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.lchown(str(sshdir), uid, uid)
                _write_owned(sshdir / "authorized_keys", ssh_keys if ssh_keys.endswith("\n") else ssh_keys + "\n", uid, 0o600)
        etc_ssh = resolve_in_root(rootdir, ETC_SSH)
        if etc_ssh is not None and etc_ssh.is_dir():
            def install(name, private, public):
                _write_private(etc_ssh / name, private, uid, 0o600)
                _write_private(etc_ssh / (name + ".pub"), public, uid, 0o644)

            with tempfile.TemporaryDirectory() as scratch:
                rewrite_ssh_host_keys(worker, conf, install, Path(scratch))
        warn_systemd_nesting(worker, conf, rootdir)

    def destroy(self, vmid):
        d = self.state.lxcpath / str(vmid)
        if self.is_running(vmid):
            subprocess.run(self._lxc("lxc-stop", vmid, "--kill"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if d.exists():
            shutil.rmtree(str(d), ignore_errors=True)


def setup_guest(conf, vmid, rootdir):
    """The part of PVE::LXC::Setup pvesim does at create and start: /etc/hostname, the PVE block
    in /etc/hosts and, for Debian-like and Alpine guests, /etc/network/interfaces."""
    from .lxcschema import NET_DESC, parse_property_string

    ostype = conf.get("ostype") or "unmanaged"
    if ostype == "unmanaged":
        return
    uid = IDMAP_BASE if str(conf.get("unprivileged", "0")) == "1" else 0
    etc = _safe_join(rootdir, "etc")
    if etc is None:
        return
    if not etc.exists():
        etc.mkdir()
        os.lchown(str(etc), uid, uid)
    hostname = conf.get("hostname") or "CT%s" % vmid
    short = hostname.split(".", 1)[0]
    domain = None
    if "." in hostname:
        fqdn = hostname
    else:
        sd = (conf.get("searchdomain") or "").split()
        domain = sd[0] if sd else None
        fqdn = "%s.%s" % (hostname, domain) if domain else None
    nets = []
    for i in range(32):
        if "net%d" % i in conf:
            try:
                nets.append(parse_property_string(NET_DESC, conf["net%d" % i]))
            except ValueError:
                continue
    hostip = "127.0.1.1"
    for n in nets:
        ip = n.get("ip") or ""
        if "/" in ip:
            hostip = ip.split("/", 1)[0]
            break
    _write_owned(etc / "hostname", short + "\n", uid)
    hosts = etc / "hosts"
    old = hosts.read_text(errors="replace") if hosts.is_file() and not hosts.is_symlink() else ""
    block = ("# --- BEGIN PVE ---\n127.0.0.1 localhost.localnet localhost\n::1 localhost.localnet localhost\n"
             + ("%s %s %s\n" % (hostip, fqdn, short) if fqdn else "%s %s\n" % (hostip, short)) + "# --- END PVE ---\n")
    if "# --- BEGIN PVE ---" in old:
        new = re.sub(r"# --- BEGIN PVE ---\n.*?# --- END PVE ---\n?", lambda m: block, old, flags=re.S)
    else:
        new = block + old
    _write_owned(hosts, new, uid)
    if ostype in ("debian", "ubuntu", "devuan", "alpine") and nets:
        lines = ["auto lo", "iface lo inet loopback", ""]
        for n in nets:
            name = n["name"]
            ip, ip6 = n.get("ip"), n.get("ip6")
            if ip or ip6:
                lines.append("auto %s" % name)
            if ip in ("dhcp", "manual"):
                lines.append("iface %s inet %s" % (name, ip))
            elif ip:
                import ipaddress

                iface = ipaddress.IPv4Interface(ip)
                lines += ["iface %s inet static" % name, "\taddress %s" % iface.ip, "\tnetmask %s" % iface.netmask]
                if n.get("gw"):
                    lines.append("\tgateway %s" % n["gw"])
            if ip6 in ("dhcp", "manual", "auto"):
                lines.append("iface %s inet6 %s" % (name, ip6))
            elif ip6:
                addr, _sep, plen = ip6.partition("/")
                lines += ["iface %s inet6 static" % name, "\taddress %s" % addr, "\tnetmask %s" % plen]
                if n.get("gw6"):
                    lines.append("\tgateway %s" % n["gw6"])
            lines.append("")
        netdir = _safe_join(rootdir, "etc/network")
        if netdir is not None:
            if not netdir.exists():
                netdir.mkdir()
                os.lchown(str(netdir), uid, uid)
            _write_owned(netdir / "interfaces", "\n".join(lines).rstrip("\n") + "\n", uid)


def crypt_password(password, method="6"):
    """crypt(3) with a fresh 8-character salt: ``$6$`` (SHA-512, PVE::LXC::Setup) or ``$5$``
    (SHA-256, pve-common ``PVE::Tools::encrypt_pw``)."""
    import base64
    import hashlib

    salt = base64.b64encode(hashlib.sha1(str(time.time()).encode()).digest()).decode()[:8].replace("+", ".")
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt  # deprecated, gone in Python 3.13: openssl below

        return crypt.crypt(password, "$%s$%s$" % (method, salt))
    except ImportError:
        out = subprocess.run(["openssl", "passwd", "-" + method, "-salt", salt, "-stdin"], input=password.encode(),
                             stdout=subprocess.PIPE, check=True).stdout.decode().strip()
        return out


def _crypt_sha512(password):
    return crypt_password(password, "6")


def set_root_password(rootdir, password):
    """Setup::Base::set_user_password for root: ``$6$`` hash (pre-hashed values kept) in
    /etc/shadow (and ``x`` in /etc/passwd), or in /etc/passwd when there is no shadow file;
    without a password the hash is ``*``."""
    passwd = _safe_join(rootdir, "etc/passwd")
    if passwd is None or not passwd.is_file():
        return
    if password is not None:
        if not re.match(r"^\$(?:1|2[axy]?|5|6)\$[a-zA-Z0-9./]{1,16}\$[a-zA-Z0-9./]+$", password):
            password = _crypt_sha512(password)
    else:
        password = "*"
    shadow = _safe_join(rootdir, "etc/shadow")
    last_change = int(time.time() / 86400)

    def replace(path, pattern, repl):
        st = os.lstat(str(path))
        text = path.read_text(errors="surrogateescape")
        new = re.sub(pattern, lambda m: repl, text, count=0, flags=re.M)
        tmp = path.parent / (path.name + ".pvesim")
        tmp.write_text(new, errors="surrogateescape")
        os.chmod(str(tmp), st.st_mode & 0o7777)
        os.lchown(str(tmp), st.st_uid, st.st_gid)
        os.replace(str(tmp), str(path))

    if shadow is not None and shadow.is_file():
        replace(shadow, r"^root:[^:]*:[^:]*:", "root:%s:%d:" % (password, last_change))
        replace(passwd, r"^root:[^:]*:", "root:x:")
    else:
        replace(passwd, r"^root:[^:]*:", "root:%s:" % password)


def warn_systemd_nesting(worker, conf, rootdir):
    """pve-container >= 6.0.19: ``WARN: Systemd <ver> detected. You may need to enable nesting.``"""
    if worker is None:
        return
    target = resolve_in_root(rootdir, "sbin/init")
    if target is None or "systemd" not in str(target.relative_to(rootdir)):
        return
    ver = None
    for d in ("usr/lib/systemd", "lib/systemd", "usr/lib/x86_64-linux-gnu/systemd"):
        p = _safe_join(rootdir, d)
        if p is None or not p.is_dir():
            continue
        for f in p.iterdir():
            m = re.match(r"^libsystemd-(?:shared|core)-(\d+)", f.name)
            if m:
                ver = int(m.group(1))
                break
        if ver:
            break
    if not ver or ver <= 241:
        return
    feats = conf.get("features") or ""
    if re.search(r"(^|,)nesting=(1|on|yes|true)(,|$)", feats):
        return
    worker.warn("Systemd %d detected. You may need to enable nesting." % ver)


def _cgroup2_has(name):
    """Whether non-root cgroup v2 groups on this host offer the interface file ``name``."""
    try:
        with open("/proc/self/cgroup") as fh:
            own = [ln.split("::", 1)[1].strip() for ln in fh if ln.startswith("0::")]
    except OSError:
        own = []
    cands = ["/sys/fs/cgroup" + p for p in own if p != "/"] + ["/sys/fs/cgroup/system.slice", "/sys/fs/cgroup/init.scope"]
    return any(os.path.exists(os.path.join(c, name)) for c in cands)


def resolve_in_root(root, rel, max_links=40):
    """Resolve ``rel`` inside ``root`` as a chroot would (symlinks followed, absolute targets and
    ``..`` kept inside ``root``).  Returns the host path or None."""
    root = Path(root)
    parts = [x for x in rel.split("/") if x and x != "."]
    cur = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if cur:
                cur.pop()
            continue
        p = root.joinpath(*cur, part)
        if p.is_symlink():
            links += 1
            if links > max_links:
                return None
            target = os.readlink(str(p))
            if target.startswith("/"):
                cur = []
            parts = [x for x in target.split("/") if x and x != "."] + parts
            continue
        cur.append(part)
    return root.joinpath(*cur)


def read_in_root(root, rel):
    p = resolve_in_root(root, rel)
    try:
        return p.read_bytes() if p is not None and p.is_file() else None
    except OSError:
        return None


def _safe_join(root, rel):
    p = Path(root)
    for part in rel.split("/"):
        if not part or part == ".":
            continue
        if part == "..":
            return None
        p = p / part
        if p.is_symlink():
            return None
    return p


ETC_SSH = "etc/ssh"
# Setup/Base.pm ssh_host_key_types_to_generate (Unmanaged: none).  PVE walks a Perl hash, so its
# order varies from run to run; pvesim uses this fixed one.
SSH_HOST_KEY_TYPES = (("rsa", "ssh_host_rsa_key"), ("ecdsa", "ssh_host_ecdsa_key"), ("ed25519", "ssh_host_ed25519_key"))


def rewrite_ssh_host_keys(worker, conf, install, scratch: Path) -> None:
    """PVE::LXC::Setup ``rewrite_ssh_host_keys`` (called when the rootfs has ``/etc/ssh``): one
    key per type made with ``ssh-keygen -E sha256 -C root@<hostname without domain>`` in
    ``scratch``, announced and handed to ``install(name, private, public)``."""
    if (conf.get("ostype") or "unmanaged") == "unmanaged":
        return
    # create_vm sets the default hostname only after post_create_hook: 'localhost' here
    hostname = re.sub(r"\..*$", "", conf.get("hostname") or "localhost")
    comment = "root@%s" % hostname
    for keytype, name in SSH_HOST_KEY_TYPES:
        worker.log("Creating SSH host key '%s' - this may take some time ..." % name)
        keyfile = scratch / ("tmp.%s" % keytype)
        proc = subprocess.run(["ssh-keygen", "-f", str(keyfile), "-t", keytype, "-N", "", "-E", "sha256", "-C", comment],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise PVEError("command 'ssh-keygen -f %s -t %s' failed: %s" % (keyfile, keytype, proc.stderr.strip()))
        key_id = next((ln for ln in proc.stdout.splitlines()
                       if re.match(r"^SHA256:[0-9a-z+/]{43}\s+%s$" % re.escape(comment), ln, re.I)), "")
        worker.log("done: %s" % key_id)
        install(name, keyfile.read_bytes(), (scratch / ("tmp.%s.pub" % keytype)).read_bytes())
        keyfile.unlink()
        (scratch / ("tmp.%s.pub" % keytype)).unlink()


def _write_private(path: Path, data: bytes, uid: int, mode: int) -> None:
    """Write a file created with ``mode`` from the start (a private key is never readable by others)."""
    if path.is_symlink() or path.exists():
        path.unlink()
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(str(path), mode)
    os.lchown(str(path), uid, uid)


def _write_owned(path, text, uid, mode=0o644):
    if path.is_symlink():
        path.unlink()
    path.write_text(text)
    os.chmod(str(path), mode)
    os.lchown(str(path), uid, uid)


def shift_ids(root, offset):
    """chown every file below ``root`` by ``offset`` (unprivileged CT rootfs)."""
    for dirpath, dirnames, filenames in os.walk(str(root)):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            try:
                st = os.lstat(name)
                if st.st_uid < offset or st.st_gid < offset:
                    mode = st.st_mode
                    os.lchown(name, st.st_uid % offset + offset, st.st_gid % offset + offset)
                    if not os.path.islink(name) and mode & 0o6000:
                        os.chmod(name, mode & 0o7777)
            except OSError:
                pass
