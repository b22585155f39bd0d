# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``qm`` and ``/nodes/{node}/qemu`` in state mode against contract §9 and qemu-server 9.2.6.

Each test names its source: the contract section or the qemu-server file and function
(``src/PVE/CLI/qm.pm``, ``src/PVE/API2/Qemu.pm``, ``src/PVE/QemuServer.pm``).
"""

from __future__ import annotations

import io
import re
import urllib.parse

import pytest
from conftest import Result

from pvesim import qm
from pvesim.handlers import Env, PVEError, call
from pvesim.qemu import config as qmconfig


@pytest.fixture
def qmx(state):
    def run(*args):
        out, err = io.StringIO(), io.StringIO()
        rc = qm.main([str(a) for a in args], stdout=out, stderr=err, state=state)
        return Result(rc, out.getvalue(), err.getvalue())
    return run


def _api(state, method, path, **params):
    return call(Env(state, stdout=io.StringIO(), stderr=io.StringIO()), method, path, params, cli=True)


def _conf(state, vmid):
    return qmconfig.parse_vm_config(state.read_pve_file("nodes/pve/qemu-server/%d.conf" % vmid), vmid)


def _vm(qmx, vmid=100, *extra):
    r = qmx("create", vmid, "--name", "vm1", "--memory", 2048, "--scsi0", "local-lvm:32,iothread=1",
            "--net0", "virtio,bridge=vmbr0", *extra)
    assert r.rc == 0, r
    return r


def test_list_prints_nothing_without_vms_then_the_printf_layout(qmx, state):
    """qm.pm ``list``: ``exit 0 if !scalar(@$vmlist)``; ``%10s %-20s %-10s %-10s %12s %-10s`` (§9)."""
    r = qmx("list")
    assert (r.rc, r.out, r.err) == (0, "", "")
    _vm(qmx, 200)
    qmx("start", 200)
    pid = _api(state, "GET", "/nodes/pve/qemu/200/status/current")["pid"]
    r = qmx("list")
    assert r.out == ("      VMID NAME                 STATUS     MEM(MB)    BOOTDISK(GB) PID       \n"
                     "       200 vm1                  running    2048              32.00 %-10d\n" % pid)


def test_create_adds_meta_smbios1_vmgenid_boot_and_a_bc2411_mac(qmx, state):
    """Qemu.pm ``create_vm`` (meta, boot, smbios1, vmgenid), ``add_random_macs`` (§9)."""
    r = _vm(qmx)
    assert '  Logical volume "vm-100-disk-0" created.' in r.out
    conf = _conf(state, 100)
    assert re.match(r"^creation-qemu=\d+(\.\d+)+,ctime=\d+$", conf["meta"])
    assert re.match(r"^uuid=[0-9a-f-]{36}$", conf["smbios1"])
    assert re.match(r"^[0-9a-f-]{36}$", conf["vmgenid"])
    assert conf["boot"] == "order=scsi0;net0"
    assert re.match(r"^virtio=BC:24:11(:[0-9A-F]{2}){3},bridge=vmbr0$", conf["net0"])
    assert conf["scsi0"] == "local-lvm:vm-100-disk-0,iothread=1,size=32G"


def test_config_prints_sorted_keys_without_digest_and_an_escaped_description(qmx):
    """qm.pm ``config``: ``sort keys``, ``next if $k eq 'digest'``, ``encode_text`` of description (§9)."""
    _vm(qmx, 100, "--description", "line one\nkey: value")
    out = qmx("config", 100).out
    keys = [line.split(":", 1)[0] for line in out.splitlines()]
    assert keys == sorted(keys) and "digest" not in keys
    assert "description: line one%0Akey%3A value\n" in out


def test_vmid_is_unique_across_cts_and_vms(qmx, pctx, template):
    """Qemu.pm ``create_vm`` -> ``create_and_lock_config``: ``unable to create VM <id> - CT <id> already exists`` (§9)."""
    assert pctx("create", 100, template, "--storage", "local-lvm").rc == 0
    r = qmx("create", 100, "--memory", 512)
    assert r.rc == 255
    assert r.err == "unable to create VM 100 - CT 100 already exists on node 'pve'\n"
    _vm(qmx, 101)
    r = pctx("create", 101, template, "--storage", "local-lvm")
    assert r.rc != 0 and "VM 101 already exists on node 'pve'" in r.err


def test_nextid_and_resources_cover_both_guest_types(qmx, pctx, template, state):
    """pve-manager ``/cluster/nextid`` and ``/cluster/resources`` over ``.vmlist`` (both types)."""
    assert pctx("create", 100, template, "--storage", "local-lvm").rc == 0
    _vm(qmx, 101)
    assert _api(state, "GET", "/cluster/nextid") == 102
    with pytest.raises(PVEError) as exc:
        _api(state, "GET", "/cluster/nextid", vmid=101)
    assert exc.value.errors == {"vmid": "VM 101 already exists"}
    ids = {r["id"]: r for r in _api(state, "GET", "/cluster/resources", type="vm")}
    assert set(ids) == {"lxc/100", "qemu/101"}
    assert ids["qemu/101"]["maxmem"] == 2048 * 1024 * 1024 and ids["qemu/101"]["maxdisk"] == 32 * 1024 ** 3


def test_start_already_running_fails_inside_the_worker(qmx):
    """QemuServer.pm ``vm_start``: ``die "VM $vmid already running\\n"`` inside the ``qmstart`` task (§9)."""
    _vm(qmx)
    assert qmx("start", 100).rc == 0
    r = qmx("start", 100)
    assert (r.rc, r.err) == (255, "VM 100 already running\n")


def test_stop_of_a_stopped_vm_succeeds(qmx):
    """QemuServer.pm ``_do_vm_stop``: ``return if !$pid`` — no "not running" error, unlike pct (§9, §12.5)."""
    _vm(qmx)
    r = qmx("stop", 100)
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_status_and_verbose_status(qmx):
    """qm.pm ``status``: ``status: <qmpstatus>``; ``--verbose`` prints every key but cpu (§9)."""
    _vm(qmx)
    assert qmx("status", 100).out == "status: stopped\n"
    qmx("start", 100)
    assert qmx("status", 100).out == "status: running\n"
    verbose = qmx("status", 100, "--verbose").out
    assert "qmpstatus: running\n" in verbose and "\ncpu:" not in verbose and "cpus: 1\n" in verbose
    assert re.search(r"^pvesim-accel: (kvm|tcg)$", verbose, re.M)


def test_suspend_resume_and_a_paused_vm_cannot_shut_down(qmx):
    """Qemu.pm ``vm_shutdown``: ``VM is paused - cannot shutdown``; ``vm_suspend``/``vm_resume`` (§9)."""
    _vm(qmx)
    qmx("start", 100)
    assert qmx("suspend", 100).rc == 0
    assert qmx("status", 100).out == "status: paused\n"
    r = qmx("shutdown", 100)
    assert (r.rc, r.err) == (255, "VM is paused - cannot shutdown\n")
    assert qmx("resume", 100).rc == 0
    assert qmx("shutdown", 100).rc == 0
    assert qmx("status", 100).out == "status: stopped\n"


def test_suspend_and_reboot_of_a_stopped_vm(qmx):
    """Qemu.pm ``vm_suspend``/``vm_reboot``: ``VM <id> not running`` before the worker."""
    _vm(qmx)
    for cmd in ("suspend", "reboot", "resume"):
        r = qmx(cmd, 100)
        assert (r.rc, r.err) == (255, "VM 100 not running\n"), cmd


def test_destroy_running_protected_and_with_disks(qmx, state):
    """Qemu.pm ``destroy_vm``: ``VM <id> is running - destroy failed``, ``can't remove VM <id> -
    protection mode enabled``; the disks go with the config (§9)."""
    _vm(qmx)
    qmx("start", 100)
    r = qmx("destroy", 100)
    assert (r.rc, r.err) == (255, "VM 100 is running - destroy failed\n")
    qmx("stop", 100)
    qmx("set", 100, "--protection", 1)
    r = qmx("destroy", 100)
    assert (r.rc, r.err) == (255, "can't remove VM 100 - protection mode enabled\n")
    qmx("set", 100, "--protection", 0)
    disk = state.storage_base_path("local-lvm") / "vm-100-disk-0"
    assert disk.is_file()
    r = qmx("destroy", 100, "--purge")
    assert r.rc == 0 and "purging VM 100 from related configurations..\n" in r.out
    assert not disk.exists() and not state.pve_path("nodes/pve/qemu-server/100.conf").exists()


def test_destroy_unreferenced_disks(qmx, state):
    """QemuServer.pm ``destroy_vm`` with ``$purge_unreferenced``: owned volumes not in the config go too."""
    _vm(qmx)
    from pvesim import storage

    stray = storage.alloc_image(state, "local-lvm", 100, 1024)
    assert qmx("destroy", 100).rc == 0
    assert storage.volume_exists(state, stray)
    _vm(qmx)
    assert qmx("destroy", 100, "--destroy-unreferenced-disks").rc == 0
    assert not storage.volume_exists(state, stray)


def test_set_while_running_goes_pending_and_start_applies_it(qmx):
    """QemuServer.pm ``vmconfig_hotplug_pending`` ($fast_plug_option: name applies, memory waits);
    ``qm pending`` is GuestHelpers ``format_pending``; ``qm config`` merges pending, ``--current`` not."""
    _vm(qmx)
    qmx("start", 100)
    r = qmx("set", 100, "--memory", 4096, "--name", "vm2")
    assert (r.rc, r.out) == (0, "update VM 100: -memory 4096 -name vm2\n")
    pend = qmx("pending", 100).out
    assert "cur memory: 2048\nnew memory: 4096\n" in pend and "cur name: vm2\n" in pend
    assert "memory: 4096\n" in qmx("config", 100).out
    assert "memory: 2048\n" in qmx("config", 100, "--current").out
    qmx("stop", 100)
    qmx("start", 100)
    assert "new memory" not in qmx("pending", 100).out


def test_digest_mismatch_and_async_config_post(qmx, state):
    """Qemu.pm ``$update_vm_api``: a stale ``digest`` is refused; POST config is the ``qmconfig`` task."""
    _vm(qmx)
    digest = _api(state, "GET", "/nodes/pve/qemu/100/config")["digest"]
    upid = _api(state, "POST", "/nodes/pve/qemu/100/config", cores=2, digest=digest)
    assert re.match(r"^UPID:pve:[0-9A-F]+:[0-9A-F]+:[0-9A-F]+:qmconfig:100:root@pam:$", upid)
    assert _conf(state, 100)["cores"] == "2"
    with pytest.raises(PVEError) as exc:
        _api(state, "PUT", "/nodes/pve/qemu/100/config", cores=4, digest=digest)
    assert exc.value.message == "checksum mismatch (file change by other user?)"
    assert _conf(state, 100)["cores"] == "2"


def test_no_options_and_delete_conflicts(qmx):
    """Qemu.pm ``$update_vm_api``: ``no options specified``; ``-delete`` with the same key."""
    _vm(qmx)
    r = qmx("set", 100)
    assert (r.rc, r.err) == (255, "no options specified\n")
    r = qmx("set", 100, "--cores", 2, "--delete", "cores")
    assert r.rc == 255 and "delete: you can't use '-cores' and -delete cores' at the same time" in r.err


def test_removed_disk_becomes_unused_and_delete_unused_frees_it(qmx, state):
    """QemuServer.pm ``vmconfig_delete_or_detach_drive`` / ``vmconfig_apply_pending``."""
    _vm(qmx)
    assert qmx("set", 100, "--delete", "scsi0").rc == 0
    conf = _conf(state, 100)
    assert "scsi0" not in conf and conf["unused0"] == "local-lvm:vm-100-disk-0"
    assert qmx("set", 100, "--delete", "unused0").rc == 0
    assert not (state.storage_base_path("local-lvm") / "vm-100-disk-0").exists()


def test_drives_of_a_running_vm_hotplug_by_bus_and_the_hotplug_option(qmx, state):
    """QemuServer.pm ``vmconfig_hotplug_pending``: with the default ``hotplug`` (network,disk,usb) a scsi/virtio
    drive is unplugged at once (detached to ``unusedN``) and a new one plugged; ide, sata, efidisk and tpmstate
    "skip" (stay pending), and so does every drive with ``hotplug: 0``."""
    _vm(qmx, 100, "--virtio1", "local-lvm:1", "--sata1", "local-lvm:1")
    qmx("start", 100)
    before = _conf(state, 100)
    assert qmx("set", 100, "--delete", "virtio1,sata1").rc == 0
    conf = _conf(state, 100)
    assert "virtio1" not in conf and conf["unused0"] == before["virtio1"].split(",")[0]
    assert conf["sata1"] == before["sata1"] and conf["pending"]["delete"] == "sata1"
    assert qmx("set", 100, "--scsi2", "local-lvm:1", "--ide1", "local-lvm:1").rc == 0
    conf = _conf(state, 100)
    assert conf["scsi2"].startswith("local-lvm:vm-100-disk-") and "ide1" in conf["pending"] and "ide1" not in conf
    qmx("stop", 100)
    assert qmx("set", 100, "--hotplug", "0").rc == 0
    qmx("start", 100)
    assert qmx("set", 100, "--delete", "scsi2").rc == 0
    assert "scsi2" in _conf(state, 100) and "scsi2" in _conf(state, 100)["pending"]["delete"]


def test_values_a_running_vm_applies_at_once(qmx, state):
    """QemuServer.pm ``vmconfig_hotplug_pending``: cpuunits/cpulimit (cgroup), a balloon target (not switching the
    device), tablet (usb), agent fstrim_cloned_disks (vmconfig_update_agent) and drive options other than
    vmconfig_update_disk's cold ones apply at once; the rest waits in ``[PENDING]``."""
    _vm(qmx, 100, "--balloon", 1024, "--agent", 1)
    qmx("start", 100)
    assert qmx("set", 100, "--cpuunits", 300, "--cpulimit", 2, "--balloon", 512, "--tablet", 0,
               "--agent", "1,fstrim_cloned_disks=1", "--scsi0", "local-lvm:vm-100-disk-0,backup=0,iothread=1,size=32G").rc == 0
    conf = _conf(state, 100)
    assert (conf["cpuunits"], conf["cpulimit"], conf["balloon"], conf["tablet"]) == ("300", "2", "512", "0")
    assert conf["agent"] == "1,fstrim_cloned_disks=1" and "backup=0" in conf["scsi0"] and not conf["pending"]
    assert qmx("set", 100, "--balloon", 0, "--agent", "1,type=isa", "--scsi0", "local-lvm:vm-100-disk-0,cache=writeback,iothread=1,size=32G").rc == 0
    assert sorted(_conf(state, 100)["pending"]) == ["agent", "balloon", "scsi0"]


