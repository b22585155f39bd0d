# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The REST API transport: proxmoxer's ``https`` backend, API tokens or a password.

Async calls return a UPID that is waited for with ``tasks.wait``; booleans are
sent as ``1``/``0`` (proxmoxer would send ``"True"``); ``PUT config`` carries the
``digest`` that was read, so a concurrent edit fails instead of being overwritten.
"""

from __future__ import annotations

import re
import time
import traceback

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import conffile, messages, model, tasks

MIN_PROXMOXER = (2, 0, 0)

try:
    import proxmoxer
    from proxmoxer import ProxmoxAPI
    HAS_PROXMOXER = True
    PROXMOXER_IMPORT_ERROR = None
except ImportError:
    HAS_PROXMOXER = False
    PROXMOXER_IMPORT_ERROR = traceback.format_exc()

HIDDEN = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def _version_tuple(text):
    return tuple(int(part) for part in re.findall(r"\d+", str(text))[:3])


def check_proxmoxer():
    if not HAS_PROXMOXER:
        raise LxcriError("transport 'api' needs the Python library proxmoxer >= %s on the host that runs the module "
                         "(usually the controller with delegate_to: localhost): pip install 'proxmoxer>=2.0' requests; "
                         "or use transport: pct on the Proxmox node" % ".".join(map(str, MIN_PROXMOXER)),
                         errors.RUNTIME_MISSING, details={"exception": PROXMOXER_IMPORT_ERROR})
    version = getattr(proxmoxer, "__version__", "0")
    if _version_tuple(version) < MIN_PROXMOXER:
        raise LxcriError("proxmoxer %s is too old (API tokens need >= %s; Debian's python3-proxmoxer 1.x is too old): "
                         "pip install 'proxmoxer>=2.0' on the host that runs the module" % (version, ".".join(map(str, MIN_PROXMOXER))),
                         errors.RUNTIME_MISSING)


def resolve_auth(params):
    """(user, token_name, token_secret, password) from the module options; never defaults to root@pam."""
    user = params.get("api_user")
    token_id = params.get("api_token_id")
    secret = params.get("api_token_secret")
    password = params.get("api_password")
    token_name = None
    if token_id:
        if "!" in token_id:
            token_user, token_name = token_id.split("!", 1)
            if user and user != token_user:
                raise errors.invalid_argument("api_token_id", "names user %s but api_user is %s; give one of them" % (token_user, user))
            user = token_user
        else:
            token_name = token_id
            if not user:
                raise errors.invalid_argument("api_user", "a bare api_token_id (%s) needs api_user (user@realm), "
                                                          "or give api_token_id as user@realm!tokenid" % token_id)
        if not re.fullmatch(r"[^\s@:!]+@[A-Za-z][A-Za-z0-9.\-_]+", user):
            raise errors.invalid_argument("api_user", "%r is not user@realm" % (user,))
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-_]+", token_name):
            raise errors.invalid_argument("api_token_id", "token id %r is not valid (letters, digits, . - _)" % (token_name,))
        if not secret:
            raise errors.invalid_argument("api_token_secret", "required with api_token_id (env PROXMOX_TOKEN_SECRET)")
        return user, token_name, secret, None
    if password:
        if not user:
            raise errors.invalid_argument("api_user", "required with api_password (for example root@pam); it is never assumed")
        return user, None, None, password
    raise errors.invalid_argument("api_token_id", "transport 'api' needs api_token_id + api_token_secret or api_user + api_password "
                                                  "(env PROXMOX_TOKEN_ID/PROXMOX_TOKEN_SECRET or PROXMOX_USER/PROXMOX_PASSWORD)")


def _bool_to_int(params):
    return dict((k, (1 if v else 0) if isinstance(v, bool) else v) for k, v in params.items())


class ApiGuestTransport:
    """The REST calls CTs and VMs share: ``/nodes/{node}/<guest>/...`` mirror each other (``lxc``/``qemu``)."""

    name = "api"
    guest = "lxc"
    word = "CT"
    template_task = "vztemplate"
    secret_params = ("password",)
    supports_raw_lxc = False
    supports_password_update = False
    reads_digest = True

    def __init__(self, params, node=None, timeout=300, api_factory=None, sleep=None):
        host = params.get("api_host")
        if not host:
            raise errors.invalid_argument("api_host", "required for transport 'api' (env PROXMOX_HOST)")
        self.user, token_name, secret, password = resolve_auth(params)
        self.is_root_pam = self.user == "root@pam" and password is not None
        self.verify_ssl = bool(params.get("validate_certs"))
        self.node = node
        self.timeout = timeout
        self.reads = []
        self.warnings = []
        self._sleep = sleep
        kwargs = dict(port=params.get("api_port") or 8006, user=self.user, verify_ssl=bool(params.get("validate_certs")),
                      timeout=params.get("api_timeout") or 30)
        if token_name:
            kwargs.update(token_name=token_name, token_value=secret)
        else:
            kwargs.update(password=password)
        if api_factory is None:
            check_proxmoxer()
            api_factory = ProxmoxAPI
        try:
            self.api = api_factory(host, **kwargs)
        except Exception as exc:  # pylint: disable=broad-except
            raise self._error(exc, "connecting to the Proxmox API at %s:%s as %s" % (host, kwargs["port"], self.user)) from exc

    # -- helpers -----------------------------------------------------------------------
    def _error(self, exc, what):
        if isinstance(exc, LxcriError):
            return exc
        text = str(exc)
        status = getattr(exc, "status_code", None)
        kind = messages.classify(text)
        if status in (401,):
            kind = errors.PERMISSION
            text += " (check api_user/api_token_id/api_token_secret; tokens are user@realm!tokenid)"
        elif status == 403:
            kind = errors.PERMISSION
        elif self.verify_ssl and ("certificate" in text.lower() or "CERTIFICATE_VERIFY_FAILED" in text):
            text += " (set validate_certs: false for a self-signed certificate, or install the node's CA)"
        details = {}
        if kind == errors.NOT_FOUND and messages.missing(text):
            details["missing"] = messages.missing(text)
        if getattr(exc, "errors", None):
            details["api_errors"] = exc.errors
        return LxcriError("%s: %s" % (what, text), kind, details=details)

    def _call(self, method, path, what, read=False, **params):
        if read:
            self.reads.append([method, path])
        try:
            resource = self.api(path.lstrip("/"))
            return getattr(resource, method.lower())(**_bool_to_int(params))
        except Exception as exc:  # pylint: disable=broad-except
            raise self._error(exc, what) from exc

    def _wait(self, upid, what, timeout=None, node=None):
        if not upid or not str(upid).startswith("UPID:"):
            return None
        task_node = tasks.upid_node(upid, node or self.node)
        base = "/nodes/%s/tasks/%s" % (task_node, upid)
        kwargs = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep

        def get_log():
            return self._call("GET", base + "/log", "reading task log", start=0, limit=100000)

        status = tasks.wait(lambda: self._call("GET", base + "/status", "reading task %s" % upid), get_log,
                            upid, timeout or self.timeout, what, **kwargs)
        if status.get("warnings"):
            self.warnings.extend("%s: %s" % (what, line) for line in tasks.log_tail(get_log, lines=200) if line.startswith("WARN: "))
        return status

    def _node(self, node):
        node = node or self.node
        if not node:
            raise errors.invalid_argument("node", "could not determine the node; set node")
        return node

    def _shown(self, method, path, params=None):
        shown = [method, "/api2/json" + path]
        for key in sorted(params or {}):
            value = params[key]
            if key in self.secret_params:
                value = HIDDEN
            elif key == "digest":
                value = conffile.DIGEST_SHOWN
            shown.append("%s=%s" % (key, value))
        return shown

    # -- reads --------------------------------------------------------------------------
    def get(self, path, what, **params):
        """One ``GET`` of any API path (recorded in ``reads``), for readers beyond containers (the inventory plugin)."""
        return self._call("GET", path, what, read=True, **params)

    def list(self):
        """Containers with status and lock.

        With a node: ``GET /nodes/{node}/lxc`` (live status).  Without one:
        ``/cluster/resources``, whose status comes from pvestatd and may be up to
        10 s stale; such rows are marked ``stale`` so the caller re-reads the status.
        """
        if self.node:
            rows = self._call("GET", "/nodes/%s/%s" % (self.node, self.guest), "listing %ss on node %s" % (self.word, self.node), read=True) or []
            stale = False
        else:
            rows = [row for row in self._call("GET", "/cluster/resources", "listing %ss" % self.word, read=True, type="vm") or []
                    if row.get("type") == self.guest]
            stale = True
        result = []
        for row in rows:
            result.append({"vmid": int(row.get("vmid")), "status": row.get("status"), "lock": row.get("lock") or None,
                           "name": row.get("name"), "node": row.get("node") or self.node, "tags": row.get("tags"),
                           "template": bool(int(row.get("template") or 0)), "stale": stale})
        return result

    def status(self, vmid, node=None):
        """Live status of one guest (``status/current``): {status, lock}."""
        current = self._call("GET", "/nodes/%s/%s/%s/status/current" % (self._node(node), self.guest, vmid), "reading the status of %s %s" % (self.word, vmid),
                             read=True) or {}
        return {"status": current.get("status"), "lock": current.get("lock") or None}

    def read(self, vmid, node=None):
        path = "/nodes/%s/%s/%s/pending" % (self._node(node), self.guest, vmid)
        try:
            items = self._call("GET", path, "reading %s %s" % (self.word, vmid), read=True)
        except LxcriError as exc:
            if exc.error_kind == errors.NOT_FOUND:
                return None
            raise
        view, pending, digest = model.parse_pending_api(items)
        return view, pending, digest

    def get_config(self, vmid, node=None):
        """``GET …/config``: the raw config with pending values merged, and its ``digest``."""
        return dict(self._call("GET", "/nodes/%s/%s/%s/config" % (self._node(node), self.guest, vmid), "reading %s %s" % (self.word, vmid),
                               read=True) or {})

    def read_digest(self, vmid, node=None):
        return self.get_config(vmid, node).get("digest")

    def nextid(self):
        value = self._call("GET", "/cluster/nextid", "reading the next free vmid", read=True)
        return int(value)

    # -- mutating operations ---------------------------------------------------------------
    def update(self, vmid, values, delete, digest=None, node=None, check=False):
        node = self._node(node)
        body = dict(values)
        if delete:
            body["delete"] = ",".join(sorted(delete))
        if digest:
            body["digest"] = digest
        path = "/nodes/%s/%s/%s/config" % (node, self.guest, vmid)
        if not check:
            self._call("PUT", path, "updating %s %s" % (self.word, vmid), **body)
        return self._shown("PUT", path, body)

    def resize(self, vmid, disk, size, node=None, check=False):
        node = self._node(node)
        path = "/nodes/%s/%s/%s/resize" % (node, self.guest, vmid)
        if not check:
            upid = self._call("PUT", path, "resizing %s of %s %s" % (disk, self.word, vmid), disk=disk, size=size)
            self._wait(upid, "resizing %s of %s %s" % (disk, self.word, vmid), node=node)
        return self._shown("PUT", path, {"disk": disk, "size": size})

    def _status(self, vmid, action, node, check, timeout=None, **body):
        node = self._node(node)
        path = "/nodes/%s/%s/%s/status/%s" % (node, self.guest, vmid, action)
        if not check:
            upid = self._call("POST", path, "%s %s %s" % (action, self.word, vmid), **body)
            self._wait(upid, "%s of %s %s" % (action, self.word, vmid), timeout=timeout, node=node)
        return self._shown("POST", path, body)

    def start(self, vmid, node=None, check=False):
        return self._status(vmid, "start", node, check)

    def shutdown(self, vmid, timeout, node=None, check=False):
        node = self._node(node)
        path = "/nodes/%s/%s/%s/status/shutdown" % (node, self.guest, vmid)
        body = {"timeout": int(timeout), "forceStop": 1}
        if not check:
            upid = self._call("POST", path, "shutdown %s %s" % (self.word, vmid), **body)
            self._wait(upid, "shutdown of %s %s" % (self.word, vmid), timeout=timeout + 30, node=node)
        return self._shown("POST", path, body)

    def stop(self, vmid, node=None, check=False):
        return self._status(vmid, "stop", node, check)

    def reboot(self, vmid, timeout, node=None, check=False):
        node = self._node(node)
        path = "/nodes/%s/%s/%s/status/reboot" % (node, self.guest, vmid)
        body = {"timeout": int(timeout)}
        if not check:
            upid = self._call("POST", path, "reboot %s %s" % (self.word, vmid), **body)
            self._wait(upid, "reboot of %s %s" % (self.word, vmid), timeout=timeout + 60, node=node)
        return self._shown("POST", path, body)

    def destroy(self, vmid, purge, node=None, check=False):
        node = self._node(node)
        path = "/nodes/%s/%s/%s" % (node, self.guest, vmid)
        body = {"purge": 1} if purge else {}
        if not check:
            upid = self._call("DELETE", path, "destroying %s %s" % (self.word, vmid), **body)
            self._wait(upid, "destroying %s %s" % (self.word, vmid), node=node)
        return self._shown("DELETE", path, body)

    def template(self, vmid, node=None, check=False):
        """``POST …/template`` forks a ``vztemplate`` worker but returns null (no UPID): find the task and wait for it."""
        node = self._node(node)
        path = "/nodes/%s/%s/%s/template" % (node, self.guest, vmid)
        if not check:
            what = "converting %s %s to a template" % (self.word, vmid)
            started = int(time.time()) - 5
            # the tasks there were before: an earlier (failed) conversion within the same second must not be taken for this one
            earlier = {task.get("upid") for task in self._tasks(node, vmid, self.template_task)}
            result = self._call("POST", path, what)
            upid = result if str(result or "").startswith("UPID:") else self._find_task(node, vmid, self.template_task, started, earlier)
            if upid:
                self._wait(upid, what, node=node)
            else:
                self._poll_template(vmid, node, what)
        return self._shown("POST", path)

    def _tasks(self, node, vmid, task_type):
        return self._call("GET", "/nodes/%s/tasks" % node, "listing tasks", vmid=vmid, typefilter=task_type, source="all") or []

    def _find_task(self, node, vmid, task_type, since, earlier):
        candidates = [t for t in self._tasks(node, vmid, task_type)
                      if t.get("type") == task_type and int(t.get("starttime") or 0) >= since and t.get("upid") not in earlier]
        if not candidates:
            return None
        return max(candidates, key=lambda t: int(t.get("starttime") or 0)).get("upid")

    def _poll_template(self, vmid, node, what):
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            current = self._call("GET", "/nodes/%s/%s/%s/status/current" % (node, self.guest, vmid), what) or {}
            if str(current.get("template") or "0") in ("1", "True", "true"):
                return
            (self._sleep or time.sleep)(1)
        raise LxcriError("%s did not finish within timeout=%ss (no task found to follow)" % (what, self.timeout), errors.TIMEOUT)


class ApiTransport(ApiGuestTransport):
    """CTs over the API: the shared calls plus the ostemplate create and the raw ``lxc.*`` keys (read only)."""

    def read_lxc(self, vmid, node=None):
        return self.read_config(vmid, node)[1]

    def read_config(self, vmid, node=None):
        """``GET …/config`` (pending values merged): (raw dict, raw lxc list)."""
        config = self.get_config(vmid, node)
        lxc = [list(item) for item in config.pop("lxc", None) or []]
        config.pop("digest", None)
        return config, lxc

    def create(self, vmid, ostemplate, params, password=None, ssh_public_keys=None, node=None, check=False):
        node = self._node(node)
        body = dict(params, vmid=vmid, ostemplate=ostemplate)
        if password is not None:
            body["password"] = password
        if ssh_public_keys is not None:
            body["ssh-public-keys"] = ssh_public_keys
        path = "/nodes/%s/lxc" % node
        if not check:
            upid = self._call("POST", path, "creating %s %s" % (self.word, vmid), **body)
            self._wait(upid, "creating %s %s" % (self.word, vmid), node=node)
        return self._shown("POST", path, body)
