# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pct restore`` / ``pct create --restore 1`` / ``POST /nodes/{node}/lxc restore=1`` against the
simulator, output compared literally where PVE's sources decide it:

* pve-container ``src/PVE/API2/LXC.pm`` ``create_vm`` (its ``$restore`` branches: the overwrite
  check, the ``VM.Backup`` permission path, the ``vzrestore`` task and its cleanup),
* ``src/PVE/LXC/Create.pm`` ``recover_config``/``recover_config_from_tar``, ``restore_archive``/
  ``restore_tar_archive``/``tar_compression_option``, ``restore_configuration_from_etc_vzdump``,
  ``sanitize_and_merge_config``,
* pve-storage ``src/PVE/Storage.pm`` ``check_volume_access``, ``abs_filesystem_path``,
  ``extract_vzdump_config_tar``; ``src/PVE/Storage/Plugin.pm`` ``parse_volname``,
  ``activate_volume``,
* what a backup holds: pve-container ``src/PVE/VZDump/LXC.pm`` ``assemble`` (the config without
  lock/snapshots/parent/pending as ``./etc/vzdump/pct.conf``, ``./etc/vzdump/pct.fw``, empty
  without a firewall config) and ``archive`` (those two first, then the root filesystem).

The archives are built here with ``tarfile`` (and ``zstd``), from the busybox template, so the
test does not depend on pvesim to make its input.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile

import pytest
from conftest import run_pct

from pvesim.auth import AuthStore
from pvesim.config import lxc_configs
from pvesim.http.testing import api_server, login, raw_request, wait_task
from pvesim.state import State
from pvesim.templates import install_template

STAMP = "2026_01_02-03_04_05"
BACKED_UP = (
    "arch: amd64\n"
    "cores: 2\n"
    "hostname: web\n"
    "memory: 1024\n"
    "mp0: local-lvm:vm-101-disk-1,mp=/data,backup=1,size=512M\n"
    "net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth\n"
    "ostype: debian\n"
    "rootfs: local-lvm:vm-101-disk-0,size=2G\n"
    "swap: 256\n"
    "unprivileged: 1\n"
)


def backup_archive(state, template_file, pct_conf=BACKED_UP, *, vmid=101, compress="zst", firewall="",
                   with_config=True, extra=(), name=None, directory=None):
    """A vzdump-shaped archive: ``local``'s dump directory (returns its volume id) or
    ``directory`` (returns the host path)."""
    target = directory or state.storage_base_path("local") / "dump"
    target.mkdir(parents=True, exist_ok=True)
    path = target / (name or "vzdump-lxc-%d-%s.tar" % (vmid, STAMP))
    members = [("./etc/vzdump/pct.conf", pct_conf.encode())] if with_config else []
    members += [("./etc/vzdump/pct.fw", firewall.encode())] + list(extra)
    with tarfile.open(template_file) as src, tarfile.open(str(path), "w") as out:
        for member, data in members:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
        for m in src.getmembers():
            out.addfile(m, src.extractfile(m) if m.isfile() else None)
    if compress == "zst":
        subprocess.run(["zstd", "-q", "--rm", str(path)], check=True)
        path = path.with_name(path.name + ".zst")
    return path if directory else "local:backup/%s" % path.name


def task_lines(out):
    """The task output with tar's byte count (its own wording) set aside."""
    return [line for line in out.splitlines() if not line.startswith("Total bytes read: ")]


def volumes(state, storage="local-lvm"):
    base = state.storage_base_path(storage)
    return sorted(p.name for p in base.iterdir() if not p.name.endswith(".pvesim-size")) if base.is_dir() else []


def restored(volid, *lines):
    return (["recovering backed-up configuration from '%s'" % volid] + list(lines[:-1])
            + ["restoring '%s' now.." % volid, lines[-1], "merging backed-up and given configuration.."])


def extracting(volid):
    return "extracting archive '/var/lib/vz/dump/%s'" % volid.split("/", 1)[1]


# ------------------------------------------------------------------ the configuration


