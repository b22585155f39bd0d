# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import messages, model, retry, tasks
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_api import resolve_auth
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import parse_list
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode
from pvesim.config import lxc_configs

# --- pct output parsing (samples from the contract) ---------------------------------------


def test_pct_pending_gives_the_pending_view_and_pending_keys():
    text = "cur arch: amd64\ncur cores: 1\nnew cores: 2\ncur features: nesting=1\ncur hostname: web\ndel swap: 512\nnew tags: prod\n"
    view, pending = model.parse_pending_text(text)
    assert view == {"arch": "amd64", "cores": "2", "features": "nesting=1", "hostname": "web", "tags": "prod"}
    assert pending == {"cores", "swap", "tags"}


def test_pct_config_decodes_description_and_collects_raw_lxc():
    raw, lxc = model.parse_config_text("arch: amd64\ndescription: web server%0Aline%3A 2%25%0A\nlxc.apparmor.profile: unconfined\n")
    assert raw["description"] == "web server\nline: 2%\n"
    assert model.from_raw(raw)["description"] == "web server\nline: 2%"
    assert lxc == [["lxc.apparmor.profile", "unconfined"]]


# --- pct transport against pvesim ------------------------------------------------------------

@pytest.fixture
def node(tmp_path, monkeypatch):
    return PveNode(tmp_path, monkeypatch)


def make_ct(node, vmid=120, **config):
    rc, out, err = node.run_command(["/usr/sbin/pct", "create", str(vmid), node.template, "--rootfs", "local-lvm:1"]
                                    + [item for key, value in config.items() for item in ("--" + key, value)])
    assert rc == 0, err


def test_pct_list_is_split_on_whitespace_also_when_a_lock_overflows_its_column():
    rows = parse_list("VMID       Status     Lock         Name                \n"
                      "100        running                 web                 \n"
                      "101        stopped    snapshot-delete db                  \n")
    assert rows == [{"vmid": 100, "status": "running", "lock": None, "name": "web"},
                    {"vmid": 101, "status": "stopped", "lock": "snapshot-delete", "name": "db"}]
    assert parse_list("") == []


def test_pct_missing_ct_reads_as_none(node):
    assert node.pct_transport().read(150) is None


@pytest.mark.parametrize("cli", ["pct", "qm"])
def test_cli_reads_the_config_file_and_writes_with_its_digest(node, cli):
    # pct/qm pending never print the digest (pve-common PVE/GuestHelpers.pm format_pending skips it); the file pmxcfs
    # serves is what `pending` reads (PVE::AbstractConfig load_config), and its SHA-1 is the digest `set --digest` checks
    import hashlib

    if cli == "pct":
        make_ct(node, 120, hostname="web", memory="512")
        transport, conf_text = node.pct_transport(), node.conf_text
    else:
        assert node.run_command(["/usr/sbin/qm", "create", "120", "--name", "web", "--memory", "512"])[0] == 0
        transport, conf_text = node.qm_transport(), node.vm_conf_text
    before = len(node.argvs)
    view, pending, digest = transport.read(120)
    assert node.argvs[before:] == [] and transport.reads == [["read", transport.config_file(120)]]
    assert view["memory"] == "512" and pending == set() and digest == hashlib.sha1(conf_text(120).encode()).hexdigest()
    assert transport.update(120, {"memory": "768"}, [], digest=digest)[-2:] == ["--digest", "<config digest>"]
    assert node.argvs[-1][-2:] == ["--digest", digest] and "memory: 768" in conf_text(120)
    # the file changed since: the write planned against the old digest is refused, nothing is written (pve-container
    # src/PVE/API2/LXC.pm update_vm: assert_if_modified; qemu-server PVE/API2/Qemu.pm $update_vm_api: "checksum mismatch")
    with pytest.raises(LxcriError) as err:
        transport.update(120, {"memory": "1024"}, [], digest=digest)
    assert err.value.error_kind == "conflict" and "by other user" in err.value.msg and "memory: 768" in conf_text(120)
    assert transport.read(121) is None


def test_pct_resize_failure_with_exit_0_is_detected(node):
    make_ct(node)
    with pytest.raises(LxcriError) as err:
        node.pct_transport().resize(120, "rootfs", "512M")
    assert err.value.error_kind == "invalid_argument" and "shrink" in err.value.msg


def test_pct_lock_errors_are_classified_locked(node):
    make_ct(node)
    path = lxc_configs(node.state).path(120)
    path.write_text("lock: backup\n" + path.read_text())
    with pytest.raises(LxcriError) as err:
        node.pct_transport().update(120, {"memory": "512"}, [])
    assert err.value.error_kind == "locked"
    assert err.value.cmd == ["/usr/sbin/pct", "set", "120", "--memory", "512"]


