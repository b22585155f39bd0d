# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Restoring a CT from a vzdump archive: ``pct restore``, ``pct create --restore 1`` and
``POST /nodes/{node}/lxc`` with ``restore=1``.

The create handler (``pvesim.lxc_api.create_vm``) does the checks both share and calls in here
for what only a restore does, as pve-container's ``API2/LXC.pm`` ``create_vm`` branches on
``$restore``: the overwrite of an existing CT (``--force``), the ``VM.Backup`` permission path,
and the ``vzrestore`` task, which follows ``LXC/Create.pm``: ``recover_config`` (the archive's
``./etc/vzdump/pct.conf``), the volumes re-allocated with the backed-up sizes, the old CT's
volumes freed, ``restore_archive`` (tar), ``restore_configuration`` (the backed-up config merged
under the given options, ``pct.fw`` to ``/etc/pve/firewall/<vmid>.fw``) and the OS checks of
``PVE::LXC::Setup->new``.

An archive is what pve-container's ``VZDump/LXC.pm`` ``archive`` writes: a tar (optionally
compressed) holding ``./etc/vzdump/pct.conf``, ``./etc/vzdump/pct.fw`` and the root filesystem.
The lxc mode extracts it into the new rootfs; the state mode reads only the members it needs.
pvesim has no PBS or backup-provider storages; OpenVZ (``vps.conf``) archives and a restore from
STDIN are refused with a ``pvesim:`` message.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import lxc_api as ct
from . import storage
from .auth import AuthStore
from .backend import get_backend, read_in_root, resolve_in_root
from .config import lxc_configs, parse_config
from .handlers import PVEError, perm_error
from .lxcschema import net_with_new_mac, parse_size, parse_volume, print_volume
from .tasks import TaskFailed, Worker, fork_worker

# Storage.pm recover_config_from_tar's pattern (not anchored at the start)
_CONFIG_MEMBER_RE = re.compile(r"(\./etc/vzdump/(pct|vps)\.conf)$")
_FIREWALL_MEMBER = "./etc/vzdump/pct.fw"
# Create.pm tar_compression_option: the compressions GNU tar is told about
_TAR_COMPRESSIONS = (".gz", ".bz2", ".xz", ".lzo", ".zst")
# sanitize_and_merge_config: never taken from the backup
_NOT_MERGED = ("digest", "rootfs", "snapshots", "unprivileged", "parent", "template")


# --------------------------------------------------------------------------------------------
# before the task (create_vm with $restore)
# --------------------------------------------------------------------------------------------

def check_overwrite(env, vmid: int) -> None:
    """``--force 1`` over an existing CT: not while it runs, never a protected one."""
    if get_backend(env.state).is_running(vmid):
        raise PVEError("can't overwrite running container")
    ct.check_protection(ct.load_config(env, vmid), "unable to restore CT %d" % vmid)


def backup_permission(env, vmid: int, unprivileged) -> None:
    """The third way to the create permission: ``VM.Backup`` on an existing CT being overwritten.
    A change to privileged asked for explicitly then also needs ``Sys.Modify`` on ``/``."""
    if not env.check_perm("/vms/%d" % vmid, ["VM.Backup"], noerr=True):
        raise perm_error()
    old = ct.load_config(env, vmid)
    if str(old.get("unprivileged", "0")) == "1" and unprivileged is not None and not unprivileged:
        env.check_perm("/", ["Sys.Modify"])


def backup_display_path(scfg: dict, name: str) -> str:
    """The archive's path on a node: ``<storage path>/dump/<name>`` (Plugin.pm get_subdir)."""
    return "%s/dump/%s" % ((scfg.get("path") or "/var/lib/vz").rstrip("/"), name)


# --------------------------------------------------------------------------------------------
# reading an archive
# --------------------------------------------------------------------------------------------

def _tar_member(archive: Path, member: str) -> bytes:
    """``tar -xpOf <archive> <member> --occurrence``: the member's content (empty for a link)."""
    proc = subprocess.run(["tar", "-xpOf", str(archive), member, "--occurrence"], capture_output=True, check=False)
    if proc.returncode != 0:
        raise PVEError("command 'tar -xpOf %s %s --occurrence' failed: exit code %d" % (archive, member, proc.returncode))
    return proc.stdout