def test_new_disk_on_a_storage_without_images_is_refused_before_anything(qmx, state):
    """Qemu.pm ``$check_storage_access``: ``storage 'local' does not support vm images``; nothing made."""
    r = qmx("create", 100, "--scsi0", "local:8")
    assert r.rc == 255 and "scsi0: storage 'local' does not support vm images" in r.err
    assert not state.pve_path("nodes/pve/qemu-server/100.conf").exists()


def test_bad_values_are_refused_with_the_field(qmx, state):
    """JSON schema of ``$confdesc``: the parameter name in a 400 (§9 ``netN``, ``memory`` min 16)."""
    r = qmx("create", 100, "--memory", 8)
    assert r.rc == 255 and r.err.startswith("400 Parameter verification failed.\nmemory:")
    r = qmx("create", 100, "--net0", "virtio,bridge=vm br0")
    assert r.rc == 255 and "net0:" in r.err
    assert not state.pve_path("nodes/pve/qemu-server/100.conf").exists()


def test_cloudinit_keys_password_hashed_and_hidden_sshkeys_urlencoded(qmx, state, tmp_path, monkeypatch):
    """Qemu.pm ``$update_vm_api``: ``cipassword`` through ``encrypt_pw``, shown as ``**********``
    by ``vm_config``; ``sshkeys`` URL-encoded and checked; a ``cloudinit`` drive allocated.
    qm.pm ``param_mapping`` (create_vm, update_vm): ``--sshkeys`` names a file whose content is
    ``uri_escape``d, a bare ``--cipassword`` is the ``pve-password`` mapping (read twice from STDIN)."""
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk user@host"
    keyfile = tmp_path / "keys.pub"
    keyfile.write_text(key + "\n")
    _vm(qmx, 100, "--ide2", "local-lvm:cloudinit", "--ciuser", "admin", "--ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1",
        "--nameserver", "10.0.0.1", "--searchdomain", "example.org")
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\ns3cret\n"))
    r = qmx("set", 100, "--sshkeys", keyfile, "--cipassword")
    assert r.rc == 0, r
    conf = _conf(state, 100)
    assert conf["cipassword"].startswith("$5$") and "s3cret" not in state.read_pve_file("nodes/pve/qemu-server/100.conf")
    assert conf["ide2"] == "local-lvm:vm-100-cloudinit,media=cdrom"
    assert conf["sshkeys"] == urllib.parse.quote(key + "\n", safe="") and urllib.parse.unquote(conf["sshkeys"]) == key + "\n"
    out = qmx("config", 100).out
    assert "cipassword: **********\n" in out and "ipconfig0: ip=10.0.0.5/24,gw=10.0.0.1\n" in out
    monkeypatch.setattr("sys.stdin", io.StringIO("one\ntwo\n"))
    r = qmx("set", 100, "--cipassword")
    assert r.rc == 255 and r.err.startswith("passwords do not match")
    r = qmx("set", 100, "--sshkeys", tmp_path / "missing.pub")
    assert r.rc == 255 and r.err.startswith("unable to open file '%s' - No such file or directory" % (tmp_path / "missing.pub"))
    keyfile.write_text("not a key\n")
    r = qmx("set", 100, "--sshkeys", keyfile)
    assert r.rc == 255 and "sshkeys: unable to parse ssh public keys" in r.err
    # the API takes the URL-encoded value itself
    _api(state, "PUT", "/nodes/pve/qemu/100/config", sshkeys=urllib.parse.quote(key, safe=""))
    assert urllib.parse.unquote(_conf(state, 100)["sshkeys"]) == key
    user = qmx("cloudinit", "dump", 100, "user").out
    assert "user: admin" in user and "s3cret" not in user


