# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The manager with its real transports against pvesim (state mode, in-process), over pct and the API."""

from __future__ import annotations

import fcntl
import os
import time

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import transport_pct
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager
from ansible_collections.lxcri.containers.plugins.modules.pve_container import argument_spec
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode
from pvesim import faults
from pvesim.config import lxc_configs

TRANSPORTS = ("pct", "api")


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


def transport(node, via, **kwargs):
    return node.pct_transport(**kwargs) if via == "pct" else node.api_transport(**kwargs)


def run(node, via, *specs, check=False, **kwargs):
    """One module run on a fresh transport; ``_writes`` are the mutating commands/calls it made."""
    merged = {}
    for spec in specs:
        merged.update(spec)
    merged.update(kwargs)
    before = len(node.writes)
    warnings = []
    result = Manager(transport(node, via), params(**merged), check_mode=check, warn=warnings.append).run()
    result["_writes"] = node.writes[before:]
    result["_warnings"] = warnings
    return result


def web(node, **changes):
    spec = dict(vmid=120, hostname="web", ostemplate=node.template, storage="local-lvm", rootfs="8G", memory=1024, cores=2,
                net={"net0": {"name": "eth0", "bridge": "vmbr0", "ip": "dhcp"}}, features={"nesting": True}, tags=["Web", "prod"],
                description="web server", nameserver=["1.1.1.1", "8.8.8.8"], onboot=True, startup={"order": 1, "up": 30}, cpuunits=20000)
    spec.update(changes)
    return spec


def kinds(result):
    return [action["kind"] for action in result["actions"]]


def set_conf_line(node, vmid, key, value):
    """Edit the CT's config file as another tool on the node would (a backup's lock, drift)."""
    path = lxc_configs(node.state).path(vmid)
    lines = [line for line in path.read_text().splitlines() if not line.startswith(key + ":")]
    if value is not None:
        lines.insert(0, "%s: %s" % (key, value))
    path.write_text("\n".join(lines) + "\n")


# --- converge, idempotence, check mode -----------------------------------------------------------

def test_create_then_second_run_is_a_noop_with_two_reads(node, via):
    first = run(node, via, web(node), state="started")
    assert first["changed"] and kinds(first) == ["create", "start"]
    assert first["config"]["net"]["net0"]["hwaddr"].startswith("BC:24:11")
    assert first["config"]["rootfs"]["size"] == "8G"
    assert first["config"]["tags"] == ["prod", "web"]
    second = run(node, via, web(node), state="started")
    assert not second["changed"], second["actions"]
    assert second["_writes"] == []
    assert len(second["reads"]) <= 2
    assert second["diff"] == {"before": {}, "after": {}}


def test_check_mode_create_predicts_and_touches_nothing(node, via):
    result = run(node, via, web(node), check=True, state="started")
    assert result["changed"] and kinds(result) == ["create", "start"]
    assert not node.exists(120) and result["_writes"] == []
    assert result["diff"]["before"] == {} and result["diff"]["after"]["memory"] == 1024


def test_change_on_running_ct_writes_only_the_difference_and_reports_pending(node, via):
    run(node, via, web(node), state="started")
    changed = web(node, memory=2048, features={"nesting": True, "keyctl": True})
    check = run(node, via, changed, check=True, state="started")
    assert check["changed"] and check["restart_required"] and check["_writes"] == []
    result = run(node, via, changed, state="started")
    assert len(result["_writes"]) == 1 and kinds(result) == ["set"]
    assert result["actions"][0]["description"] == "set features, memory of CT 120"
    assert result["restart_required"] is True and result["pending"] == ["features"]
    assert result["diff"]["before"] == {"features": {"nesting": True}, "memory": 1024}
    again = run(node, via, changed, state="started")
    assert not again["changed"] and again["restart_required"] is True
    applied = run(node, via, changed, state="started", apply_pending="restart")
    assert kinds(applied) == ["reboot"] and applied["restart_required"] is False


def test_exclusive_removes_undeclared_interfaces_and_tags(node, via):
    run(node, via, web(node, net=[{"name": "eth0", "bridge": "vmbr0"}, {"name": "eth1", "bridge": "vmbr0"}]))
    plain = run(node, via, web(node, net=[{"name": "eth0", "bridge": "vmbr0"}], tags=["web"]))
    assert not plain["changed"]
    result = run(node, via, web(node, net=[{"name": "eth0", "bridge": "vmbr0"}], tags=["web"]), exclusive=True)
    assert result["actions"][0]["description"] == "set -net1, tags of CT 120"
    assert "net1" not in result["config"]["net"] and result["config"]["tags"] == ["web"]
    assert not run(node, via, web(node, net=[{"name": "eth0", "bridge": "vmbr0"}], tags=["web"]), exclusive=True)["changed"]