def _config_member(archive: Path) -> str:
    """Storage.pm ``extract_vzdump_config_tar``: the first listed member naming the config."""
    proc = subprocess.run(["tar", "tf", str(archive)], capture_output=True, check=False)
    for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        m = _CONFIG_MEMBER_RE.search(line)
        if m:
            return m.group(1)
    raise PVEError("ERROR: archive contains no configuration file")


def recover_config(archive: Path, vmid: int, log: Callable[[str], None]) -> tuple[dict, dict]:
    """Create.pm ``recover_config`` (``recover_config_from_tar``): the backed-up config without
    its snapshots, and its rootfs/mpN entries."""
    member = _config_member(archive)
    if member.endswith("vps.conf"):
        raise PVEError("pvesim: restoring an OpenVZ backup (vps.conf) is not simulated")
    raw = _tar_member(archive, member).decode("utf-8", "surrogateescape")
    conf = parse_config(raw, vmid=vmid, warn=log)
    conf.pop("snapshots", None)
    mp_param = {k: conf[k] for k in _mount_keys(conf)}
    return conf, mp_param


def _mount_keys(conf: dict) -> list[str]:
    """foreach_volume order: rootfs, mp0, mp1, ..."""
    keys = [k for k in conf if k == "rootfs" or re.match(r"^mp\d+$", k)]
    return sorted(keys, key=lambda k: -1 if k == "rootfs" else int(k[2:]))


def check_tar_name(path: str) -> None:
    """Create.pm ``tar_compression_option``: a restore needs ``.tar`` with a known compression."""
    m = re.search(r"\.tar(\.[^.]+)?$", path)
    if not m:
        raise PVEError("file does not look like a template archive: %s" % path)
    if m.group(1) and m.group(1) not in _TAR_COMPRESSIONS:
        raise PVEError("unrecognized compression format: %s" % m.group(1))


# --------------------------------------------------------------------------------------------
# the configuration
# --------------------------------------------------------------------------------------------

def _gib(size: int) -> str:
    """``$size / (1024*1024*1024)`` as Perl prints a number (15 significant digits)."""
    return "%.15g" % (size / 1024 ** 3)


def disks_from_backup(mp_param: dict, target: str, is_root: bool, log: Callable[[str], None]) -> tuple[dict, dict]:
    """create_vm, restore without ``rootfs``: every backed-up volume becomes a new one of its size
    on ``target``; bind and device mount points are set after the extraction (root only)."""
    if "rootfs" not in mp_param:
        raise PVEError("rootfs configuration could not be recovered, please check and specify manually!")
    volumes, delayed = {}, {}
    for key in _mount_keys(mp_param):
        mp = parse_volume(key, mp_param[key])
        if mp["type"] == "volume":
            size = mp.pop("size", None)
            if size is None:
                raise PVEError("unable to detect disk size - please specify %s (size)" % key)
            mp["volume"] = "%s:%s" % (target, _gib(parse_size(size) if isinstance(size, str) else int(size)))
            volumes[key] = print_volume(key, mp)
            continue
        if key == "rootfs":
            raise PVEError("restoring rootfs to %s mount is only possible by specifying -rootfs manually!" % mp["type"])
        if not is_root:
            raise PVEError("restoring '%s' to %s mount is only possible for root" % (key, mp["type"]))
        if str(mp.get("backup", "0")) == "1":
            log("WARNING - unsupported configuration!")
            log("backup was enabled for %s mount point %s ('%s')" % (mp["type"], key, mp.get("mp")))
            log("mount point configuration will be restored after archive extraction!")
            log("contained files will be restored to wrong directory!")
        delayed[key] = print_volume(key, mp)
    return volumes, delayed