def test_template_linked_and_full_clone(qmx, state):
    """Qemu.pm ``template`` (``template_create``: base volumes) and ``clone_vm``: linked clones from
    a template, full clones to a target storage, ``parameter 'storage' not allowed for linked clones``."""
    _vm(qmx)
    assert qmx("template", 100).rc == 0
    assert _conf(state, 100)["scsi0"] == "local-lvm:base-100-disk-0,iothread=1,size=32G"
    r = qmx("start", 100)
    assert (r.rc, r.err) == (255, "you can't start a vm if it's a template\n")
    r = qmx("clone", 100, 101, "--name", "linked")
    assert r.rc == 0 and "create linked clone of drive scsi0 (local-lvm:base-100-disk-0)" in r.out
    conf = _conf(state, 101)
    assert conf["scsi0"] == "local-lvm:vm-101-disk-0,iothread=1,size=32G" and conf["name"] == "linked"
    assert conf["net0"] != _conf(state, 100)["net0"] and conf["smbios1"] != _conf(state, 100)["smbios1"]
    assert "template" not in conf
    r = qmx("clone", 100, 102, "--storage", "local-lvm", "--full", 0)
    assert (r.rc, r.err) == (255, "parameter 'storage' not allowed for linked clones\n")
    r = qmx("clone", 100, 102, "--full", "--storage", "local-lvm")
    assert r.rc == 0 and "create full clone of drive scsi0" in r.out
    assert _conf(state, 102)["name"] == "Copy-of-VM-vm1"
    r = qmx("template", 100)
    assert (r.rc, r.err) == (255, "you can't convert a template to a template\n")


