# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated pveproxy: ``/api2/json`` over HTTPS on a loopback address.

Request flow, status lines and bodies follow pve-http-server ``APIServer/AnyEvent.pm``,
``APIServer/Formatter/Standard.pm`` and pve-manager ``HTTPServer.pm`` (contract §6.3/§6.4):

* ``/api2/<format>/<path>``; no format -> ``501 no such uri``; a format other than ``json`` ->
  ``501 no formatter for uri <path>, <format>``.
* Authentication before anything else: ``PVEAuthCookie`` cookie (or the same in
  ``Authorization``), else ``Authorization: PVEAPIToken=<user>@<realm>!<id>=<secret>``.
  Failures answer ``401 No ticket`` / ``401 Authentication failed!`` / ``401 Permission denied -
  invalid csrf token`` with an empty body.  Writes with a ticket need the
  ``CSRFPreventionToken`` header; token requests do not.
* Parameters: query string plus form-encoded (or JSON) body, ``_dc`` dropped, repeated keys
  become lists.
* Success: ``200 OK`` + ``{"data": ...}``.  Errors: ``<code> <first line of message>`` and
  ``{"data":null,"message":"<message>\\n"}`` (+ ``"errors": {...}`` for 400).  Unknown
  endpoint: ``501 Method '<M> <path>' not implemented``.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import os
import re
import socket
import sys
import threading
import time
import traceback
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, unquote_to_bytes

from .. import handlers
from ..auth import AuthError, AuthStore

MAX_POST = 64 * 1024
NO_AUTH = {("GET", "/access/domains"), ("GET", "/access/ticket"), ("POST", "/access/ticket")}


def _extract_auth_value(header, key):
    """PVE::APIServer::Formatter::extract_auth_value."""
    if not header:
        return None
    m = re.search(r"(?:^|\s)" + re.escape(key) + r"(?:=| )([^;]*)", header)
    if not m or not m.group(1):
        return None
    return unquote(m.group(1))


def decode_urlencoded(data):
    """``&``/``;`` separated pairs, ``+`` = space, ``%XX``, UTF-8; repeated keys -> list."""
    res = {}
    if not data:
        return res
    for kv in re.split(r"[&;]", data):
        if kv == "":
            continue
        k, sep, v = kv.partition("=")
        k = unquote_to_bytes(k.replace("+", " ")).decode("utf-8", "replace")
        if not sep:
            res[k] = None
            continue
        v = unquote_to_bytes(v.replace("+", " ")).decode("utf-8", "replace")
        if k in res and res[k] is not None:
            old = res[k]
            res[k] = (old if isinstance(old, list) else [old]) + [v]
        else:
            res[k] = v
    return res


MAX_UPLOAD = 4 * 1024 * 1024 * 1024
SPOOL_PARAM = "tmpfilename"