def test_drift_is_corrected(node, via):
    run(node, via, web(node))
    set_conf_line(node, 120, "memory", "4096")
    result = run(node, via, web(node))
    assert result["changed"] and result["diff"] == {"before": {"memory": 4096}, "after": {"memory": 1024}}
    assert not run(node, via, web(node))["changed"]


def test_rootfs_grows_by_resize_and_never_shrinks(node, via):
    run(node, via, web(node))
    grown = run(node, via, web(node, rootfs="16G"))
    assert kinds(grown) == ["resize"] and grown["config"]["rootfs"]["size"] == "16G"
    assert not run(node, via, web(node, rootfs="16G"))["changed"]
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, rootfs="4G"))
    assert err.value.error_kind == "invalid_argument" and "rootfs.size" in err.value.msg


def test_locked_ct_is_retried_then_fails_locked(node, via):
    run(node, via, web(node))
    set_conf_line(node, 120, "lock", "backup")
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, memory=3100), lock_timeout=1)
    assert err.value.error_kind == "locked" and "pct unlock 120" in err.value.msg
    assert err.value.details["attempts"] >= 2
    set_conf_line(node, 120, "lock", None)
    assert run(node, via, web(node, memory=3100))["changed"]


def test_failed_create_leaves_nothing_behind(node, via):
    faults.set_fail_create_after_alloc(node.state)
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node))
    assert not node.exists(120), err.value.details
    assert err.value.details["cleanup"] in ("nothing left behind", "removed the half-created CT 120")


def test_unprivileged_cannot_change_after_create(node, via):
    run(node, via, web(node))
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, unprivileged=False))
    assert err.value.error_kind == "conflict" and "unprivileged" in err.value.msg
    assert not run(node, via, web(node, unprivileged=True))["changed"]


def test_state_transitions_and_absent(node, via):
    run(node, via, web(node), state="started")
    assert kinds(run(node, via, web(node), state="stopped")) == ["shutdown"]
    assert not run(node, via, web(node), state="stopped")["changed"]
    assert kinds(run(node, via, web(node), state="restarted")) == ["start"]
    assert kinds(run(node, via, web(node), state="restarted")) == ["reboot"]
    assert kinds(run(node, via, web(node), state="template")) == ["shutdown", "template"]
    assert not run(node, via, web(node), state="template")["changed"]
    with pytest.raises(LxcriError):
        run(node, via, web(node), state="started")
    assert kinds(run(node, via, state="absent", vmid=120)) == ["destroy"]
    assert not node.exists(120)
    assert not run(node, via, state="absent", vmid=120)["changed"]


def test_hostname_only_identity_and_nextid(node, via):
    spec = web(node)
    spec.pop("vmid")
    created = run(node, via, spec)
    assert created["vmid"] == 100
    assert not run(node, via, spec)["changed"]


def test_an_empty_value_deletes_the_key_and_then_converges(node, via):
    run(node, via, web(node))
    empties = {}
    for key, empty in (("description", ""), ("nameserver", []), ("features", {}), ("startup", {})):
        empties[key] = empty
        result = run(node, via, web(node, **empties))
        assert result["actions"][0]["description"] == "set -%s of CT 120" % key, key
        assert key not in result["config"]
        assert not run(node, via, web(node, **empties))["changed"], key
    result = run(node, via, web(node, tags=[], **empties), exclusive=True)
    assert "tags" not in result["config"]


# --- defects of issue 12, each against pvesim --------------------------------------------------

def test_absent_refuses_a_protected_ct_before_stopping_it(node, via):
    run(node, via, web(node, protection=True), state="started")
    with pytest.raises(LxcriError) as err:
        run(node, via, vmid=120, state="absent")
    assert err.value.error_kind == "conflict"
    assert "protection" in err.value.msg and "protection: false" in err.value.msg
    assert node.writes[-1][:2] != ["/usr/sbin/pct", "stop"] and node.exists(120)
    assert run(node, via, web(node, protection=True), state="started")["status"] == "running"


def test_absent_shuts_down_unless_force_stop(node, via):
    run(node, via, web(node), state="started")
    assert kinds(run(node, via, vmid=120, state="absent", check=True)) == ["shutdown", "destroy"]
    assert kinds(run(node, via, vmid=120, state="absent", force_stop=True)) == ["stop", "destroy"]


def test_a_long_lock_in_pct_list_does_not_hide_the_ct(node):
    """pct prints the lock in a 12-wide column: ``snapshot-delete`` pushes the name out of place."""
    spec = web(node)
    run(node, "pct", spec)
    set_conf_line(node, 120, "lock", "snapshot-delete")
    listing = node.run_command(["/usr/sbin/pct", "list"])[1]
    assert transport_pct.parse_list(listing) == [{"vmid": 120, "status": "stopped", "lock": "snapshot-delete", "name": "web"}]
    spec.pop("vmid")
    result = run(node, "pct", spec)  # found by hostname: no second CT is created
    assert result["vmid"] == 120 and not result["changed"] and result["_writes"] == []