def test_restore_recovers_the_backed_up_config(pctx, state, template_file):
    volid = backup_archive(state, template_file)
    r = pctx("restore", 9001, volid, "--storage", "local-lvm")
    assert (r.rc, r.err) == (0, ""), r
    # storage-only restore: every backed-up volume re-allocated on --storage with its size
    assert task_lines(r.out) == restored(volid, '  Logical volume "vm-9001-disk-0" created.',
                                         '  Logical volume "vm-9001-disk-1" created.', extracting(volid))
    assert re.search(r"^Total bytes read: \d+ ", r.out, re.M)
    assert pctx("config", 9001).out == (
        "arch: amd64\ncores: 2\nhostname: web\nmemory: 1024\n"
        "mp0: local-lvm:vm-9001-disk-1,mp=/data,backup=1,size=512M\n"
        "net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth\n"
        "ostype: debian\nrootfs: local-lvm:vm-9001-disk-0,size=2G\nswap: 256\nunprivileged: 1\n")


def test_create_with_restore_flag_is_the_same_call(pctx, state, template_file):
    # pct.pm: restore => ['PVE::API2::LXC', 'create_vm', ..., { node => $nodename, restore => 1 }]
    volid = backup_archive(state, template_file)
    r = pctx("create", 9001, volid, "--restore", "1", "--storage", "local-lvm")
    assert (r.rc, r.err) == (0, ""), r
    assert "hostname: web\n" in pctx("config", 9001).out


def test_given_options_win_and_a_given_rootfs_skips_the_backed_up_volumes(pctx, state, template_file):
    volid = backup_archive(state, template_file)
    r = pctx("restore", 9001, volid, "--rootfs", "local-lvm:1", "--memory", "2048", "--hostname", "db")
    assert (r.rc, r.err) == (0, ""), r
    assert task_lines(r.out) == restored(volid, '  Logical volume "vm-9001-disk-0" created.', extracting(volid))
    # sanitize_and_merge_config: mpN are never recovered, given keys are kept
    assert pctx("config", 9001).out == (
        "arch: amd64\ncores: 2\nhostname: db\nmemory: 2048\n"
        "net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth\n"
        "ostype: debian\nrootfs: local-lvm:vm-9001-disk-0,size=1G\nswap: 256\nunprivileged: 1\n")
    assert volumes(state) == ["vm-9001-disk-0"]


def test_unprivileged_comes_from_the_archive_unless_given(pctx, state, template_file):
    privileged = BACKED_UP.replace("unprivileged: 1\n", "")
    volid = backup_archive(state, template_file, privileged)
    assert pctx("restore", 9001, volid, "--storage", "local-lvm").rc == 0
    assert "unprivileged" not in pctx("config", 9001).out  # a restore does not default to 1 as create does
    assert pctx("restore", 9002, volid, "--storage", "local-lvm", "--unprivileged", "1").rc == 0
    assert "unprivileged: 1\n" in pctx("config", 9002).out


def test_unique_gives_every_backed_up_nic_a_new_mac(pctx, state, template_file):
    two_nics = BACKED_UP.replace("ostype:", "net1: name=eth1,bridge=vmbr0,hwaddr=BC:24:11:00:00:02,type=veth\nostype:")
    volid = backup_archive(state, template_file, two_nics)
    assert pctx("restore", 9001, volid, "--storage", "local-lvm", "--unique", "1").rc == 0
    conf = pctx("config", 9001).out
    macs = re.findall(r"^net\d: name=eth\d,bridge=vmbr0,hwaddr=(BC:24:11:[0-9A-F:]{8})(?:,ip=dhcp)?,type=veth$", conf, re.M)
    assert len(macs) == 2
    assert not {"BC:24:11:00:00:01", "BC:24:11:00:00:02"} & set(macs)


def test_unique_needs_restore(pctx, template):
    # pve-common JSONSchema.pm check_object: `requires => 'restore'` on create_vm's `unique`
    r = pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--unique", "1")
    assert (r.rc, r.out, r.err) == (255, "", "400 Parameter verification failed.\n"
                                             "restore: missing property required by 'unique'\n"
                                             "pct create <vmid> <ostemplate> [OPTIONS]\n")