def test_pct_create_sends_the_password_on_stdin_only(node):
    shown = node.pct_transport().create(120, node.template, {"rootfs": "local-lvm:1"}, password="s3cret!!")
    assert node.exists(120) and "s3cret!!" not in repr(shown) and shown[-1] == "--password"
    assert not any("s3cret!!" in arg for argv in node.argvs for arg in argv)
    assert node.stdins[-1] == "s3cret!!\ns3cret!!\n"


def test_pct_check_mode_runs_nothing(node):
    transport = node.pct_transport()
    transport.update(120, {"memory": "512"}, ["swap"], check=True)
    transport.start(120, check=True)
    transport.create(121, node.template, {}, password="s3cret!!", check=True)
    assert node.argvs == []


def test_pct_warnings_are_not_errors(node):
    make_ct(node)
    node.warn_next("vztemplate", "Systemd 252 detected. You may need to enable nesting.")
    transport = node.pct_transport()
    assert transport.template(120) == ["/usr/sbin/pct", "template", "120"]
    assert transport.warnings == ["template 120: WARN: Systemd 252 detected. You may need to enable nesting."]
    assert "template: 1" in node.conf_text(120)


# --- errors, retry, tasks ---------------------------------------------------------------------

@pytest.mark.parametrize("text,kind", [
    ("CT is locked (backup)", "locked"),
    ("can't lock file '/run/lock/lxc/pve-config-1.lock' - got timeout", "locked"),
    ("Configuration file 'nodes/pve/lxc/1.conf' does not exist", "not_found"),
    ("CT 101 already exists on node 'pve'", "conflict"),
    ("mount point type bind is only allowed for root@pam", "permission"),
    ("403 Forbidden: Permission check failed (/vms/101, VM.Config.Options)", "permission"),
    ("400 Parameter verification failed.\nmemory: value must have a minimum value of 16", "invalid_argument"),
    ("something odd", "runtime_error"),
])
def test_classify(text, kind):
    assert messages.classify(text) == kind


def test_retry_backs_off_until_lock_timeout():
    clock = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock[0] += seconds

    def locked():
        raise LxcriError("CT is locked (backup)", "locked")

    with pytest.raises(LxcriError) as err:
        retry.with_lock_retry(locked, 10, vmid=120, sleep=sleep, clock=lambda: clock[0])
    assert err.value.error_kind == "locked" and "lock_timeout=10s" in err.value.msg
    assert sleeps[:4] == [0.5, 1.0, 2.0, 4.0] and abs(sum(sleeps) - 10) < 1e-9


def test_task_wait_accepts_warnings_and_names_upid_on_timeout():
    upid = "UPID:pve:0012ABCD:0456789A:6571F00D:vzstart:120:root@pam:"
    assert tasks.upid_node(upid) == "pve"
    status = tasks.wait(lambda: {"status": "stopped", "exitstatus": "WARNINGS: 1"}, lambda: [], upid, 5, "start")
    assert status["warnings"] == 1
    clock = [0.0]

    def sleep(seconds):
        clock[0] += seconds

    with pytest.raises(LxcriError) as err:
        tasks.wait(lambda: {"status": "running"}, lambda: [{"n": 1, "t": "extracting archive"}, {"n": 2, "t": "still going"}],
                   upid, 3, "creating CT 120", sleep=sleep, clock=lambda: clock[0])
    assert err.value.error_kind == "timeout" and upid in err.value.msg and "still going" in err.value.msg
    assert err.value.details["upid"] == upid
    with pytest.raises(LxcriError) as err:
        tasks.wait(lambda: {"status": "stopped", "exitstatus": "CT is locked (backup)"}, lambda: [], upid, 3, "start")
    assert err.value.error_kind == "locked"


# --- API auth and calls --------------------------------------------------------------------------

@pytest.mark.parametrize("given,expected", [
    (dict(api_token_id="auto@pve!ansible", api_token_secret="x"), ("auto@pve", "ansible", "x", None)),
    (dict(api_user="auto@pve", api_token_id="ansible", api_token_secret="x"), ("auto@pve", "ansible", "x", None)),
    (dict(api_user="root@pam", api_password="pw"), ("root@pam", None, None, "pw")),
])
def test_resolve_auth_accepts_both_token_forms(given, expected):
    assert resolve_auth(given) == expected


