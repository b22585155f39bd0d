# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""REST API conformance: status lines, bodies and auth rules of contract §6.3/§6.4, compared literally.

Each test is one documented format or error.  Bodies are compared as parsed JSON (PVE emits
hashes in random key order, so only the structure and the exact strings are contractual);
status lines (code + reason phrase) are compared as strings.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest

from pvesim.auth import AuthStore
from pvesim.http.testing import api_server, login, raw_request, wait_task
from pvesim.state import State
from pvesim.templates import build_busybox_template, install_template

UPID_RE = re.compile(r"^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:[^:]+:[^:]*:[^:]+:$")


@pytest.fixture(scope="module")
def template_file(tmp_path_factory):
    return build_busybox_template(str(tmp_path_factory.mktemp("tmpl") / "debian-12-busybox_1.0-1_amd64.tar.gz"))


@pytest.fixture(scope="module")
def env(tmp_path_factory, template_file):
    st = State(tmp_path_factory.mktemp("pvesim") / "state").init(node="pve", mode="state")
    auth = AuthStore(st.pve_path("")).ensure()
    auth.set_password("root@pam", "rootpw")
    auth.add_user("alice@pve", password="alicepw")
    auth.add_acl("/vms", "alice@pve", "PVEAuditor")
    root_tok = auth.add_token("root@pam", "ci", privsep=True)
    auth.add_acl("/", "root@pam!ci", "Administrator")
    bare_tok = auth.add_token("root@pam", "bare", privsep=True)
    tmpl = install_template(st, template_file)
    with api_server(st) as api:
        ticket, csrf = login(api, "root@pam", "rootpw")
        yield {"api": api, "state": st, "ticket": ticket, "csrf": csrf, "template": tmpl,
               "root_token": "root@pam!ci=%s" % root_tok["value"], "bare_token": "root@pam!bare=%s" % bare_tok["value"]}


def _root(env, method, path, params=None, **kw):
    return raw_request(env["api"], method, path, params, ticket=env["ticket"], csrf=env["csrf"], **kw)


def _create(env, vmid, **extra):
    params = {"vmid": vmid, "ostemplate": env["template"], "rootfs": "local-lvm:1", "hostname": "ct%d" % vmid}
    params.update(extra)
    r = _root(env, "POST", "/nodes/pve/lxc", params)
    assert r.status_line == "200 OK", r.body
    st = wait_task(env["api"], "pve", r.json["data"], ticket=env["ticket"])
    assert st["exitstatus"] == "OK"


# ---------------------------------------------------------------------------- §6.3 envelope

def test_success_envelope_and_headers(env):
    r = _root(env, "GET", "/version")
    assert r.status_line == "200 OK"
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["Server"] == "pve-api-daemon/3.0"
    assert r.headers["Cache-Control"] == "max-age=0"
    assert r.headers["Pragma"] == "no-cache"
    assert list(r.json) == ["data"]
    assert r.body.startswith(b'{"data":{')


def test_put_config_returns_null_data(env):
    _create(env, 9110)
    r = _root(env, "PUT", "/nodes/pve/lxc/9110/config", {"memory": "1024"})
    assert r.status_line == "200 OK"
    assert r.body == b'{"data":null}'


def test_async_call_returns_upid_with_trailing_colon(env):
    r = _root(env, "POST", "/nodes/pve/lxc", {"vmid": 9111, "ostemplate": env["template"], "rootfs": "local-lvm:1"})
    assert r.status_line == "200 OK"
    upid = r.json["data"]
    assert UPID_RE.match(upid), upid
    assert upid.split(":")[5:8] == ["vzcreate", "9111", "root@pam"]
    assert len(upid.split(":")) == 9 and upid.split(":")[-1] == ""
    st = wait_task(env["api"], "pve", upid, ticket=env["ticket"])
    assert st["status"] == "stopped" and st["exitstatus"] == "OK"
    assert {"upid", "node", "pid", "pstart", "starttime", "type", "id", "user", "status", "exitstatus"} <= set(st)
    log = _root(env, "GET", "/nodes/pve/tasks/%s/log" % quote(upid, safe=""))
    assert log.status_line == "200 OK"
    lines = log.json["data"]
    assert lines[-1]["t"] == "TASK OK"
    assert [x["n"] for x in lines] == list(range(1, len(lines) + 1))


