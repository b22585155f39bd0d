# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``VmManager`` with its real transports (``qm`` and the API) against pvesim's VMs (state mode, in-process)."""

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import argument_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.manager import VmManager, query
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode

TRANSPORTS = ("qm", "api")
SECRET = "Cl0ud-init-s3cret"


def params(**kwargs):
    base = dict((key, spec.get("default")) for key, spec in argument_spec().items())
    base.update(kwargs)
    return base


@pytest.fixture
def node(tmp_path, monkeypatch):
    return PveNode(tmp_path, monkeypatch)


@pytest.fixture(params=TRANSPORTS)
def via(request):
    return request.param


def transport(node, via):
    return node.qm_transport() if via == "qm" else node.api_vm_transport()


def run(sim, via, check=False, **kwargs):
    """One module run on a fresh transport; ``_writes`` are the mutating commands/calls it made."""
    before = len(sim.writes)
    warnings = []
    result = VmManager(transport(sim, via), params(**kwargs), check_mode=check, warn=warnings.append).run()
    result["_writes"] = sim.writes[before:]
    result["_warnings"] = warnings
    return result


def vm(**changes):
    spec = dict(vmid=200, name="web", node="pve", memory=1024, cores=2, ostype="l26", scsihw="virtio-scsi-single",
                disks={"scsi0": {"storage": "local-lvm", "size": "4G", "iothread": True}}, net=[{"bridge": "vmbr0"}],
                tags=["web"])
    spec.update(changes)
    return spec


def make_template(node, vmid=900, name="debian-tmpl"):
    for argv in (["create", str(vmid), "--name", name, "--memory", "512", "--scsihw", "virtio-scsi-single",
                  "--scsi0", "local-lvm:2", "--net0", "virtio,bridge=vmbr0", "--ide2", "local-lvm:cloudinit"],
                 ["template", str(vmid)]):
        rc, _out, err = node.run_command(["/usr/sbin/qm"] + argv)
        assert rc == 0, err


def test_create_then_second_run_is_a_no_op_with_two_reads(node, via):
    first = run(node, via, **vm())
    assert first["changed"] and [a["kind"] for a in first["actions"]] == ["create"]
    conf = node.vm_conf_text(200)
    assert "memory: 1024" in conf and "scsi0: local-lvm:vm-200-disk-0,iothread=1,size=4G" in conf
    assert first["config"]["net"][0]["macaddr"].upper().startswith("BC:24:11")
    second = run(node, via, **vm())
    assert not second["changed"] and second["_writes"] == [] and second["actions"] == []
    assert len(second["reads"]) == 2, second["reads"]
    assert second["diff"] == {"before": {}, "after": {}}


def test_check_mode_create_and_update_run_nothing(node, via):
    planned = run(node, via, check=True, **vm(state="started"))
    assert planned["changed"] and [a["kind"] for a in planned["actions"]] == ["create", "start"]
    assert planned["_writes"] == [] and node.vm_conf_text(200) is None
    real = run(node, via, **vm(state="started"))
    assert [a["argv"] for a in real["actions"]] == [a["argv"] for a in planned["actions"]]
    planned = run(node, via, check=True, **vm(cores=4))
    assert planned["changed"] and planned["_writes"] == [] and "cores: 2" in node.vm_conf_text(200)
    assert planned["diff"]["before"]["cores"] == 2 and planned["diff"]["after"]["cores"] == 4


def test_change_while_running_is_pending_and_restart_required(node, via):
    run(node, via, **vm(state="started"))
    changed = run(node, via, **vm(cores=4, description="web server"))
    assert changed["changed"] and changed["restart_required"] and changed["pending"] == ["cores"]
    assert [a["kind"] for a in changed["actions"]] == ["set"]
    text = node.vm_conf_text(200)
    assert "[PENDING]" in text and "description" not in text.split("[PENDING]")[1]
    again = run(node, via, **vm(cores=4, description="web server"))
    assert not again["changed"] and again["restart_required"] and again["_writes"] == []
    applied = run(node, via, **vm(cores=4, description="web server", apply_pending="restart"))
    assert applied["changed"] and [a["kind"] for a in applied["actions"]] == ["reboot"]
    assert not applied["restart_required"] and "[PENDING]" not in node.vm_conf_text(200)


def test_update_writes_only_the_differing_keys_with_the_digest_over_the_api(node):
    run(node, "api", **vm())
    result = run(node, "api", **vm(memory=2048))
    puts = [body for body in node.bodies if body[0] == "PUT"]
    assert list(sorted(puts[-1][2])) == ["digest", "memory"]
    assert result["actions"][0]["description"] == "set memory of VM 200"