def spool_multipart(state, rfile, length: int, content_type: str) -> tuple[dict, str | None]:
    """Read a multipart/form-data body: plain fields become parameters, the (first) file part is
    written to ``/var/tmp/pveupload-<hex>`` (mapped into the state dir).  Returns ``(params,
    spool_path)``; ``filename`` is the client's file name unless a ``filename`` field was sent.

    A ``tmpfilename`` field is dropped: only this function names the spooled file (PVE's
    ``tmpfilename`` is set by the upload handler, never by the client)."""
    import tempfile

    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ValueError("multipart/form-data without boundary")
    if length > MAX_UPLOAD:
        raise ValueError("for data too large")
    boundary = b"--" + m.group(1).encode("latin-1")
    tmpdir = state.host_path("/var/tmp")
    tmpdir.mkdir(parents=True, exist_ok=True)
    handle, raw_spool = tempfile.mkstemp(dir=str(tmpdir))
    target = None
    try:
        with os.fdopen(handle, "wb") as fh:
            left = length
            while left > 0:
                chunk = rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                fh.write(chunk)
                left -= len(chunk)
        params = {}
        with open(raw_spool, "rb") as fh:
            data = fh.read()
        for part in data.split(boundary)[1:]:
            if part.startswith(b"--"):
                break
            head, _sep, body = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
            if body.endswith(b"\r\n"):
                body = body[:-2]
            disp = re.search(rb'name="([^"]*)"(?:;\s*filename="([^"]*)")?', head)
            if not disp:
                continue
            name = disp.group(1).decode("utf-8", "replace")
            if disp.group(2) is not None:
                if target is not None:
                    continue
                name_on_disk = str(tmpdir / ("pveupload-%s" % os.urandom(8).hex()))
                handle = os.open(name_on_disk, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                target = name_on_disk
                with os.fdopen(handle, "wb") as out:
                    out.write(body)
                client_name = disp.group(2).decode("utf-8", "replace")
                params.setdefault("filename", client_name)
                if name not in ("filename", SPOOL_PARAM):
                    params[name] = client_name
            elif name != SPOOL_PARAM:
                params[name] = body.decode("utf-8", "replace")
        params.pop(SPOOL_PARAM, None)
        return params, target
    except BaseException:
        if target is not None:
            remove_spool(target)
        raise
    finally:
        os.unlink(raw_spool)


def remove_spool(path: str | None) -> None:
    """Remove a spooled upload that no worker took over (errors before the task started)."""
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _json_dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class APIServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state, ssl_context, auth_fail_delay=0.0, log=None):
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__(address, RequestHandler)
        self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.state = state
        self.auth = AuthStore(state.pve_path("")).ensure()
        handlers.registry()  # import every handler module now, not racing in request threads
        self.auth_fail_delay = auth_fail_delay
        self.log = log

    def get_request(self):
        sock, addr = self.socket.accept()
        return sock, addr

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"
    sys_version = ""
    timeout = 60

    # ------------------------------------------------------------------ plumbing
    def setup(self):
        super().setup()
        try:
            self.connection.do_handshake()
        except (OSError, ValueError):
            self.close_connection = True
            raise

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.log is not None:
            self.server.log.write("%s - - [%s] %s\n" % (self.client_address[0], self.log_date_time_string(), fmt % args))
            self.server.log.flush()

    def _send(self, code, reason, body=b"", content_type=None, delay=0.0):
        if delay and delay > 0:
            time.sleep(delay)
        # a reason phrase containing a line break turns into "400 Bad Request" (AnyEvent.pm response)
        reason = (reason or "").split("\n", 1)[0]
        if "\r" in reason:
            code, reason, body = 400, "Bad Request", b""
        headers = []
        if body and len(body) > 1024 and "gzip" in (self.headers.get("Accept-Encoding") or ""):
            body = gzip.compress(body)
            headers.append(("Content-Encoding", "gzip"))
        self.send_response_only(code, reason)
        now = formatdate(usegmt=True)
        self.send_header("Cache-Control", "max-age=0")
        if code >= 400:
            self.close_connection = True
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "Keep-Alive")
        self.send_header("Date", now)
        self.send_header("Pragma", "no-cache")
        self.send_header("Server", self.server_version)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Expires", now)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self.log_request(code, len(body))

    def _send_json(self, code, reason, obj, delay=0.0):
        self._send(code, reason, _json_dumps(obj), "application/json;charset=UTF-8", delay=delay)

    def _send_error_obj(self, err, delay=0.0):
        status, reason, body = handlers.http_error_body(err)
        if status == 401 and not delay:
            delay = self.server.auth_fail_delay
        self._send_json(status, reason, body, delay=delay)

    # ------------------------------------------------------------------ methods
    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_DELETE(self):
        self._handle("DELETE")

    def _not_available(self):
        self._read_body_discard()
        self._send(501, "method '%s' not available" % self.command)

    do_HEAD = do_PATCH = do_OPTIONS = _not_available

    def _read_body_discard(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        if 0 < n <= MAX_POST:
            self.rfile.read(n)

    # ------------------------------------------------------------------ the request
    def _handle(self, method):
        try:
            self._handle_inner(method)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:
            if self.server.log is not None:
                traceback.print_exc(file=self.server.log)
            try:
                self._send(500, str(exc).split("\n", 1)[0] or "Internal Server Error", str(exc).encode())
            except OSError:
                self.close_connection = True

    def _handle_inner(self, method):
        raw_path, _sep, query = self.path.partition("?")
        path = unquote(raw_path)
        if not path.startswith("/api2"):
            self._read_body_discard()
            self._send(501, "no such file '%s'" % path)
            return
        m = re.match(r"^/api2/+([a-z][a-z0-9]+)(/.*)?$", path)
        if not m:
            self._read_body_discard()
            self._send(501, "no such uri")
            return
        fmt, rel = m.group(1), m.group(2) or "/"

        # ---- authentication (PVE::HTTPServer::auth_handler) -------------------------------
        csrf = self.headers.get("CSRFPreventionToken")
        cookie = self.headers.get("Cookie")
        authz = self.headers.get("Authorization")
        ticket = _extract_auth_value(cookie, "PVEAuthCookie") or _extract_auth_value(authz, "PVEAuthCookie")
        api_token = None if ticket else _extract_auth_value(authz, "PVEAPIToken")
        auth = self.server.auth
        userid = None
        rel_norm = "/" + rel.strip("/") if rel != "/" else "/"
        if (method, rel_norm) not in NO_AUTH:
            try:
                if api_token:
                    userid = auth.verify_api_token(api_token)
                else:
                    if not ticket:
                        raise AuthError("No ticket")
                    userid = auth.verify_ticket(ticket)
                    if method != "GET":
                        auth.verify_csrf_token(userid, csrf)
            except AuthError as exc:
                self._read_body_discard()
                self._send(exc.status, exc.reason, delay=self.server.auth_fail_delay)
                return

        # ---- body ------------------------------------------------------------------------
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        params = {}
        query_params = decode_urlencoded(query)
        spooled = None
        ctype_full = self.headers.get("Content-Type") or ""
        if length and method == "POST" and ctype_full.split(";", 1)[0].strip().lower() == "multipart/form-data":
            # An upload (PVE::HTTPServer streams the file part into /var/tmp/pveupload-<hex>),
            # accepted only by an upload endpoint and only after its permission check passed
            if not self._accepts_upload(method, rel_norm, query_params, userid):
                return
            try:
                params, spooled = spool_multipart(self.server.state, self.rfile, length, ctype_full)
            except ValueError as exc:
                self._send(501, str(exc))
                return
            length = 0
        if length:
            if method not in ("PUT", "POST"):
                self._send(501, "Unexpected content for method '%s'" % method)
                return
            if length > MAX_POST:
                self._send(501, "for data too large")
                return
            body = self.rfile.read(length)
            ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
            if ctype == "application/json":
                try:
                    params = json.loads(body.decode("utf-8") or "{}")
                except ValueError as exc:
                    self._send(400, "malformed JSON string", str(exc).encode())
                    return
                if not isinstance(params, dict):
                    params = {}
            elif ctype in ("", "application/x-www-form-urlencoded"):
                params = decode_urlencoded(body.decode("latin-1"))
            else:
                self._send(501, "Unsupported content type '%s'" % ctype)
                return
        params.update(query_params)
        params.pop("_dc", None)
        # no client may name the file an upload reads: only the spool above sets it
        params.pop(SPOOL_PARAM, None)
        if spooled is not None:
            params[SPOOL_PARAM] = spooled

        handed_over = False
        try:
            if fmt != "json":
                self._send(501, "no formatter for uri %s, %s" % (rel, fmt))
                return
            # ---- dispatch (PVE::HTTPServer::rest_handler) -----------------------------------
            handed_over = self._dispatch(method, rel_norm, params, userid, bool(api_token))
        finally:
            if not handed_over:
                remove_spool(spooled)

    def _accepts_upload(self, method: str, rel: str, query_params: dict, userid: str) -> bool:
        """Refuse a multipart body before reading it unless the endpoint takes uploads and the
        caller passes its permission check; True when the body may be spooled."""
        handler, uri_params = handlers.find(method, rel)
        if handler is None or not handler.upload:
            self._drain_body()
            msg = "Method '%s %s' not implemented" % (method, rel)
            if handler is not None:
                msg = "Unsupported content type 'multipart/form-data'"
            self._send_json(501, msg, {"data": None, "message": msg})
            return False
        env = self._env(userid)
        try:
            self._precheck(env, handler, {**query_params, **uri_params})
        except handlers.PVEError as err:
            self._drain_body()
            self._send_error_obj(err)
            return False
        return True

    def _drain_body(self):
        """Read a refused request body and throw it away (nothing reaches the disk), so that the
        client gets to read the answer."""
        try:
            left = min(int(self.headers.get("Content-Length") or 0), MAX_UPLOAD)
        except ValueError:
            left = 0
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                break
            left -= len(chunk)

    def _env(self, userid):
        return handlers.Env(self.server.state, user=userid, rpc="https", stdout=_NullIO(), stderr=_NullIO(),
                            permission_checker=self._permission_checker)

    def _dispatch(self, method, rel, params, userid, is_token):
        if (method, rel) == ("POST", "/access/ticket"):
            self._login(params)
            return
        if (method, rel) == ("GET", "/access/ticket"):
            self._send_json(200, "OK", {"data": None})
            return
        if (method, rel) == ("GET", "/access/domains"):
            self._send_json(200, "OK", {"data": self.server.auth.realms()})
            return

        handler, uri_params = handlers.find(method, rel)
        if handler is None:
            msg = "Method '%s %s' not implemented" % (method, rel)
            self._send_json(501, msg, {"data": None, "message": msg})
            return False
        dup = {}
        for k in sorted(params):
            if k in uri_params and str(params[k]) != uri_params[k]:
                dup[k] = "duplicate parameter (already defined in URI) with conflicting values!"
        if dup:
            self._send_error_obj(handlers.param_error(dup))
            return False

        env = self._env(userid)
        try:
            self._precheck(env, handler, {**params, **uri_params})
            result = handlers.call(env, method, rel, params)
        except handlers.PVEError as err:
            self._send_error_obj(err)
            return False
        except Exception as exc:  # a plain `die` in PVE
            if self.server.log is not None:
                traceback.print_exc(file=self.server.log)
            self._send_error_obj(handlers.PVEError(str(exc) or exc.__class__.__name__))
            return False
        self._send_json(200, "OK", {"data": result})
        return True

    def _permission_checker(self, env, path, privs, any_of):
        return self.server.auth.check(env.user, path, privs, any_of=any_of)

    @staticmethod
    def _precheck(env, handler, all_params):
        """The endpoint's ``permissions`` (``@api(perm=...)``), before its code runs."""
        if handler.perm is not None:
            handler.perm.check(env, all_params)

    def _login(self, params):
        errors = {}
        for key in ("username", "password"):
            if params.get(key) in (None, ""):
                errors[key] = "property is missing and it is not optional"
        known = ("username", "password", "realm", "otp", "path", "privs", "new-format", "tfa-challenge")
        extra = sorted(k for k in params if k not in known)
        for k in extra:
            errors[k] = "property is not defined in schema and the schema does not allow additional properties"
        if errors:
            self._send_error_obj(handlers.param_error(errors))
            return
        try:
            data = self.server.auth.login(str(params["username"]), str(params["password"]), params.get("realm"))
        except AuthError:
            self._send_error_obj(handlers.PVEError("authentication failure", status=401))
            return
        self._send_json(200, "OK", {"data": data})


class _NullIO:
    def write(self, s):
        return len(s)

    def flush(self):
        pass


# ---------------------------------------------------------------------- lifecycle helpers

def check_loopback(host):
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError("listen address must be a loopback IP address, got '%s'" % host) from None
    if not ip.is_loopback:
        raise ValueError("refusing to listen on non-loopback address '%s'" % host)
    return host


def make_server(state, host="127.0.0.1", port=8006, auth_fail_delay=0.0, log=None):
    from .tls import ensure_certificate, server_context

    check_loopback(host)
    node_dir = state.pve_path("nodes/%s" % state.node)
    cert, key = ensure_certificate(str(node_dir / "pve-ssl.pem"), str(node_dir / "pve-ssl.key"), hostname=state.node)
    return APIServer((host, port), state, server_context(cert, key), auth_fail_delay=auth_fail_delay, log=log)


def serve_in_thread(state, host="127.0.0.1", port=0, **kw):
    """Start a server in a daemon thread (for tests); returns ``(server, base_url)``."""
    srv = make_server(state, host=host, port=port, **kw)
    t = threading.Thread(target=srv.serve_forever, name="pvesim-api", daemon=True)
    t.start()
    h, p = srv.server_address[:2]
    return srv, "https://%s:%d/api2/json" % ("[%s]" % h if ":" in h else h, p)


def pid_file(state):
    return state.host_path("/run/pveproxy/pveproxy.pid")


def info_file(state):
    return state.host_path("/run/pveproxy/pvesim-api.json")


def write_runtime_files(state, srv):
    from .tls import fingerprint

    pf = pid_file(state)
    pf.parent.mkdir(parents=True, exist_ok=True)
    pf.write_text("%d\n" % os.getpid())
    host, port = srv.server_address[:2]
    node_dir = state.pve_path("nodes/%s" % state.node)
    info = {"pid": os.getpid(), "host": host, "port": port, "node": state.node,
            "url": "https://%s:%d/api2/json" % ("[%s]" % host if ":" in host else host, port),
            "certificate": str(node_dir / "pve-ssl.pem"), "fingerprint": fingerprint(str(node_dir / "pve-ssl.pem"))}
    info_file(state).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info


def remove_runtime_files(state):
    for p in (pid_file(state), info_file(state)):
        try:
            if p.read_text().strip().startswith(str(os.getpid())) or p.suffix == ".json":
                p.unlink()
        except OSError:
            pass