def merge_config(worker: Worker, conf: dict, oldconf: dict, restricted: bool, unique: bool, mac_prefix: str) -> None:
    """Create.pm ``sanitize_and_merge_config``: what the caller gave wins; volumes, ``unusedN``
    and the template flag are never taken; ``--unique`` gives every backed-up NIC a new MAC."""
    for key in list(oldconf):
        if key in _NOT_MERGED or re.match(r"^(mp|unused)\d+$", key):
            continue
        if restricted and key == "features" and str(conf.get("unprivileged", "0")) != "1" \
                and str(oldconf.get("unprivileged", "0")) == "1":
            worker.log("changing from unprivileged to privileged, skipping features")
            continue
        if key == "lxc" and restricted:
            lines = ["skipping custom lxc options, restore manually as root:", "-" * 32]
            lines += ["%s: %s" % (k, v) for k, v in oldconf["lxc"]]
            worker.warn("\n".join(lines + ["-" * 32]))
            continue
        if unique and re.match(r"^net\d+$", key):
            conf[key] = net_with_new_mac(oldconf[key], mac_prefix)
            continue
        if conf.get(key) is None:
            conf[key] = oldconf[key]


# --------------------------------------------------------------------------------------------
# the task
# --------------------------------------------------------------------------------------------

@dataclass
class RestoreJob:
    """What create_vm has checked and prepared before it forks the ``vzrestore`` task."""

    vmid: int
    archive: str                      # as given: a volume id or an absolute path
    archive_path: Path                # where pvesim finds it
    archive_display: str              # where a node has it (the task's "extracting" line)
    conf: dict                        # the given options, through update_pct_config
    mp_param: dict                    # the given rootfs/mpN (empty: take the backup's)
    storage: str                      # --storage
    unprivileged: object              # --unprivileged as given (None: the backup's)
    same_ct_exists: bool
    skip_fw: bool                     # restored through VM.Backup only: keep the firewall config
    unique: bool = False
    ignore_unpack_errors: bool = False
    pool: str | None = None


def run_restore(env, job: RestoreJob, after: Callable[[Worker], None]) -> str:
    """Fork the ``vzrestore`` task; ``after(worker)`` runs once the CT is restored (start, HA)."""
    state = {"destroy_config_on_error": not job.same_ct_exists}
    emsg = "unable to restore CT %d -" % job.vmid

    def realcmd(worker: Worker) -> None:
        try:
            with ct.lock_config(env, job.vmid):
                _restore(env, job, worker, state, emsg)
        except BaseException:
            if not state["destroy_config_on_error"]:
                _remove_create_lock(env, job.vmid)
            raise
        after(worker)

    return fork_worker(env, "vzrestore", job.vmid, realcmd)


def _remove_create_lock(env, vmid: int) -> None:
    """AbstractConfig ``remove_lock``: an aborted overwrite leaves the old CT as it was."""
    with ct.lock_config(env, vmid):
        conf = ct.load_config(env, vmid)
        if conf.get("lock") != "create":
            raise PVEError("found lock '%s' trying to remove 'create' lock" % conf.get("lock"))
        conf.pop("lock")
        ct.write_config(env, vmid, conf)


