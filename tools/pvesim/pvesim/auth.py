# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Users, realms, tickets, CSRF prevention tokens, API tokens and ACLs of the simulated node.

Files (relative to the simulated ``/etc/pve`` directory), same names and line formats as PVE:

* ``user.cfg`` -- ``user:``, ``group:``, ``role:``, ``token:`` and ``acl:`` lines
  (``user:<userid>:<enable>:<expire>:<firstname>:<lastname>:<email>:<comment>:<keys>:``,
  ``token:<user>@<realm>!<id>:<expire>:<privsep>:<comment>:``,
  ``acl:<propagate>:<path>:<users/@groups/tokens>:<roles>:``).
* ``domains.cfg`` -- the realms ``pam`` and ``pve``.
* ``priv/token.cfg`` -- ``<tokenid> <secret>`` per line (PVE keeps the token values there too).
* ``priv/shadow.cfg`` -- password hashes.  Real PVE keeps ``pve`` realm passwords there and asks
  PAM for ``pam`` users; the simulator has no PAM and keeps both here
  (``<userid>:pbkdf2_sha256$<iterations>$<salt>$<hash>:``).
* ``priv/pvesim-authkey`` -- the secret that signs tickets and CSRF tokens (real PVE signs tickets
  with an RSA key, ``priv/authkey.key``; the simulator uses HMAC-SHA256 with the same
  ``PVE:<userid>:<8 hex timestamp>::<signature>`` ticket layout).

Error texts are the ones PVE uses (pve-access-control ``AccessControl.pm``, pve-common
``Ticket.pm``, pve-manager ``HTTPServer.pm``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
import uuid

from .state import atomic_write

TICKET_LIFETIME = 7200  # 2 hours, like PVE
AUTH_GRACE = 300  # tickets from up to 5 minutes "in the future" are accepted

REALM_RE = r"[A-Za-z][A-Za-z\.\-_0-9]+"
USER_RE = r"[^\s:/]+"
TOKEN_ID_RE = r"[A-Za-z][A-Za-z0-9\.\-_]+"
USERID_RE = re.compile(r"^(" + USER_RE + r")@(" + REALM_RE + r")$")
TOKENID_RE = re.compile(r"^((" + USER_RE + r")@(" + REALM_RE + r"))!(" + TOKEN_ID_RE + r")$")

# Privilege groups exactly as pve-access-control defines them (AccessControl.pm $privgroups).
_PRIVGROUPS = {
    "VM": {
        "root": [],
        "admin": ["VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
                  "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate",
                  "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback"],
        "user": ["VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
                 "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"],
        "audit": ["VM.Audit", "VM.GuestAgent.Audit"],
    },
    "Sys": {
        "root": ["Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"],
        "admin": ["Sys.Console", "Sys.Syslog"],
        "user": [],
        "audit": ["Sys.Audit"],
    },
    "Datastore": {
        "root": [],
        "admin": ["Datastore.Allocate", "Datastore.AllocateTemplate"],
        "user": ["Datastore.AllocateSpace"],
        "audit": ["Datastore.Audit"],
    },
    "SDN": {"root": [], "admin": ["SDN.Allocate", "SDN.Audit"], "user": ["SDN.Use"], "audit": ["SDN.Audit"]},
    "User": {"root": ["Realm.Allocate"], "admin": ["User.Modify", "Group.Allocate", "Realm.AllocateUser"],
             "user": [], "audit": []},
    "Pool": {"root": [], "admin": ["Pool.Allocate"], "user": ["Pool.Audit"], "audit": ["Pool.Audit"]},
    "Mapping": {"root": [], "admin": ["Mapping.Modify"], "user": ["Mapping.Use"], "audit": ["Mapping.Audit"]},
}


def _build_roles():
    valid = {"Permissions.Modify"}
    roles = {"NoAccess": set(), "PVEAdmin": set(), "PVEAuditor": set()}
    for cat, groups in _PRIVGROUPS.items():
        for kind in ("root", "admin", "user", "audit"):
            valid.update(groups[kind])
        roles.setdefault("PVE%sAdmin" % cat, set()).update(groups["admin"] + groups["user"] + groups["audit"])
        roles["PVEAdmin"].update(groups["admin"] + groups["user"] + groups["audit"])
        if groups["user"]:
            roles.setdefault("PVE%sUser" % cat, set()).update(groups["user"] + groups["audit"])
        roles["PVEAuditor"].update(groups["audit"])
    roles["PVEAdmin"].discard("Mapping.Modify")
    roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"}
    roles["Administrator"] = set(valid)
    return valid, roles


VALID_PRIVS, BUILTIN_ROLES = _build_roles()


class AuthError(Exception):
    """An authentication failure.  ``status``/``reason`` are the HTTP status line parts PVE sends."""

    def __init__(self, reason, status=401, log=None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.log = log or reason


def split_tokenid(tokenid):
    m = TOKENID_RE.match(tokenid or "")
    if not m:
        raise ValueError("'%s' is not a valid token ID - not able to split into user and token parts" % tokenid)
    return m.group(1), m.group(4)


def normalize_path(path):
    path = "/" + (path or "")
    path = re.sub(r"//+", "/", path)
    if len(path) > 1:
        path = path.rstrip("/")
    return path


def _decode_text(text):
    return re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), text or "")


