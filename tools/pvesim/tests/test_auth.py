# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Users, tickets, CSRF tokens, API tokens and ACL evaluation (pvesim.auth)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from pvesim.auth import BUILTIN_ROLES, VALID_PRIVS, AuthError, AuthStore
from pvesim.handlers import Env, PVEError
from pvesim.state import State


@pytest.fixture
def store(tmp_path):
    st = State(tmp_path / "state").init(node="pve")
    a = AuthStore(st.pve_path("")).ensure()
    a.set_password("root@pam", "rootpw")
    return a


def test_ticket_layout_and_roundtrip(store):
    t = store.create_ticket("root@pam")
    assert re.match(r"^PVE:root@pam:[0-9A-F]{8}::\S+$", t)
    assert store.verify_ticket(t) == "root@pam"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: t.replace("root@pam", "alice@pve"),
    lambda t: "garbage",
    lambda t: "",
])
def test_tampered_ticket_is_rejected(store, mangle):
    with pytest.raises(AuthError) as exc:
        store.verify_ticket(mangle(store.create_ticket("root@pam")))
    assert exc.value.reason == "Authentication failed!"
    assert exc.value.status == 401


def test_expired_ticket_is_rejected(store):
    old = store.create_ticket("root@pam", now=time.time() - 7300)
    with pytest.raises(AuthError):
        store.verify_ticket(old)
    fresh_enough = store.create_ticket("root@pam", now=time.time() - 7000)
    assert store.verify_ticket(fresh_enough) == "root@pam"


def test_csrf_token_is_bound_to_user(store):
    tok = store.create_csrf_token("root@pam")
    assert re.match(r"^[0-9A-F]{8}:\S+$", tok)
    store.verify_csrf_token("root@pam", tok)
    for user, value in (("alice@pve", tok), ("root@pam", None), ("root@pam", "00000000:abc")):
        with pytest.raises(AuthError) as exc:
            store.verify_csrf_token(user, value)
        assert exc.value.reason == "Permission denied - invalid csrf token"


def test_login(store):
    data = store.login("root@pam", "rootpw")
    assert data["username"] == "root@pam"
    assert store.verify_ticket(data["ticket"]) == "root@pam"
    store.verify_csrf_token("root@pam", data["CSRFPreventionToken"])
    assert data["cap"]["vms"]["VM.Allocate"] == 1
    # realm as separate parameter, and a valid ticket instead of the password (renewal)
    assert store.login("root", "rootpw", realm="pam")["username"] == "root@pam"
    assert store.login("root@pam", data["ticket"])["username"] == "root@pam"
    for user, pw in (("root@pam", "wrong"), ("nobody@pve", "x"), ("root@pam", "")):
        with pytest.raises(AuthError) as exc:
            store.login(user, pw)
        assert exc.value.reason == "authentication failure"


def test_disabled_user_cannot_login(store):
    store.add_user("bob@pve", password="bobpw", enable=False)
    with pytest.raises(AuthError):
        store.login("bob@pve", "bobpw")
    store.add_user("bob@pve", enable=True)
    assert store.login("bob@pve", "bobpw")["username"] == "bob@pve"


def test_user_cfg_format_roundtrip(store):
    store.add_user("alice@pve", password="pw", comment="ops team")
    tok = store.add_token("alice@pve", "ci", privsep=True)
    store.add_acl("/vms", "alice@pve", "PVEVMAdmin")
    store.add_acl("/vms/9100", "alice@pve!ci", "PVEAuditor", propagate=False)
    text = Path(store.user_cfg).read_text(encoding="utf-8")
    assert "user:alice@pve:1:0:::" in text
    assert "token:alice@pve!ci:0:1::" in text
    assert "acl:1:/vms:alice@pve:PVEVMAdmin:" in text
    assert "acl:0:/vms/9100:alice@pve!ci:PVEAuditor:" in text
    # token secrets live in priv/token.cfg as "<tokenid> <secret>", like PVE
    assert "alice@pve!ci %s" % tok["value"] in Path(store.token_cfg).read_text(encoding="utf-8")
    cfg = store.load()
    assert cfg["users"]["alice@pve"]["tokens"]["ci"]["privsep"] == 1
    assert cfg["users"]["alice@pve"]["comment"] == "ops team"


def test_builtin_roles_match_pve():
    assert BUILTIN_ROLES["PVEAuditor"] >= {"VM.Audit", "Sys.Audit", "Datastore.Audit"}
    assert "VM.Allocate" not in BUILTIN_ROLES["PVEAuditor"]
    assert BUILTIN_ROLES["PVEVMUser"] >= {"VM.PowerMgmt", "VM.Console", "VM.Audit"}
    assert "VM.Allocate" in BUILTIN_ROLES["PVEVMAdmin"]
    assert BUILTIN_ROLES["PVETemplateUser"] == {"VM.Clone", "VM.Audit"}
    assert "Mapping.Modify" not in BUILTIN_ROLES["PVEAdmin"]
    assert BUILTIN_ROLES["Administrator"] == VALID_PRIVS
    assert BUILTIN_ROLES["NoAccess"] == set()