def _restore(env, job: RestoreJob, worker: Worker, state: dict, emsg: str) -> None:
    st = env.state
    vmid, conf = job.vmid, job.conf
    backend = get_backend(st)
    old_conf = ct.load_config(env, vmid)
    vollist: list[str] = []
    fw_target = st.pve_path("firewall/%d.fw" % vmid)
    try:
        if backend.is_running(vmid):
            raise PVEError("can't overwrite running container")
        worker.log("recovering backed-up configuration from '%s'" % job.archive)
        archive = _existing_archive(job)
        orig_conf, orig_mp_param = recover_config(archive, vmid, worker.log)
        was_template = str(orig_conf.pop("template", "0")) == "1"
        if env.is_root_pam and orig_conf.get("lxc"):
            conf["lxc"] = orig_conf["lxc"]
        if job.unprivileged is None and orig_conf.get("unprivileged") is not None:
            conf["unprivileged"] = orig_conf["unprivileged"]
        privileged = str(conf.get("unprivileged", "0")) != "1"
        if privileged and (not job.same_ct_exists or str(old_conf.get("unprivileged", "0")) == "1"):
            env.check_perm("/", ["Sys.Modify"])
        delayed = {}
        mp_param = job.mp_param
        if not mp_param:
            mp_param, delayed = disks_from_backup(orig_mp_param, job.storage, env.is_root_pam, worker.log)
        state["destroy_config_on_error"] = True
        vollist = ct.create_disks(st, vmid, mp_param, conf, job.storage, worker.log)
        # `scalar(keys %$old_conf) > 1` holds for every parsed config (digest, pending, ...)
        _destroy_old_ct(env, backend, vmid, old_conf, worker)
        rootdir, _vtype = storage.volume_path(st, parse_volume("rootfs", conf["rootfs"])["volume"])
        unpriv = str(conf.get("unprivileged", "0")) == "1"
        worker.log("restoring '%s' now.." % job.archive)
        check_tar_name(job.archive_display)
        try:
            read = backend.populate_rootfs(worker, conf, vmid, rootdir, archive, job.archive_display, unpriv)
        except (PVEError, TaskFailed):  # restore_tar_archive: `die $err if $err && !$no_unpack_error`
            if not job.ignore_unpack_errors:
                raise
            read = (lambda rel: read_in_root(rootdir, rel)) if backend.mode == "lxc" else (lambda rel: None)
        if backend.mode == "lxc":
            _fill_mount_points(st, conf, rootdir)
        worker.log("merging backed-up and given configuration..")
        _restore_configuration(env, job, worker, backend, archive, rootdir, fw_target)
        _setup_checks(backend, conf, rootdir, archive, read, worker)
        conf["hostname"] = conf.get("hostname") or "CT%d" % vmid
        conf["memory"] = conf.get("memory") or "512"
        if conf.get("swap") is None:
            conf["swap"] = "512"
        conf.update(delayed)
        if was_template:
            worker.log("Convert restored container to template...")
            ct.template_create(st, conf)
            conf["template"] = "1"
        ct.write_config(env, vmid, conf)
    except BaseException as exc:
        for volid in vollist:
            with contextlib.suppress(Exception):
                storage.free_volume(st, volid, log=worker.log)
        if state["destroy_config_on_error"]:
            lxc_configs(st).remove(vmid)
            with contextlib.suppress(Exception):
                backend.destroy(vmid)
            if not job.skip_fw:
                with contextlib.suppress(FileNotFoundError):
                    fw_target.unlink()
        raise PVEError("%s %s" % (emsg, getattr(exc, "message", None) or str(exc))) from None
    if job.pool:
        AuthStore(st.pve_path("")).add_vm_to_pool(vmid, job.pool)


def _fill_mount_points(st, conf: dict, rootdir: Path) -> None:
    """PVE extracts with every mount point mounted (LXC.pm ``mount_all``), so what the archive
    holds below an mpN's path lands in that volume: move it there, the directory stays as the
    mount point (shallower mount points first, as mount_all orders them)."""
    mounts = []
    for key in _mount_keys(conf):
        mp = parse_volume(key, conf[key])
        if key != "rootfs" and mp["type"] == "volume":
            mounts.append((mp["mp"], storage.volume_path(st, mp["volume"])[0]))
    for path, volume in sorted(mounts, key=lambda m: m[0].rstrip("/").count("/")):
        src = resolve_in_root(rootdir, path)
        if src is None or src.is_symlink() or not src.is_dir() or src == rootdir:
            continue
        for child in sorted(src.iterdir()):
            shutil.move(str(child), str(volume / child.name))
        info = src.lstat()
        os.chown(str(volume), info.st_uid, info.st_gid)
        os.chmod(str(volume), stat.S_IMODE(info.st_mode))


def _existing_archive(job: RestoreJob) -> Path:
    """Storage.pm ``abs_filesystem_path`` (a volume: Plugin.pm ``activate_volume``)."""
    if job.archive_path.is_file():
        return job.archive_path
    if job.archive.startswith("/"):
        raise PVEError("can't find file '%s'" % job.archive)
    if job.archive_path.exists():
        raise PVEError("can't find file '%s'" % job.archive)
    raise PVEError("volume '%s' does not exist" % job.archive)