def test_disk_grows_by_resize_and_never_shrinks(node, via):
    run(node, via, **vm())
    grown = run(node, via, **vm(disks={"scsi0": {"storage": "local-lvm", "size": "6G"}}))
    assert [a["kind"] for a in grown["actions"]] == ["resize"] and "size=6G" in node.vm_conf_text(200)
    before = len(node.writes)
    with pytest.raises(LxcriError) as err:
        run(node, via, **vm(disks={"scsi0": {"storage": "local-lvm", "size": "2G"}}))
    assert err.value.error_kind == "invalid_argument" and err.value.details.get("field") == "disks.scsi0.size"
    assert len(node.writes) == before


def test_clone_from_a_template_by_name_then_no_op(node, via):
    make_template(node)
    spec = dict(vmid=201, name="web2", node="pve", clone={"source": "debian-tmpl", "full": True}, memory=2048,
                disks={"scsi0": {"size": "3G"}}, ciuser="admin", ipconfig=[{"ip": "192.0.2.10/24", "gw": "192.0.2.1"}])
    made = run(node, via, **spec)
    assert [a["kind"] for a in made["actions"]] == ["clone", "set", "resize"]
    conf = node.vm_conf_text(201)
    assert "memory: 2048" in conf and "ciuser: admin" in conf and "size=3G" in conf and "template" not in conf
    assert made["config"]["name"] == "web2"
    again = run(node, via, **spec)
    assert not again["changed"] and again["_writes"] == [] and len(again["reads"]) == 2


def test_linked_clone_of_a_plain_vm_is_refused_naming_the_field(node, via):
    run(node, via, **vm())
    with pytest.raises(LxcriError) as err:
        run(node, via, vmid=202, node="pve", clone={"source": 200, "full": False})
    assert err.value.details.get("field") == "clone.full" and node.vm_conf_text(202) is None


def test_absent_with_purge_stops_and_destroys_the_disks(node, via):
    run(node, via, **vm(state="started"))
    gone = run(node, via, vmid=200, state="absent", purge=True)
    assert [a["kind"] for a in gone["actions"]] == ["shutdown", "destroy"] and node.vm_conf_text(200) is None
    assert not list((node.state.root / ".host").rglob("vm-200-disk-*"))
    assert not run(node, via, vmid=200, state="absent")["changed"]


def test_template_state_and_stopped(node, via):
    run(node, via, **vm(state="started"))
    stopped = run(node, via, **vm(state="stopped", force_stop=True))
    assert [a["kind"] for a in stopped["actions"]] == ["stop"] and stopped["status"] == "stopped"
    made = run(node, via, **vm(state="template"))
    assert made["template"] and [a["kind"] for a in made["actions"]] == ["template"]
    assert not run(node, via, **vm(state="template"))["changed"]


def test_info_round_trip_is_a_no_op(node, via):
    run(node, via, **vm(ipconfig=[{"ip": "dhcp"}], nameserver=["192.0.2.53"], ciuser="admin", balloon=512, agent=True))
    found = query(transport(node, via), {"vmid": 200})
    assert len(found) == 1 and found[0]["config"]["name"] == "web"
    again = run(node, via, vmid=200, node="pve", **found[0]["config"])
    assert not again["changed"] and again["_writes"] == [], again["actions"]


# -- secrets ----------------------------------------------------------------------------------------

def test_cipassword_goes_on_stdin_and_sshkeys_in_a_0600_file_over_qm(node, monkeypatch):
    import os
    import tempfile

    seen = {}
    real_mkstemp = tempfile.mkstemp

    def spying_mkstemp(*args, **kwargs):
        handle, path = real_mkstemp(*args, **kwargs)
        seen[path] = os.stat(path).st_mode & 0o777
        return handle, path

    monkeypatch.setattr(tempfile, "mkstemp", spying_mkstemp)
    keys = ["ssh-ed25519 AAAAC3Nza admin@example", "ssh-rsa AAAAB3Nza ops@example"]
    result = run(node, "qm", **vm(cipassword=SECRET, sshkeys=keys, ciuser="admin"))
    create = [argv for argv in node.argvs if argv[1] == "create"][-1]
    assert create[-1] == "--cipassword" and SECRET not in repr(node.argvs) and SECRET not in repr(result)
    assert node.stdins[node.argvs.index(create)].startswith(SECRET + "\n")
    keyfile = create[create.index("--sshkeys") + 1]
    ours = dict((path, mode) for path, mode in seen.items() if not path.startswith(str(node.state.root)))  # pvesim's own writes aside
    assert ours == {keyfile: 0o600} and not os.path.exists(keyfile)
    conf = node.vm_conf_text(200)
    assert "cipassword: $5$" in conf and "sshkeys: ssh-ed25519%20AAAAC3Nza" in conf
    again = run(node, "qm", **vm(cipassword=SECRET, sshkeys=keys, ciuser="admin"))
    assert not again["changed"]