def test_resize_grows_never_shrinks_and_the_alias(qmx, state):
    """qm.pm ``disk resize`` (alias ``resize``, no ``$upid_exit``) -> Qemu.pm ``resize_vm``: the
    ``resize`` task says ``shrinking disks is not supported`` and qm still exits 0 (§12.2 as pct)."""
    _vm(qmx)
    assert qmx("disk", "resize", 100, "scsi0", "+8G").rc == 0
    assert _conf(state, 100)["scsi0"] == "local-lvm:vm-100-disk-0,iothread=1,size=40G"
    assert (state.storage_base_path("local-lvm") / "vm-100-disk-0").stat().st_size == 40 * 1024 ** 3
    assert qmx("resize", 100, "scsi0", "48G").rc == 0
    r = qmx("resize", 100, "scsi0", "8G")
    assert (r.rc, r.err) == (0, "shrinking disks is not supported\n")
    assert _conf(state, 100)["scsi0"] == "local-lvm:vm-100-disk-0,iothread=1,size=48G"
    r = qmx("resize", 100, "scsi1", "+1G")
    assert (r.rc, r.err) == (0, "disk 'scsi1' does not exist\n")


def test_unlock_drops_any_lock_and_a_locked_vm_refuses_changes(qmx, state):
    """qm.pm ``unlock`` (no error without a lock); ``check_lock``: ``VM is locked (<lock>)``."""
    _vm(qmx)
    assert qmx("unlock", 100).rc == 0
    conf = _conf(state, 100)
    conf["lock"] = "backup"
    state.write_pve_file("nodes/pve/qemu-server/100.conf", qmconfig.write_vm_config(conf))
    r = qmx("set", 100, "--cores", 2)
    assert (r.rc, r.err) == (255, "VM is locked (backup)\n")
    assert qmx("set", 100, "--cores", 2, "--skiplock").rc == 0
    assert qmx("unlock", 100).rc == 0
    assert "lock" not in _conf(state, 100)