def _destroy_old_ct(env, backend, vmid: int, old_conf: dict, worker: Worker) -> None:
    """LXC.pm ``destroy_lxc_container`` with the replacement config ``lock: create``: the
    overwritten CT's own volumes go (one it does not own stays, with a warning)."""
    st = env.state
    volids = ct.vm_volumes(old_conf) + ct.vm_volumes(old_conf.get("pending") or {})
    for volid in dict.fromkeys(volids):
        if storage.volume_owner(volid) != vmid:
            worker.log("ignore deletion of '%s', CT %d isn't the owner!" % (volid, vmid))
            continue
        storage.free_volume(st, volid, log=worker.log)
    backend.destroy(vmid)
    ct.write_config(env, vmid, {"lock": "create"})


def _restore_configuration(env, job: RestoreJob, worker: Worker, backend, archive: Path, rootdir: Path,
                           fw_target: Path) -> None:
    """Create.pm ``restore_configuration_from_etc_vzdump``: the extracted ``etc/vzdump/pct.conf``
    merged and removed; a non-empty ``pct.fw`` (not a link) copied to the CT's firewall config
    and removed (an empty one stays in the rootfs, as on a node)."""
    vzdump_dir = resolve_in_root(rootdir, "etc/vzdump") if backend.mode == "lxc" else None
    if vzdump_dir is not None:
        conf_file, fw_file = vzdump_dir / "pct.conf", vzdump_dir / "pct.fw"
        raw = conf_file.read_bytes() if conf_file.is_file() else None
        firewall = fw_file.read_bytes() if fw_file.is_file() and not fw_file.is_symlink() else b""
    else:
        conf_file = fw_file = None
        raw = _tar_member(archive, _config_member(archive)) if backend.mode != "lxc" else None
        firewall = _tar_member(archive, _FIREWALL_MEMBER) if raw is not None and _has_member(archive, _FIREWALL_MEMBER) else b""
    if raw is None:
        worker.log("#" * 59 + "\nBackup archive does not contain any configuration\n" + "#" * 59)
        return
    oldconf = parse_config(raw.decode("utf-8", "surrogateescape"), vmid=job.vmid, warn=worker.log)
    merge_config(worker, job.conf, oldconf, not env.is_root_pam, job.unique, ct.mac_prefix(env))
    if conf_file is not None:
        conf_file.unlink()
    if not firewall:
        return
    if job.skip_fw:
        worker.log("ignoring firewall config from backup archive's '%s/etc/vzdump/pct.fw', lacking API "
                   "permission to modify firewall." % _rootdir_display(job.vmid))
        if fw_target.exists():
            worker.log("old firewall configuration in '/etc/pve/firewall/%d.fw' left in place!" % job.vmid)
    else:
        fw_target.parent.mkdir(parents=True, exist_ok=True)
        fw_target.write_bytes(firewall)
    if fw_file is not None:
        fw_file.unlink()


def _rootdir_display(vmid: int) -> str:
    """Where PVE mounts a CT's rootfs while it restores (LXC.pm mount_all)."""
    return "/var/lib/lxc/%d/rootfs" % vmid


def _has_member(archive: Path, member: str) -> bool:
    proc = subprocess.run(["tar", "tf", str(archive)], capture_output=True, check=False)
    return member in proc.stdout.decode("utf-8", "surrogateescape").splitlines()


def _setup_checks(backend, conf: dict, rootdir: Path, archive: Path, read, worker: Worker) -> None:
    """``PVE::LXC::Setup->new`` after the merge: the rootfs decides the OS type (a different
    backed-up one is warned about and replaced), the architecture is detected only if unset."""
    if conf.get("ostype") == "unmanaged":
        return
    from .backend import detect_ostype

    detected = detect_ostype(read, worker.log)
    expected = conf.get("ostype") or detected
    if detected != expected:
        worker.log("got unexpected ostype (%s != %s)" % (detected, expected))
    conf["ostype"] = detected
    if not conf.get("arch"):
        conf["arch"] = ct.detect_arch(backend, rootdir, archive.name, None, worker)
