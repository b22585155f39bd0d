# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge a host's whole declared fleet in one task.

On the controller: validate the arguments and every spec, route each spec (``_routing``),
translate it, render OCI bundles with the ``oci_bundle`` role's template and checks; only then run
one ``oci_containers`` process for the crun/runc containers, one ``pve_containers`` process per
Proxmox connection for the LXC containers and one ``pve_vms`` process per Proxmox connection for the
VMs, and merge their per-container results in spec order.
"""

from __future__ import annotations

import os

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._routing.decide import RoutingTable
from ansible_collections.lxcri.containers.plugins.module_utils._routing.model import DEFAULT_VAR, HOST_VAR, RULES_VAR
from ansible_collections.lxcri.containers.plugins.plugin_utils._fleet import translate, validate
from ansible_collections.lxcri.containers.plugins.plugin_utils._fleet.render import ROLES_DIR, BundleError, BundleRenderer

_ROLE_SPEC = os.path.join(ROLES_DIR, "container", "meta", "argument_specs.yml")
_ROLE_VARS = os.path.join(ROLES_DIR, "container", "vars", "main.yml")

ARGUMENT_SPEC = dict(
    containers=dict(type="list", elements="dict", default=[]),
    default_state=dict(type="str", default="started", choices=["present", "started", "stopped", "restarted", "absent"]),
    oci_bundle_dir=dict(type="path", default="/var/lib/lxcri/bundles"),
    oci_roots=dict(type="dict", default={}),
    oci_container_defaults=dict(type="dict", default={}),
    oci_bundle_defaults=dict(type="dict", default={}),
    pve=dict(type="dict", default={}, no_log=False),
    lxc_defaults=dict(type="dict", default={}),
    lxc_bridge=dict(type="str", default="vmbr0"),
    vm_defaults=dict(type="dict", default={}),
    vm_bridge=dict(type="str", default="vmbr0"),
    parallel=dict(type="int", default=4),
    config_dir=dict(type="path"),
)
# The options that are the container role's settings (its variables with the container_ prefix).
SETTINGS = ("default_state", "oci_bundle_dir", "oci_roots", "oci_container_defaults", "oci_bundle_defaults", "pve", "lxc_defaults", "lxc_bridge",
            "vm_defaults", "vm_bridge")
# The module that converges the Proxmox guests of a backend, one run per connection.
PVE_MODULES = {"lxc": "lxcri.containers.pve_containers", "vm": "lxcri.containers.pve_vms"}


def _load(path):
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _valid, args = self.validate_argument_spec(ARGUMENT_SPEC)
        failure = None
        try:
            entries = self._prepare(args, task_vars)
        except (validate.SpecError, LxcriError) as exc:
            failure = {"failed": True, "msg": exc.msg, "error_kind": "invalid_argument", "changed": False, "containers": []}
        if failure is not None:
            return failure
        return self._converge(entries, args, task_vars)

    # -- on the controller: everything that can fail before a container is touched -------------------------
    def _prepare(self, args, task_vars):
        specs = self._checked_specs(args["containers"])
        routes = self._route(specs, task_vars)
        known_vars = _load(_ROLE_VARS)
        known = {"bundle": known_vars["container_oci_bundle_keys"], "oci": known_vars["container_oci_container_params"],
                 "lxc": known_vars["container_pve_container_params"], "vm": validate.vm_known()}
        settings = dict((key, args[key]) for key in SETTINGS)
        validate.check_names(specs, task_vars.get("inventory_hostname"))
        for index, (spec, route) in enumerate(zip(specs, routes)):
            validate.check_backend(index, spec, route)
        for index, (spec, route) in enumerate(zip(specs, routes)):
            validate.check_spec(index, spec, route, translate.spec_state(spec, args["default_state"]), known)
        validate.check_defaults(dict(("container_" + key, value) for key, value in settings.items()), known)
        renderer = None
        entries = []
        pve_items = []
        for index, (spec, route) in enumerate(zip(specs, routes)):
            state = translate.spec_state(spec, args["default_state"])
            entry = {"index": index, "spec": spec, "route": route, "state": state}
            if route["backend"] in PVE_MODULES:
                params = translate.lxc_params(spec, settings) if route["backend"] == "lxc" else translate.vm_params(spec, settings)
                if route["backend"] == "vm":
                    validate.check_vm(index, spec, params)
                connection, own = translate.split_connection(params)
                entry.update(connection=connection, params=own)
                pve_items.append((index, spec, route["backend"], own))
            else:
                params = translate.oci_params(spec, route["backend"], settings)
                if state == "absent":
                    params["remove_bundle"] = True
                else:
                    renderer = renderer or BundleRenderer(self._templar)
                    variables = translate.bundle_vars(spec, settings, renderer.defaults)
                    try:
                        config = renderer.render(dict(task_vars, **variables))
                    except BundleError as exc:
                        raise validate.SpecError("%s.oci.bundle: %s" % (validate.where(index, spec), exc.msg)) from None
                    params["bundle_config"] = translate.bundle_config(variables, config)
                entry["params"] = params
            entries.append(entry)
        validate.check_vmids(pve_items)
        return entries

    @staticmethod
    def _checked_specs(specs):
        """The specs against the role's own argument spec for lxcri_containers (types, choices, required fields)."""
        option = _load(_ROLE_SPEC)["argument_specs"]["main"]["options"]["lxcri_containers"]
        result = ArgumentSpecValidator({"lxcri_containers": option}).validate({"lxcri_containers": specs})
        if result.error_messages:
            raise validate.SpecError("; ".join(result.error_messages))
        return result.validated_parameters["lxcri_containers"]

    def _route(self, specs, task_vars):
        def host_var(name):
            value = task_vars.get(name)
            return None if value is None else self._templar.template(value)

        table = RoutingTable(host_var(RULES_VAR), host_var(DEFAULT_VAR))
        for warning in table.warnings:
            self._display.warning("lxcri.containers.containers: %s" % warning)
        host = task_vars.get("inventory_hostname")
        groups = task_vars.get("group_names") or ()
        host_backend = host_var(HOST_VAR)
        return [table.route(spec["name"], host=host, groups=groups, spec_backend=spec.get("backend"), host_backend=host_backend).as_dict()
                for spec in specs]

    # -- on the host: one module process per backend (per Proxmox connection) -----------------------------------
    def _calls(self, entries, args):
        oci = [entry for entry in entries if entry["route"]["backend"] not in PVE_MODULES]
        calls = [("lxcri.containers.oci_containers", {}, oci)] if oci else []
        for backend, module in PVE_MODULES.items():
            connections = []
            for entry in entries:
                if entry["route"]["backend"] == backend and entry["connection"] not in connections:
                    connections.append(entry["connection"])
            for connection in connections:
                group = [entry for entry in entries if entry["route"]["backend"] == backend and entry["connection"] == connection]
                calls.append((module, dict(connection, config_dir=args["config_dir"]), group))
        return calls

    def _converge(self, entries, args, task_vars):
        results = {}
        warnings = []
        modules = []
        for name, options, group in self._calls(entries, args):
            module_args = dict(options, containers=[entry["params"] for entry in group], parallel=args["parallel"])
            outcome = self._execute_module(module_name=name, module_args=module_args, task_vars=task_vars)
            warnings.extend(outcome.get("warnings") or [])
            modules.append(dict(((key, outcome[key]) for key in ("reads", "commands", "config_files_read", "transport") if key in outcome),
                                module=name, containers=len(group)))
            per_container = outcome.get("containers")
            if not per_container and outcome.get("failed"):
                # The module refused its input or could not start: nothing of this group was touched.
                done = [self._summary(entry, results[entry["index"]]) for entry in entries if entry["index"] in results]
                return {"failed": True, "changed": any(item["changed"] for item in done), "containers": done, "warnings": warnings, "modules": modules,
                        "msg": "%s: %s" % (name, outcome.get("msg")), "error_kind": outcome.get("error_kind")}
            for entry, result in zip(group, per_container):
                results[entry["index"]] = result
        containers = [self._summary(entry, results.get(entry["index"])) for entry in entries]
        failed = [item for item in containers if item["failed"]]
        outcome = {"changed": any(item["changed"] for item in containers), "containers": containers, "warnings": warnings, "modules": modules}
        if self._task.diff:
            outcome["diff"] = [dict(item["diff"], before_header=item["name"], after_header=item["name"]) for item in containers
                               if item.get("diff") and item["changed"]]
        if failed:
            outcome.update(failed=True, error_kind="task_failed", msg="%d of %d containers failed, the others converged: %s" % (
                len(failed), len(containers), "; ".join("%s (%s: %s)" % (item["name"], item.get("error_kind"), item.get("msg")) for item in failed)))
        return outcome

    @staticmethod
    def _summary(entry, result):
        """The role's ``container_results`` row, plus what the backend module said about the container."""
        spec, route = entry["spec"], entry["route"]
        result = result or {}
        proxmox = route["backend"] in PVE_MODULES
        status = result.get("status") or ("absent" if entry["state"] == "absent" else "unknown")
        row = {"name": spec["name"], "backend": route["backend"], "rule": route["rule"], "reason": route["reason"], "state": entry["state"],
               "status": status, "changed": bool(result.get("changed")),
               "id": (result.get("vmid") if result.get("vmid") is not None else entry["params"].get("vmid")) if proxmox else spec["name"],
               "failed": bool(result.get("failed")), "actions": result.get("actions") or []}
        for key in ("diff", "msg", "error_kind", "failed_action", "restart_required", "pending"):
            if result.get(key) is not None:
                row[key] = result[key]
        return row
