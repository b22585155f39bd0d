# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API handler layer shared by every front end (``pct``, ``pvesh``, the HTTPS server).

As in PVE (contract §0.1) there is one in-process handler per REST endpoint::

    @api("GET", "/nodes/{node}/lxc/{vmid}/config", perm=Perm("/vms/{vmid}", ("VM.Audit",)), params={...}, name="vm_config")
    def vm_config(env, params): ...

* ``env`` (:class:`Env`) carries the authenticated user (``root@pam``, ``user@pve!token``), the
  RPC type (``cli`` or ``https``), the :class:`~pvesim.state.State` and the output streams a
  synchronous CLI worker writes to.
* ``params`` are already validated and typed by :func:`pvesim.schema.validate` (path
  parameters included).  Handlers return plain data, ``None``, or a UPID string (task-backed
  handlers call :func:`pvesim.tasks.fork_worker`).
* Errors are raised as :class:`PVEError`; front ends format them with :func:`format_cli_error`
  (CLI: printed to STDERR) or as HTTP status + JSON body (``http_error_body``).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from . import schema


class PVEError(Exception):
    """An error as PVE raises it (``die`` or ``PVE::Exception::raise``).

    ``status`` is the HTTP code (500 for a plain ``die``), ``errors`` the per-parameter map of
    a ``400 Parameter verification failed.`` exception.  ``usage`` is filled in by CLI front
    ends.  ``message`` is the text without trailing newline.
    """

    def __init__(self, message, status=500, errors=None, usage=None, exitcode=None):
        super().__init__(message)
        self.message = str(message).rstrip("\n")
        self.status = int(status)
        self.errors = dict(errors or {})
        self.usage = usage
        self.exitcode = exitcode

    def __str__(self):
        return self.message

    @property
    def has_code(self):
        """Raised with an explicit code (400/403/...) -> the CLI prints ``<code> <msg>``."""
        return self.status != 500 or bool(self.errors)


def param_error(errors, usage=None):
    """``raise_param_exc``: HTTP 400 ``Parameter verification failed.`` with per-param messages."""
    return PVEError("Parameter verification failed.", status=400, errors=errors, usage=usage)


def perm_error(what=None):
    """``raise_perm_exc``: HTTP 403 ``Permission check failed (<what>)``."""
    msg = "Permission check failed"
    if what:
        msg += " (%s)" % what
    return PVEError(msg, status=403)


def format_cli_error(err):
    """The text a PVE CLI prints for an uncaught exception (PVE::Exception::stringify).

    Plain dies print the message; coded exceptions ``<code> <message>``, then one
    ``<param>: <msg>`` line per error (sorted), then the usage line if any.
    """
    if isinstance(err, PVEError):
        msg = ("%d %s" % (err.status, err.message)) if err.has_code else err.message
        msg += "\n"
        for k in sorted(err.errors):
            msg += "%s: %s\n" % (k, err.errors[k])
        if err.usage:
            msg += err.usage
            if not msg.endswith("\n"):
                msg += "\n"
        return msg
    text = str(err)
    return text if text.endswith("\n") else text + "\n"


def http_error_body(err):
    """(status, reason phrase, JSON-able body) for an HTTPS response (contract §6.3)."""
    first = err.message.split("\n", 1)[0]
    body = {"data": None, "message": err.message + "\n"}
    if err.errors:
        body["errors"] = dict(err.errors)
    return err.status, first, body


class Env:
    """The RPC environment of one call (``PVE::RPCEnvironment``).

    ``user``: ``root@pam``, ``alice@pve`` or a token ``alice@pve!tok``.
    ``rpc``: ``cli`` (pct/pvesh: workers run synchronously, output on ``stdout``) or ``https``
    (workers run in the background).  ``permission_checker`` is an optional callable
    ``(env, path, privs, any_of) -> bool`` installed by the auth layer; without it only
    ``root@pam`` (and any ``cli`` caller) passes.
    """

    def __init__(self, state, user="root@pam", rpc="cli", stdout=None, stderr=None, permission_checker=None):
        self.state = state
        self.user = user
        self.rpc = rpc
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.permission_checker = permission_checker

    @property
    def node(self):
        return self.state.node

    @property
    def is_root_pam(self):
        """Only the real root@pam login; a token of root@pam does *not* count (contract §6.4)."""
        return self.user == "root@pam"

    @property
    def tokenid(self):
        return self.user.split("!", 1)[1] if "!" in self.user else None

    @property
    def userid(self):
        return self.user.split("!", 1)[0]

    def check_perm(self, path, privs, any_of=False, noerr=False):
        """Raise 403 unless the user has ``privs`` (all, or any with ``any_of``) on ``path``."""
        if self.permission_checker is not None:
            ok = bool(self.permission_checker(self, path, list(privs), any_of))
        else:
            ok = self.user == "root@pam"
        if ok or noerr:
            return ok
        raise perm_error("%s, %s" % (path, "|".join(privs) if any_of else ", ".join(privs)))


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Perm:
    """An endpoint's ``permissions => { check => ['perm', <path>, [<privs>], any => 1] }``,
    checked before the handler runs (``None`` on :func:`api`: any authenticated user, PVE's
    ``user => 'all'``).  ``path`` uses the request's parameters (``/vms/{vmid}``); ``or_pool``
    adds create_vm's alternative ``['perm', '/pool/{pool}', <privs>, require_param => 'pool']``.
    Handlers make their finer checks themselves through ``env.check_perm``."""

    path: str
    privs: tuple
    any_of: bool = False
    or_pool: bool = False

    def check(self, env: Env, params: dict) -> None:
        try:
            acl_path = self.path.format(**{k: params[k] for k in re.findall(r"\{(\w+)\}", self.path)})
        except KeyError:  # an unresolved parameter fails the check, as in PVE
            acl_path = None
        if acl_path is not None and env.check_perm(acl_path, self.privs, any_of=self.any_of, noerr=True):
            return
        if self.or_pool and params.get("pool") and env.check_perm("/pool/%s" % params["pool"], self.privs, noerr=True):
            return
        raise perm_error("%s, %s" % (acl_path or self.path, ("|" if self.any_of else ", ").join(self.privs)))