def test_acl_propagation_and_override(store):
    store.add_user("alice@pve")
    store.add_acl("/vms", "alice@pve", "PVEVMAdmin")
    store.add_acl("/vms/9101", "alice@pve", "NoAccess")
    store.add_acl("/storage/local", "alice@pve", "PVEDatastoreUser", propagate=False)
    assert store.check("alice@pve", "/vms/9100", ["VM.Allocate"])
    assert not store.check("alice@pve", "/vms/9101", ["VM.Audit"])
    assert not store.check("alice@pve", "/", ["VM.Audit"])
    assert store.check("alice@pve", "/storage/local", ["Datastore.AllocateSpace"])
    assert not store.check("alice@pve", "/storage/local/sub", ["Datastore.AllocateSpace"])
    assert store.check("alice@pve", "/vms/9100", ["Sys.Modify", "VM.Audit"], any_of=True)
    assert not store.check("alice@pve", "/vms/9100", ["Sys.Modify", "VM.Audit"])


def test_group_acl_and_user_precedence(store):
    cfg = store.load()
    store.add_user("carol@pve")
    cfg = store.load()
    cfg["groups"]["ops"] = {"users": {"carol@pve"}, "comment": ""}
    store.save(cfg)
    store.add_acl("/vms", "@ops", "PVEVMAdmin")
    assert store.check("carol@pve", "/vms/9100", ["VM.Allocate"])
    store.add_acl("/vms", "carol@pve", "PVEAuditor")
    # a user ACL beats a group ACL on the same level
    assert not store.check("carol@pve", "/vms/9100", ["VM.Allocate"])
    assert store.check("carol@pve", "/vms/9100", ["VM.Audit"])


def test_root_is_all_powerful_but_its_token_is_not_root(store):
    assert store.privileges("root@pam", "/anything") == VALID_PRIVS
    tok = store.add_token("root@pam", "auto", privsep=True)
    # privilege separated, no token ACL: nothing
    assert store.privileges("root@pam!auto", "/vms/9100") == set()
    store.add_acl("/", "root@pam!auto", "Administrator")
    assert store.privileges("root@pam!auto", "/vms/9100") == VALID_PRIVS
    assert store.verify_api_token("root@pam!auto=%s" % tok["value"]) == "root@pam!auto"
    env = Env(state=None, user="root@pam!auto", rpc="https",
              permission_checker=lambda e, p, privs, any_of: store.check(e.user, p, privs, any_of=any_of))
    assert not env.is_root_pam  # the root@pam-only checks (bind mounts, --skiplock) must fail


def test_token_privsep_intersection(store):
    store.add_user("alice@pve")
    store.add_acl("/vms", "alice@pve", "PVEVMUser")
    store.add_token("alice@pve", "sep", privsep=True)
    store.add_token("alice@pve", "full", privsep=False)
    store.add_acl("/vms", "alice@pve!sep", "PVEVMAdmin")
    # user ∩ token: PVEVMUser ∩ PVEVMAdmin
    assert store.check("alice@pve!sep", "/vms/9100", ["VM.PowerMgmt"])
    assert not store.check("alice@pve!sep", "/vms/9100", ["VM.Allocate"])
    # no privilege separation: exactly the user's privileges
    assert store.privileges("alice@pve!full", "/vms/9100") == store.privileges("alice@pve", "/vms/9100")


def test_api_token_verification_errors(store):
    tok = store.add_token("root@pam", "t1")
    good = "root@pam!t1=%s" % tok["value"]
    assert store.verify_api_token(good) == "root@pam!t1"
    for bad in ("root@pam!t1=wrong", "root@pam!nope=%s" % tok["value"], "root@pam!t1", "nonsense", "",
                "ghost@pve!t1=%s" % tok["value"]):
        with pytest.raises(AuthError) as exc:
            store.verify_api_token(bad)
        assert exc.value.reason == "Authentication failed!"


def test_expired_token(store):
    store.add_user("dave@pve")
    tok = store.add_token("dave@pve", "old", expire=int(time.time()) - 10)
    with pytest.raises(AuthError):
        store.verify_api_token("dave@pve!old=%s" % tok["value"])


def test_env_check_perm_message(store):
    store.add_user("erin@pve")
    env = Env(state=None, user="erin@pve", rpc="https",
              permission_checker=lambda e, p, privs, any_of: store.check(e.user, p, privs, any_of=any_of))
    with pytest.raises(PVEError) as exc:
        env.check_perm("/vms/9100", ["VM.Audit"])
    assert exc.value.status == 403
    assert exc.value.message == "Permission check failed (/vms/9100, VM.Audit)"


def test_auth_cli(store, tmp_path):
    import json
    import subprocess
    import sys

    sd = str(Path(store.pve_dir))

    def cli(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "pvesim.auth", "--state-dir", sd, *args], input=stdin,
                              capture_output=True, text=True, check=False)

    assert cli("passwd", "root@pam", stdin="n3w-secret\n").returncode == 0
    assert store.login("root@pam", "n3w-secret")["username"] == "root@pam"
    assert cli("passwd", "root@pam", stdin="abc\n").stderr == "pvesim auth: password is too short (minimum 5 characters, as PVE)\n"
    assert cli("user-add", "ops@pve").returncode == 0
    r = cli("token-add", "ops@pve", "ci", "--privsep", "0")
    tok = json.loads(r.stdout)
    assert tok["full-tokenid"] == "ops@pve!ci" and store.verify_api_token("ops@pve!ci=%s" % tok["value"]) == "ops@pve!ci"
    assert cli("acl-add", "/vms", "ops@pve", "PVEVMAdmin").returncode == 0
    assert store.check("ops@pve!ci", "/vms/9100", ["VM.Allocate"])
    bad = cli("acl-add", "/vms", "ghost@pve", "PVEVMAdmin")
    assert (bad.returncode, bad.stderr) == (2, "pvesim auth: user 'ghost@pve' does not exist\n")
    assert "acl:1:/vms:ops@pve:PVEVMAdmin:" in cli("show").stdout