def _encode_text(text):
    return "".join(c if (c.isalnum() or c in " _.-+@,/") else "%%%02X" % ord(c) for c in (text or ""))


def same_secret(expected: str, given: str) -> bool:
    """Constant-time comparison of two secrets as bytes: a client may send any characters (a
    non-ASCII token is simply wrong, not an error)."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogateescape"), given.encode("utf-8", "surrogateescape"))


class AuthStore:
    """Reads and writes the access-control files of one simulated node."""

    def __init__(self, pve_dir):
        self.pve_dir = str(pve_dir)
        self.user_cfg = os.path.join(self.pve_dir, "user.cfg")
        self.domains_cfg = os.path.join(self.pve_dir, "domains.cfg")
        self.priv_dir = os.path.join(self.pve_dir, "priv")
        self.token_cfg = os.path.join(self.priv_dir, "token.cfg")
        self.shadow_cfg = os.path.join(self.priv_dir, "shadow.cfg")
        self.key_file = os.path.join(self.priv_dir, "pvesim-authkey")
        self._secret = None

    # ---------------------------------------------------------------- files
    def ensure(self):
        """Create the default files (root@pam enabled, Administrator on / via the implicit root rule)."""
        os.makedirs(self.priv_dir, mode=0o700, exist_ok=True)
        os.chmod(self.priv_dir, 0o700)
        if not os.path.exists(self.user_cfg):
            self._write(self.user_cfg, "user:root@pam:1:0:::root@localhost:::\n")
        if not os.path.exists(self.domains_cfg):
            self._write(self.domains_cfg,
                        "pam: pam\n\tcomment Linux PAM standard authentication\n\n"
                        "pve: pve\n\tcomment Proxmox VE authentication server\n")
        for path in (self.token_cfg, self.shadow_cfg):
            if not os.path.exists(path):
                self._write(path, "", mode=0o600)
        if not os.path.exists(self.key_file):
            self._write(self.key_file, base64.b64encode(secrets.token_bytes(32)).decode() + "\n", mode=0o600)
        return self

    @staticmethod
    def _write(path, text, mode=0o644):
        # the temporary file is 0600 from its creation on, so a secret is never readable by others
        atomic_write(path, text, mode=mode)

    @staticmethod
    def _read(path):
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            return ""

    def secret(self):
        if self._secret is None:
            self.ensure()
            self._secret = base64.b64decode(self._read(self.key_file).strip())
        return self._secret

    def realms(self):
        realms = []
        for line in self._read(self.domains_cfg).splitlines():
            m = re.match(r"^(\w+):\s*(\S+)\s*$", line)
            if m:
                realms.append({"type": m.group(1), "realm": m.group(2)})
        return realms or [{"type": "pam", "realm": "pam"}, {"type": "pve", "realm": "pve"}]

    def load(self):
        """Parse user.cfg into {'users', 'groups', 'roles', 'acl'} (acl = list of entries)."""
        cfg = {"users": {}, "groups": {}, "roles": {k: set(v) for k, v in BUILTIN_ROLES.items()}, "acl": [],
               "pools": {}}
        # root@pam always exists and is enabled (userconfig_force_defaults)
        cfg["users"]["root@pam"] = {"enable": 1, "expire": 0, "tokens": {}, "groups": set()}
        pending_acl = []
        for raw in self._read(self.user_cfg).splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            data = [d.strip() for d in line.split(":")]
            kind, data = data[0], data[1:] + [""] * 9
            if kind == "user" and USERID_RE.match(data[0]):
                user = cfg["users"].setdefault(data[0], {"tokens": {}, "groups": set()})
                user.update({"enable": 1 if data[1] not in ("", "0") else 0,
                             "expire": int(data[2]) if data[2].isdigit() else 0,
                             "firstname": _decode_text(data[3]), "lastname": _decode_text(data[4]),
                             "email": data[5], "comment": _decode_text(data[6])})
                if data[0] == "root@pam":
                    user["enable"] = 1
            elif kind == "group":
                cfg["groups"][data[0]] = {"users": set(u for u in re.split(r"[,;\s]+", data[1]) if u),
                                          "comment": _decode_text(data[2])}
            elif kind == "pool":
                cfg["pools"][data[0]] = {"comment": _decode_text(data[1]),
                                         "vms": [v for v in re.split(r"[,;\s]+", data[2]) if v],
                                         "storage": [v for v in re.split(r"[,;\s]+", data[3]) if v]}
            elif kind == "role":
                cfg["roles"][data[0]] = set(p for p in re.split(r"[,;\s]+", data[1]) if p in VALID_PRIVS)
            elif kind == "token":
                try:
                    userid, tid = split_tokenid(data[0])
                except ValueError:
                    continue
                pending_acl.append(("token", userid, tid, {
                    "expire": int(data[1]) if data[1].isdigit() else 0,
                    "privsep": 0 if data[2] == "0" else 1,
                    "comment": _decode_text(data[3])}))
            elif kind == "acl":
                cfg["acl"].append({"propagate": 1 if data[0] not in ("", "0") else 0,
                                   "path": normalize_path(data[1]),
                                   "ugids": [u for u in re.split(r"[,;\s]+", data[2]) if u],
                                   "roles": [r for r in re.split(r"[,;\s]+", data[3]) if r]})
        for _kind, userid, tid, info in pending_acl:
            if userid in cfg["users"]:
                cfg["users"][userid]["tokens"][tid] = info
        for gid, group in cfg["groups"].items():
            for member in group["users"]:
                if member in cfg["users"]:
                    cfg["users"][member]["groups"].add(gid)
        return cfg

    def save(self, cfg):
        lines = []
        for userid in sorted(cfg["users"]):
            u = cfg["users"][userid]
            lines.append("user:%s:%d:%d:%s:%s:%s:%s::" % (
                userid, 1 if u.get("enable", 1) else 0, int(u.get("expire") or 0), _encode_text(u.get("firstname")),
                _encode_text(u.get("lastname")), u.get("email") or "", _encode_text(u.get("comment"))))
            for tid in sorted(u.get("tokens", {})):
                t = u["tokens"][tid]
                lines.append("token:%s!%s:%d:%d:%s:" % (userid, tid, int(t.get("expire") or 0),
                                                        1 if t.get("privsep", 1) else 0, _encode_text(t.get("comment"))))
        lines.append("")
        for gid in sorted(cfg["groups"]):
            g = cfg["groups"][gid]
            lines.append("group:%s:%s:%s:" % (gid, ",".join(sorted(g["users"])), _encode_text(g.get("comment"))))
        for poolid in sorted(cfg.get("pools", {})):
            pool = cfg["pools"][poolid]
            lines.append("pool:%s:%s:%s:%s:" % (poolid, _encode_text(pool.get("comment")), ",".join(pool["vms"]),
                                                ",".join(pool["storage"])))
        for role in sorted(cfg["roles"]):
            if role in BUILTIN_ROLES:
                continue
            lines.append("role:%s:%s:" % (role, ",".join(sorted(cfg["roles"][role]))))
        lines.append("")
        for acl in cfg["acl"]:
            lines.append("acl:%d:%s:%s:%s:" % (acl["propagate"], acl["path"], ",".join(acl["ugids"]), ",".join(acl["roles"])))
        self.ensure()
        self._write(self.user_cfg, "\n".join(lines).strip("\n") + "\n")

    # ---------------------------------------------------------------- management (simulator CLI / tests)
    def add_user(self, userid, password=None, enable=True, comment=""):
        if not USERID_RE.match(userid):
            raise ValueError("invalid user ID '%s'" % userid)
        cfg = self.load()
        cfg["users"].setdefault(userid, {"tokens": {}, "groups": set()}).update(
            {"enable": 1 if enable else 0, "expire": 0, "comment": comment})
        self.save(cfg)
        if password is not None:
            self.set_password(userid, password)

    def set_password(self, userid, password):
        self.ensure()
        salt = secrets.token_hex(8)
        iterations = 10000
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations).hex()
        entries = [ln for ln in self._read(self.shadow_cfg).splitlines() if ln and not ln.startswith(userid + ":")]
        entries.append("%s:pbkdf2_sha256$%d$%s$%s:" % (userid, iterations, salt, digest))
        self._write(self.shadow_cfg, "\n".join(entries) + "\n", mode=0o600)

    def check_password(self, userid, password):
        for line in self._read(self.shadow_cfg).splitlines():
            parts = line.split(":")
            if len(parts) >= 2 and parts[0] == userid:
                try:
                    _scheme, iterations, salt, digest = parts[1].split("$")
                except ValueError:
                    return False
                got = hashlib.pbkdf2_hmac("sha256", (password or "").encode(), salt.encode(), int(iterations)).hex()
                return same_secret(got, digest)
        return False

    def add_token(self, userid, tokenid, privsep=True, expire=0, comment="", secret=None):
        """Create an API token and return its full id and secret (like ``pveum user token add``)."""
        cfg = self.load()
        if userid not in cfg["users"]:
            raise ValueError("user '%s' does not exist" % userid)
        if not re.match("^" + TOKEN_ID_RE + "$", tokenid):
            raise ValueError("invalid token ID '%s'" % tokenid)
        cfg["users"][userid]["tokens"][tokenid] = {"expire": expire, "privsep": 1 if privsep else 0, "comment": comment}
        self.save(cfg)
        full = "%s!%s" % (userid, tokenid)
        value = secret or str(uuid.uuid4())
        entries = [ln for ln in self._read(self.token_cfg).splitlines() if ln and not ln.startswith(full + " ")]
        entries.append("%s %s" % (full, value))
        self._write(self.token_cfg, "\n".join(entries) + "\n", mode=0o600)
        return {"full-tokenid": full, "value": value, "info": {"privsep": 1 if privsep else 0, "expire": expire}}

    def add_pool(self, poolid: str, comment: str = "") -> None:
        cfg = self.load()
        cfg["pools"].setdefault(poolid, {"comment": comment, "vms": [], "storage": []})
        self.save(cfg)

    def check_pool_exist(self, poolid: str) -> None:
        """``RPCEnvironment::check_pool_exist``: a 403 for a pool user.cfg does not define."""
        from .handlers import perm_error

        if poolid not in self.load()["pools"]:
            raise perm_error("pool '%s' does not exist" % poolid)

    def add_vm_to_pool(self, vmid: int, poolid: str) -> None:
        """``PVE::AccessControl::add_vm_to_pool``."""
        cfg = self.load()
        pool = cfg["pools"].get(poolid)
        if pool is not None and str(vmid) not in pool["vms"]:
            pool["vms"].append(str(vmid))
            self.save(cfg)

    def add_acl(self, path, ugid, role, propagate=True):
        cfg = self.load()
        if role not in cfg["roles"]:
            raise ValueError("role '%s' does not exist" % role)
        if ugid.startswith("@"):
            if ugid[1:] not in cfg["groups"]:
                raise ValueError("group '%s' does not exist" % ugid[1:])
        elif "!" in ugid:
            userid, tid = split_tokenid(ugid)
            if tid not in cfg["users"].get(userid, {}).get("tokens", {}):
                raise ValueError("no such token '%s' for user '%s'" % (tid, userid))
        elif ugid not in cfg["users"]:
            raise ValueError("user '%s' does not exist" % ugid)
        entry = {"propagate": 1 if propagate else 0, "path": normalize_path(path), "ugids": [ugid], "roles": [role]}
        if entry in cfg["acl"]:
            return
        cfg["acl"].append({"propagate": 1 if propagate else 0, "path": normalize_path(path), "ugids": [ugid], "roles": [role]})
        self.save(cfg)

    # ---------------------------------------------------------------- tickets
    def _sign(self, text):
        mac = hmac.new(self.secret(), text.encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode().rstrip("=")

    def create_ticket(self, userid, now=None):
        ts = "%08X" % int(now if now is not None else time.time())
        plain = "PVE:%s:%s" % (userid, ts)
        return "%s::%s" % (plain, self._sign(plain))

    def create_csrf_token(self, userid, now=None):
        ts = "%08X" % int(now if now is not None else time.time())
        return "%s:%s" % (ts, self._sign("%s:%s" % (ts, userid)))

    def _age_ok(self, ts_hex):
        try:
            age = time.time() - int(ts_hex, 16)
        except ValueError:
            return False
        return -AUTH_GRACE < age < TICKET_LIFETIME

    def verify_ticket(self, ticket):
        """Return the user id of a valid ticket or raise AuthError('Authentication failed!')."""
        m = re.match(r"^(PVE:(\S+?):([A-Z0-9]{8}))::(\S+)$", ticket or "")
        if not m or not same_secret(self._sign(m.group(1)), m.group(4)) or not self._age_ok(m.group(3)):
            raise AuthError("Authentication failed!", log="invalid ticket")
        userid = m.group(2)
        self.check_user_enabled(userid, AuthError)
        return userid

    def verify_csrf_token(self, userid, token):
        m = re.match(r"^([A-Z0-9]{8}):(\S+)$", token or "")
        if not m or not same_secret(self._sign("%s:%s" % (m.group(1), userid)), m.group(2)) \
                or not self._age_ok(m.group(1)):
            raise AuthError("Permission denied - invalid csrf token")

    def check_user_enabled(self, userid, exc=ValueError, cfg=None):
        cfg = cfg or self.load()
        user = cfg["users"].get(userid)
        if user is None:
            raise exc("no such user ('%s')" % userid)
        if not user.get("enable", 1):
            raise exc("user '%s' is disabled" % userid)
        if user.get("expire") and user["expire"] < time.time():
            raise exc("user '%s' access expired" % userid)
        return user

    def login(self, username, password, realm=None):
        """POST /access/ticket: return the result object or raise AuthError('authentication failure')."""
        if realm:
            username = "%s@%s" % (username, realm)
        try:
            self.check_user_enabled(username)
            # PVE accepts a valid ticket in place of the password (ticket renewal)
            renewal = (password or "").startswith("PVE:") and self.verify_ticket(password) == username
            if not renewal and not self.check_password(username, password):
                raise ValueError("invalid credentials")
        except (ValueError, AuthError) as exc:
            raise AuthError("authentication failure", log=str(exc)) from None
        return {
            "username": username,
            "ticket": self.create_ticket(username),
            "CSRFPreventionToken": self.create_csrf_token(username),
            "cap": self.capabilities(username),
        }

    def verify_api_token(self, value):
        """Verify ``user@realm!tokenid=secret``; return the token id or raise AuthError."""
        try:
            m = re.match(r"^(.*)=(.*)$", value or "")
            if not m:
                raise ValueError("no tokenid specified")
            tokenid, secret = m.group(1), m.group(2)
            userid, tid = split_tokenid(tokenid)
            cfg = self.load()
            self.check_user_enabled(userid, cfg=cfg)
            info = cfg["users"][userid]["tokens"].get(tid)
            if info is None:
                raise ValueError("no such token '%s' for user '%s'" % (tid, userid))
            if info.get("expire") and info["expire"] < time.time():
                raise ValueError("token '%s' access expired" % tid)
            stored = None
            for line in self._read(self.token_cfg).splitlines():
                parts = line.split(" ", 1)
                if len(parts) == 2 and parts[0] == tokenid:
                    stored = parts[1].strip()
            if stored is None or not same_secret(stored, secret):
                raise ValueError("invalid token value!")
        except ValueError as exc:
            raise AuthError("Authentication failed!", log=str(exc)) from None
        return tokenid

    # ---------------------------------------------------------------- permissions
    def _roles_for(self, cfg, ugid_matches, path):
        """PVE's ACL walk: deeper ACLs replace inherited ones; user entries beat group entries."""
        path = normalize_path(path)
        parts = [p for p in path.split("/") if p]
        levels = ["/"] + ["/" + "/".join(parts[:i + 1]) for i in range(len(parts))]
        current = set()
        for level in levels:
            final = level == path
            direct, group = set(), set()
            for acl in cfg["acl"]:
                if acl["path"] != level or not (acl["propagate"] or final):
                    continue
                for ugid in acl["ugids"]:
                    kind = ugid_matches(ugid)
                    if kind == "direct":
                        direct.update(acl["roles"])
                    elif kind == "group":
                        group.update(acl["roles"])
            if direct:
                current = direct
            elif group:
                current = group
        privs = set()
        for role in current:
            if role == "NoAccess":
                return set()
            privs.update(cfg["roles"].get(role, ()))
        return privs

    def privileges(self, authid, path, cfg=None):
        """Effective privileges of a user or token id on an ACL path."""
        cfg = cfg or self.load()
        if authid == "root@pam":
            return set(VALID_PRIVS)
        if "!" in authid:
            userid, tid = split_tokenid(authid)
            user_privs = self.privileges(userid, path, cfg)
            info = cfg["users"].get(userid, {}).get("tokens", {}).get(tid)
            if info is None:
                return set()
            if not info.get("privsep", 1):
                return user_privs
            token_privs = self._roles_for(cfg, lambda u: "direct" if u == authid else None, path)
            return user_privs & token_privs
        user = cfg["users"].get(authid)
        if user is None or not user.get("enable", 1):
            return set()
        groups = user.get("groups", set())

        def match(ugid):
            if ugid == authid:
                return "direct"
            if ugid.startswith("@") and ugid[1:] in groups:
                return "group"
            return None

        return self._roles_for(cfg, match, path)

    def check(self, authid, path, privs, any_of=False, cfg=None):
        have = self.privileges(authid, path, cfg)
        return any(p in have for p in privs) if any_of else all(p in have for p in privs)

    def capabilities(self, userid):
        cfg = self.load()
        cap = {}
        cats = (("vms", "/vms", ("VM.", "Permissions.Modify")), ("storage", "/storage", ("Datastore.", "Permissions.Modify")),
                ("nodes", "/nodes", ("Sys.", "Permissions.Modify")),
                ("access", "/access", ("User.", "Group.", "Realm.", "Permissions.Modify")),
                ("dc", "/", ("Sys.Audit", "Sys.Modify", "SDN.", "Mapping.")), ("sdn", "/sdn", ("SDN.", "Permissions.Modify")),
                ("mapping", "/mapping", ("Mapping.", "Permissions.Modify")))
        for name, path, prefixes in cats:
            cap[name] = {p: 1 for p in sorted(self.privileges(userid, path, cfg)) if p.startswith(prefixes)}
        return cap


