# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Simulated storages (PVE::Storage subset): volume ids, allocation, templates, content.

Every storage is backed by a directory (``State.storage_base_path``).  A container volume is
a *directory* holding the CT's root filesystem (in ``lxc`` mode the template is unpacked
there); its nominal size lives next to it in ``<volume>.pvesim-size``.  Volume names follow
PVE: ``dir`` -> ``<vmid>/vm-<vmid>-disk-<n>.raw`` (``subvol-...subvol`` for size 0) under
``images/``, ``lvmthin``/``lvm``/``rbd`` -> ``vm-<vmid>-disk-<n>``, ``zfspool``/``btrfs`` ->
``subvol-<vmid>-disk-<n>``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from .handlers import PVEError

TEMPLATE_EXT_RE = re.compile(r"\.(tar|tar\.gz|tar\.xz|tar\.zst|tar\.bz2|tgz)$", re.I)
NEW_DISK_RE = re.compile(r"^(([^:\s]+):)?(\d+(\.\d+)?)$")
FILE_TYPES = ("dir", "nfs", "cifs", "cephfs", "glusterfs", "btrfs")
SIZE_SUFFIX = ".pvesim-size"


def content_set(scfg):
    return {c for c in (scfg.get("content") or "").split(",") if c}


def parse_volume_id(volid):
    m = re.match(r"^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$", volid, re.I)
    if not m:
        raise PVEError("unable to parse volume ID '%s'" % volid)
    return m.group(1), m.group(2)


def storage_check_enabled(state, storeid, node=None):
    cfg = state.storage_config()
    scfg = cfg.get(storeid)
    if scfg is None:
        raise PVEError("storage '%s' does not exist" % storeid)
    if scfg.get("disable") in ("1", 1):
        raise PVEError("storage '%s' is disabled" % storeid)
    nodes = scfg.get("nodes")
    if nodes and (node or state.node) not in [n for n in re.split(r"[,;\s]+", nodes) if n]:
        raise PVEError("storage '%s' is not available on node '%s'" % (storeid, node or state.node))
    return scfg


# PVE::Storage's extension patterns (``Storage.pm``: ISO_EXT_RE_0, VZTMPL_EXT_RE_1, BACKUP_EXT_RE_2)
_ISO_EXT = r"\.(?:iso|img)"
_VZTMPL_EXT = r"\.(?:tar(?!\.)|tar\.(?:gz|xz|zst|bz2))"
_BACKUP_EXT = r"\.(?:tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?)"
# Plugin.pm ``parse_volname``: (pattern, vtype, subdirectory of the storage path)
_FILE_VOLNAMES = (
    (re.compile(r"^iso/([^/]+%s)\Z" % _ISO_EXT, re.I), "iso", "template/iso"),
    (re.compile(r"^vztmpl/([^/]+%s)\Z" % _VZTMPL_EXT, re.I), "vztmpl", "template/cache"),
    (re.compile(r"^backup/([^/]+%s)\Z" % _BACKUP_EXT), "backup", "dump"),
    (re.compile(r"^snippets/([^/]+)\Z"), "snippets", "snippets"),
)
# per storage type: the volume-name pattern of its plugin's parse_volname and its error text
_BLOCK_VOLNAMES = {
    "lvmthin": (re.compile(r"^((vm|base)-(\d+)-\S+)\Z"), "unable to parse lvm volume name '%s'"),   # LvmThinPlugin.pm
    "lvm": (re.compile(r"^(vm-(\d+)-\S+)\Z"), "unable to parse lvm volume name '%s'"),              # LVMPlugin.pm
    "zfspool": (re.compile(r"^(((base|basevol)-(\d+)-\S+)/)?((base|basevol|vm|subvol)-(\d+)-\S+)\Z"),
                "unable to parse zfs volume name '%s'"),                                               # ZFSPoolPlugin.pm
    "rbd": (re.compile(r"^((base-(\d+)-\S+)/)?((base)?(vm)?-(\d+)-\S+)\Z"), "unable to parse rbd volume name '%s'"),
}
_LVM_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9\-_.]*[a-z0-9]\Z", re.I)


