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

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import argument_spec as vm_argument_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.plan import check_params as check_vm_params
from ansible_collections.lxcri.containers.plugins.plugin_utils._fleet.translate import OCI_RUNTIMES

BACKENDS = ("lxc", "vm") + OCI_RUNTIMES
# A pve_vm parameter the translation sets -> the spec field it comes from.
_VM_FIELDS = {"name": "hostname", "memory": "memory", "cores": "cpu", "cpulimit": "cpu", "net": "network", "ipconfig": "network",
              "clone": "source.vm_template", "state": "state"}
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
        raise SpecError("%s: routed to %s by %s (%s), but the %s backend does not exist yet. Route it to lxc, vm, crun or runc (its own "
                        "'backend' field, lxcri_backend, lxcri_routing or lxcri_default_backend)."
                        % (where(index, spec), route["backend"], route["rule"], route["reason"], route["backend"]))


def check_spec(index: int, spec: dict, route: dict, state: str, known: dict) -> None:
    """The first problem of a spec routed to an existing backend, as ``SpecError`` naming the field."""
    backend = route["backend"]
    by = "%s by %s" % (backend, route["rule"])
    oci = backend in OCI_RUNTIMES
    vm = backend == "vm"
    absent = state == "absent"
    source = dict((key, value) for key, value in (spec.get("source") or {}).items() if value is not None and key != "tag")
    mode = (spec.get("network") or {}).get("mode") or ""
    mounts = spec.get("mounts") or []
    bad_bundle = sorted(set((spec.get("oci") or {}).get("bundle") or {}) - set(known["bundle"]))
    bad_oci = sorted(set((spec.get("oci") or {}).get("container") or {}) - set(known["oci"]))
    bad_lxc = sorted(set(spec.get("lxc") or {}) - set(known["lxc"]))
    bad_vm = sorted(set(spec.get("vm") or {}) - set(known["vm"]))
    env = spec.get("env") or {}
    checks = [
        (not absent and not source,
         "source: required unless the state is absent; give one of template (lxc), vm_template (vm), rootfs or oci_layout (crun, runc)"),
        (not absent and backend == "lxc" and "template" not in source,
         "source: routed to %s, which needs source.template (a Proxmox VE template volume), not %s" % (by, ", ".join(source))),
        (not absent and vm and "vm_template" not in source,
         "source: routed to %s, which needs source.vm_template (the vmid or name of a Proxmox VE VM template), not %s" % (by, ", ".join(source))),
        (not absent and oci and ("template" in source or "vm_template" in source),
         "source: routed to %s, which needs source.rootfs or source.oci_layout; a Proxmox VE template only works with lxc or vm" % by),
        (backend in ("lxc", "vm") and mode == "host", "network.mode: host is only possible for crun and runc; this container is routed to %s" % by),
        (oci and mode == "bridge",
         "network.mode: bridge is only possible for lxc and vm; a container routed to %s gets none (loopback only) or host" % by),
        # A VM runs its own kernel and init from its disk: nothing of the host is bind-mounted or exec'd into it.
        (vm and bool(mounts), "mounts: not possible for a VM (its disks are its own); this container is routed to %s" % by),
        (vm and bool(env), "env: not possible for a VM (it runs its own init); this container is routed to %s" % by),
        (vm and bool(spec.get("command")), "command: not possible for a VM (it boots its own init); this container is routed to %s" % by),
        (oci and not absent and not spec.get("command"), "command: required for a container routed to %s, e.g. ['/bin/sleep', 'infinity']" % by),
        (oci and not _OCI_NAME.fullmatch(spec["name"]),
         "name: %s is not a valid crun/runc container id (letters, digits, '_', '.', '-', at most 64)" % spec["name"]),
        (bool(bad_bundle), "oci.bundle: %s not variables of lxcri.containers.oci_bundle (without the oci_bundle_ prefix); known: %s"
         % (", ".join(bad_bundle), ", ".join(known["bundle"]))),
        (bool(bad_oci), "oci.container: %s not parameters of lxcri.containers.oci_container; known: %s" % (", ".join(bad_oci), ", ".join(known["oci"]))),
        (bool(bad_lxc), "lxc: %s not parameters of lxcri.containers.pve_container; known: %s" % (", ".join(bad_lxc), ", ".join(known["lxc"]))),
        (bool(bad_vm), "vm: %s not parameters of lxcri.containers.pve_vm; known: %s" % (", ".join(bad_vm), ", ".join(known["vm"]))),
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
        ("container_vm_defaults", known["vm"], "parameters of lxcri.containers.pve_vm"),
    ):
        unknown = sorted(set(settings[var] or {}) - set(names))
        if unknown:
            raise SpecError("%s: %s not %s; known: %s" % (var, ", ".join(unknown), what, ", ".join(names)))


def check_vmids(items: list[tuple[int, dict, str, dict]]) -> None:
    """Two Proxmox specs may not name the same vmid, CT or VM alike: ``items`` are ``(index, spec, backend, pve params)``."""
    seen: dict = {}
    for index, spec, backend, params in items:
        vmid = params.get("vmid")
        if vmid is None:
            continue
        if vmid in seen:
            first_index, first_spec = seen[vmid]
            raise SpecError("%s.%s.vmid: %s is also the vmid of %s; each container needs its own"
                            % (where(index, spec), backend, vmid, where(first_index, first_spec)))
        seen[vmid] = (index, spec)


def vm_known() -> list[str]:
    """The parameters of ``pve_vm``: what a spec's ``vm``, ``container_vm_defaults`` and ``container_pve`` may hold for a VM."""
    return sorted(vm_argument_spec())


def check_vm(index: int, spec: dict, params: dict) -> None:
    """The ``pve_vm`` parameters of a spec routed to ``vm``, checked as ``pve_vm`` checks them, before anything runs.

    A bad value is named where the user wrote it: ``vm.<key>`` for the spec's own override, the spec field a
    translated parameter comes from (``cpu``, ``network`` ...), else ``container_vm_defaults``/``container_pve``.
    """
    own = spec.get("vm") or {}
    options = vm_argument_spec()
    # Each override key alone against its option: a type or choice error is that key's.
    for key, value in own.items():
        checked = ArgumentSpecValidator({key: options[key]}).validate({key: value})
        if checked.error_messages:
            raise SpecError("%s.vm.%s: %s" % (where(index, spec), key, "; ".join(checked.error_messages)))
    checked = ArgumentSpecValidator(options).validate(params)
    if checked.error_messages:
        raise SpecError("%s: the container_vm_defaults or container_pve settings are not valid pve_vm parameters: %s"
                        % (where(index, spec), "; ".join(checked.error_messages)))
    try:
        check_vm_params(checked.validated_parameters)
    except LxcriError as exc:
        field = str((exc.details or {}).get("field") or "")
        root = re.split(r"[.\[]", field, maxsplit=1)[0]
        if root in own:
            raise SpecError("%s.vm.%s" % (where(index, spec), exc.msg)) from None
        if root in _VM_FIELDS:
            written = "name" if root == "name" and not spec.get("hostname") else _VM_FIELDS[root]
            raise SpecError("%s.%s: translated to pve_vm's %s" % (where(index, spec), written, exc.msg)) from None
        raise SpecError("%s: with container_vm_defaults and container_pve, pve_vm's %s" % (where(index, spec), exc.msg)) from None