@pytest.mark.parametrize("given,field", [
    (dict(api_token_id="ansible", api_token_secret="x"), "api_user"),
    (dict(api_token_id="auto@pve!ansible"), "api_token_secret"),
    (dict(api_password="pw"), "api_user"),
    (dict(), "api_token_id"),
    (dict(api_user="a@pve", api_token_id="b@pve!t", api_token_secret="x"), "api_token_id"),
])
def test_resolve_auth_never_falls_back_to_root(given, field):
    with pytest.raises(LxcriError) as err:
        resolve_auth(given)
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith(field)


def test_api_sends_booleans_as_integers_and_waits_for_the_task(node):
    make_ct(node)
    transport = node.api_transport(api_token_id="root@pam!ansible", api_token_secret="token-secret")
    assert transport.is_root_pam is False  # a token is never root@pam itself
    digest = transport.read_digest(120)
    transport.update(120, {"onboot": True, "memory": "512"}, ["swap"], digest=digest)
    method, path, params = node.bodies[-1]
    assert (method, path) == ("PUT", "/nodes/pve/lxc/120/config")
    assert params == {"onboot": 1, "memory": "512", "delete": "swap", "digest": digest}
    assert "onboot: 1" in node.conf_text(120) and "swap" not in node.conf_text(120)
    transport.start(120)
    start, *polls = [body for body in node.bodies if body[1].endswith("/status/start") or "/tasks/" in body[1]]
    assert start[:2] == ("POST", "/nodes/pve/lxc/120/status/start")
    assert polls and all(path.startswith("/nodes/pve/tasks/UPID:pve:") and path.endswith("/status") for _m, path, _p in polls)
    assert transport.status(120) == {"status": "running", "lock": None}


def test_api_listing_is_live_with_a_node_and_marked_stale_without(node):
    make_ct(node, 120, hostname="web", tags="a;b")
    node.api_transport().start(120)
    assert node.api_transport().list() == [{"vmid": 120, "status": "running", "lock": None, "name": "web", "node": "pve", "tags": "a;b",
                                            "template": False, "stale": False}]
    without = node.api_transport(node=None)
    rows = without.list()
    # /cluster/resources (PVE serves it from pmxcfs's status cache, up to 10 s old): the caller re-reads the status
    assert [(r["vmid"], r["node"], r["stale"]) for r in rows] == [(120, "pve", True)]
    assert node.bodies[-1][1] == "/cluster/resources"
    assert without.status(120, "pve") == {"status": "running", "lock": None}


def test_missing_or_old_proxmoxer_gives_an_actionable_error(monkeypatch):
    from ansible_collections.lxcri.containers.plugins.module_utils._pve import transport_api

    monkeypatch.setattr(transport_api, "HAS_PROXMOXER", False)
    with pytest.raises(LxcriError) as err:
        transport_api.check_proxmoxer()
    assert err.value.error_kind == "runtime_missing" and "pip install" in err.value.msg and "transport: pct" in err.value.msg
    monkeypatch.setattr(transport_api, "HAS_PROXMOXER", True)
    monkeypatch.setattr(transport_api, "proxmoxer", type("P", (), {"__version__": "1.2.0"}), raising=False)
    with pytest.raises(LxcriError) as err:
        transport_api.check_proxmoxer()
    assert err.value.error_kind == "runtime_missing" and "1.2.0" in err.value.msg


def test_api_template_follows_the_worker_although_the_call_returns_no_upid(node):
    # POST .../template returns null (pve-container src/PVE/API2/LXC.pm, template: the worker's UPID is not returned);
    # the transport finds the worker in the node's task list and reports its failure.
    make_ct(node)
    node.fail_next("vztemplate", message="Template feature is not available for 'local-lvm:vm-120-disk-0'")
    transport = node.api_transport()
    with pytest.raises(LxcriError) as err:
        transport.template(120)
    assert err.value.error_kind == "task_failed" and ":vztemplate:120:" in err.value.details["upid"]
    assert "Template feature is not available" in err.value.msg
    assert "template: 1" not in node.conf_text(120)
    transport.template(120)
    assert "template: 1" in node.conf_text(120)


def test_task_warnings_are_collected_not_failures(node):
    make_ct(node)
    nesting = "Systemd 257 detected. You may need to enable nesting."
    node.warn_next("vzstart", nesting)
    transport = node.pct_transport()
    transport.start(120)
    assert transport.warnings == ["start 120: WARN: " + nesting]
    transport.stop(120)
    node.warn_next("vzstart", nesting)
    api = node.api_transport()
    api.start(120)
    assert api.warnings == ["start of CT 120: WARN: " + nesting]
    assert api.status(120) == {"status": "running", "lock": None}