def test_backed_up_firewall_config_is_restored(pctx, state, template_file):
    volid = backup_archive(state, template_file, firewall="[OPTIONS]\nenable: 1\n")
    assert pctx("restore", 9001, volid, "--storage", "local-lvm").rc == 0
    assert state.pve_path("firewall/9001.fw").read_text() == "[OPTIONS]\nenable: 1\n"
    # an empty pct.fw (no firewall config when backed up) writes nothing
    volid = backup_archive(state, template_file, vmid=102)
    assert pctx("restore", 9002, volid, "--storage", "local-lvm").rc == 0
    assert not state.pve_path("firewall/9002.fw").exists()


def test_a_backed_up_template_is_a_template_again(pctx, state, template_file):
    volid = backup_archive(state, template_file, BACKED_UP.replace("swap:", "template: 1\nswap:"))
    r = pctx("restore", 9001, volid, "--storage", "local-lvm")
    assert (r.rc, r.err) == (0, ""), r
    assert r.out.endswith("merging backed-up and given configuration..\nConvert restored container to template...\n")
    conf = pctx("config", 9001).out
    assert "rootfs: local-lvm:base-9001-disk-0,size=2G\n" in conf and "template: 1\n" in conf


def test_backed_up_custom_lxc_keys_are_kept_for_root(pctx, state, template_file):
    volid = backup_archive(state, template_file, BACKED_UP + "lxc.cap.drop: sys_time\n")
    assert pctx("restore", 9001, volid, "--storage", "local-lvm").rc == 0
    assert pctx("config", 9001).out.endswith("lxc.cap.drop: sys_time\n")


def test_bind_mount_points_are_set_after_the_extraction(pctx, state, template_file):
    # create_vm: non-volume mount points are delayed; backup=1 on one gets create_vm's warnings
    volid = backup_archive(state, template_file, BACKED_UP.replace(
        "mp0: local-lvm:vm-101-disk-1,mp=/data,backup=1,size=512M", "mp0: /srv/data,mp=/data,backup=1"))
    r = pctx("restore", 9001, volid, "--storage", "local-lvm")
    assert (r.rc, r.err) == (0, ""), r
    assert task_lines(r.out) == restored(volid, "WARNING - unsupported configuration!",
                                         "backup was enabled for bind mount point mp0 ('/data')",
                                         "mount point configuration will be restored after archive extraction!",
                                         "contained files will be restored to wrong directory!",
                                         '  Logical volume "vm-9001-disk-0" created.', extracting(volid))
    assert "mp0: /srv/data,mp=/data,backup=1\n" in pctx("config", 9001).out
    assert volumes(state) == ["vm-9001-disk-0"]


def test_start_after_the_restore(pctx, state, template_file):
    volid = backup_archive(state, template_file)
    assert pctx("restore", 9001, volid, "--storage", "local-lvm", "--start", "1").rc == 0
    assert pctx("status", 9001).out == "status: running\n"


# ------------------------------------------------------------------ overwrite (--force)


def test_existing_vmid_is_refused_without_force(pctx, state, template_file, template):
    pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--hostname", "old")
    volid = backup_archive(state, template_file)
    r = pctx("restore", 9001, volid, "--storage", "local-lvm")
    # PVE::Cluster::check_vmid_unused, before any lock (no "unable to restore" prefix)
    assert (r.rc, r.out, r.err) == (255, "", "CT 9001 already exists on node 'pve'\n")
    assert "hostname: old\n" in pctx("config", 9001).out


def test_force_replaces_the_ct_and_frees_its_volumes(pctx, state, template_file, template):
    pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--hostname", "old", "--description", "gone")
    volid = backup_archive(state, template_file)
    r = pctx("restore", 9001, volid, "--storage", "local-lvm", "--force", "1")
    assert (r.rc, r.err) == (0, ""), r
    # the new volumes are allocated first, then destroy_lxc_container frees the old ones
    assert task_lines(r.out) == restored(volid, '  Logical volume "vm-9001-disk-1" created.',
                                         '  Logical volume "vm-9001-disk-2" created.',
                                         '  Logical volume "vm-9001-disk-0" successfully removed.', extracting(volid))
    conf = pctx("config", 9001).out
    assert "hostname: web\n" in conf and "description" not in conf
    assert "rootfs: local-lvm:vm-9001-disk-1,size=2G\n" in conf
    assert volumes(state) == ["vm-9001-disk-1", "vm-9001-disk-2"]


