# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pve_vm``'s promises to an Ansible user, item by item, on both transports against pvesim (state mode).

Changed exactly when something changed; check mode plans the same actions as the real run and writes
nothing; the MAC kept; a removed disk detached to ``unusedN`` only with ``exclusive``; name uniqueness;
lock retry; no secret in any error; ``pve_vm_info`` output fed back plans nothing.
"""

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.manager import VmManager, query
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pvevm.test_vm_manager import SECRET, make_template, params, run, transport, vm
from pvesim import handlers
from pvesim.qemu_api import configs as qemu_configs


@pytest.fixture
def node(tmp_path, monkeypatch):
    return PveNode(tmp_path, monkeypatch)


@pytest.fixture(params=("qm", "api"))
def via(request):
    return request.param


def kinds(result):
    return [action["kind"] for action in result["actions"]]


def set_vm_conf_line(sim, vmid, key, value):
    """Edit the VM's config file as another tool on the node would (a backup's lock)."""
    path = qemu_configs(handlers.Env(sim.state)).path(vmid)
    lines = [line for line in path.read_text().splitlines() if not line.startswith(key + ":")]
    if value is not None:
        lines.insert(0, "%s: %s" % (key, value))
    path.write_text("\n".join(lines) + "\n")


def assert_check_predicts_real(sim, via, **spec):
    """A check-mode run writes nothing and lists what the real run then does (kind, description, argv), with the same
    ``changed``, ``status``, ``restart_required``, ``pending`` and diff."""
    before_conf = {vmid: sim.vm_conf_text(vmid) for vmid in (200, 201)}
    planned = run(sim, via, check=True, **spec)
    assert planned["_writes"] == [] and {vmid: sim.vm_conf_text(vmid) for vmid in (200, 201)} == before_conf
    real = run(sim, via, **spec)
    shown = [(a["kind"], a["description"], a.get("argv")) for a in planned["actions"]]
    assert shown == [(a["kind"], a["description"], a.get("argv")) for a in real["actions"]]
    for key in ("changed", "status", "restart_required", "pending", "template", "diff"):
        assert planned[key] == real[key], (key, planned[key], real[key])
    return real


# -- check mode: the same actions as the real run, zero writes --------------------------------------

CHECK_CASES = [
    ("memory while running", dict(memory=2048)),
    ("hot description while running", dict(description="front end")),
    ("apply_pending restart", dict(cores=4, apply_pending="restart")),
    ("hot cpuunits, cpulimit, balloon, tablet", dict(cpuunits=300, cpulimit=2, balloon=512, tablet=False)),
    ("balloon disabled: pending", dict(balloon=0)),
    ("agent fstrim hot, type pending", dict(agent={"enabled": True, "fstrim_cloned_disks": True, "type": "isa"})),
    ("disk backup hot, cache pending", dict(disks={"scsi0": {"storage": "local-lvm", "size": "4G", "backup": False},
                                                   "virtio1": {"storage": "local-lvm", "size": "1G", "cache": "writeback"}})),
    ("stopped", dict(state="stopped")),
    ("stopped with force_stop", dict(state="stopped", force_stop=True)),
    ("restarted", dict(state="restarted")),
    ("template", dict(state="template")),
    ("absent with purge", dict(state="absent", purge=True)),
    ("disk grown and a new disk", dict(disks={"scsi0": {"storage": "local-lvm", "size": "6G"}, "scsi1": {"storage": "local-lvm", "size": "1G"}})),
    ("exclusive drops a NIC and a disk", dict(exclusive=True, net=[{"bridge": "vmbr0"}], disks={"scsi0": {"storage": "local-lvm", "size": "4G"}},
                                              tags=["web"])),
]


@pytest.mark.parametrize("case, change", CHECK_CASES, ids=[case for case, _change in CHECK_CASES])
def test_check_mode_plans_what_the_real_run_does(node, via, case, change):
    start = vm(state="started", net=[{"bridge": "vmbr0"}, {"bridge": "vmbr0", "tag": 20}], agent=True,
               disks={"scsi0": {"storage": "local-lvm", "size": "4G", "iothread": True}, "virtio1": {"storage": "local-lvm", "size": "1G"}})
    run(node, via, **start)
    spec = vm(**change)
    if change.get("state") in ("absent", "template", "stopped", "restarted"):
        spec = dict(vmid=200, state=change["state"], purge=change.get("purge", False), force_stop=change.get("force_stop", False))
    real = assert_check_predicts_real(node, via, **spec)
    assert real["changed"]
    again = run(node, via, **spec)
    assert not again["changed"] or change.get("state") == "restarted", again["actions"]


# -- changed exactly when something changed ----------------------------------------------------------

def test_a_state_already_reached_is_no_change_and_no_write(node, via):
    run(node, via, **vm(state="started"))
    for state in ("started", "present"):
        result = run(node, via, vmid=200, state=state)
        assert not result["changed"] and result["_writes"] == [] and result["status"] == "running"
    run(node, via, vmid=200, state="stopped")
    result = run(node, via, vmid=200, state="stopped")
    assert not result["changed"] and result["_writes"] == [] and result["status"] == "stopped"
    run(node, via, vmid=200, state="absent")
    result = run(node, via, vmid=200, state="absent")
    assert not result["changed"] and result["_writes"] == [] and result["status"] == "absent"


# -- net: the MAC kept when not declared ---------------------------------------------------------------

def test_changing_a_nic_keeps_the_generated_mac(node, via):
    made = run(node, via, **vm())
    mac = made["config"]["net"][0]["macaddr"]
    changed = run(node, via, **vm(net=[{"bridge": "vmbr1", "tag": 20, "firewall": True}]))
    assert changed["changed"] and changed["config"]["net"][0]["macaddr"] == mac
    assert "net0: virtio=%s,bridge=vmbr1,firewall=1,tag=20" % mac in node.vm_conf_text(200)
    remodelled = run(node, via, **vm(net=[{"model": "e1000", "bridge": "vmbr1"}]))
    assert "net0: e1000=%s,bridge=vmbr1,firewall=1,tag=20" % mac in node.vm_conf_text(200), remodelled["actions"]
    assert not run(node, via, **vm(net=[{"model": "e1000", "bridge": "vmbr1"}]))["changed"]


# -- disks: a removed disk goes to unusedN only with exclusive ----------------------------------------

def test_a_disk_left_out_is_kept_and_with_exclusive_detached_to_unused(node, via):
    two = {"scsi0": {"storage": "local-lvm", "size": "4G"}, "scsi1": {"storage": "local-lvm", "size": "1G"}}
    run(node, via, **vm(disks=two))
    disk1 = [line for line in node.vm_conf_text(200).splitlines() if line.startswith("scsi1:")][0].split(": ", 1)[1].split(",")[0]
    one = {"scsi0": {"storage": "local-lvm", "size": "4G"}}
    kept = run(node, via, **vm(disks=one))
    assert not kept["changed"] and "scsi1:" in node.vm_conf_text(200)
    detached = run(node, via, **vm(disks=one, exclusive=True, tags=["web"]))
    assert kinds(detached) == ["set"] and "-scsi1" in detached["actions"][0]["description"]
    conf = node.vm_conf_text(200)
    assert "scsi1:" not in conf and "unused0: %s" % disk1 in conf
    assert list((node.state.root / ".host").rglob(disk1.split(":", 1)[1] + "*")), "the volume must survive the detach"
    assert not run(node, via, **vm(disks=one, exclusive=True, tags=["web"]))["changed"]


# -- name uniqueness ----------------------------------------------------------------------------------

def two_vms_named_web(sim, via):
    """VM 200 made by the module, VM 201 with the same name made outside it (the module never makes a duplicate)."""
    run(sim, via, **vm())
    rc, _out, err = sim.run_command(["/usr/sbin/qm", "create", "201", "--name", "web"])
    assert rc == 0, err


def test_a_name_two_vms_share_is_refused_when_it_is_the_identity(node, via):
    two_vms_named_web(node, via)
    before = len(node.writes)
    with pytest.raises(LxcriError) as err:
        run(node, via, name="web", node="pve", memory=4096)
    assert err.value.error_kind == "conflict" and err.value.details["vmids"] == [200, 201] and "give vmid" in err.value.msg
    assert len(node.writes) == before


@pytest.mark.parametrize("how", ["create", "clone", "rename"])
def test_a_run_that_would_give_a_second_vm_the_same_name_is_refused_before_any_write(node, via, how):
    """Names identify VMs (``name`` without ``vmid``), so the module never makes two VMs share one; a VM that already
    shares its name (made elsewhere) can still be managed by vmid."""
    run(node, via, **vm())
    if how == "clone":
        make_template(node)
        spec = dict(vmid=201, name="web", node="pve", clone={"source": 900})
    elif how == "rename":
        run(node, via, **vm(vmid=201, name="db"))
        spec = vm(vmid=201)
    else:
        spec = vm(vmid=201)
    before = len(node.writes)
    for check in (True, False):
        with pytest.raises(LxcriError) as err:
            run(node, via, check=check, **spec)
        assert err.value.error_kind == "conflict" and err.value.details["field"] == "name" and err.value.details["vmids"] == [200]
        assert "VM 200" in err.value.msg
    assert len(node.writes) == before and "name: web" not in (node.vm_conf_text(201) or "")


def test_a_vm_that_already_shares_its_name_is_still_managed_by_vmid(node, via):
    two_vms_named_web(node, via)
    assert kinds(run(node, via, vmid=201, name="web", node="pve", memory=1024)) == ["set"]


def test_a_vmid_held_by_a_container_is_a_clear_error_and_the_container_is_untouched(node, via):
    rc, _out, err = node.run_command(["/usr/sbin/pct", "create", "200", node.template, "--rootfs", "local-lvm:1", "--hostname", "ct"])
    assert rc == 0, err
    ct_conf = node.conf_text(200)
    before = len(node.writes)
    with pytest.raises(LxcriError) as error:
        run(node, via, **vm())
    assert error.value.error_kind == "conflict" and "200" in error.value.msg, error.value.msg
    assert node.conf_text(200) == ct_conf and node.vm_conf_text(200) is None
    assert "cleanup" not in error.value.details or "removed" not in error.value.details["cleanup"]
    assert len(node.writes) - before <= 1


# -- lock_timeout and timeout ---------------------------------------------------------------------------

def test_a_locked_vm_is_retried_then_fails_locked_naming_qm_unlock(node, via):
    run(node, via, **vm())
    set_vm_conf_line(node, 200, "lock", "backup")
    with pytest.raises(LxcriError) as err:
        run(node, via, **vm(memory=3100, lock_timeout=1))
    assert err.value.error_kind == "locked" and "qm unlock 200" in err.value.msg and "pct" not in err.value.msg
    assert err.value.details["attempts"] >= 2 and "memory: 1024" in node.vm_conf_text(200)
    set_vm_conf_line(node, 200, "lock", None)
    assert run(node, via, **vm(memory=3100))["changed"]


def test_timeout_reaches_the_shutdown_and_the_reboot(node, via):
    run(node, via, **vm(state="started"))
    rebooted = run(node, via, vmid=200, state="restarted", timeout=42)
    stopped = run(node, via, vmid=200, state="stopped", timeout=42)
    for result in (rebooted, stopped):
        shown = result["actions"][0]["argv"]
        assert "42" in [str(part) for part in shown] or "timeout=42" in repr(shown), shown


# -- secrets never in errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["create_vm", "update_vm"])
def test_a_failing_write_with_a_cipassword_never_shows_it(node, via, fault):
    if fault == "update_vm":
        run(node, via, **vm())
    node.fail_next(fault, message="simulated failure")
    with pytest.raises(LxcriError) as err:
        run(node, via, **vm(cipassword=SECRET, update_password="always"))
    assert "simulated failure" in err.value.msg
    assert SECRET not in repr(err.value.to_result()) and SECRET not in repr(err.value.details)


# -- pve_vm_info: the module's input shape, fed back plans nothing -----------------------------------------

RICH = dict(vmid=200, name="rich", node="pve", memory=2048, balloon=1024, cores=2, sockets=1, cpu="x86-64-v2-AES,flags=+aes",
            machine="q35", bios="ovmf", ostype="l26", scsihw="virtio-scsi-single", agent={"enabled": True, "fstrim_cloned_disks": True},
            disks={"scsi0": {"storage": "local-lvm", "size": "4G", "iothread": True, "discard": "on"},
                   "efidisk0": {"storage": "local-lvm", "efitype": "4m"}, "ide2": {"file": "local-lvm:cloudinit"}},
            net=[{"bridge": "vmbr0", "firewall": True}, {"model": "e1000", "bridge": "vmbr1", "tag": 20, "mtu": 1450, "rate": 12.5}],
            boot=["scsi0", "net0"], ciuser="admin", sshkeys=["ssh-ed25519 AAAAC3Nza admin@example"],
            ipconfig=[{"ip": "192.0.2.10/24", "gw": "192.0.2.1"}, {"ip6": "auto"}], nameserver=["192.0.2.53"],
            searchdomain=["example.com"], onboot=True, startup={"order": 2, "up": 30}, tags=["db", "prod"],
            description="line one\nline two: with colon", protection=True, hookscript="local:snippets/hook.sh", numa=False,
            tablet=False, citype="nocloud")


@pytest.mark.parametrize("exclusive", [False, True])
def test_info_of_a_rich_vm_fed_back_is_a_no_op(node, via, exclusive):
    made = run(node, via, **RICH)
    assert made["changed"]
    found = query(transport(node, via), {"name": "rich"})
    assert len(found) == 1 and found[0]["vmid"] == 200 and not found[0]["template"]
    config = found[0]["config"]
    assert "cipassword" not in config and config["net"][0]["macaddr"] and config["disks"]["scsi0"]["size"] == "4G"
    again = run(node, via, vmid=200, node="pve", exclusive=exclusive, **config)
    assert not again["changed"] and again["_writes"] == [] and again["actions"] == [], again["actions"]
    assert again["config"] == config


# -- bad input: each refused before any call, naming the field (beyond test_vm_manager's table) -------

MORE_BAD_INPUT = [
    (dict(net=[{"bridge": "vmbr0", "tag": 5000}]), "net[0].tag"),
    (dict(net=[{"bridge": "vmbr0", "mtu": 70000}]), "net[0].mtu"),
    (dict(net=[{"bridge": "vmbr0", "macaddr": "01:00:5E:00:00:01"}]), "net[0].macaddr"),
    (dict(net=[{"bridge": "vmbr0", "bogus": 1}]), "net[0].bogus"),
    (dict(net=["virtio,bridge=vmbr0", 5]), "net[1]"),
    (dict(net=[{"bridge": "vmbr0", "id": 32}]), "net"),
    (dict(disks={"scsi0": {"storage": "local-lvm", "size": "lots"}}), "disks.scsi0.size"),
    (dict(disks={"scsi0": {"storage": "local-lvm", "size": "0"}}), "disks.scsi0.size"),
    (dict(disks={"scsi0": {"storage": "local-lvm", "size": "4G", "bogus": 1}}), "disks.scsi0.bogus"),
    (dict(disks={"scsi0": {"storage": "local-lvm", "size": "4G", "cache": "none,ro=1"}}), "disks.scsi0.cache"),
    (dict(disks={"scsi0": {"storage": "local-lvm,x=1", "size": "4G"}}), "disks.scsi0.storage"),
    (dict(disks={"virtio16": {"storage": "local-lvm", "size": "4G"}}), "disks"),
    (dict(disks=["scsi0"]), "disks"),
    (dict(ipconfig=[{"gw": "192.0.2.1"}]), "ipconfig[0].gw"),
    (dict(ipconfig=[{"ip": "300.1.1.1/24"}]), "ipconfig[0].ip"),
    (dict(ipconfig=[{"ip6": "fe80::1/200"}]), "ipconfig[0].ip6"),
    (dict(clone={"source": "bad name!"}), "clone.source"),
    (dict(clone={"source": 900, "bogus": 1}), "clone.bogus"),
    (dict(cpu={"cputype": "host", "bogus": 1}), "cpu.bogus"),
    (dict(agent={"enabled": True, "bogus": 1}), "agent.bogus"),
    (dict(machine="q35,bogus=1"), "machine"),
    (dict(startup="order=x"), "startup"),
    (dict(tags=["bad tag!"]), "tags"),
    (dict(nameserver=["not-an-ip"]), "nameserver"),
    (dict(searchdomain=["bad domain!"]), "searchdomain"),
    (dict(sshkeys="ssh-ed25519 AAAA\x00 me@example"), "sshkeys"),
    (dict(balloon=-1), "balloon"),
    (dict(vcpus=0), "vcpus"),
    (dict(sockets=0), "sockets"),
    (dict(memory="lots"), "memory"),
    (dict(ostype="linux"), "ostype"),
    (dict(bios="uefi"), "bios"),
    (dict(boot="order=scsi0;bogus"), "boot"),
    (dict(hookscript="local:snippets/a\nb"), "hookscript"),
    (dict(ciuser="admin\nroot"), "ciuser"),
    (dict(name="-web"), "name"),
    (dict(lock_timeout=-1), "lock_timeout"),
    (dict(cipassword=SECRET + "\x07"), "cipassword"),
]


@pytest.mark.parametrize("bad, field", MORE_BAD_INPUT, ids=[field + "-" + str(i) for i, (_bad, field) in enumerate(MORE_BAD_INPUT)])
def test_more_bad_input_is_refused_before_any_call_naming_the_field(node, via, bad, field):
    t = transport(node, via)
    with pytest.raises(LxcriError) as err:
        VmManager(t, params(**vm(**bad))).run()
    assert err.value.error_kind == "invalid_argument", err.value.msg
    assert str(err.value.details.get("field", "")).startswith(field), (err.value.details, err.value.msg)
    assert t.reads == [] and node.writes == [] and node.vm_conf_text(200) is None
    assert SECRET not in repr(err.value.to_result())


def test_info_of_a_rich_vm_fed_back_through_the_modules_is_a_no_op(node, via, monkeypatch, capsys):
    """The same through AnsibleModule (its type conversions of every returned option), diff mode on."""
    from ansible_collections.lxcri.containers.plugins.modules import pve_vm, pve_vm_info
    from ansible_collections.lxcri.containers.tests.unit.plugins.modules.test_pve_vm import run_module

    made = run_module(pve_vm, dict(RICH, cipassword=SECRET, _ansible_diff=True), node, monkeypatch, capsys, via)
    assert made["changed"] and SECRET not in repr(made), made.get("msg")
    info = run_module(pve_vm_info, dict(name="rich"), node, monkeypatch, capsys, via)
    config = info["vms"][0]["config"]
    again = run_module(pve_vm, dict(config, vmid=200, exclusive=True, _ansible_diff=True), node, monkeypatch, capsys, via)
    assert not again.get("failed") and not again["changed"], again.get("msg") or again["actions"]
    assert again["diff"] == {"before": {}, "after": {}}


# -- clone --------------------------------------------------------------------------------------------------

def test_clone_is_ignored_once_the_vm_exists(node, via):
    make_template(node)
    spec = dict(vmid=201, name="web2", node="pve", clone={"source": "debian-tmpl"}, memory=1024)
    assert kinds(run(node, via, **spec)) == ["clone", "set"]
    again = run(node, via, **{**spec, "memory": 2048})
    assert kinds(again) == ["set"] and "memory: 2048" in node.vm_conf_text(201)


def test_clone_of_a_plain_vm_by_name_is_full_and_check_mode_predicts_it(node, via):
    run(node, via, **vm())
    spec = dict(vmid=201, name="web-copy", node="pve", clone={"source": "web", "target_storage": "local-lvm"}, cores=4)
    real = assert_check_predicts_real(node, via, **spec)
    assert kinds(real) == ["clone", "set"] and "full" in real["actions"][0]["description"]
    conf = node.vm_conf_text(201)
    assert "cores: 4" in conf and "scsi0: local-lvm:vm-201-disk-0" in conf and "name: web-copy" in conf
    assert real["config"]["net"][0]["macaddr"] != run(node, via, vmid=200)["config"]["net"][0]["macaddr"]


def test_a_clone_source_name_two_vms_share_is_refused_naming_the_field(node, via):
    two_vms_named_web(node, via)
    before = len(node.writes)
    with pytest.raises(LxcriError) as err:
        run(node, via, vmid=202, node="pve", clone={"source": "web"})
    assert err.value.error_kind == "conflict" and err.value.details["field"] == "clone.source"
    assert len(node.writes) == before and node.vm_conf_text(202) is None


# -- diff mode ------------------------------------------------------------------------------------------------

def test_the_diff_of_a_create_an_update_and_a_removal(node, via):
    made = run(node, via, **vm(cipassword=SECRET))
    assert made["diff"]["before"] == {} and made["diff"]["after"]["memory"] == 1024
    assert made["diff"]["after"]["disks"]["scsi0"]["iothread"] is True and SECRET not in repr(made["diff"])
    changed = run(node, via, **vm(memory=2048, tags=["web", "prod"]))
    assert changed["diff"] == {"before": {"memory": 1024, "tags": ["web"]}, "after": {"memory": 2048, "tags": ["prod", "web"]}}
    gone = run(node, via, vmid=200, state="absent")
    assert gone["diff"]["after"] == {} and gone["diff"]["before"]["name"] == "web" and "cipassword" not in gone["diff"]["before"]


# -- idempotence of every option shape ---------------------------------------------------------------------------

EXOTIC = dict(vmid=200, name="exotic", node="pve", bios="ovmf", machine={"type": "q35"}, cpu={"cputype": "host", "flags": ["+aes", "-pcid"]},
              agent=True, memory={"current": 1024}, vcpus=1, cpulimit=1.5, cpuunits=200, acpi=True, kvm=False,
              disks={"efidisk0": {"storage": "local-lvm", "efitype": "4m", "pre-enrolled-keys": True},
                     "tpmstate0": {"storage": "local-lvm", "version": "v2.0"},
                     "scsi1": {"storage": "local-lvm", "size": "1536M", "format": "raw", "cache": "writeback", "ssd": True,
                               "discard": "on", "backup": False},
                     "ide0": {"file": "none", "media": "cdrom"}},
              net=["virtio,bridge=vmbr0,queues=2", {"bridge": "vmbr0", "link_down": True, "trunks": [10, 20]}],
              boot="order=scsi1;net0", sshkeys="ssh-ed25519 AAAAC3Nza a@b\nssh-rsa AAAAB3Nza c@d\n", startup="order=1,up=5",
              nameserver=["192.0.2.53", "2001:db8::53"], searchdomain=["a.example", "b.example"], tags=["x"])


def test_every_option_shape_converges_then_is_a_no_op(node, via):
    spec = dict(EXOTIC)
    made = run(node, via, **spec)
    assert made["changed"] and made["_warnings"] == [], made["_warnings"]
    conf = node.vm_conf_text(200)
    assert "cpu: host,flags=+aes;-pcid" in conf and "trunks=10;20" in conf and "scsi1: local-lvm:vm-200-disk-" in conf
    again = run(node, via, **spec)
    assert not again["changed"] and again["_writes"] == [], again["actions"]


def test_an_api_no_op_without_node_reads_the_live_status(node):
    """Without ``node`` the VM is found in /cluster/resources, whose status pvestatd refreshes only every
    10 s: the live status is read too (three reads), so a VM started a moment ago counts as running."""
    run(node, "api", **vm())
    node.run_command(["/usr/sbin/qm", "start", "200"])
    spec = vm(node=None, cores=4)
    changed = VmManager(node.api_vm_transport(node=None), params(**spec)).run()
    assert changed["node"] == "pve" and changed["status"] == "running" and changed["restart_required"]
    again = VmManager(node.api_vm_transport(node=None), params(**spec)).run()
    assert not again["changed"] and [read[1].rsplit("/", 1)[-1] for read in again["reads"]] == ["resources", "pending", "current"]