@pytest.mark.parametrize("via", ["api", "qm"])
def test_cipassword_never_in_results_diff_or_actions(node, via):
    run(node, via, **vm())
    result = run(node, via, **vm(cipassword=SECRET))
    assert result["changed"] and SECRET not in repr(result)
    assert result["diff"]["after"]["cipassword"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert "cipassword: $5$" in node.vm_conf_text(200)
    assert not run(node, via, **vm(cipassword=SECRET))["changed"]
    rewritten = run(node, via, **vm(cipassword=SECRET, update_password="always"))
    assert rewritten["changed"] and SECRET not in repr(rewritten)
    if via == "qm":
        assert SECRET not in repr(node.argvs)


# -- bad input: refused before any call, naming the field -------------------------------------------

BAD_INPUT = [
    (dict(vmid=99), "vmid"),
    (dict(vmid=None, name=None), "vmid"),
    (dict(name="bad name"), "name"),
    (dict(memory=8), "memory"),
    (dict(cores=0), "cores"),
    (dict(net=[{"bridge": "vmbr0,tag=5"}]), "net"),
    (dict(net=[{"model": "nope"}]), "net"),
    (dict(disks={"floppy0": {"storage": "local-lvm", "size": "1G"}}), "disks"),
    (dict(description="x\x00y"), "description"),
    (dict(cipassword="a\nb"), "cipassword"),
    (dict(clone={"source": ""}), "clone.source"),
    (dict(clone={"source": 900, "full": False, "target_storage": "local-lvm"}), "clone.target_storage"),
    (dict(ipconfig=[{"ip": "10.0.0.1/24;x"}]), "ipconfig"),
    (dict(timeout=-1), "timeout"),
]


@pytest.mark.parametrize("bad, field", BAD_INPUT)
def test_bad_input_is_refused_before_any_call(node, via, bad, field):
    t = transport(node, via)
    with pytest.raises(LxcriError) as err:
        VmManager(t, params(**vm(**bad))).run()
    assert err.value.error_kind == "invalid_argument"
    assert str(err.value.details.get("field", "")).startswith(field), (err.value.details, err.value.msg)
    assert t.reads == [] and node.writes == [] and node.vm_conf_text(200) is None
    assert SECRET not in err.value.msg


# These depend on the VM as it is (an existing disk needs no size; boot may name an existing device):
# refused after the reads, before any write.
BAD_FOR_THIS_VM = [
    (dict(disks={"scsi0": {"storage": "local-lvm"}}), "disks.scsi0"),
    (dict(boot=["scsi5"]), "boot"),
    (dict(disks={"scsi0": {"storage": "other", "size": "4G"}}), "disks.scsi0.storage"),
]


@pytest.mark.parametrize("bad, field", BAD_FOR_THIS_VM)
def test_bad_input_for_this_vm_is_refused_before_any_write(node, via, bad, field):
    if field != "disks.scsi0":
        run(node, via, **vm())
    before = len(node.writes)
    with pytest.raises(LxcriError) as err:
        run(node, via, **vm(**bad))
    assert err.value.error_kind == "invalid_argument" and err.value.details.get("field") == field, err.value.msg
    assert len(node.writes) == before


def test_sshkeys_over_the_api_travel_url_encoded_and_round_trip(node):
    keys = ["ssh-ed25519 AAAAC3Nza admin@example", "ssh-rsa AAAAB3Nza ops@example"]
    run(node, "api", **vm(sshkeys=keys))
    assert "sshkeys: ssh-ed25519%20AAAAC3Nza%20admin%40example%0Assh-rsa" in node.vm_conf_text(200)
    found = query(transport(node, "api"), {"name": "web"})
    assert found[0]["config"]["sshkeys"] == keys
    assert not run(node, "api", vmid=200, node="pve", **found[0]["config"])["changed"]


def test_qm_transport_sends_the_keys_as_a_0600_file_and_the_password_on_stdin_only(node, monkeypatch):
    """What qm receives: no secret in any argv."""
    import os
    import tempfile

    modes = {}
    contents = {}
    real_run = node.run_command
    real_mkstemp = tempfile.mkstemp

    def spying_mkstemp(*args, **kwargs):
        handle, path = real_mkstemp(*args, **kwargs)
        modes[path] = os.stat(path).st_mode & 0o777
        return handle, path

    def reading_run(argv, data=None):
        if "--sshkeys" in argv:
            with open(argv[argv.index("--sshkeys") + 1]) as stream:
                contents["keys"] = stream.read()
        return real_run(argv, data=data)

    monkeypatch.setattr(tempfile, "mkstemp", spying_mkstemp)
    monkeypatch.setattr(node, "run_command", reading_run)
    t = node.qm_transport()
    shown = t.update(200, {"cipassword": SECRET, "sshkeys": "ssh-ed25519%20AAAAC3Nza%20a%40b%0A", "memory": "512"}, [], check=True)
    assert shown == ["/usr/sbin/qm", "set", "200", "--memory", "512", "--sshkeys", "<temporary file>", "--cipassword"]
    try:
        t.update(200, {"cipassword": SECRET, "sshkeys": "ssh-ed25519%20AAAAC3Nza%20a%40b%0A", "memory": "512"}, [])
    except LxcriError as exc:
        assert SECRET not in repr(exc.to_result())
    sent = node.argvs[-1]
    assert sent[-1] == "--cipassword" and SECRET not in repr(node.argvs) and node.stdins[-1] == "%s\n%s\n" % (SECRET, SECRET)
    keyfile = sent[sent.index("--sshkeys") + 1]
    assert modes == {keyfile: 0o600} and contents["keys"] == "ssh-ed25519 AAAAC3Nza a@b\n" and not os.path.exists(keyfile)


def test_check_mode_clone_plans_what_the_real_clone_does(node, via):
    make_template(node)
    spec = dict(vmid=203, name="web3", node="pve", clone={"source": 900}, cores=2, ciuser="admin", state="started")
    planned = run(node, via, check=True, **spec)
    assert planned["_writes"] == [] and node.vm_conf_text(203) is None
    assert planned["config"]["cores"] == 2 and planned["config"]["name"] == "web3"
    real = run(node, via, **spec)
    assert [(a["kind"], a["description"]) for a in planned["actions"]] == [(a["kind"], a["description"]) for a in real["actions"]]
    assert [a["kind"] for a in real["actions"]] == ["clone", "set", "start"] and "linked" in real["actions"][0]["description"]
    assert real["status"] == "running" and "cores: 2" in node.vm_conf_text(203)


def test_clone_by_vmid_to_a_target_storage_is_full(node, via):
    make_template(node)
    made = run(node, via, vmid=204, node="pve", clone={"source": 900, "target_storage": "local-lvm"})
    assert "full" in made["actions"][0]["description"]
    assert "scsi0: local-lvm:vm-204-disk-" in node.vm_conf_text(204)


def test_clone_of_a_missing_source_names_the_field_and_makes_nothing(node, via):
    with pytest.raises(LxcriError) as err:
        run(node, via, vmid=205, node="pve", clone={"source": "no-such-template"})
    assert err.value.error_kind == "not_found" and err.value.details["field"] == "clone.source" and node.writes == []


def test_protected_vm_is_not_stopped_or_removed(node, via):
    run(node, via, **vm(protection=True, state="started"))
    with pytest.raises(LxcriError) as err:
        run(node, via, vmid=200, state="absent")
    assert err.value.error_kind == "conflict" and err.value.details["field"] == "protection"
    assert node.vm_conf_text(200) is not None and run(node, via, vmid=200, state="started")["status"] == "running"


def test_restarted_reboots_a_running_vm_and_starts_a_stopped_one(node, via):
    run(node, via, **vm())
    started = run(node, via, vmid=200, state="restarted")
    assert [a["kind"] for a in started["actions"]] == ["start"] and started["status"] == "running"
    rebooted = run(node, via, vmid=200, state="restarted")
    assert [a["kind"] for a in rebooted["actions"]] == ["reboot"] and rebooted["changed"]


def test_a_clone_whose_config_write_fails_is_removed(node, via):
    make_template(node)
    node.fail_next("update_vm", message="simulated failure")
    with pytest.raises(LxcriError) as err:
        run(node, via, vmid=206, node="pve", clone={"source": 900}, memory=2048)
    assert "simulated failure" in err.value.msg and err.value.details["failed_action"]["kind"] == "set"
    assert err.value.details["cleanup"] == "removed the half-created VM 206" and node.vm_conf_text(206) is None
    assert node.vm_conf_text(900) is not None


def test_a_failed_create_leaves_nothing_behind(node, via):
    node.fail_next("create_vm", message="simulated failure")
    with pytest.raises(LxcriError) as err:
        run(node, via, **vm())
    assert err.value.details["cleanup"] in ("nothing left behind", "removed the half-created VM 200") and node.vm_conf_text(200) is None
