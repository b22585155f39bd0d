# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build small LXC template tarballs locally and publish them in the simulated ``pveam`` catalogue.

Nothing can be downloaded here, so templates are made from what the host has:

* ``--busybox`` (default): Debian's ``busybox-static`` binary as ``/bin/busybox`` plus one
  symlink per applet, ``/sbin/init`` (a small shell init that keeps the CT running, brings up
  ``/etc/network/interfaces`` with ``ifup -a`` and exits cleanly on SIGPWR/SIGTERM/SIGINT/
  SIGUSR1/SIGUSR2, i.e. on ``lxc-stop`` and ``pct shutdown``), ``/etc/hostname``, ``/etc/hosts``,
  ``/etc/passwd``/``group``/``shadow``, ``/etc/os-release`` and ``/etc/debian_version`` so
  PVE's OS detection (``ID`` in os-release, then ``/etc/debian_version``) says ``debian``
  (``--ostype alpine`` writes ``/etc/alpine-release`` and ``ID=alpine`` instead).
  ``--init busybox`` uses busybox's own init with an ``/etc/inittab`` instead of the shell init.
* ``--debootstrap``: a minimal Debian via ``debootstrap --variant=minbase`` (needs a reachable
  Debian mirror; slow).

Python API (for other tests)::

    from pvesim.templates import build_busybox_template, add_to_catalogue, install_template
    path = build_busybox_template("/tmp/t/busybox.tar.gz")
    install_template(state, path, storage="local")        # straight into local:vztmpl/
    add_to_catalogue(state, path)                          # or: make it `pveam available`

CLI::

    pvesim template build --busybox [--output FILE] [--ostype debian|alpine] [--init script|busybox]
    pvesim template build --debootstrap [--suite bookworm] [--mirror URL] [--output FILE]
    pvesim template add FILE [--state-dir DIR] [--section system] [--package NAME] [--version V]
    pvesim template install FILE [--state-dir DIR] [--storage local]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import lzma
import os
import platform
import re
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

BUSYBOX_CANDIDATES = ("/bin/busybox", "/usr/bin/busybox", "/usr/lib/initramfs-tools/bin/busybox")
APL_SOURCE_URL = "http://download.proxmox.com/images"
APL_SOURCE_HOST = "download.proxmox.com"
APL_INDEX_NAME = "aplinfo-pve-9.dat"
TEMPLATE_EXT_RE = re.compile(r"\.(tar|tar\.gz|tar\.xz|tar\.zst|tar\.bz2)$", re.I)
FIXED_MTIME = 1735689600  # 2025-01-01T00:00:00Z: reproducible tarballs

INIT_SCRIPT = """#!/bin/sh
# pvesim minimal init: keep the container running, stop cleanly on the halt/poweroff signals
# LXC and `pct shutdown` send (SIGPWR by default; SIGTERM/SIGINT/SIGUSR1/SIGUSR2 too).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
umask 022
[ -r /etc/hostname ] && hostname -F /etc/hostname 2>/dev/null
mkdir -p /run /var/run /var/log /tmp 2>/dev/null
ip link set lo up 2>/dev/null
if [ -r /etc/network/interfaces ]; then
    (ifup -a >/var/log/ifup.log 2>&1 &)
fi
[ -x /etc/rc.local ] && /etc/rc.local >/var/log/rc.local.log 2>&1
stopping=
shutdown_now() {
    stopping=1
    kill -TERM -1 2>/dev/null
    sleep 0.2 2>/dev/null
    kill -KILL -1 2>/dev/null
    sync
    exit 0
}
trap shutdown_now PWR TERM INT USR1 USR2 HUP
echo "pvesim init: up" >/var/log/init.log
while [ -z "$stopping" ]; do
    sleep 3600 &
    wait
done
"""

INITTAB = """# busybox init(8) configuration written by pvesim
::sysinit:/bin/hostname -F /etc/hostname
::sysinit:/sbin/ifup -a
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
"""


