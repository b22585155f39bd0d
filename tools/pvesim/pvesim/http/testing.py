# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for tests that talk to the simulated API (stdlib only).

::

    from pvesim.http.testing import api_server, raw_request, login
    with api_server(state) as api:                     # api.url == https://127.0.0.1:<port>/api2/json
        ticket, csrf = login(api, "root@pam", "secret")
        r = raw_request(api, "GET", "/version", ticket=ticket)
        r.status, r.reason, r.body, r.json
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
from urllib.parse import urlencode, urlsplit

PORT_RANGE = (18040, 18099)


class Api:
    def __init__(self, server, url):
        self.server = server
        self.url = url
        parts = urlsplit(url)
        self.host = parts.hostname
        self.port = parts.port

    @property
    def hostport(self):
        return "%s:%d" % (self.host, self.port)


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    @property
    def status_line(self):
        return "%d %s" % (self.status, self.reason)

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))


def free_port(lo=PORT_RANGE[0], hi=PORT_RANGE[1], host="127.0.0.1"):
    for port in range(lo, hi + 1):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in %d-%d" % (lo, hi))


@contextlib.contextmanager
def api_server(state, port=None, host="127.0.0.1", **kw):
    """Run the API of ``state`` in a background thread for the duration of the block."""
    from .server import serve_in_thread

    srv, url = serve_in_thread(state, host=host, port=port if port is not None else free_port(host=host), **kw)
    try:
        yield Api(srv, url)
    finally:
        srv.shutdown()
        srv.server_close()


def raw_request(api, method, path, params=None, ticket=None, csrf=None, token=None, headers=None, json_body=None,
                raw_body=None, timeout=30):
    """One request; returns a :class:`Response` (no redirects, no retries, TLS unverified)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(api.host, api.port, context=ctx, timeout=timeout)
    hdrs = dict(headers or {})
    if ticket:
        hdrs["Cookie"] = "PVEAuthCookie=%s" % ticket
    if csrf:
        hdrs["CSRFPreventionToken"] = csrf
    if token:
        hdrs["Authorization"] = "PVEAPIToken=%s" % token
    url = "/api2/json" + path if not path.startswith("/api2") else path
    body = None
    if raw_body is not None:
        body = raw_body
    elif json_body is not None:
        body = json.dumps(json_body).encode()
        hdrs["Content-Type"] = "application/json"
    elif params and method in ("POST", "PUT"):
        body = urlencode(params, doseq=True).encode()
        hdrs["Content-Type"] = "application/x-www-form-urlencoded"
    elif params:
        url += "?" + urlencode(params, doseq=True)
    try:
        conn.request(method, url, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, dict(resp.getheaders()), data)
    finally:
        conn.close()


def login(api, username, password):
    r = raw_request(api, "POST", "/access/ticket", {"username": username, "password": password})
    if r.status != 200:
        raise RuntimeError("login failed: %s" % r.status_line)
    data = r.json["data"]
    return data["ticket"], data["CSRFPreventionToken"]


def wait_task(api, node, upid, ticket=None, token=None, timeout=60.0):
    """Poll a task until it stopped; returns the status dict."""
    import time
    from urllib.parse import quote

    deadline = time.monotonic() + timeout
    while True:
        r = raw_request(api, "GET", "/nodes/%s/tasks/%s/status" % (node, quote(upid, safe="")), ticket=ticket, token=token)
        if r.status != 200:
            raise RuntimeError("task status: %s %s" % (r.status_line, r.body[:200]))
        st = r.json["data"]
        if st.get("status") == "stopped":
            return st
        if time.monotonic() > deadline:
            raise TimeoutError("task %s still running" % upid)
        time.sleep(0.1)
