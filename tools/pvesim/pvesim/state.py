# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The state directory: one simulated node's /etc/pve plus its private host paths.

Layout of a state directory ``S`` (see README.md, "Internals")::

    S/                          == /etc/pve (pmxcfs) of the simulated cluster
      nodes/<node>/lxc/<vmid>.conf
      nodes/<node>/qemu-server/
      lxc -> nodes/<node>/lxc          (relative symlink, as pmxcfs shows it)
      local -> nodes/<node>
      storage.cfg  user.cfg  datacenter.cfg
      priv/                            (secrets: token.cfg, shadow.cfg, ... owned by the auth layer)
      .host/                           every *host* path PVE uses, re-rooted here:
        var/lib/vz/                    storage `local` (template/cache, images, ...)
        var/lib/pvesim/<storeid>/      data of simulated lvmthin/zfs storages
        var/lib/lxc/                   the dedicated LXC lxcpath (lxc execution mode)
        run/lock/lxc/                  config file locks pve-config-<vmid>.lock
        run/pvesim/                    runtime status of CTs in `state` mode
        var/log/pve/tasks/             task logs + index + active
      .pvesim/settings.json            node name, execution mode, ...
      .pvesim/faults.json              injected faults (``pvesim fault``)

Messages show the *PVE* path (``/run/lock/lxc/...``), the simulator works on ``host_path()``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import tempfile
import threading
import time
from pathlib import Path

ENV_STATE_DIR = "PVESIM_STATE_DIR"
DEFAULT_NODE = "pve"
MODES = ("state", "lxc")

DEFAULT_STORAGE_CFG = """dir: local
\tpath /var/lib/vz
\tcontent iso,vztmpl,backup

lvmthin: local-lvm
\tthinpool data
\tvgname pve
\tcontent rootdir,images

"""

DEFAULT_USER_CFG = """user:root@pam:1:0:::root@pam.invalid:::


acl:1:/:root@pam:Administrator:
"""

DEFAULT_DATACENTER_CFG = """keyboard: en-us
"""


class StateError(Exception):
    """The state directory is missing or unusable (a setup problem, not a PVE error)."""


def _perl_sort_key(s):
    # Perl's default sort is a byte-wise string comparison.
    return s.encode("utf-8")


def perl_sorted(items):
    return sorted(items, key=_perl_sort_key)