def test_missing_vm_message_is_node_relative(qmx):
    """PVE::AbstractConfig ``load_config``: ``Configuration file 'nodes/<node>/qemu-server/<id>.conf' does not exist``."""
    r = qmx("config", 123)
    assert (r.rc, r.err) == (255, "Configuration file 'nodes/pve/qemu-server/123.conf' does not exist\n")


def test_permissions_through_the_acl(state):
    """Qemu.pm ``vm_config`` ``check => ['perm', '/vms/{vmid}', ['VM.Audit']]`` and create's VM.Allocate."""
    env = Env(state, user="alice@pve", rpc="https", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(PVEError) as exc:
        call(env, "POST", "/nodes/pve/qemu", {"vmid": 100, "memory": 512})
    assert exc.value.status == 403
    assert not state.pve_path("nodes/pve/qemu-server/100.conf").exists()


def test_a_create_that_fails_after_allocation_leaves_nothing(qmx, state):
    """Qemu.pm ``create_vm``: on an error the worker frees every volume in ``$vollist`` and the
    config goes; the error is ``unable to create VM <id> - <inner>``."""
    from pvesim import faults, storage

    faults.set_fail_create_after_alloc(state, message="disk full")
    r = qmx("create", 100, "--scsi0", "local-lvm:1", "--ide2", "local-lvm:cloudinit")
    assert (r.rc, r.err) == (255, "unable to create VM 100 - disk full\n")
    assert not state.pve_path("nodes/pve/qemu-server/100.conf").exists()
    assert storage.list_volumes(state, "local-lvm", vmid=100) == []


def test_per_key_permissions_of_a_config_change(qmx, state):
    """Qemu.pm ``$check_vm_modify_config_perm`` / ``$check_drive_perms``: PVEVMUser (``VM.Config.CDROM``,
    ``VM.Config.Cloudinit``) may set cloud-init keys and a CD-ROM, not a new disk (``$check_storage_access``
    asks ``Datastore.AllocateSpace`` first), a NIC (``VM.Config.Network``) or memory (``VM.Config.Memory``)."""
    from pvesim.auth import AuthStore

    _vm(qmx)
    store = AuthStore(state.pve_path("")).ensure()
    store.add_user("vmuser@pve")
    store.add_acl("/vms/100", "vmuser@pve", "PVEVMUser")
    env = Env(state, user="vmuser@pve", rpc="https", stdout=io.StringIO(), stderr=io.StringIO(),
              permission_checker=lambda e, p, privs, any_of: store.check(e.user, p, privs, any_of=any_of))
    assert call(env, "PUT", "/nodes/pve/qemu/100/config", {"ciuser": "ops", "ide2": "none,media=cdrom"}) is None
    for key, value, priv in (("scsi1", "local-lvm:1", "Datastore.AllocateSpace"), ("net1", "virtio,bridge=vmbr0", "VM.Config.Network"),
                             ("memory", "1024", "VM.Config.Memory")):
        with pytest.raises(PVEError) as exc:
            call(env, "PUT", "/nodes/pve/qemu/100/config", {key: value})
        assert exc.value.status == 403 and priv in exc.value.message, exc.value.message
    conf = _conf(state, 100)
    assert conf["ciuser"] == "ops" and conf["ide2"] == "none,media=cdrom"
    assert conf["memory"] == "2048" and "scsi1" not in conf and "net1" not in conf