class TemplateError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------

def _is_static_elf(path):
    """True for an ELF executable without a PT_INTERP program header (statically linked)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if head[:4] != b"\x7fELF":
                return False
            is64 = head[4] == 2
            endian = "<" if head[5] == 1 else ">"
            if is64:
                phoff, = struct.unpack(endian + "Q", head[32:40])
                phentsize, phnum = struct.unpack(endian + "HH", head[54:58])
            else:
                phoff, = struct.unpack(endian + "I", head[28:32])
                phentsize, phnum = struct.unpack(endian + "HH", head[42:46])
            fh.seek(phoff)
            table = fh.read(phentsize * phnum)
        for i in range(phnum):
            ptype, = struct.unpack(endian + "I", table[i * phentsize:i * phentsize + 4])
            if ptype == 3:  # PT_INTERP
                return False
        return True
    except (OSError, struct.error):
        return False


def find_static_busybox():
    for cand in BUSYBOX_CANDIDATES:
        if os.path.isfile(cand) and _is_static_elf(cand):
            return cand
    raise TemplateError("no statically linked busybox found (install Debian's 'busybox-static' package)")


def busybox_version(binary):
    out = subprocess.run([binary], capture_output=True, text=True, check=False).stdout
    m = re.search(r"BusyBox v(\d+(?:\.\d+)*)", out)
    return m.group(1) if m else "0"


def busybox_applets(binary):
    proc = subprocess.run([binary, "--list-full"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise TemplateError("'%s --list-full' failed: %s" % (binary, proc.stderr.strip()))
    return [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]


def host_arch():
    m = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "i386",
            "i386": "i386", "armv7l": "armhf", "riscv64": "riscv64"}.get(m, m)


def default_busybox_name(ostype="debian"):
    bb = find_static_busybox()
    return "%s-pvesim-busybox_%s-1_%s.tar.gz" % (ostype, busybox_version(bb), host_arch())


class _TarWriter:
    """Deterministic tar members (root-owned, fixed mtime) with ./ prefixes."""

    def __init__(self, tar):
        self.tar = tar
        self.dirs = set()

    def _info(self, name, kind, mode):
        ti = tarfile.TarInfo("./" + name.strip("/") if name.strip("/") else ".")
        ti.type = kind
        ti.mode = mode
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = "root"
        ti.mtime = FIXED_MTIME
        return ti

    def dir(self, name, mode=0o755):
        name = name.strip("/")
        parts = name.split("/") if name else []
        for i in range(len(parts) - 1):
            self.dir("/".join(parts[:i + 1]))
        if name in self.dirs:
            return
        self.dirs.add(name)
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode))

    def file(self, name, data, mode=0o644):
        name = name.strip("/")
        if "/" in name:
            self.dir(name.rsplit("/", 1)[0])
        if isinstance(data, str):
            data = data.encode("utf-8")
        ti = self._info(name, tarfile.REGTYPE, mode)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))

    def symlink(self, name, target):
        name = name.strip("/")
        if "/" in name:
            self.dir(name.rsplit("/", 1)[0])
        ti = self._info(name, tarfile.SYMTYPE, 0o777)
        ti.linkname = target
        self.tar.addfile(ti)


def _open_output(output):
    """Return (tarfile writing to a temporary file next to ``output``, finish callback).

    ``finish()`` closes the tar and compresses it by the extension of ``output`` (streaming,
    so big debootstrap trees do not have to fit in memory) and renames it into place.
    """
    out = str(output)
    low = out.lower()
    if not low.endswith((".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.zst", ".tar.bz2")):
        raise TemplateError("unknown template extension for '%s' (use .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2)" % out)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    raw_path = out + ".tmp-tar.%d" % os.getpid()
    raw = open(raw_path, "w+b")  # noqa: SIM115 - closed by finish()
    tar = tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT)  # noqa: SIM115 - closed by finish()

    def finish():
        tmp = out + ".tmp.%d" % os.getpid()
        try:
            tar.close()
            raw.seek(0)
            if low.endswith(".tar.zst"):
                zstd = shutil.which("zstd")
                if not zstd:
                    raise TemplateError("the 'zstd' command is needed for .tar.zst templates")
                with open(tmp, "wb") as dst:
                    subprocess.run([zstd, "-q", "-T0", "-c"], stdin=raw, stdout=dst, check=True)
            else:
                with open(tmp, "wb") as fh:
                    if low.endswith((".tar.gz", ".tgz")):
                        # no file name and mtime 0 in the gzip header: reproducible output
                        dst = gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=fh, mtime=0)
                    elif low.endswith(".tar.xz"):
                        dst = lzma.LZMAFile(fh, "wb", preset=6)  # noqa: SIM115 - closed below
                    elif low.endswith(".tar.bz2"):
                        import bz2

                        dst = bz2.BZ2File(fh, "wb")
                    else:
                        dst = None
                    if dst is None:
                        shutil.copyfileobj(raw, fh, 1 << 20)
                    else:
                        with dst:
                            shutil.copyfileobj(raw, dst, 1 << 20)
            os.replace(tmp, out)
        finally:
            raw.close()
            for p in (raw_path, tmp):
                if os.path.exists(p):
                    os.unlink(p)

    return tar, finish


# ------------------------------------------------------------------------------------------
# builders
# ------------------------------------------------------------------------------------------

def build_busybox_template(output=None, ostype="debian", hostname="pvesim", init="script", busybox=None):
    """Build a busybox LXC template; returns its path.  See the module docstring."""
    if ostype not in ("debian", "alpine", "unmanaged"):
        raise TemplateError("unsupported ostype '%s' for a busybox template (debian, alpine, unmanaged)" % ostype)
    if init not in ("script", "busybox"):
        raise TemplateError("init must be 'script' or 'busybox'")
    bb = busybox or find_static_busybox()
    if not _is_static_elf(bb):
        raise TemplateError("'%s' is not a statically linked executable" % bb)
    version = busybox_version(bb)
    if output is None:
        output = os.path.join(os.getcwd(), "%s-pvesim-busybox_%s-1_%s.tar.gz" % (ostype, version, host_arch()))
    tar, finish = _open_output(output)
    w = _TarWriter(tar)
    w.dir("")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc/network/if-up.d", "etc/network/if-pre-up.d",
              "etc/network/if-down.d", "etc/network/if-post-down.d", "dev", "proc", "sys", "run", "var/log",
              "var/run", "root", "home", "mnt", "usr/share/udhcpc", "etc/init.d"):
        w.dir(d, 0o700 if d == "root" else 0o755)
    w.dir("tmp", 0o1777)
    with open(bb, "rb") as fh:
        w.file("bin/busybox", fh.read(), 0o755)
    for applet in busybox_applets(bb):
        if applet in ("bin/busybox",) or (init == "script" and applet == "sbin/init"):
            continue
        depth = applet.count("/")
        w.symlink(applet, "busybox" if applet.startswith("bin/") else "../" * depth + "bin/busybox")
    if init == "script":
        w.file("sbin/init", INIT_SCRIPT, 0o755)
    else:
        w.file("etc/inittab", INITTAB)
    w.file("etc/hostname", hostname + "\n")
    w.file("etc/hosts", "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n127.0.1.1 %s\n" % hostname)
    w.file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    w.file("etc/group", "root:x:0:\nnogroup:x:65534:\n")
    w.file("etc/shadow", "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640)
    w.file("etc/shells", "/bin/sh\n/bin/ash\n")
    w.file("etc/resolv.conf", "")
    w.file("etc/network/interfaces", "auto lo\niface lo inet loopback\n")
    w.file("usr/share/udhcpc/default.script", _UDHCPC_SCRIPT, 0o755)
    w.file("etc/profile", "export PATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\h:\\w\\$ '\n")
    if ostype == "debian":
        w.file("etc/debian_version", "12.0\n")
        w.file("etc/os-release", 'PRETTY_NAME="pvesim busybox %s (Debian 12 compatible)"\nNAME="pvesim busybox"\n'
                                 'VERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
                                 'HOME_URL="https://busybox.net/"\n' % version)
    elif ostype == "alpine":
        w.file("etc/alpine-release", "3.20.0\n")
        w.file("etc/os-release", 'NAME="pvesim busybox"\nID=alpine\nVERSION_ID=3.20.0\n'
                                 'PRETTY_NAME="pvesim busybox %s (Alpine compatible)"\n' % version)
    else:
        w.file("etc/os-release", 'NAME="pvesim busybox"\nID=pvesim\nPRETTY_NAME="pvesim busybox %s"\n' % version)
    finish()
    return Path(output)


_UDHCPC_SCRIPT = """#!/bin/sh
# minimal udhcpc event script (pvesim busybox template)
[ -n "$1" ] || exit 1
case "$1" in
    deconfig) ip addr flush dev "$interface" 2>/dev/null; ip link set "$interface" up ;;
    bound|renew)
        ip addr flush dev "$interface" 2>/dev/null
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface" 2>/dev/null
        if [ -n "$dns" ]; then : >/etc/resolv.conf; for s in $dns; do echo "nameserver $s" >>/etc/resolv.conf; done; fi ;;
