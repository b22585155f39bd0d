# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import copy

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager
from ansible_collections.lxcri.containers.plugins.modules.pve_container import argument_spec
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.fakepve import FakePve


def params(**kwargs):
    base = dict((key, spec.get("default")) for key, spec in argument_spec().items())
    base.update(kwargs)
    return base


def run(pve, *specs, check=False, **kwargs):
    merged = {}
    for spec in specs:
        merged.update(spec)
    merged.update(kwargs)
    pve.reads = []
    before_calls = len(pve.calls)
    result = Manager(pve, params(**merged), check_mode=check, warn=pve.calls.append).run()
    result["_calls"] = pve.calls[before_calls:]
    return result


WEB = dict(vmid=120, hostname="web", ostemplate="local:vztmpl/debian-12.tar.zst", storage="local-lvm", rootfs="8G", memory=1024, cores=2,
           net={"net0": {"name": "eth0", "bridge": "vmbr0", "ip": "dhcp"}}, features={"nesting": True}, tags=["Web", "prod"],
           description="web server", nameserver=["1.1.1.1", "8.8.8.8"], onboot=True, startup={"order": 1, "up": 30}, cpuunits=20000)


def test_create_then_second_run_is_a_noop_with_two_reads():
    pve = FakePve()
    first = run(pve, WEB, state="started")
    assert first["changed"] and [a["kind"] for a in first["actions"]] == ["create", "start"]
    assert first["config"]["net"]["net0"]["hwaddr"].startswith("BC:24:11")
    assert first["config"]["rootfs"]["size"] == "8G"
    assert first["config"]["tags"] == ["prod", "web"]
    second = run(pve, WEB, state="started")
    assert not second["changed"], second["actions"]
    assert second["_calls"] == []
    assert len(second["reads"]) <= 2
    assert second["diff"] == {"before": {}, "after": {}}


def test_check_mode_create_predicts_and_touches_nothing():
    pve = FakePve()
    result = run(pve, WEB, check=True, state="started")
    assert result["changed"] and [a["kind"] for a in result["actions"]] == ["create", "start"]
    assert pve.cts == {} and result["_calls"] == []
    assert result["diff"]["before"] == {} and result["diff"]["after"]["memory"] == 1024


def test_change_on_running_ct_writes_only_the_difference_and_reports_pending():
    pve = FakePve()
    run(pve, WEB, state="started")
    changed = dict(WEB, memory=2048, features={"nesting": True, "keyctl": True})
    check = run(pve, changed, check=True, state="started")
    assert check["changed"] and check["restart_required"] and check["_calls"] == []
    result = run(pve, changed, state="started")
    assert result["_calls"] == [["pct", "set", "120", "--features=keyctl=1,nesting=1", "--memory=2048"]]
    assert result["restart_required"] is True
    assert result["diff"]["before"] == {"features": {"nesting": True}, "memory": 1024}
    again = run(pve, changed, state="started")
    assert not again["changed"] and again["restart_required"] is True
    applied = run(pve, changed, state="started", apply_pending="restart")
    assert [a["kind"] for a in applied["actions"]] == ["reboot"] and applied["restart_required"] is False


def test_exclusive_removes_undeclared_interfaces_mounts_and_tags():
    pve = FakePve()
    run(pve, dict(WEB, net=[{"name": "eth0", "bridge": "vmbr0"}, {"name": "eth1", "bridge": "vmbr0"}],
                  mp={"mp0": {"volume": "/srv/a", "mp": "/a"}}))
    plain = run(pve, dict(WEB, net=[{"name": "eth0", "bridge": "vmbr0"}], tags=["web"]))
    assert not plain["changed"]
    result = run(pve, dict(WEB, net=[{"name": "eth0", "bridge": "vmbr0"}], tags=["web"], mp=None), exclusive=True)
    assert result["_calls"] == [["pct", "set", "120", "--tags=web", "--delete", "mp0,net1"]]
    assert not run(pve, dict(WEB, net=[{"name": "eth0", "bridge": "vmbr0"}], tags=["web"], mp=None), exclusive=True)["changed"]