def test_a_description_with_leading_spaces_converges(node, via):
    spec = web(node, description="  indented\n\tand tabbed  ")
    run(node, via, spec)
    again = run(node, via, spec)
    assert not again["changed"], again["diff"]
    assert again["config"]["description"] == "  indented\n\tand tabbed  "


def test_bind_mount_turned_into_a_volume_allocates_a_new_volume(node, via):
    bind = os.path.join(str(node.state.root), "srv-a")
    os.makedirs(bind)
    run(node, via, web(node, mp={"mp0": {"volume": bind, "mp": "/a"}}))
    result = run(node, via, web(node, mp={"mp0": {"mp": "/a", "size": "1G", "storage": "local-lvm"}}))
    assert kinds(result) == ["set"], result["actions"]
    volume = result["config"]["mp"]["mp0"]["volume"]
    assert volume.startswith("local-lvm:vm-120-disk-") and result["config"]["mp"]["mp0"]["size"] == "1G"
    assert not run(node, via, web(node, mp={"mp0": {"mp": "/a", "size": "1G", "storage": "local-lvm"}}))["changed"]


def test_a_size_for_a_bind_mount_without_storage_fails_clearly(node, via):
    bind = os.path.join(str(node.state.root), "srv-b")
    os.makedirs(bind)
    run(node, via, web(node, mp={"mp0": {"volume": bind, "mp": "/b"}}))
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, storage=None, mp={"mp0": {"mp": "/b", "size": "1G"}}))
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith("mp0") and "bind" in err.value.msg


def test_raw_lxc_edit_takes_the_config_lock_and_honours_lock(node):
    run(node, "pct", web(node))
    entries = [["lxc.cgroup2.devices.allow", "c 10:200 rwm"]]
    set_conf_line(node, 120, "lock", "backup")
    with pytest.raises(LxcriError) as err:
        run(node, "pct", web(node), lxc=entries, lock_timeout=0)
    assert err.value.error_kind == "locked" and "backup" in err.value.msg
    set_conf_line(node, 120, "lock", None)
    lock_path = lxc_configs(node.state).lock_host_path(120)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as holder:  # another writer (pct set, a backup) holds the config flock
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(LxcriError) as err:
            run(node, "pct", web(node), lxc=entries, lock_timeout=0)
    assert err.value.error_kind == "locked" and "got timeout" in err.value.msg
    assert "lxc.cgroup2" not in node.conf_text(120)
    assert kinds(run(node, "pct", web(node), lxc=entries)) == ["raw_lxc"]
    result = run(node, "pct", web(node), lxc=entries)
    assert not result["changed"] and len(result["reads"]) == 2


def test_raw_lxc_edit_waits_as_pct_does(monkeypatch, node):
    monkeypatch.setattr(transport_pct, "LOCK_WAIT", 0.3)
    run(node, "pct", web(node))
    with open(lxc_configs(node.state).lock_host_path(120), "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(LxcriError) as err:
            run(node, "pct", web(node), lxc=[["lxc.apparmor.profile", "unconfined"]], lock_timeout=1)
    assert err.value.details["attempts"] >= 2


def test_a_start_failing_after_create_leaves_no_ct(node, via):
    node.fail_next("vzstart", message="bridge 'vmbr9' does not exist")
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node), state="started")
    assert not node.exists(120)
    assert err.value.details["cleanup"] == "removed the half-created CT 120"
    assert "vmbr9" in err.value.msg


def test_a_raw_lxc_edit_failing_after_create_leaves_no_ct(node, monkeypatch):
    def broken(text, entries):
        raise OSError(5, "Input/output error")

    # A write error on /etc/pve cannot be caused in pvesim's state dir: inject it at the file edit.
    monkeypatch.setattr(transport_pct.conffile, "replace_raw_lxc", broken)
    with pytest.raises(LxcriError) as err:
        run(node, "pct", web(node), lxc=[["lxc.apparmor.profile", "unconfined"]])
    assert not node.exists(120) and err.value.details["cleanup"] == "removed the half-created CT 120"


def test_pct_parameter_errors_name_the_field_in_msg(node):
    run(node, "pct", web(node))
    with pytest.raises(LxcriError) as err:
        node.pct_transport().update(120, {"net0": "name=eth0,ip=10.0.0.5"}, [], check=False)
    assert err.value.error_kind == "invalid_argument"
    assert err.value.msg.startswith("400 Parameter verification failed.") and "net0" in err.value.msg and "ip" in err.value.msg