esac
exit 0
"""


def build_debootstrap_template(output, suite="bookworm", mirror=None, variant="minbase", include=None, init="script"):
    """Build a Debian template with debootstrap (needs root and a reachable Debian mirror).

    ``minbase`` has no init system: ``init="script"`` installs pvesim's small shell init as
    ``/sbin/init`` (stops on SIGPWR like the busybox template), ``init="systemd"`` adds
    ``systemd-sysv`` as real PVE templates have.
    """
    if init not in ("script", "systemd"):
        raise TemplateError("init must be 'script' or 'systemd'")
    include = list(include or [])
    if init == "systemd" and "systemd-sysv" not in include:
        include.append("systemd-sysv")
    debootstrap = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap") else None)
    if not debootstrap:
        raise TemplateError("debootstrap is not installed")
    if mirror is None:
        mirror = _apt_mirror() or "http://deb.debian.org/debian"
    with tempfile.TemporaryDirectory(prefix="pvesim-debootstrap-") as tmp:
        root = os.path.join(tmp, "rootfs")
        argv = [debootstrap, "--variant=%s" % variant]
        if include:
            argv.append("--include=%s" % ",".join(include))
        argv += [suite, root, mirror]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise TemplateError("debootstrap failed (%d): %s" % (proc.returncode, (proc.stderr or proc.stdout)[-2000:]))
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            p = os.path.join(root, sub)
            for entry in os.listdir(p) if os.path.isdir(p) else []:
                fp = os.path.join(p, entry)
                if os.path.isfile(fp):
                    os.unlink(fp)
        with open(os.path.join(root, "etc/hostname"), "w", encoding="ascii") as fh:
            fh.write("debian\n")
        if init == "script":
            init_path = os.path.join(root, "sbin", "init")
            if os.path.lexists(init_path):
                os.unlink(init_path)
            with open(init_path, "w", encoding="ascii") as fh:
                fh.write(INIT_SCRIPT)
            os.chmod(init_path, 0o755)
        tar, finish = _open_output(output)
        tar.add(root, arcname=".", recursive=True)
        finish()
    return Path(output)


def _apt_mirror():
    """The host's Debian mirror (a ``.../debian`` URI from the apt sources), or None."""
    cands = []
    for path in ["/etc/apt/sources.list"] + sorted(
            os.path.join("/etc/apt/sources.list.d", n) for n in (os.listdir("/etc/apt/sources.list.d")
                                                                 if os.path.isdir("/etc/apt/sources.list.d") else [])):
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        cands += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
        cands += re.findall(r"^URIs:\s*(\S+)", text, re.M)
    for uri in cands:
        if uri.rstrip("/").endswith("/debian"):
            return uri
    return None