def test_drift_is_corrected():
    pve = FakePve()
    run(pve, WEB)
    pve.cts[120]["conf"]["memory"] = "4096"
    pve.cts[120]["conf"]["net0"] = pve.cts[120]["conf"]["net0"] + ",firewall=1"
    result = run(pve, WEB)
    assert result["changed"]
    assert result["_calls"][0][:3] == ["pct", "set", "120"] and "--memory=1024" in result["_calls"][0]
    assert not run(pve, WEB)["changed"]


def test_rootfs_grows_by_resize_and_never_shrinks():
    pve = FakePve()
    run(pve, WEB)
    grown = run(pve, dict(WEB, rootfs="16G"))
    assert grown["_calls"] == [["pct", "resize", "120", "rootfs", "16G"]]
    assert not run(pve, dict(WEB, rootfs="16G"))["changed"]
    with pytest.raises(LxcriError) as err:
        run(pve, dict(WEB, rootfs="4G"))
    assert err.value.error_kind == "invalid_argument" and "rootfs.size" in err.value.msg


def test_locked_ct_is_retried_then_succeeds_or_fails_locked():
    pve = FakePve()
    run(pve, WEB)
    pve.cts[120]["lock"] = "backup"
    pve.locked_attempts = 2
    result = run(pve, dict(WEB, memory=3000), lock_timeout=10)
    assert result["changed"] and len([c for c in result["_calls"] if c[1] == "set"]) == 3
    pve.cts[120]["lock"] = "backup"
    pve.locked_attempts = 10 ** 6
    with pytest.raises(LxcriError) as err:
        run(pve, dict(WEB, memory=3100), lock_timeout=1)
    assert err.value.error_kind == "locked" and "pct unlock 120" in err.value.msg


def test_failed_create_leaves_nothing_behind():
    pve = FakePve()
    pve.fail_create_after_alloc = True
    with pytest.raises(LxcriError) as err:
        run(pve, WEB)
    assert pve.cts == {}
    assert "removed" in err.value.details["cleanup"]


def test_unprivileged_cannot_change_after_create():
    pve = FakePve()
    run(pve, WEB)
    with pytest.raises(LxcriError) as err:
        run(pve, dict(WEB, unprivileged=False))
    assert err.value.error_kind == "conflict" and "unprivileged" in err.value.msg
    assert not run(pve, dict(WEB, unprivileged=True))["changed"]


def test_state_transitions_and_absent():
    pve = FakePve()
    run(pve, WEB, state="started")
    assert [a["kind"] for a in run(pve, WEB, state="stopped")["actions"]] == ["shutdown"]
    assert not run(pve, WEB, state="stopped")["changed"]
    assert [a["kind"] for a in run(pve, WEB, state="restarted")["actions"]] == ["start"]
    assert [a["kind"] for a in run(pve, WEB, state="restarted")["actions"]] == ["reboot"]
    assert [a["kind"] for a in run(pve, WEB, state="template")["actions"]] == ["shutdown", "template"]
    assert not run(pve, WEB, state="template")["changed"]
    with pytest.raises(LxcriError):
        run(pve, WEB, state="started")
    assert [a["kind"] for a in run(pve, state="absent", vmid=120)["actions"]] == ["destroy"]
    assert not run(pve, state="absent", vmid=120)["changed"]


def test_hostname_only_identity_and_nextid():
    pve = FakePve()
    web = dict(WEB)
    web.pop("vmid")
    created = run(pve, web)
    assert created["vmid"] == 100
    assert not run(pve, web)["changed"]


@pytest.mark.parametrize("bad,field", [
    (dict(vmid=99), "vmid"),
    (dict(vmid=1000000000), "vmid"),
    (dict(vmid=None, hostname=None), "vmid"),
    (dict(memory=8), "memory"),
    (dict(cores=0), "cores"),
    (dict(tags=["bad tag!"]), "tags"),
    (dict(net=[{"bridge": "vmbr0"}]), "net0"),
    (dict(net=[{"name": "eth0", "tag": 5000}]), "net0.tag"),
    (dict(mp=[{"volume": "/srv/x"}]), "mp0"),
    (dict(rootfs="huge"), "rootfs.size"),
    (dict(features={"warp": True}), "features.warp"),
    (dict(hostname="bad_host name"), "hostname"),
    (dict(password="abc"), "password"),
    (dict(lxc=[["apparmor", "x"]]), "lxc[0]"),
    (dict(ostemplate=None), "ostemplate"),
])
def test_bad_input_fails_naming_the_field_and_creates_nothing(bad, field):
    pve = FakePve()
    with pytest.raises(LxcriError) as err:
        run(pve, copy.deepcopy(WEB), bad)
    assert err.value.error_kind == "invalid_argument"
    assert err.value.msg.startswith(field), err.value.msg
    assert pve.cts == {} and pve.calls == []