@pytest.mark.parametrize("bad,field", [
    (dict(net=[{"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5"}]), "net0.ip"),
    (dict(net=[{"name": "eth0", "bridge": "vmbr0", "ip6": "fe80::1"}]), "net0.ip6"),
    (dict(net=[{"name": "eth0", "bridge": "vmbr0", "ip": "10.0.0.5/24", "gw": "10.0.0.1/24"}]), "net0.gw"),
    (dict(net=[{"name": "eth0", "bridge": "vmbr0", "gw6": "10.0.0.1"}]), "net0.gw6"),
    (dict(net=[{"name": "eth 0", "bridge": "vmbr0"}]), "net0.name"),
    (dict(timezone="Mars/Olympus_Mons"), "timezone"),
    (dict(nameserver=["1.1.1"]), "nameserver"),
    (dict(searchdomain=["bad_domain.example"]), "searchdomain"),
    (dict(features={"mount": "nfs,cifs"}), "features.mount"),
    (dict(tags=["my tag"]), "tags"),
    (dict(mp={"mp0": {"mp": "data", "size": "1G"}}), "mp0.mp"),
])
def test_what_pct_would_refuse_fails_before_any_command(node, via, bad, field):
    node.argvs.clear()
    node.bodies.clear()
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, **bad))
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith(field), err.value.msg
    assert node.writes == [] and not node.exists(120)


def test_the_root_password_never_reaches_an_argv(node):
    result = run(node, "pct", web(node), password="pw-Secret-1")
    assert result["changed"] and node.exists(120)
    assert not any("pw-Secret-1" in arg for argv in node.argvs for arg in argv)
    create = next(argv for argv in node.argvs if argv[1] == "create")
    assert create[-1] == "--password"
    assert "pw-Secret-1\npw-Secret-1\n" in node.stdins


def test_a_size_alone_grows_an_existing_rootfs(node, via):
    run(node, via, web(node))
    result = run(node, via, web(node, storage=None, rootfs="12G"))
    assert kinds(result) == ["resize"] and result["config"]["rootfs"]["size"] == "12G"
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, vmid=121, hostname="other", storage=None, rootfs="3G"))
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith("rootfs") and not node.exists(121)


def test_pct_refuses_another_node_and_reports_the_local_one(node):
    with pytest.raises(LxcriError) as err:
        node.pct_transport(node="pve2")
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith("node") and "'pve'" in err.value.msg
    assert node.argvs == []
    result = run(node, "pct", web(node), {"node": "pve"})
    assert result["node"] == "pve"


def test_lxc_environment_values_are_masked_in_actions_diff_and_config(node):
    entries = [["lxc.environment", "DB_PASSWORD=env-Secret-1"]]
    result = run(node, "pct", web(node), lxc=entries)
    shown = repr((result["actions"], result["diff"], result["config"]))
    assert "env-Secret-1" not in shown and "DB_PASSWORD=<masked:" in shown
    assert "DB_PASSWORD=env-Secret-1" in node.conf_text(120)
    assert not run(node, "pct", web(node), lxc=entries)["changed"]


@pytest.mark.parametrize("change,kind,name", [
    (dict(storage="nosuchstore"), "storage", "nosuchstore"),
    (dict(ostemplate="local:vztmpl/no-such-template_1.0_amd64.tar.gz"), "template", "local:vztmpl/no-such-template_1.0_amd64.tar.gz"),
])
def test_not_found_says_what_is_missing(node, via, change, kind, name):
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, **change))
    assert err.value.error_kind == "not_found", err.value.msg
    assert err.value.details["missing"] == {"kind": kind, "name": name}
    assert not node.exists(120)


def test_a_missing_bridge_is_named(node, via):
    node.fail_next("vzstart", message="bridge 'vmbr9' does not exist")
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node), state="started")
    assert err.value.error_kind == "not_found" and err.value.details["missing"] == {"kind": "bridge", "name": "vmbr9"}


def test_an_ostype_outside_the_list_is_accepted_only_as_the_current_one(node, via):
    run(node, via, web(node))
    set_conf_line(node, 120, "ostype", "redhat")  # as in older configs (pve-container's own test corpus)
    assert not run(node, via, web(node, ostype="redhat"))["changed"]
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, ostype="solaris"))
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith("ostype")
    with pytest.raises(LxcriError) as err:
        run(node, via, web(node, vmid=121, hostname="new", ostype="redhat"))
    assert err.value.msg.startswith("ostype") and not node.exists(121)


def test_a_create_that_times_out_is_not_removed_while_its_task_may_run(node):
    faults.add_slow(node.state, 2, "vzcreate")
    with pytest.raises(LxcriError) as err:
        Manager(node.api_transport(timeout=1), params(**web(node))).run()
    assert err.value.error_kind == "timeout"
    assert err.value.details["cleanup"].startswith("not attempted: 'create CT 120 from ")
    assert node.exists(120)  # the task goes on: the CT is not torn down under it
    time.sleep(2.5)