def test_force_refuses_a_running_or_protected_ct(pctx, state, template_file, template):
    volid = backup_archive(state, template_file)
    pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--protection", "1")
    r = pctx("restore", 9001, volid, "--storage", "local-lvm", "--force", "1")
    assert (r.rc, r.out, r.err) == (255, "", "unable to restore CT 9001 - protection mode enabled\n")
    pctx("set", 9001, "--protection", "0")
    assert pctx("start", 9001).rc == 0
    r = pctx("restore", 9001, volid, "--storage", "local-lvm", "--force", "1")
    assert (r.rc, r.out, r.err) == (255, "", "can't overwrite running container\n")


def test_force_on_a_locked_ct(pctx, state, template_file, template):
    # create_and_lock_config: check_lock on the existing config
    volid = backup_archive(state, template_file)
    pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--lock", "backup")
    r = pctx("restore", 9001, volid, "--storage", "local-lvm", "--force", "1")
    assert (r.rc, r.out, r.err) == (255, "", "unable to restore CT 9001 - CT is locked (backup)\n")


def test_failed_overwrite_before_allocation_keeps_the_old_ct(pctx, state, template_file, template):
    pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--hostname", "old")
    volid = backup_archive(state, template_file, with_config=False)
    r = pctx("restore", 9001, volid, "--storage", "local-lvm", "--force", "1")
    assert (r.rc, r.err) == (255, "unable to restore CT 9001 - ERROR: archive contains no configuration file\n")
    # realcmd: remove_lock($vmid, 'create') when nothing was changed yet
    conf = pctx("config", 9001).out
    assert "hostname: old\n" in conf and "lock" not in conf
    assert volumes(state) == ["vm-9001-disk-0"]


# ------------------------------------------------------------------ archives and failures


def test_archive_must_be_a_backup_volume(pctx, state, template_file, template):
    volid = backup_archive(state, template_file)
    r = pctx("create", 9001, volid, "--rootfs", "local-lvm:1")
    assert (r.rc, r.out, r.err) == (255, "", "unable to use volume %s - content type needs to be 'vztmpl'\n" % volid)
    r = pctx("restore", 9001, template, "--storage", "local-lvm")
    assert (r.rc, r.out, r.err) == (255, "", "unable to use volume %s - content type needs to be 'backup'\n" % template)
    r = pctx("restore", 9001, "local:backup/../../etc/passwd.tar", "--storage", "local-lvm")
    assert (r.rc, r.out, r.err) == (255, "", "unable to parse directory volume name 'backup/../../etc/passwd.tar'\n")


@pytest.mark.parametrize("archive, message", [
    ("local:backup/vzdump-lxc-101-%s.tar.zst" % STAMP, "volume 'local:backup/vzdump-lxc-101-%s.tar.zst' does not exist" % STAMP),
    ("/root/vzdump-lxc-101-%s.tar.zst" % STAMP, "can't find file '/root/vzdump-lxc-101-%s.tar.zst'" % STAMP),
])
def test_missing_archive_fails_inside_the_task(pctx, state, archive, message):
    r = pctx("restore", 9001, archive, "--storage", "local-lvm")
    assert (r.rc, r.out, r.err) == (255, "recovering backed-up configuration from '%s'\n" % archive,
                                    "unable to restore CT 9001 - %s\n" % message)
    assert not lxc_configs(state).exists(9001)
    assert volumes(state) == []


def test_archive_without_pct_conf_leaves_nothing(pctx, state, template_file):
    volid = backup_archive(state, template_file, with_config=False)
    r = pctx("restore", 9001, volid, "--storage", "local-lvm")
    assert (r.rc, r.out, r.err) == (255, "recovering backed-up configuration from '%s'\n" % volid,
                                    "unable to restore CT 9001 - ERROR: archive contains no configuration file\n")
    assert not lxc_configs(state).exists(9001)
    assert pctx("list").out == ""


