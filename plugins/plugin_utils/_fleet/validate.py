# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The checks of a host's container specs that an argument spec cannot express.

Each message names the spec (``lxcri_containers[N] (name)``) and starts the rest with the field.
All of them run before any container is touched.
"""

from __future__ import annotations

import os
import re

from ansible_collections.lxcri.containers.plugins.plugin_utils._fleet.translate import OCI_RUNTIMES

BACKENDS = ("lxc",) + OCI_RUNTIMES
_OCI_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LINE_BREAK = re.compile(r"[\n\r\x00]")


class SpecError(Exception):
    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


def where(index: int, spec: dict) -> str:
    return "lxcri_containers[%d] (%s)" % (index, spec.get("name"))


def check_names(specs: list[dict], host: str) -> None:
    names = [spec["name"] for spec in specs]
    duplicates = sorted(set(name for name in names if names.count(name) > 1))
    if duplicates:
        raise SpecError("lxcri_containers: the names %s are declared more than once on %s; each container must be declared once."
                        % (", ".join(duplicates), host))


def check_backend(index: int, spec: dict, route: dict) -> None:
    if route["backend"] not in BACKENDS:
        raise SpecError("%s: routed to %s by %s (%s), but the %s backend does not exist yet. Route it to lxc, crun or runc (its own "
                        "'backend' field, lxcri_backend, lxcri_routing or lxcri_default_backend)."
                        % (where(index, spec), route["backend"], route["rule"], route["reason"], route["backend"]))


def check_spec(index: int, spec: dict, route: dict, state: str, known: dict) -> None:
    """The first problem of a spec routed to an existing backend, as ``SpecError`` naming the field."""
    backend = route["backend"]
    by = "%s by %s" % (backend, route["rule"])
    oci = backend in OCI_RUNTIMES
    absent = state == "absent"
    source = dict((key, value) for key, value in (spec.get("source") or {}).items() if value is not None and key != "tag")
    mode = (spec.get("network") or {}).get("mode") or ""
    mounts = spec.get("mounts") or []
    bad_bundle = sorted(set((spec.get("oci") or {}).get("bundle") or {}) - set(known["bundle"]))
    bad_oci = sorted(set((spec.get("oci") or {}).get("container") or {}) - set(known["oci"]))
    bad_lxc = sorted(set(spec.get("lxc") or {}) - set(known["lxc"]))
    env = spec.get("env") or {}
    checks = [
        (not absent and not source, "source: required unless the state is absent; give one of template (lxc), rootfs or oci_layout (crun, runc)"),
        (not absent and backend == "lxc" and "template" not in source,
         "source: routed to %s, which needs source.template (a Proxmox VE template volume), not %s" % (by, ", ".join(source))),
        (not absent and oci and "template" in source,
         "source: routed to %s, which needs source.rootfs or source.oci_layout; a Proxmox VE template only works with lxc" % by),
        (backend == "lxc" and mode == "host", "network.mode: host is only possible for crun and runc; this container is routed to %s" % by),
        (oci and mode == "bridge", "network.mode: bridge is only possible for lxc; a container routed to %s gets none (loopback only) or host" % by),
        (oci and not absent and not spec.get("command"), "command: required for a container routed to %s, e.g. ['/bin/sleep', 'infinity']" % by),
        (oci and not _OCI_NAME.fullmatch(spec["name"]),
         "name: %s is not a valid crun/runc container id (letters, digits, '_', '.', '-', at most 64)" % spec["name"]),
        (bool(bad_bundle), "oci.bundle: %s not variables of lxcri.containers.oci_bundle (without the oci_bundle_ prefix); known: %s"
         % (", ".join(bad_bundle), ", ".join(known["bundle"]))),
        (bool(bad_oci), "oci.container: %s not parameters of lxcri.containers.oci_container; known: %s" % (", ".join(bad_oci), ", ".join(known["oci"]))),
        (bool(bad_lxc), "lxc: %s not parameters of lxcri.containers.pve_container; known: %s" % (", ".join(bad_lxc), ", ".join(known["lxc"]))),
        # env becomes lxc.environment lines of the CT config: a line break would inject config keys.
        (backend == "lxc" and any(not _ENV_NAME.fullmatch(str(name)) for name in env),
         "env: variable names must be letters, digits and '_' and not start with a digit"),
        (backend == "lxc" and any(_LINE_BREAK.search(str(value)) for value in env.values()),
         "env: a value contains a newline, carriage return or NUL (it would inject config lines); values are not shown"),
        (any(not os.path.isabs(m["destination"]) for m in mounts), "mounts: every destination must be an absolute path, got %s"
         % ", ".join(m["destination"] for m in mounts if not os.path.isabs(m["destination"]))),
        (any(not os.path.isabs(m["source"]) for m in mounts), "mounts: every source must be an absolute host path, got %s"
         % ", ".join(m["source"] for m in mounts if not os.path.isabs(m["source"]))),
    ]
    for failed, message in checks:
        if failed:
            raise SpecError("%s.%s" % (where(index, spec), message))


def check_defaults(settings: dict, known: dict) -> None:
    for var, names, what in (
        ("container_oci_bundle_defaults", known["bundle"], "variables of lxcri.containers.oci_bundle (without the oci_bundle_ prefix)"),
        ("container_oci_container_defaults", known["oci"], "parameters of lxcri.containers.oci_container"),
        ("container_pve", known["lxc"], "parameters of lxcri.containers.pve_container"),
        ("container_lxc_defaults", known["lxc"], "parameters of lxcri.containers.pve_container"),
    ):
        unknown = sorted(set(settings[var] or {}) - set(names))
        if unknown:
            raise SpecError("%s: %s not %s; known: %s" % (var, ", ".join(unknown), what, ", ".join(names)))


def check_vmids(items: list[tuple[int, dict, dict]]) -> None:
    """Two LXC specs may not name the same vmid: ``items`` are ``(index, spec, pve params)``."""
    seen: dict = {}
    for index, spec, params in items:
        vmid = params.get("vmid")
        if vmid is None:
            continue
        if vmid in seen:
            first_index, first_spec = seen[vmid]
            raise SpecError("%s.lxc.vmid: %s is also the vmid of %s; each container needs its own" % (where(index, spec), vmid, where(first_index, first_spec)))
        seen[vmid] = (index, spec)
