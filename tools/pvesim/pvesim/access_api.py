# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``/`` and ``/access`` endpoints (pve-manager ``API2.pm``, pve-access-control ``API2/AccessControl.pm``).

The HTTPS server answers ``POST /access/ticket`` and ``GET /access/domains`` itself before
authentication (PVE's ``auth_handler`` exempts them); these registrations make the same calls
available to ``pvesh`` and give ``pvesh ls /`` its root index.
"""

from __future__ import annotations

from . import schema
from .handlers import PVEError, api


@api("GET", "/", params={}, name="index", description="Directory index.",
     returns={"type": "array", "items": {"type": "object", "properties": {"subdir": {"type": "string"}}}})
def api_root_index(env, params):
    return [{"subdir": s} for s in ("version", "cluster", "nodes", "storage", "access", "pools")]


@api("GET", "/access", params={}, name="index", description="Directory index.",
     returns={"type": "array", "items": {"type": "object", "properties": {"subdir": {"type": "string"}}}})
def api_access_index(env, params):
    return [{"subdir": s} for s in ("users", "groups", "roles", "acl", "domains", "ticket", "password")]


@api("GET", "/access/domains", params={}, name="index", description="Authentication domain index.",
     returns={"type": "array", "items": {"type": "object", "properties": {"realm": {"type": "string"},
                                                                          "type": {"type": "string"}}}})
def api_domains(env, params):
    from .auth import AuthStore

    return AuthStore(env.state.pve_path("")).realms()


@api("GET", "/access/ticket", params={}, name="get_ticket", description="Dummy. Useful for formatters which want to provide a login page.",
     returns={"type": "null"})
def api_get_ticket(env, params):
    return None


@api("POST", "/access/ticket", name="create_ticket", description="Create or verify authentication ticket.",
     params={"username": schema.Param("string", optional=False, max_length=64),
             "password": schema.Param("string", optional=False),
             "realm": schema.Param("string"), "otp": schema.Param("string"),
             "path": schema.Param("string", max_length=64), "privs": schema.Param("string", max_length=64),
             "new-format": schema.Param("boolean", default=1), "tfa-challenge": schema.Param("string")},
     returns={"type": "object", "properties": {"username": {"type": "string"}, "ticket": {"type": "string", "optional": 1},
                                               "CSRFPreventionToken": {"type": "string", "optional": 1}}})
def api_create_ticket(env, params):
    from .auth import AuthError, AuthStore

    try:
        return AuthStore(env.state.pve_path("")).login(params["username"], params["password"], params.get("realm"))
    except AuthError:
        raise PVEError("authentication failure", status=401) from None