def _parse_name_dir(name: str) -> None:
    """Plugin.pm ``parse_name_dir``: the file name of an ``images`` volume."""
    if re.match(r"^snap-.*\.qcow2\Z", name):
        raise PVEError("'%s' is a snapshot filename, not a volume!" % name)
    if not re.match(r"^(base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol)\Z", name):
        raise PVEError("unable to parse volume filename '%s'" % name)


def parse_volname(stype: str, volname: str) -> tuple[str, str]:
    """The storage plugin's ``parse_volname`` for a storage of type ``stype``: ``(vtype,
    relative path inside the storage directory)``, with PVE's error for a name it rejects."""
    if stype in _BLOCK_VOLNAMES:
        if stype in ("lvm", "lvmthin") and not _LVM_NAME_RE.match(volname):
            raise PVEError("lvm name '%s' contains illegal characters" % volname)
        rx, msg = _BLOCK_VOLNAMES[stype]
        if not rx.match(volname):
            raise PVEError(msg % volname)
        return "images", volname
    m = re.match(r"^(\d+)/(\S+)\Z", volname)
    if m:
        _parse_name_dir(m.group(2))
        return "images", "images/%s/%s" % (m.group(1), m.group(2))
    for rx, vtype, subdir in _FILE_VOLNAMES:
        m = rx.match(volname)
        if m:
            return vtype, "%s/%s" % (subdir, m.group(1))
    raise PVEError("unable to parse directory volume name '%s'" % volname)


def volume_path(state, volid):
    """Host path (mapped) of a volume; ``(path, vtype)`` with vtype images/vztmpl/iso/backup/snippets.

    The name is checked as the storage's plugin does, and the path must stay inside the
    storage's directory (a ZFS dataset name may hold ``..``, a directory may not)."""
    storeid, volname = parse_volume_id(volid)
    scfg = state.storage_config().get(storeid)
    if scfg is None:
        raise PVEError("storage '%s' does not exist" % storeid)
    vtype, rel = parse_volname(scfg["type"], volname)
    base = state.storage_base_path(storeid, scfg)
    path = base / rel
    real_base = os.path.realpath(str(base))
    if os.path.commonpath([real_base, os.path.realpath(str(path))]) != real_base:
        raise PVEError("volume '%s' is not inside storage '%s'" % (volid, storeid))
    return path, vtype


def volume_owner(volid):
    try:
        _storeid, volname = parse_volume_id(volid)
    except PVEError:
        return None
    m = re.search(r"(?:^|/)(?:vm|base|subvol|basevol)-(\d+)-(?:disk-\d+|cloudinit)", volname)
    return int(m.group(1)) if m else None


def _existing_names(state, storeid, vmid):
    names = set()
    for v in list_volumes(state, storeid, vmid=vmid):
        names.add(v["volid"].split(":", 1)[1].split("/")[-1])
    return names


LVM_TYPES = ("lvm", "lvmthin")


def _next_disk_number(state, storeid, vmid):
    used = {re.sub(r"\.\w+$", "", n).split("-", 1)[1] for n in _existing_names(state, storeid, vmid)}
    n = 0
    while "%d-disk-%d" % (vmid, n) in used:
        n += 1
    return n


def alloc_disk(state, storeid, vmid, size_kib, log=None):
    """Allocate a new CT volume of ``size_kib`` KiB; returns the volid.  ``log(line)`` gets what
    the storage tool prints: on LVM/LVM-thin ``lvcreate``'s line (pve-storage LVMPlugin.pm /
    LvmThinPlugin.pm ``alloc_image`` run it without an output handler, so it reaches STDOUT)."""
    scfg = storage_check_enabled(state, storeid)
    stype = scfg["type"]
    n = _next_disk_number(state, storeid, vmid)
    if stype in FILE_TYPES:
        if size_kib == 0 or stype == "btrfs":
            volname = "%d/subvol-%d-disk-%d.subvol" % (vmid, vmid, n)
        else:
            volname = "%d/vm-%d-disk-%d.raw" % (vmid, vmid, n)
    elif stype in ("zfspool",):
        volname = "subvol-%d-disk-%d" % (vmid, n)
    else:
        volname = "vm-%d-disk-%d" % (vmid, n)
    volid = "%s:%s" % (storeid, volname)
    path, _vtype = volume_path(state, volid)
    path.mkdir(parents=True, exist_ok=False)
    set_volume_size(path, size_kib * 1024)
    if log is not None and stype in LVM_TYPES:
        log('  Logical volume "%s" created.' % volname)
    return volid


