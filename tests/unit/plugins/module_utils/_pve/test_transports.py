# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import messages, model, retry, tasks
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_api import ApiTransport, resolve_auth
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_pct import PctTransport, parse_list
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


class FakeModule:
    """Scripted run_command, for outputs pvesim does not print (a template task's guest warnings)."""

    def __init__(self, responses):
        self.responses = list(responses)
        self.commands = []

    def get_bin_path(self, name, required=False):
        return None if name == "timeout" else "/usr/sbin/%s" % name

    def run_command(self, argv, data=None, binary_data=False):
        self.commands.append((argv, data))
        return self.responses.pop(0)


def test_pct_warnings_are_not_errors(node):  # node: a local /etc/pve for the node name
    module = FakeModule([(0, "WARN: Systemd 252 detected. You may need to enable nesting.\n", "Task finished with 1 warning(s)!\n")])
    transport = PctTransport(module, node="pve")
    assert transport.template(120) == ["/usr/sbin/pct", "template", "120"]
    assert transport.warnings == ["template 120: WARN: Systemd 252 detected. You may need to enable nesting."]


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


class FakeResource:
    def __init__(self, api, path):
        self.api = api
        self.path = path

    def __getattr__(self, method):
        def call(**params):
            self.api.calls.append((method.upper(), "/" + self.path, params))
            return self.api.answer(method.upper(), "/" + self.path, params)
        return call


class FakeApi:
    def __init__(self, host, **kwargs):
        self.kwargs = kwargs
        self.calls = []

    def __call__(self, path):
        return FakeResource(self, path)

    def answer(self, method, path, params):
        if path.endswith("/status"):
            return {"status": "stopped", "exitstatus": "OK"}
        if method == "POST":
            return "UPID:pve:00000001:00000002:00000003:vzstart:120:auto@pve!ansible:"
        return None


def test_api_sends_booleans_as_integers_and_waits_for_the_task():
    transport = ApiTransport(dict(api_host="h", api_token_id="auto@pve!ansible", api_token_secret="x", validate_certs=False),
                             node="pve", api_factory=FakeApi)
    assert transport.api.kwargs["token_name"] == "ansible" and transport.api.kwargs["user"] == "auto@pve"
    assert transport.is_root_pam is False
    transport.update(120, {"onboot": True, "memory": "512"}, ["swap"], digest="abc")
    method, path, params = transport.api.calls[-1]
    assert (method, path) == ("PUT", "/nodes/pve/lxc/120/config")
    assert params == {"onboot": 1, "memory": "512", "delete": "swap", "digest": "abc"}
    transport.start(120)
    assert [c[1] for c in transport.api.calls[-2:]] == ["/nodes/pve/lxc/120/status/start",
                                                        "/nodes/pve/tasks/UPID:pve:00000001:00000002:00000003:vzstart:120:auto@pve!ansible:/status"]


class ListingApi(FakeApi):
    def answer(self, method, path, params):
        if path == "/nodes/pve/lxc":
            return [{"vmid": "120", "status": "running", "name": "web", "tags": "a;b"}]
        if path == "/cluster/resources":
            return [{"type": "lxc", "vmid": 120, "node": "pve", "status": "unknown", "name": "web"}, {"type": "qemu", "vmid": 200}]
        if path == "/nodes/pve/lxc/120/status/current":
            return {"status": "running", "lock": ""}
        return super().answer(method, path, params)


def test_api_listing_is_live_with_a_node_and_marked_stale_without():
    auth = dict(api_host="h", api_token_id="auto@pve!ansible", api_token_secret="x")
    with_node = ApiTransport(auth, node="pve", api_factory=ListingApi)
    assert with_node.list() == [{"vmid": 120, "status": "running", "lock": None, "name": "web", "node": "pve", "tags": "a;b",
                                 "template": False, "stale": False}]
    without = ApiTransport(auth, api_factory=ListingApi)
    rows = without.list()
    assert [(r["vmid"], r["node"], r["stale"]) for r in rows] == [(120, "pve", True)]
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


class TemplateApi(FakeApi):
    upid = "UPID:pve:00000009:00000002:7FFFFFFF:vztemplate:120:auto@pve!ansible:"

    def answer(self, method, path, params):
        if path.endswith("/template"):
            return None
        if path == "/nodes/pve/tasks":
            return [{"upid": "UPID:pve:1:2:00000001:vztemplate:120:x:", "type": "vztemplate", "starttime": 1},
                    {"upid": self.upid, "type": "vztemplate", "starttime": 2 ** 31 - 1}]
        if path.endswith("/status"):
            return {"status": "stopped", "exitstatus": "Template feature is not available for 'local:120/vm-120-disk-0.raw'"}
        return super().answer(method, path, params)


def test_api_template_follows_the_worker_although_the_call_returns_no_upid():
    transport = ApiTransport(dict(api_host="h", api_token_id="auto@pve!ansible", api_token_secret="x"), node="pve", api_factory=TemplateApi)
    with pytest.raises(LxcriError) as err:
        transport.template(120)
    assert err.value.error_kind == "task_failed" and err.value.details["upid"] == TemplateApi.upid
    assert "Template feature is not available" in err.value.msg


def test_task_warnings_are_collected_not_failures(node):  # node: a local /etc/pve for the node name
    module = FakeModule([(0, "extracting archive\nWARN: Systemd 257 detected. You may need to enable nesting.\n", "Task finished with 1 warning(s)!\n")])
    transport = PctTransport(module, node="pve")
    transport.start(120)
    assert transport.warnings == ["start 120: WARN: Systemd 257 detected. You may need to enable nesting."]

    class WarnApi(FakeApi):
        def answer(self, method, path, params):
            if path.endswith("/status"):
                return {"status": "stopped", "exitstatus": "WARNINGS: 1"}
            if path.endswith("/log"):
                return [{"n": 1, "t": "starting"}, {"n": 2, "t": "WARN: Systemd 257 detected. You may need to enable nesting."}]
            return super().answer(method, path, params)

    api = ApiTransport(dict(api_host="h", api_token_id="auto@pve!ansible", api_token_secret="x"), node="pve", api_factory=WarnApi)
    api.start(120)
    assert api.warnings == ["start of CT 120: WARN: Systemd 257 detected. You may need to enable nesting."]