# ------------------------------------------------------------------------------------------
# catalogue (aplinfo) and storage
# ------------------------------------------------------------------------------------------

def mirror_dir(state):
    """The simulated download.proxmox.com/images tree (index + files)."""
    return state.host_path("/var/lib/pvesim/apl-mirror")


def aplinfo_dir(state):
    """Where ``pveam update`` stores the indices (PVE: /var/lib/pve-manager/apl-info)."""
    return state.host_path("/var/lib/pve-manager/apl-info")


def file_hash(path, algo="sha512"):
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_template_name(name):
    """``<os>-<package>_<version>_<arch>.<ext>`` -> dict (best effort)."""
    base = TEMPLATE_EXT_RE.sub("", os.path.basename(name))
    m = re.match(r"^(([a-z]+)(-\d+(?:\.\d+)*)?-[^_]+)_([^_]+)_([^_]+)$", base)
    if m:
        return {"os": m.group(2) + (m.group(3) or ""), "package": m.group(1), "version": m.group(4),
                "architecture": m.group(5)}
    return {"os": "debian", "package": base, "version": "1.0-1", "architecture": host_arch()}


def add_to_catalogue(state, path, section="system", os_name=None, package=None, version=None, headline=None,
                     description=None, architecture=None, infopage=None):
    """Copy ``path`` into the simulated mirror and add/replace its aplinfo record; returns the template name."""
    path = Path(path)
    if not TEMPLATE_EXT_RE.search(path.name):
        raise TemplateError("'%s' does not end in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2" % path.name)
    info = parse_template_name(path.name)
    os_name = os_name or info["os"]
    package = package or info["package"]
    version = version or info["version"]
    architecture = architecture or info["architecture"]
    mdir = mirror_dir(state)
    dest = mdir / section / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    if path.resolve() != dest.resolve():
        shutil.copyfile(str(path), str(dest))
    record = {
        "Package": package,
        "Version": version,
        "Type": "lxc",
        "OS": os_name,
        "Section": section,
        "Maintainer": "pvesim <pvesim@localhost>",
        "Architecture": architecture,
        "Location": "%s/%s" % (section, path.name),
        "Infopage": infopage or "https://pve.proxmox.com/wiki/Linux_Container",
        "ManageUrl": "",
        "sha512sum": file_hash(dest, "sha512"),
    }
    index = mdir / APL_INDEX_NAME
    records = [r for r in _read_records(index) if r.get("Location") != record["Location"]]
    head = headline or "%s %s (pvesim local template)" % (package, version)
    body = description or "Template built locally for the pvesim Proxmox VE simulator."
    records.append(dict(record, Description=head, _long=body))
    _write_records(index, records)
    return path.name