class Handler:
    def __init__(self, method, path, func, params, name, returns=None, protected=False, description="",
                 upload=False, perm=None):
        self.method = method
        self.path = path
        self.func = func
        self.params = params or {}
        self.name = name
        self.returns = returns
        self.protected = protected
        self.description = description
        # takes a multipart file upload: the HTTP server spools the file part and passes its
        # name as ``tmpfilename``; the handler's task then owns (and removes) that file
        self.upload = upload
        self.perm = perm
        # ``{name}`` matches one path component, ``{name*}`` the rest of the path (a volume id
        # such as ``local:vztmpl/x.tar.zst``, as PVE's ``{volume}`` does).
        self.path_params = re.findall(r"\{(\w+)\*?\}", path)
        rx = "^" + re.sub(r"\\\{(\w+)(\\\*)?\\\}", lambda m: "(?P<%s>%s)" % (m.group(1), ".+" if m.group(2) else "[^/]+"),
                          re.escape(path)) + "$"
        self.regex = re.compile(rx)

    def __repr__(self):
        return "<Handler %s %s>" % (self.method, self.path)


_REGISTRY = []


def api(method, path, params=None, name=None, returns=None, protected=False, description="", upload=False,
        perm=None):
    """Register ``func`` as the handler of ``method path``; ``perm`` (:class:`Perm`) is its
    ``permissions`` check.  A ``{node}`` in the path is checked against the local node before
    the handler runs (``no such cluster node``)."""

    def deco(func):
        _REGISTRY.append(Handler(method.upper(), path, func, params, name or func.__name__, returns, protected, description,
                                 upload, perm))
        return func

    return deco


def _load_all():
    """Import every module of the package and its subpackages: a handler module registers its
    endpoints with ``@api`` when it is imported, so a new one (a ``qemu`` package, say) needs no
    list to be added to."""
    import importlib
    import pkgutil

    package = importlib.import_module(__package__)
    for info in pkgutil.walk_packages(package.__path__, __package__ + "."):
        if info.name.rsplit(".", 1)[-1] != "__main__":
            importlib.import_module(info.name)


_loaded = False


def registry():
    global _loaded
    if not _loaded:
        _loaded = True
        _load_all()
    return list(_REGISTRY)


def find(method, path):
    """Return ``(handler, path_params)`` or ``(None, None)``.  ``path`` has no /api2/json prefix."""
    path = "/" + path.strip("/")
    method = method.upper()
    for h in registry():
        if h.method != method:
            continue
        m = h.regex.match(path)
        if m:
            return h, m.groupdict()
    return None, None


def paths_for(path):
    """Methods registered for a path (for 501 / 405 decisions of the front ends)."""
    path = "/" + path.strip("/")
    return sorted({h.method for h in registry() if h.regex.match(path)})


def call(env, method, path, params=None, cli=False):
    """Validate ``params`` against the handler schema and run it.

    ``params`` values are strings (HTTP form/query, CLI after option parsing) or already typed
    JSON values.  ``cli=True`` lets booleans through in the CLI spellings (yes/on/true...).
    Raises PVEError (404-style ``No '<path>' handler`` errors carry status 501 as PVE does).
    """
    handler, pparams = find(method, path)
    if handler is None:
        raise PVEError("Method '%s /%s' not implemented" % (method.upper(), path.strip("/")), status=501)
    merged = dict(params or {})
    merged.update(pparams)
    typed = schema.validate(handler.params, merged, cli=cli)
    if "node" in handler.path_params and typed.get("node") != env.state.node:
        raise PVEError("no such cluster node '%s'" % typed.get("node"))
    return handler.func(env, typed)