def test_failure_after_allocation_frees_the_new_volumes(pctx, state, template_file):
    # a .tgz is a backup volume name (BACKUP_EXT_RE_2) but restore_tar_archive's
    # tar_compression_option wants .tar[.<ext>]: the task dies after create_disks
    volid = backup_archive(state, template_file, compress=None, name="vzdump-lxc-101-%s.tgz" % STAMP)
    r = pctx("restore", 9001, volid, "--storage", "local-lvm")
    assert r.rc == 255
    assert task_lines(r.out) == [
        "recovering backed-up configuration from '%s'" % volid,
        '  Logical volume "vm-9001-disk-0" created.', '  Logical volume "vm-9001-disk-1" created.',
        "restoring '%s' now.." % volid,
        '  Logical volume "vm-9001-disk-0" successfully removed.',
        '  Logical volume "vm-9001-disk-1" successfully removed.']
    assert r.err == ("unable to restore CT 9001 - file does not look like a template archive: "
                     "/var/lib/vz/dump/vzdump-lxc-101-%s.tgz\n" % STAMP)
    assert not lxc_configs(state).exists(9001)
    assert volumes(state) == []


def test_absolute_archive_path(pctx, state, template_file):
    # root may name a file; check_volume_access has no content type for a path
    archive = "/srv/vzdump-lxc-101-%s.tar" % STAMP
    backup_archive(state, template_file, compress=None, directory=state.host_path("/srv"))
    r = pctx("restore", 9001, archive, "--storage", "local-lvm")
    assert (r.rc, r.err) == (0, ""), r
    assert task_lines(r.out) == restored(archive, '  Logical volume "vm-9001-disk-0" created.',
                                         '  Logical volume "vm-9001-disk-1" created.', "extracting archive '%s'" % archive)


def test_rootfs_without_a_size_cannot_be_recreated(pctx, state, template_file):
    volid = backup_archive(state, template_file, BACKED_UP.replace(",size=2G", ""))
    r = pctx("restore", 9001, volid, "--storage", "local-lvm")
    assert (r.rc, r.err) == (255, "unable to restore CT 9001 - unable to detect disk size - please specify rootfs (size)\n")
    assert not lxc_configs(state).exists(9001) and volumes(state) == []


# ------------------------------------------------------------------ the command line


def test_restore_usage_and_its_fixed_restore_parameter(pctx, state, template_file):
    r = pctx("restore", 9001)
    assert (r.rc, r.err) == (255, "400 not enough arguments\npct restore <vmid> <ostemplate> [OPTIONS]\n")
    volid = backup_archive(state, template_file)
    r = pctx("restore", 9001, volid, "--restore", "0")
    assert (r.rc, r.err) == (255, "Unknown option: restore\n400 unable to parse option\n"
                                  "pct restore <vmid> <ostemplate> [OPTIONS]\n")


def test_restore_from_a_pipe_needs_rootfs(pctx):
    r = pctx("restore", 9001, "-")
    assert (r.rc, r.out, r.err) == (255, "", "restore from pipe requires rootfs parameter\n")
    r = pctx("create", 9001, "-", "--rootfs", "local-lvm:1")
    assert (r.rc, r.out, r.err) == (255, "", "pipe can only be used with restore tasks\n")


# ------------------------------------------------------------------ REST


@pytest.fixture(scope="module")
def rest(tmp_path_factory):
    from pvesim.templates import build_busybox_template

    tfile = build_busybox_template(str(tmp_path_factory.mktemp("tmpl") / "debian-12-busybox_1.0-1_amd64.tar.gz"))
    st = State(tmp_path_factory.mktemp("pvesim") / "state").init(node="pve", mode="state")
    auth = AuthStore(st.pve_path("")).ensure()
    auth.set_password("root@pam", "rootpw")
    # bob may back up and restore CTs, not allocate them
    auth.add_user("bob@pve", password="bobpw1")
    auth.add_acl("/vms", "bob@pve", "PVEVMUser")
    auth.add_acl("/storage", "bob@pve", "PVEDatastoreUser")
    tmpl = install_template(st, tfile)
    with api_server(st) as api:
        yield {"api": api, "state": st, "template_file": tfile, "template": tmpl,
               "root": login(api, "root@pam", "rootpw"), "bob": login(api, "bob@pve", "bobpw1")}