def _read_records(index):
    try:
        text = Path(index).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    records = []
    for block in re.split(r"\n\s*\n", text):
        rec = {}
        last = None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and last == "Description":
                rec["_long"] = (rec.get("_long", "") + " " + line.strip()).strip()
                continue
            m = re.match(r"^([^:]+):\s*(.*)$", line)
            if m:
                last = m.group(1)
                rec[last] = m.group(2)
        if rec:
            records.append(rec)
    return records


def _write_records(index, records):
    keys = ("Package", "Version", "Type", "OS", "Section", "Maintainer", "Architecture", "Location", "Infopage",
            "ManageUrl", "sha512sum")
    out = []
    for rec in records:
        lines = ["%s: %s" % (k, rec[k]) for k in keys if rec.get(k) not in (None, "")]
        lines += ["%s: %s" % (k, v) for k, v in rec.items() if k not in keys and k not in ("Description", "_long")]
        lines.append("Description: %s" % rec.get("Description", ""))
        if rec.get("_long"):
            lines.append(" %s" % rec["_long"])
        out.append("\n".join(lines))
    Path(index).parent.mkdir(parents=True, exist_ok=True)
    Path(index).write_text("\n\n".join(out) + "\n", encoding="utf-8")


def install_template(state, path, storage="local", name=None):
    """Copy a template straight into ``<storage>:vztmpl/`` (no catalogue); returns the volume id."""
    scfg = state.storage_config().get(storage)
    if scfg is None:
        raise TemplateError("storage '%s' does not exist" % storage)
    if "vztmpl" not in [c.strip() for c in scfg.get("content", "").split(",")]:
        raise TemplateError("storage '%s' does not support templates" % storage)
    name = name or os.path.basename(str(path))
    dest = state.template_cache_dir(storage) / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(str(path), str(dest))
    return "%s:vztmpl/%s" % (storage, name)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