def test_in_worker_error_is_200_plus_failed_task(env):
    # contract §6.3: starting a non-existent CT returns a UPID; the task fails
    r = _root(env, "POST", "/nodes/pve/lxc/9199/status/start")
    assert r.status_line == "200 OK"
    st = wait_task(env["api"], "pve", r.json["data"], ticket=env["ticket"])
    assert st["exitstatus"] == "Configuration file 'nodes/pve/lxc/9199.conf' does not exist"


def test_die_in_handler_is_500_with_first_line_reason(env):
    r = _root(env, "GET", "/nodes/pve/lxc/9198/config")
    assert r.status_line == "500 Configuration file 'nodes/pve/lxc/9198.conf' does not exist"
    assert r.json == {"data": None, "message": "Configuration file 'nodes/pve/lxc/9198.conf' does not exist\n"}
    r = _root(env, "POST", "/nodes/pve/lxc/9198/status/stop")
    assert r.status_line == "500 CT 9198 not running"
    assert r.json == {"data": None, "message": "CT 9198 not running\n"}


def test_already_exists_is_500(env):
    _create(env, 9112)
    r = _root(env, "POST", "/nodes/pve/lxc", {"vmid": 9112, "ostemplate": env["template"], "rootfs": "local-lvm:1"})
    assert r.status_line == "500 CT 9112 already exists on node 'pve'"
    assert r.json["message"] == "CT 9112 already exists on node 'pve'\n"


def test_parameter_verification_error_body(env):
    r = _root(env, "POST", "/nodes/pve/lxc", {"vmid": "abc", "ostemplate": env["template"], "memory": "8"})
    assert r.status_line == "400 Parameter verification failed."
    assert r.json == {"data": None, "message": "Parameter verification failed.\n",
                      "errors": {"vmid": "type check ('integer') failed - got 'abc'",
                                 "memory": "value must have a minimum value of 16"}}


def test_python_true_is_rejected_by_rest(env):
    # contract §4.1 / §12.15: the REST API accepts only 1/0 (proxmoxer sends Python True as "True")
    _create(env, 9113)
    r = _root(env, "PUT", "/nodes/pve/lxc/9113/config", {"onboot": "True"})
    assert r.status_line == "400 Parameter verification failed."
    assert r.json["errors"] == {"onboot": "type check ('boolean') failed - got 'True'"}


def test_unknown_parameter(env):
    r = _root(env, "GET", "/cluster/nextid", {"bogus": "1"})
    assert r.status_line == "400 Parameter verification failed."
    assert r.json["errors"] == {"bogus": "property is not defined in schema and the schema does not allow additional properties"}


def test_nextid_taken_is_400(env):
    _create(env, 9114)
    r = _root(env, "GET", "/cluster/nextid", {"vmid": "9114"})
    assert r.status_line == "400 Parameter verification failed."
    assert r.json["errors"] == {"vmid": "VM 9114 already exists"}
    free = _root(env, "GET", "/cluster/nextid", {"vmid": "9197"})
    assert free.status_line == "200 OK"


def test_duplicate_uri_parameter(env):
    r = _root(env, "GET", "/nodes/pve/aplinfo", {"node": "other"})
    assert r.status_line == "400 Parameter verification failed."
    assert r.json["errors"] == {"node": "duplicate parameter (already defined in URI) with conflicting values!"}


def test_unknown_endpoint_is_501(env):
    r = _root(env, "GET", "/nodes/pve/nosuchthing")
    assert r.status_line == "501 Method 'GET /nodes/pve/nosuchthing' not implemented"
    assert r.json == {"data": None, "message": "Method 'GET /nodes/pve/nosuchthing' not implemented"}