def _post(rest, who, params):
    ticket, csrf = rest[who]
    r = raw_request(rest["api"], "POST", "/nodes/pve/lxc", params, ticket=ticket, csrf=csrf)
    return r


def _task(rest, r, who="root"):
    assert r.status_line == "200 OK", r.body
    upid = r.json["data"]
    ticket = rest[who][0]
    status = wait_task(rest["api"], "pve", upid, ticket=ticket)
    log = raw_request(rest["api"], "GET", "/nodes/pve/tasks/%s/log" % upid.replace(":", "%3A"), {"limit": 500},
                      ticket=ticket)
    return upid, status["exitstatus"], [x["t"] for x in log.json["data"]]


def test_rest_restore_is_a_vzrestore_task(rest):
    volid = backup_archive(rest["state"], rest["template_file"])
    upid, exitstatus, lines = _task(rest, _post(rest, "root", {"vmid": 9101, "ostemplate": volid, "restore": 1,
                                                               "storage": "local-lvm"}))
    assert upid.split(":")[5:7] == ["vzrestore", "9101"]
    assert exitstatus == "OK"
    assert task_lines("\n".join(lines)) == restored(volid, '  Logical volume "vm-9101-disk-0" created.',
                                                    '  Logical volume "vm-9101-disk-1" created.',
                                                    extracting(volid)) + ["TASK OK"]
    r = raw_request(rest["api"], "GET", "/nodes/pve/lxc/9101/config", ticket=rest["root"][0])
    assert r.json["data"]["hostname"] == "web" and r.json["data"]["unprivileged"] == 1


def test_rest_backup_permission_overwrites_an_existing_ct_only(rest):
    st = rest["state"]
    volid = backup_archive(st, rest["template_file"], BACKED_UP + "lxc.cap.drop: sys_time\n",
                           firewall="[OPTIONS]\nenable: 1\n", vmid=102)
    params = {"vmid": 9102, "ostemplate": volid, "restore": 1, "storage": "local-lvm"}
    # no VM.Allocate: a new CT is refused (raise_perm_exc without a path)
    r = _post(rest, "bob", params)
    assert (r.status_line, r.json["message"]) == ("403 Permission check failed", "Permission check failed\n")
    _task(rest, _post(rest, "root", {"vmid": 9102, "ostemplate": rest["template"], "rootfs": "local-lvm:1"}))
    st.pve_path("firewall").mkdir(parents=True, exist_ok=True)
    st.pve_path("firewall/9102.fw").write_text("[OPTIONS]\nenable: 0\n")
    # VM.Backup on an existing CT with force: allowed; the archive's firewall config and (not
    # root) its raw lxc keys are skipped, with the warnings of restore_configuration
    _upid, exitstatus, lines = _task(rest, _post(rest, "bob", dict(params, force=1)), "bob")
    assert exitstatus == "WARNINGS: 1"
    assert lines[lines.index("merging backed-up and given configuration.."):] == [
        "merging backed-up and given configuration..",
        "WARN: skipping custom lxc options, restore manually as root:",
        "--------------------------------", "lxc.cap.drop: sys_time", "--------------------------------",
        "ignoring firewall config from backup archive's '/var/lib/lxc/9102/rootfs/etc/vzdump/pct.fw', "
        "lacking API permission to modify firewall.",
        "old firewall configuration in '/etc/pve/firewall/9102.fw' left in place!",
        "TASK WARNINGS: 1"]
    assert st.pve_path("firewall/9102.fw").read_text() == "[OPTIONS]\nenable: 0\n"
    raw = lxc_configs(st).path(9102).read_text()
    assert "hostname: web\n" in raw and "lxc.cap.drop" not in raw


# ------------------------------------------------------------------ lxc mode