def alloc_image(state, storeid, vmid, size_kib, fmt=None, name=None, log=None):
    """Allocate a VM disk image (a file: QEMU opens it in the real mode); returns the volid.

    pve-storage ``vdisk_alloc``: ``vm-<vmid>-disk-<n>`` (or ``name``, e.g. ``vm-<vmid>-cloudinit``)
    with the format's extension on directory storages (``fmt`` default ``raw``, Plugin.pm
    ``default_format``); block storages only take raw.  A qcow2 image is made with ``qemu-img``."""
    scfg = storage_check_enabled(state, storeid)
    stype = scfg["type"]
    fmt = fmt or "raw"
    if stype not in FILE_TYPES and fmt != "raw":
        raise PVEError("unsupported format '%s'" % fmt)
    base = name or "vm-%d-disk-%d" % (vmid, _next_disk_number(state, storeid, vmid))
    volname = "%d/%s.%s" % (vmid, base, fmt) if stype in FILE_TYPES else base
    volid = "%s:%s" % (storeid, volname)
    path, _vtype = volume_path(state, volid)
    if path.exists():
        raise PVEError("disk image '%s' already exists" % path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "qcow2":
        proc = subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "%dK" % size_kib],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0:
            raise PVEError("unable to create image: %s" % proc.stdout.decode(errors="replace").strip())
    else:
        with open(str(path), "wb") as fh:
            fh.truncate(size_kib * 1024)
    set_volume_size(path, size_kib * 1024)
    if log is not None and stype in LVM_TYPES:
        log('  Logical volume "%s" created.' % volname)
    return volid


SNAPSHOT_TYPES = ("lvmthin", "zfspool", "btrfs", "rbd")
SNAP_INFIX = ".pvesim-snap-"


def volume_has_feature(state, feature, volid):
    """PVE::Storage::volume_has_feature subset: snapshots on lvmthin/zfspool/btrfs/rbd only."""
    try:
        storeid, _volname = parse_volume_id(volid)
    except PVEError:
        return False
    scfg = state.storage_config().get(storeid)
    if scfg is None:
        return False
    if feature in ("snapshot", "clone", "template"):
        return scfg["type"] in SNAPSHOT_TYPES
    return False


def _snap_path(state, volid, snap):
    path, _vtype = volume_path(state, volid)
    return path, path.parent / (path.name + SNAP_INFIX + snap)