def atomic_write(path, data, mode=0o640):
    """Write ``data`` (str or bytes) to ``path`` atomically (tmp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, str(path))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------
# storage.cfg (section config)
# --------------------------------------------------------------------------------------------

_SECTION_RE = re.compile(r"^(\S+):\s*(\S+)\s*$")


def parse_section_config(text):
    """Parse a PVE section config (storage.cfg): returns ``{id: {"type": t, key: value...}}``
    keeping file order.  Values stay strings; ``content`` is left as the comma list."""
    out = {}
    cur = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            if not line.strip():
                cur = None
            continue
        if line[0] not in " \t":
            m = _SECTION_RE.match(line)
            if not m:
                cur = None
                continue
            cur = {"type": m.group(1)}
            out[m.group(2)] = cur
            continue
        if cur is None:
            continue
        parts = line.strip().split(None, 1)
        cur[parts[0]] = parts[1] if len(parts) > 1 else "1"
    return out


def write_section_config(sections):
    lines = []
    for sid, props in sections.items():
        lines.append("%s: %s" % (props["type"], sid))
        for k, v in props.items():
            if k == "type":
                continue
            lines.append("\t%s %s" % (k, v))
        lines.append("")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------

class State:
    """Handle on one state directory.  Cheap to construct; reads files on demand."""

    def __init__(self, root):
        self.root = Path(root).absolute()
        self._settings = None

    # ---- location -------------------------------------------------------------------------
    @classmethod
    def locate(cls, state_dir=None, must_exist=True):
        """``--state-dir`` wins, then ``$PVESIM_STATE_DIR``."""
        d = state_dir or os.environ.get(ENV_STATE_DIR)
        if not d:
            raise StateError(
                "no state directory: pass --state-dir DIR or set %s (create one with 'pvesim init DIR')" % ENV_STATE_DIR)
        st = cls(d)
        if must_exist and not st.is_initialised():
            raise StateError("'%s' is not a pvesim state directory (create it with 'pvesim init %s')" % (d, d))
        return st

    def is_initialised(self):
        return (self.root / ".pvesim" / "settings.json").is_file()

    # ---- settings -------------------------------------------------------------------------
    @property
    def settings(self):
        if self._settings is None:
            p = self.root / ".pvesim" / "settings.json"
            try:
                self._settings = json.loads(p.read_text())
            except (OSError, ValueError) as exc:
                raise StateError("cannot read %s: %s" % (p, exc)) from exc
        return self._settings

    def save_settings(self):
        atomic_write(self.root / ".pvesim" / "settings.json", json.dumps(self.settings, indent=2, sort_keys=True) + "\n")

    @property
    def node(self):
        return self.settings.get("node", DEFAULT_NODE)

    @property
    def mode(self):
        return self.settings.get("mode", "state")

    @property
    def host_cpus(self):
        """CPU count the simulated node reports (default: the real host's)."""
        return int(self.settings.get("cpus") or os.cpu_count() or 1)

    @property
    def host_memory(self):
        return int(self.settings.get("memory") or _host_memory())

    @property
    def cgroup_version(self):
        """1 or 2: decides the cpuunits default/clamping.  PVE 9 hosts are cgroup v2 only."""
        return int(self.settings.get("cgroup_version", 2))

    # ---- init -----------------------------------------------------------------------------
    def init(self, node=DEFAULT_NODE, mode="state", extra_settings=None):
        """Create a fresh state directory (idempotent: existing files are kept)."""
        if mode not in MODES:
            raise StateError("unknown mode '%s' (choose %s)" % (mode, ", ".join(MODES)))
        if not re.match(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$", node):
            raise StateError("invalid node name '%s'" % node)
        self.root.mkdir(parents=True, exist_ok=True)
        settings_path = self.root / ".pvesim" / "settings.json"
        if settings_path.exists():
            self._settings = None
            cur = self.settings
            if cur.get("node") != node:
                raise StateError("state directory already initialised for node '%s'" % cur.get("node"))
            cur["mode"] = mode
        else:
            self._settings = {"node": node, "mode": mode, "version": 1}
        if extra_settings:
            self._settings.update(extra_settings)
        self.save_settings()
        for d in ("nodes/%s/lxc" % node, "nodes/%s/qemu-server" % node, "virtual-guest", "sdn", "firewall", "ha",
                  "mapping"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        for d in ("nodes/%s/priv" % node, "priv", "priv/lock"):
            # secrets live here: never readable by others, whatever the umask was
            (self.root / d).mkdir(mode=0o700, parents=True, exist_ok=True)
            (self.root / d).chmod(0o700)
        for name, target in (("lxc", "nodes/%s/lxc" % node), ("qemu-server", "nodes/%s/qemu-server" % node),
                             ("local", "nodes/%s" % node)):
            link = self.root / name
            if not link.is_symlink() and not link.exists():
                link.symlink_to(target)
        for name, content in (("storage.cfg", DEFAULT_STORAGE_CFG), ("user.cfg", DEFAULT_USER_CFG),
                              ("datacenter.cfg", DEFAULT_DATACENTER_CFG)):
            p = self.root / name
            if not p.exists():
                atomic_write(p, content)
        for hp in ("/var/lib/vz/template/cache", "/var/lib/vz/images", "/var/lib/vz/dump", "/var/lib/vz/template/iso",
                   "/var/lib/lxc", "/run/lock/lxc", "/run/pvesim", "/var/log/pve/tasks"):
            self.host_path(hp).mkdir(parents=True, exist_ok=True)
        for i in range(16):
            self.host_path("/var/log/pve/tasks/%X" % i).mkdir(exist_ok=True)
        return self

    # ---- paths ----------------------------------------------------------------------------
    def pve_path(self, rel=""):
        """A path inside the simulated /etc/pve (``rel`` relative to /etc/pve)."""
        return self.root / rel.lstrip("/")

    def host_path(self, abspath):
        """Map an absolute host path PVE would use (``/var/lib/vz``) into the state dir."""
        return self.root / ".host" / str(abspath).lstrip("/")

    @property
    def lxcpath(self):
        return self.host_path("/var/lib/lxc")

    # ---- guests ---------------------------------------------------------------------------
    def vmlist(self):
        """All guests of the cluster: ``{vmid: {"node": n, "type": "lxc"|"qemu"}}`` (like .vmlist)."""
        out = {}
        nodes = self.root / "nodes"
        if not nodes.is_dir():
            return out
        for nd in sorted(nodes.iterdir()):
            for sub, typ in (("lxc", "lxc"), ("qemu-server", "qemu")):
                d = nd / sub
                if not d.is_dir():
                    continue
                for f in d.iterdir():
                    m = re.match(r"^(\d+)\.conf$", f.name)
                    if m:
                        out[int(m.group(1))] = {"node": nd.name, "type": typ}
        return out

    # ---- config files ---------------------------------------------------------------------
    def read_pve_file(self, rel):
        try:
            return self.pve_path(rel).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def write_pve_file(self, rel, text):
        atomic_write(self.pve_path(rel), text)

    # ---- storage --------------------------------------------------------------------------
    def storage_config(self):
        text = self.read_pve_file("storage.cfg") or ""
        return parse_section_config(text)

    def write_storage_config(self, sections):
        self.write_pve_file("storage.cfg", write_section_config(sections))

    def storage_base_path(self, storeid, scfg=None):
        """Host path (already mapped into the state dir) where a storage keeps its data."""
        scfg = scfg if scfg is not None else self.storage_config().get(storeid)
        if scfg is None:
            return None
        if scfg.get("path"):
            return self.host_path(scfg["path"])
        return self.host_path("/var/lib/pvesim/%s" % storeid)

    def template_cache_dir(self, storeid):
        base = self.storage_base_path(storeid)
        return None if base is None else base / "template" / "cache"

    def datacenter_config(self):
        text = self.read_pve_file("datacenter.cfg") or ""
        out = {}
        for line in text.splitlines():
            m = re.match(r"^([a-z][a-z0-9_-]*):\s*(.*?)\s*$", line)
            if m:
                out[m.group(1)] = m.group(2)
        return out


def _host_memory():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 1024 ** 3


# --------------------------------------------------------------------------------------------
# File locks (flock) with PVE's texts and timeouts
# --------------------------------------------------------------------------------------------

class LockTimeout(Exception):
    pass


_held = threading.local()


@contextlib.contextmanager
def lock_file(path, timeout, pve_name=None, stderr=None):
    """Exclusive flock on ``path``; re-entrant within one thread.

    While waiting prints ``trying to acquire lock...`` (no newline) to ``stderr`` and `` OK``
    on success, as PVE::Tools::lock_file_full.  On timeout raises LockTimeout with the
    message ``can't lock file '<pve_name>' - got timeout``.
    """
    key = str(path)
    depth = getattr(_held, "depth", None)
    if depth is None:
        depth = _held.depth = {}
    if depth.get(key):
        depth[key] += 1
        try:
            yield
        finally:
            depth[key] -= 1
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if stderr is not None:
                stderr.write("trying to acquire lock...")
                stderr.flush()
            deadline = time.monotonic() + timeout
            while True:
                time.sleep(0.05)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc2:
                    if exc2.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if time.monotonic() >= deadline:
                    if stderr is not None:
                        stderr.write("\n")
                        stderr.flush()
                    raise LockTimeout("can't lock file '%s' - got timeout" % (pve_name or key)) from None
            if stderr is not None:
                stderr.write(" OK\n")
                stderr.flush()
        depth[key] = 1
        try:
            yield
        finally:
            depth.pop(key, None)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