def test_lxc_mode_restores_the_files_and_runs(lxc_state, template_file):
    st = lxc_state
    volid = backup_archive(st, template_file, BACKED_UP.replace("mp0: local-lvm:vm-101-disk-1,mp=/data,backup=1,size=512M\n", "")
                           .replace("size=2G", "size=1G"), extra=[("./root/restored.txt", b"from the backup\n")])
    r = run_pct(st, "restore", 9060, volid, "--storage", "local-lvm")
    assert (r.rc, r.err) == (0, ""), r
    assert task_lines(r.out)[-2:] == [extracting(volid), "merging backed-up and given configuration.."]
    rootdir = st.storage_base_path("local-lvm") / "vm-9060-disk-0"
    # the archive's config is removed from the rootfs; an empty pct.fw stays (only -s files go)
    assert not (rootdir / "etc/vzdump/pct.conf").exists()
    assert (rootdir / "etc/vzdump/pct.fw").read_bytes() == b""
    # unprivileged: extracted through the id map
    assert os.stat(rootdir / "root/restored.txt").st_uid == 100000
    assert run_pct(st, "start", 9060).rc == 0
    r = run_pct(st, "exec", 9060, "--", "cat", "/root/restored.txt")
    assert (r.rc, r.out) == (0, "from the backup\n")
    assert run_pct(st, "exec", 9060, "--", "uname", "-n").out == "web\n"
    assert run_pct(st, "stop", 9060).rc == 0
    assert run_pct(st, "destroy", 9060).rc == 0
    assert volumes(st) == []


def test_lxc_mode_mount_point_data_lands_in_its_volume(lxc_state, template_file):
    # extraction runs with every mount point mounted (LXC.pm mount_all): ./data/* goes to mp0
    st = lxc_state
    conf = BACKED_UP.replace("size=2G", "size=1G").replace("size=512M", "size=256M")
    volid = backup_archive(st, template_file, conf, extra=[("./data/kept.txt", b"on mp0\n")])
    r = run_pct(st, "restore", 9062, volid, "--storage", "local-lvm")
    assert (r.rc, r.err) == (0, ""), r
    base = st.storage_base_path("local-lvm")
    assert (base / "vm-9062-disk-1" / "kept.txt").read_bytes() == b"on mp0\n"
    assert list((base / "vm-9062-disk-0" / "data").iterdir()) == []
    assert os.stat(base / "vm-9062-disk-1").st_uid == 100000
    assert run_pct(st, "start", 9062).rc == 0
    r = run_pct(st, "exec", 9062, "--", "cat", "/data/kept.txt")
    assert (r.rc, r.out) == (0, "on mp0\n")
    assert run_pct(st, "stop", 9062).rc == 0
    assert run_pct(st, "destroy", 9062).rc == 0
    assert volumes(st) == []


def test_lxc_mode_failed_restore_leaves_nothing(lxc_state, template_file):
    st = lxc_state
    volid = backup_archive(st, template_file, compress=None, name="vzdump-lxc-101-%s.tgz" % STAMP)
    r = run_pct(st, "restore", 9061, volid, "--storage", "local-lvm")
    assert r.rc == 255 and r.err.startswith("unable to restore CT 9061 - file does not look like a template archive")
    assert not lxc_configs(st).exists(9061)
    assert volumes(st) == []
    assert not (st.lxcpath / "9061").exists()


def test_rest_privileged_backup_needs_sys_modify_and_keeps_the_old_ct(rest):
    # create_vm: the implicit change to privileged is checked inside the task, before any disk
    st = rest["state"]
    volid = backup_archive(st, rest["template_file"], BACKED_UP.replace("unprivileged: 1\n", ""), vmid=103)
    _task(rest, _post(rest, "root", {"vmid": 9103, "ostemplate": rest["template"], "rootfs": "local-lvm:1",
                                     "hostname": "old"}))
    _upid, exitstatus, lines = _task(rest, _post(rest, "bob", {"vmid": 9103, "ostemplate": volid, "restore": 1,
                                                               "storage": "local-lvm", "force": 1}), "bob")
    assert exitstatus == "unable to restore CT 9103 - Permission check failed (/, Sys.Modify)"
    assert lines == ["recovering backed-up configuration from '%s'" % volid, "TASK ERROR: %s" % exitstatus]
    raw = lxc_configs(st).path(9103).read_text()
    assert "hostname: old\n" in raw and "lock" not in raw
    assert [v for v in volumes(st) if "9103" in v] == ["vm-9103-disk-0"]