def test_raw_lxc_keys_round_trip():
    pve = FakePve()
    run(pve, WEB)
    entries = [["lxc.cgroup2.devices.allow", "c 10:200 rwm"]]
    assert run(pve, WEB, lxc=entries)["_calls"] == [["edit", "lxc", "120"]]
    assert not run(pve, WEB, lxc=entries)["changed"]


def test_password_is_masked_in_diff():
    pve = FakePve()
    result = run(pve, WEB, check=True, password="s3cret!")
    assert result["diff"]["after"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert "s3cret!" not in repr(result["diff"])


def test_root_only_keys_over_api_fail_early_naming_pct():
    pve = FakePve()
    run(pve, WEB)
    pve.name = "api"
    pve.is_root_pam = False
    with pytest.raises(LxcriError) as err:
        run(pve, dict(WEB, mp={"mp0": {"volume": "/srv/data", "mp": "/data"}}))
    assert err.value.error_kind == "permission" and "transport: pct" in err.value.msg
    assert [c for c in pve.calls if c[1] == "set"] == []
    # nesting alone is allowed to tokens
    assert run(pve, dict(WEB, features={"nesting": False}))["changed"]


def test_update_password_always_sets_it_inside_a_running_ct_each_run():
    pve = FakePve()
    run(pve, WEB, state="started", password="first-pass")
    for _dummy in range(2):
        result = run(pve, WEB, state="started", password="second-pass", update_password="always")
        assert [a["kind"] for a in result["actions"]] == ["password"]
        assert result["diff"]["after"]["password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert not run(pve, WEB, state="started", password="second-pass")["changed"]  # on_create: never compared


def test_update_password_always_refuses_a_stopped_ct_and_the_api_before_any_call():
    pve = FakePve()
    run(pve, WEB)
    calls = len(pve.calls)
    with pytest.raises(LxcriError) as err:
        run(pve, WEB, memory=2000, password="second-pass", update_password="always")
    assert err.value.error_kind == "conflict" and len(pve.calls) == calls
    pve.supports_password_update = False
    with pytest.raises(LxcriError) as err:
        run(pve, WEB, memory=2000, state="started", password="second-pass", update_password="always")
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith("update_password") and len(pve.calls) == calls


def test_create_timeout_does_not_remove_a_ct_whose_task_may_still_run():
    pve = FakePve()

    def slow_create(**kwargs):
        if kwargs.get("check"):
            return ["pct", "create"]
        pve.cts[kwargs["vmid"]] = {"conf": {"hostname": "web"}, "pending": {}, "delete": set(), "status": "stopped", "lock": "create", "lxc": []}
        raise LxcriError("'pct create 120' did not finish within timeout=1s", "timeout")

    pve.create = slow_create
    with pytest.raises(LxcriError) as err:
        run(pve, WEB)
    assert err.value.error_kind == "timeout" and "not attempted" in err.value.details["cleanup"]
    assert 120 in pve.cts


@pytest.mark.parametrize("key,empty", [("description", ""), ("tags", []), ("nameserver", []), ("features", {}), ("startup", {})])
def test_an_empty_value_deletes_the_key_and_then_converges(key, empty):
    pve = FakePve()
    run(pve, WEB)
    result = run(pve, WEB, exclusive=(key == "tags"), **{key: empty})
    assert result["_calls"] == [["pct", "set", "120", "--delete", key]]
    assert key not in result["config"]
    assert not run(pve, WEB, exclusive=(key == "tags"), **{key: empty})["changed"]