def test_no_format_is_501_no_such_uri(env):
    r = raw_request(env["api"], "GET", "/api2/")
    assert r.status_line == "501 no such uri"


def test_json_body_is_accepted(env):
    _create(env, 9115)
    r = _root(env, "PUT", "/nodes/pve/lxc/9115/config", json_body={"cores": 2})
    assert r.status_line == "200 OK"
    assert _root(env, "GET", "/nodes/pve/lxc/9115/config").json["data"]["cores"] == 2


def test_body_on_get_is_rejected(env):
    r = _root(env, "GET", "/version", raw_body=b"a=b", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_line == "501 Unexpected content for method 'GET'"


# ---------------------------------------------------------------------------- §6.4 auth

def test_no_ticket(env):
    r = raw_request(env["api"], "GET", "/version")
    assert r.status_line == "401 No ticket"
    assert r.body == b""


def test_invalid_ticket(env):
    r = raw_request(env["api"], "GET", "/version", ticket=env["ticket"][:-3] + "xyz")
    assert r.status_line == "401 Authentication failed!"
    assert r.body == b""


def test_write_without_csrf_token(env):
    r = raw_request(env["api"], "PUT", "/nodes/pve/lxc/9110/config", {"memory": "512"}, ticket=env["ticket"])
    assert r.status_line == "401 Permission denied - invalid csrf token"
    r = raw_request(env["api"], "PUT", "/nodes/pve/lxc/9110/config", {"memory": "512"}, ticket=env["ticket"],
                    csrf="6B000000:forged")
    assert r.status_line == "401 Permission denied - invalid csrf token"


def test_ticket_in_authorization_header(env):
    r = raw_request(env["api"], "GET", "/version", headers={"Authorization": "PVEAuthCookie=%s" % env["ticket"]})
    assert r.status_line == "200 OK"


def test_login_failure_and_success_bodies(env):
    r = raw_request(env["api"], "POST", "/access/ticket", {"username": "root@pam", "password": "nope"})
    assert r.status_line == "401 authentication failure"
    assert r.json == {"data": None, "message": "authentication failure\n"}
    r = raw_request(env["api"], "POST", "/access/ticket", {"username": "root@pam", "password": "rootpw"})
    assert r.status_line == "200 OK"
    data = r.json["data"]
    assert data["username"] == "root@pam"
    assert re.match(r"^PVE:root@pam:[0-9A-F]{8}::\S+$", data["ticket"])
    assert re.match(r"^[0-9A-F]{8}:\S+$", data["CSRFPreventionToken"])
    assert isinstance(data["cap"], dict)
    r = raw_request(env["api"], "POST", "/access/ticket", {"username": "root@pam"})
    assert r.status_line == "400 Parameter verification failed."
    assert r.json["errors"] == {"password": "property is missing and it is not optional"}


def test_api_token_needs_no_csrf(env):
    _create(env, 9116)
    r = raw_request(env["api"], "PUT", "/nodes/pve/lxc/9116/config", {"memory": "768"}, token=env["root_token"])
    assert r.status_line == "200 OK"
    r = raw_request(env["api"], "POST", "/nodes/pve/lxc/9116/status/start", token=env["root_token"])
    assert r.status_line == "200 OK"
    upid = r.json["data"]
    # the task user of a token is user@realm!tokenid
    assert upid.split(":")[7] == "root@pam!ci"
    st = wait_task(env["api"], "pve", upid, token=env["root_token"])
    assert st["exitstatus"] == "OK"


def test_bad_api_token(env):
    for tok in ("root@pam!ci=00000000-0000-0000-0000-000000000000", "root@pam!nosuch=x", "garbage"):
        r = raw_request(env["api"], "GET", "/version", token=tok)
        assert r.status_line == "401 Authentication failed!", tok


def test_permission_denied_is_403(env):
    _create(env, 9117)
    # privilege-separated token without ACLs
    r = raw_request(env["api"], "GET", "/nodes/pve/lxc/9117/config", token=env["bare_token"])
    assert r.status_line == "403 Permission check failed (/vms/9117, VM.Audit)"
    assert r.json == {"data": None, "message": "Permission check failed (/vms/9117, VM.Audit)\n"}
    # an auditor may read but not power-manage
    ticket, csrf = login(env["api"], "alice@pve", "alicepw")
    assert raw_request(env["api"], "GET", "/nodes/pve/lxc/9117/config", ticket=ticket).status_line == "200 OK"
    r = raw_request(env["api"], "POST", "/nodes/pve/lxc/9117/status/start", ticket=ticket, csrf=csrf)
    assert r.status_line == "403 Permission check failed (/vms/9117, VM.PowerMgmt)"
    r = raw_request(env["api"], "POST", "/nodes/pve/aplinfo", {"storage": "local", "template": "x.tar.gz"},
                    ticket=ticket, csrf=csrf)
    assert r.status_line == "403 Permission check failed (/storage/local, Datastore.AllocateTemplate)"


def test_list_is_filtered_by_permissions(env):
    _create(env, 9118)
    r = raw_request(env["api"], "GET", "/nodes/pve/lxc", token=env["bare_token"])
    assert r.status_line == "200 OK"
    assert r.json["data"] == []


def test_root_token_is_not_root_pam_for_bind_mounts(env):
    # contract §3.5/§6.4: bind mounts need the real root@pam, a root@pam token is not enough
    params = {"vmid": 9119, "ostemplate": env["template"], "rootfs": "local-lvm:1", "mp0": "/srv,mp=/mnt/srv"}
    r = raw_request(env["api"], "POST", "/nodes/pve/lxc", params, token=env["root_token"])
    assert r.status_line == "403 Permission check failed (mount point type bind is only allowed for root@pam)"
    r = _root(env, "POST", "/nodes/pve/lxc", params)
    assert r.status_line == "200 OK"
    wait_task(env["api"], "pve", r.json["data"], ticket=env["ticket"])


def test_unknown_method_is_501(env):
    r = raw_request(env["api"], "PATCH", "/version", ticket=env["ticket"])
    assert r.status_line == "501 method 'PATCH' not available"


def test_concurrent_requests(env):
    """The server handles parallel clients (one thread per connection); parallel creates all succeed."""
    from concurrent.futures import ThreadPoolExecutor

    vmids = list(range(9121, 9127))

    def create(vmid):
        r = _root(env, "POST", "/nodes/pve/lxc", {"vmid": vmid, "ostemplate": env["template"], "rootfs": "local-lvm:1"})
        assert r.status_line == "200 OK", r.body
        return wait_task(env["api"], "pve", r.json["data"], ticket=env["ticket"])["exitstatus"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(create, vmids))
        versions = list(pool.map(lambda _i: _root(env, "GET", "/version").status, range(12)))
    assert results == ["OK"] * len(vmids)
    assert versions == [200] * 12
    listed = {ct["vmid"] for ct in _root(env, "GET", "/nodes/pve/lxc").json["data"]}
    assert set(vmids) <= listed


def test_task_of_another_user_needs_sys_audit(env):
    r = _root(env, "POST", "/nodes/pve/lxc/9196/status/start")  # fails inside the task, any UPID will do
    upid = r.json["data"]
    wait_task(env["api"], "pve", upid, ticket=env["ticket"])
    ticket, _csrf = login(env["api"], "alice@pve", "alicepw")
    r = raw_request(env["api"], "GET", "/nodes/pve/tasks/%s/status" % quote(upid, safe=""), ticket=ticket)
    assert r.status_line == "403 Permission check failed (/nodes/pve, Sys.Audit)"
    # the owner may read their own task
    assert _root(env, "GET", "/nodes/pve/tasks/%s/log" % quote(upid, safe="")).status_line == "200 OK"