# ---------------------------------------------------------------------------- CLI (`pvesim auth ...`)

def main(argv=None):
    """``pvesim auth``: manage the simulated node's users, passwords, API tokens and ACLs.

    ::

        pvesim auth passwd USERID            # new password from stdin (one line) or the terminal
        pvesim auth user-add USERID [--comment TEXT] [--disable]
        pvesim auth token-add USERID TOKENID [--privsep 0|1] [--expire EPOCH]   # prints the secret as JSON
        pvesim auth acl-add PATH USERID|@GROUP|TOKENID ROLE [--no-propagate]
        pvesim auth show                      # user.cfg
    """
    import argparse
    import getpass
    import json
    import sys

    from .state import State, StateError

    ap = argparse.ArgumentParser(prog="pvesim auth", description="Users, passwords, API tokens and ACLs of the simulated node.")
    ap.add_argument("--state-dir")
    sub = ap.add_subparsers(dest="cmd")
    p = sub.add_parser("passwd", help="set a password (read from stdin or the terminal)")
    p.add_argument("userid")
    p = sub.add_parser("user-add", help="create or update a user (realm pam or pve)")
    p.add_argument("userid")
    p.add_argument("--comment", default="")
    p.add_argument("--disable", action="store_true")
    p = sub.add_parser("token-add", help="create an API token and print its secret")
    p.add_argument("userid")
    p.add_argument("tokenid")
    p.add_argument("--privsep", type=int, choices=(0, 1), default=1)
    p.add_argument("--expire", type=int, default=0)
    p.add_argument("--comment", default="")
    p = sub.add_parser("acl-add", help="grant a role on an ACL path")
    p.add_argument("path")
    p.add_argument("ugid")
    p.add_argument("role")
    p.add_argument("--no-propagate", action="store_true")
    sub.add_parser("show", help="print user.cfg")
    argv = list(sys.argv[1:] if argv is None else argv)
    state_dir = None
    for i, a in enumerate(list(argv)):  # --state-dir may come before or after the subcommand
        if a == "--state-dir" and i + 1 < len(argv):
            state_dir = argv[i + 1]
            del argv[i:i + 2]
            break
        if a.startswith("--state-dir="):
            state_dir = a.split("=", 1)[1]
            del argv[i]
            break
    args = ap.parse_args(argv)
    try:
        st = State.locate(state_dir or args.state_dir)
        store = AuthStore(st.pve_path("")).ensure()
        if args.cmd == "passwd":
            if sys.stdin.isatty():
                pw = getpass.getpass("Enter new password: ")
                if getpass.getpass("Retype new password: ") != pw:
                    sys.stderr.write("pvesim auth: passwords do not match\n")
                    return 1
            else:
                pw = sys.stdin.readline().rstrip("\n")
            if len(pw) < 5:
                sys.stderr.write("pvesim auth: password is too short (minimum 5 characters, as PVE)\n")
                return 1
            if args.userid not in store.load()["users"]:
                store.add_user(args.userid)
            store.set_password(args.userid, pw)
            return 0
        if args.cmd == "user-add":
            store.add_user(args.userid, enable=not args.disable, comment=args.comment)
            return 0
        if args.cmd == "token-add":
            res = store.add_token(args.userid, args.tokenid, privsep=bool(args.privsep), expire=args.expire, comment=args.comment)
            sys.stdout.write(json.dumps(res, sort_keys=True) + "\n")
            return 0
        if args.cmd == "acl-add":
            store.add_acl(args.path, args.ugid, args.role, propagate=not args.no_propagate)
            return 0
        if args.cmd == "show":
            with open(store.user_cfg, encoding="utf-8") as fh:
                sys.stdout.write(fh.read())
            return 0
    except (StateError, ValueError) as exc:
        sys.stderr.write("pvesim auth: %s\n" % exc)
        return 2
    ap.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    import sys as _sys

    _sys.exit(main())