def _parser():
    p = argparse.ArgumentParser(prog="pvesim template", description="Build and publish LXC templates for pvesim.")
    sub = p.add_subparsers(dest="cmd")
    b = sub.add_parser("build", help="build a template tarball")
    kind = b.add_mutually_exclusive_group()
    kind.add_argument("--busybox", action="store_true", help="busybox-static based template (default)")
    kind.add_argument("--debootstrap", action="store_true", help="minimal Debian via debootstrap (needs a mirror)")
    b.add_argument("--output", "-o", help="output file (.tar, .tar.gz, .tar.xz, .tar.zst); default: ./<name>")
    b.add_argument("--ostype", default="debian", choices=("debian", "alpine", "unmanaged"))
    b.add_argument("--hostname", default="pvesim")
    b.add_argument("--init", default="script", choices=("script", "busybox", "systemd"),
                   help="busybox: script or busybox init; debootstrap: script or systemd (default script)")
    b.add_argument("--suite", default="bookworm")
    b.add_argument("--mirror")
    b.add_argument("--add", action="store_true", help="also add it to the catalogue of --state-dir")
    b.add_argument("--install", action="store_true", help="also copy it into --storage of --state-dir")
    b.add_argument("--storage", default="local")
    b.add_argument("--state-dir")
    a = sub.add_parser("add", help="add a template file to the pveam catalogue (then: pveam update / available)")
    a.add_argument("file")
    a.add_argument("--state-dir")
    a.add_argument("--section", default="system", choices=("system", "mail", "turnkeylinux"))
    a.add_argument("--os")
    a.add_argument("--package")
    a.add_argument("--version")
    i = sub.add_parser("install", help="copy a template file into a storage's vztmpl directory")
    i.add_argument("file")
    i.add_argument("--state-dir")
    i.add_argument("--storage", default="local")
    return p


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "build":
            if args.debootstrap:
                out = args.output or os.path.join(os.getcwd(), "debian-12-pvesim-minbase_12.0-1_%s.tar.gz" % host_arch())
                path = build_debootstrap_template(out, suite=args.suite, mirror=args.mirror,
                                                  init="systemd" if args.init == "systemd" else "script")
            else:
                if args.init == "systemd":
                    raise TemplateError("--init systemd is only for --debootstrap")
                path = build_busybox_template(args.output, ostype=args.ostype, hostname=args.hostname, init=args.init)
            print(path)
            if args.add or args.install:
                from .state import State

                st = State.locate(args.state_dir)
                if args.add:
                    print("added %s to the catalogue (run 'pveam update')" % add_to_catalogue(st, path))
                if args.install:
                    print(install_template(st, path, storage=args.storage))
            return 0
        if args.cmd in ("add", "install"):
            from .state import State

            st = State.locate(args.state_dir)
            if args.cmd == "add":
                name = add_to_catalogue(st, args.file, section=args.section, os_name=args.os, package=args.package,
                                        version=args.version)
                print("added %s to the catalogue (run 'pveam update')" % name)
            else:
                print(install_template(st, args.file, storage=args.storage))
            return 0
    except Exception as exc:
        sys.stderr.write("pvesim template: %s\n" % exc)
        return 1
    _parser().print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