def volume_snapshot(state, volid, snap):
    path, sp = _snap_path(state, volid, snap)
    if not path.exists():
        raise PVEError("volume '%s' does not exist" % volid)
    if sp.exists():
        _force_rmtree(sp)
    proc = subprocess.run(["cp", "-a", "--reflink=auto", str(path), str(sp)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise PVEError("snapshot of volume '%s' failed: %s" % (volid, proc.stdout.decode(errors="replace").strip()))


def volume_snapshot_delete(state, volid, snap):
    _path, sp = _snap_path(state, volid, snap)
    if sp.exists():
        _force_rmtree(sp)


def volume_rollback_is_possible(state, volid, snap):
    return True


def volume_snapshot_rollback(state, volid, snap):
    path, sp = _snap_path(state, volid, snap)
    if not sp.exists():
        raise PVEError("snapshot '%s' of volume '%s' does not exist" % (snap, volid))
    if path.exists():
        _force_rmtree(path)
    proc = subprocess.run(["cp", "-a", "--reflink=auto", str(sp), str(path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise PVEError("rollback of volume '%s' failed: %s" % (volid, proc.stdout.decode(errors="replace").strip()))


def create_base(state, volid):
    """vdisk_create_base: rename vm-/subvol- volumes to base-/basevol-; returns the new volid."""
    storeid, volname = parse_volume_id(volid)
    m = re.match(r"^(.*?)(vm|subvol)-(\d+-disk-\d+.*)$", volname)
    if not m:
        raise PVEError("Template feature is not available for '%s'" % volid)
    newname = m.group(1) + ("base" if m.group(2) == "vm" else "basevol") + "-" + m.group(3)
    newid = "%s:%s" % (storeid, newname)
    old, _vtype = volume_path(state, volid)
    new, _vtype = volume_path(state, newid)
    os.rename(str(old), str(new))
    if os.path.exists(str(old) + SIZE_SUFFIX):
        os.rename(str(old) + SIZE_SUFFIX, str(new) + SIZE_SUFFIX)
    return newid


def copy_volume_data(src, dst):
    """Copy a volume's content (a directory tree, or a VM's image file) into a freshly allocated volume."""
    if os.path.isfile(str(src)) and os.path.isfile(str(dst)):
        proc = subprocess.run(["cp", "--reflink=auto", "--sparse=always", str(src), str(dst)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0:
            raise PVEError("copy failed: %s" % proc.stdout.decode(errors="replace").strip())
        return
    if not os.path.isdir(str(src)):
        raise PVEError("volume data '%s' missing" % src)
    proc = subprocess.run(["cp", "-a", "--reflink=auto", str(src) + "/.", str(dst)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        raise PVEError("copy failed: %s" % proc.stdout.decode(errors="replace").strip())


def set_volume_size(path, size):
    with open(str(path) + SIZE_SUFFIX, "w") as fh:
        fh.write("%d\n" % int(size))


def volume_size(state, volid):
    path, _vtype = volume_path(state, volid)
    try:
        with open(str(path) + SIZE_SUFFIX) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        if path.is_file():
            return path.stat().st_size
        return None


def volume_exists(state, volid):
    try:
        path, _vtype = volume_path(state, volid)
    except PVEError:
        return False
    return path.exists()


def _force_rmtree(path):
    def onerror(func, p, exc):
        try:
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass
    shutil.rmtree(str(path), onerror=onerror)


def free_volume(state, volid, log=None):
    """Remove a volume with its snapshots.  ``log(line)`` gets ``lvremove``'s lines on LVM-thin
    (LvmThinPlugin.pm ``free_image``: the snapshots first, then the volume) and on thick LVM
    (LVMPlugin.pm ``free_lvm_volumes_locked`` without ``saferemove``: one ``lvremove -f`` in the
    caller's task; thick LVM volumes have no snapshots here)."""
    path, _vtype = volume_path(state, volid)
    storeid, volname = parse_volume_id(volid)
    lvm = (state.storage_config().get(storeid) or {}).get("type") in LVM_TYPES
    if log is not None and lvm and path.parent.is_dir():
        for snap in sorted(path.parent.glob(path.name + SNAP_INFIX + "*")):
            log('  Logical volume "snap_%s_%s" successfully removed.' % (volname, snap.name.split(SNAP_INFIX, 1)[1]))
    existed = path.exists() or path.is_symlink()
    if path.is_dir() and not path.is_symlink():
        _force_rmtree(path)
    elif existed:
        path.unlink()
    sp = str(path) + SIZE_SUFFIX
    if os.path.exists(sp):
        os.unlink(sp)
    if path.parent.is_dir():
        for snap in path.parent.glob(path.name + SNAP_INFIX + "*"):
            _force_rmtree(snap)
    if log is not None and lvm and existed:
        log('  Logical volume "%s" successfully removed.' % volname)
    parent = path.parent
    if parent.name.isdigit() and parent.parent.name == "images":
        try:
            parent.rmdir()
        except OSError:
            pass


def free_owned_volumes(state, vmid, volids, log=None):
    """``destroy_vm``'s loop: free each volume of ``volids`` that ``vmid`` owns and that exists
    (a volume of another guest, such as a linked clone's base, stays)."""
    for volid in sorted(set(volids)):
        if volume_owner(volid) != int(vmid):
            continue
        try:
            if volume_exists(state, volid):
                free_volume(state, volid, log=log)
        except PVEError:
            continue


def _tmpl_format(name):
    low = name.lower()
    for ext, fmt in ((".tar.gz", "tgz"), (".tgz", "tgz"), (".tar.zst", "tzst"), (".tar.xz", "txz"), (".tar.bz2", "tbz2"), (".tar", "tar")):
        if low.endswith(ext):
            return fmt
    return "raw"


def list_volumes(state, storeid, content=None, vmid=None):
    """Storage content entries as ``GET /nodes/{node}/storage/{storage}/content`` returns them."""
    scfg = state.storage_config().get(storeid)
    if scfg is None:
        raise PVEError("storage '%s' does not exist" % storeid)
    base = state.storage_base_path(storeid, scfg)
    cset = content_set(scfg)
    out = []
    if (content in (None, "vztmpl")) and "vztmpl" in cset and vmid is None:
        d = base / "template" / "cache"
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.is_file() and TEMPLATE_EXT_RE.search(f.name) and not f.name.startswith("."):
                    st = f.stat()
                    out.append({"volid": "%s:vztmpl/%s" % (storeid, f.name), "content": "vztmpl", "format": _tmpl_format(f.name),
                                "size": st.st_size, "ctime": int(st.st_mtime)})
    if (content in (None, "iso")) and "iso" in cset and vmid is None:
        d = base / "template" / "iso"
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.is_file() and f.name.lower().endswith((".iso", ".img")):
                    st = f.stat()
                    out.append({"volid": "%s:iso/%s" % (storeid, f.name), "content": "iso", "format": "iso", "size": st.st_size,
                                "ctime": int(st.st_mtime)})
    if content in (None, "images", "rootdir") and (cset & {"images", "rootdir"}):
        cands = []
        if scfg["type"] in FILE_TYPES:
            d = base / "images"
            if d.is_dir():
                for sub in sorted(d.iterdir()):
                    if sub.is_dir() and sub.name.isdigit():
                        for f in sorted(sub.iterdir()):
                            if not f.name.endswith(SIZE_SUFFIX) and SNAP_INFIX not in f.name:
                                cands.append(("%s:%s/%s" % (storeid, sub.name, f.name), f))
        elif base.is_dir():
            for f in sorted(base.iterdir()):
                if re.match(r"^(vm|base|subvol|basevol)-\d+-(disk-\d+|cloudinit)$", f.name):
                    cands.append(("%s:%s" % (storeid, f.name), f))
        for volid, f in cands:
            owner = volume_owner(volid)
            if vmid is not None and owner != int(vmid):
                continue
            fmt = "subvol" if "subvol-" in f.name else ("qcow2" if f.name.endswith(".qcow2") else "raw")
            ent = {"volid": volid, "format": fmt, "size": volume_size(state, volid) or 0, "vmid": owner,
                   "content": "rootdir" if content == "rootdir" or "images" not in cset else "images",
                   "ctime": int(f.stat().st_mtime) if f.exists() else int(time.time())}
            out.append(ent)
    return out


def storage_status(state, storeid, scfg):
    base = state.storage_base_path(storeid, scfg)
    try:
        base.mkdir(parents=True, exist_ok=True)
        st = os.statvfs(str(base))
        total = st.f_blocks * st.f_frsize
        avail = st.f_bavail * st.f_frsize
        used = total - st.f_bfree * st.f_frsize
        active = 1
    except OSError:
        total = avail = used = 0
        active = 0
    return {"storage": storeid, "type": scfg["type"], "content": ",".join(sorted(content_set(scfg))),
            "total": total, "used": used, "avail": avail, "active": active, "enabled": 0 if scfg.get("disable") in ("1", 1) else 1,
            "shared": 1 if scfg.get("shared") in ("1", 1) else 0,
            "used_fraction": (float(used) / total) if total else 0}
