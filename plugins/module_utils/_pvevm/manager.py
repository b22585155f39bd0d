# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge one Proxmox VM: find it, read it, plan, run the plan (or not, in check mode).

The shared life cycle (executor wiring, stop, run-state transitions, cleanup of a half-made guest)
is ``_pve.manager.GuestManager``; this module adds what differs for VMs: create from parameters or
by cloning a template, the ``_pvevm.plan`` delta (hotplug-aware pending prediction, cloud-init
secrets written only when asked), and the info query in the module's input shape.

A no-op reads twice: the listing and the pending view of the VM.
"""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import GuestManager, query_guests
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import plan as vm_plan


class VmManager(GuestManager):
    """Converge one VM."""

    word = "VM"
    name_key = "name"
    cli = "qm"
    root_only_changes = staticmethod(vm_plan.root_only_changes)

    def run(self):
        params = self.p
        desired, clone = vm_plan.check_params(params)
        state = params.get("state") or "present"

        rows = self.t.list()
        guest = self._locate(rows, model.from_raw)
        vmid, node, current, status = guest.vmid, guest.node, guest.current, guest.status

        if state == "absent":
            return self._absent(vmid, node, current, status)
        self._refuse_duplicate_name(rows, vmid, current, desired.get("name"))
        if current is None:
            if clone is not None:
                return self._clone(vmid, node, rows, clone, desired, state)
            return self._create(vmid, node, desired, state)
        return self._update(vmid, node, current, guest.pending, guest.digest, status, desired, state)

    def _refuse_duplicate_name(self, rows, vmid, current, name):
        """A name identifies a VM (``name`` without ``vmid``): never give a second VM one another VM has (a create, a clone or
        a rename); Proxmox would allow it, and every later run by name would then fail.  A VM that already shares its
        name is left alone."""
        if name is None or (current or {}).get("name") == name:
            return
        holders = [row["vmid"] for row in rows if row.get("name") == name and row["vmid"] != vmid]
        if holders:
            raise LxcriError("name: %s is already the name of VM %s; VM names must be unique (they identify a VM when vmid is not given), "
                             "so choose another name" % (name, ", ".join(str(holder) for holder in holders)), errors.CONFLICT,
                             details={"field": "name", "vmids": holders})

    # -- absent -----------------------------------------------------------------------------------
    def _absent(self, vmid, node, current, status):
        plan = self._plan(model.public(current)[0] if current is not None else None, None)
        if current is not None:
            if current.get("protection"):
                # qm destroy refuses ("protection mode enabled"), but only after a shutdown: refuse before anything.
                raise LxcriError("VM %s has protection enabled and cannot be removed; lift it first (protection: false, or "
                                 "'qm set %s --protection 0'), then run state: absent again" % (vmid, vmid), errors.CONFLICT,
                                 details={"field": "protection"})
            if status not in ("stopped", "absent"):
                self._stop(plan, vmid, node)
            self._do(plan, "destroy", "destroy VM %s%s" % (vmid, " (purge)" if self.p.get("purge") else ""), self.t.destroy, vmid,
                     vmid=vmid, purge=bool(self.p.get("purge")), node=node)
        return self._result(plan, vmid, node, "absent", None, False)

    # -- create -----------------------------------------------------------------------------------
    def _need_node(self, node):
        if self.t.name == "api" and not node:
            raise errors.invalid_argument("node", "required to create a VM over the API")

    def _create(self, vmid, node, desired, state):
        self._need_node(node)
        config = vm_plan.plan_create(desired)
        self._deny_root_only(config, [], {})
        if vmid is None:
            vmid = self.t.nextid()
        plan = self._plan(None, model.public(config, with_secrets=True)[0])
        created = False
        try:
            self._do(plan, "create", "create VM %s" % vmid, self.t.create, vmid, vmid=vmid, params=vm_plan.create_values(config), node=node)
            created = True
            status, is_template = self._after_create(plan, vmid, node, state)
        except LxcriError as exc:
            self._failed_create(exc, vmid, node, created)
            raise
        final = self._reread(vmid, node, config, desired)
        return self._result(plan, vmid, node, status, final, False, template=is_template)

    def _clone(self, vmid, node, rows, spec, desired, state):
        source_row = dict(vm_plan.find_clone_source(spec, rows))
        source_node = source_row.get("node") or node
        if node and source_node and node != source_node:
            # clone_vm's 'target' (another node) needs shared storage or a migration: not done here.
            raise errors.invalid_argument("node", "clone.source %s is on node %s; the clone is made on the same node, so set node: %s"
                                          % (source_row["vmid"], source_node, source_node))
        node = node or source_node
        self._need_node(node)
        # qm list does not show the template flag: the source's config does.
        source = model.from_raw(self.t.read_config(source_row["vmid"], source_node))
        source_row["template"] = bool(source.get("template"))
        if vmid is None:
            vmid = self.t.nextid()
        args = vm_plan.clone_args(spec, source_row, vmid, name=self.p.get("name"))
        predicted = vm_plan.predict_clone(source, args, source_row["vmid"])
        # A clone is a create: a declared cipassword is written even when the template has one.
        delta = vm_plan.plan_config(predicted, desired, exclusive=bool(self.p.get("exclusive")), rewrite_secrets=True)
        self._deny_root_only(delta.set, delta.delete, predicted)
        plan = self._plan(None, delta.diff_views()[1])
        created = False
        try:
            self._do(plan, "clone", "clone VM %s from %s %s (%s)" % (vmid, "template" if source_row["template"] else "VM", source_row["vmid"],
                                                                     "full" if args["full"] else "linked"),
                     self.t.clone, vmid, vmid=source_row["vmid"], newid=vmid, name=args.get("name"), full=args["full"],
                     storage=args.get("storage"), node=source_node)
            created = True
            digest = None
            if not self.check:
                # Plan the rest against the clone as Proxmox made it (its volumes and MACs are known only now).
                found = self.t.read(vmid, node)
                digest = found[2]
                delta = vm_plan.plan_config(model.from_raw(found[0]), desired, exclusive=bool(self.p.get("exclusive")), rewrite_secrets=True)
            self._write(plan, vmid, node, delta, digest)
            status, is_template = self._after_create(plan, vmid, node, state)
        except LxcriError as exc:
            self._failed_create(exc, vmid, node, created)
            raise
        final = self._reread(vmid, node, delta.after, desired)
        return self._result(plan, vmid, node, status, final, False, template=is_template)

    def _after_create(self, plan, vmid, node, state):
        if state in ("started", "restarted"):
            self._do(plan, "start", "start VM %s" % vmid, self.t.start, vmid, vmid=vmid, node=node)
            return "running", False
        if state == "template":
            self._do(plan, "template", "convert VM %s to a template" % vmid, self.t.template, vmid, vmid=vmid, node=node)
            return "stopped", True
        return "stopped", False

    def _reread(self, vmid, node, expected, desired):
        if self.check:
            return expected
        found = self.t.read(vmid, node)
        if found is None:
            return expected
        final = model.from_raw(found[0])
        self._warn_unconverged(vm_plan.plan_config, final, desired, vmid)
        return final

    # -- update -----------------------------------------------------------------------------------
    def _write(self, plan, vmid, node, delta, digest):
        """The ``set`` (only the differing keys, with the digest read) and the resizes of ``delta``."""
        if delta.set or delta.delete:
            self._do(plan, "set", "set %s of VM %s" % (delta.summary(), vmid), self.t.update, vmid,
                     vmid=vmid, values=delta.write_values(), delete=delta.delete, digest=self._digest_for_write(digest, vmid, node), node=node)
        for disk, size in delta.resize:
            self._do(plan, "resize", "grow %s of VM %s to %s" % (disk, vmid, size), self.t.resize, vmid, vmid=vmid, disk=disk, size=size, node=node)

    def _update(self, vmid, node, current, pending, digest, status, desired, state):
        delta = vm_plan.plan_config(current, desired, exclusive=bool(self.p.get("exclusive")),
                                    rewrite_secrets=self.p.get("update_password") == "always")
        self._deny_root_only(delta.set, delta.delete, current)
        plan = self._plan(*delta.diff_views())
        is_template = bool(current.get("template"))
        if is_template and (delta.resize or any(model.is_disk(key) for key in list(delta.set) + delta.delete)):
            raise LxcriError("VM %s is a template: its disks are the base of linked clones and cannot be changed" % vmid, errors.CONFLICT,
                             details={"field": "disks"})
        running = status == "running"
        self._write(plan, vmid, node, delta, digest)
        predicted_pending = delta.pending_after(pending, running)

        def reread_pending(predicted):
            found = self.t.read(vmid, node)
            return set(found[1]) if found else predicted

        running, restarted, is_template, predicted_pending = self._transition(plan, vmid, node, state, running, is_template,
                                                                              predicted_pending, reread_pending)
        restart_required = running and not restarted and bool(predicted_pending)
        final = delta.after
        if plan.changed and not self.check:
            found = self.t.read(vmid, node)
            if found is not None:
                final = model.from_raw(found[0])
                predicted_pending = set(found[1])
                restart_required = running and not restarted and bool(predicted_pending)
                self._warn_unconverged(vm_plan.plan_config, final, desired, vmid)
        result = self._result(plan, vmid, node, "running" if running else "stopped", final, restart_required, template=is_template,
                              pending=sorted(predicted_pending) if restart_required else [])
        # Written to the config at once, but a running guest sees them only when its cloud-init drive is regenerated.
        result["cloudinit_changed"] = delta.cloudinit_keys if running and not restarted else []
        return result

    def _result(self, plan, vmid, node, status, config_flat, restart_required, template=False, pending=None):
        for warning in self.t.warnings:
            self.warn(warning)
        result = plan.result(hidden_keys=model.SECRET_KEYS)
        config = model.public(config_flat)[0] if config_flat is not None else {}
        result.update(vmid=vmid, node=node, status=status, config=config, restart_required=bool(restart_required),
                      template=bool(template or (config_flat or {}).get("template")), pending=pending or [], cloudinit_changed=[],
                      reads=[list(r) for r in self.t.reads], transport=self.t.name)
        return result


def query(transport, params):
    """``pve_vm_info``: the VMs matching the filters, each config in ``pve_vm``'s input shape."""
    def read(row):
        raw = transport.read_config(row["vmid"], row.get("node"))
        flat = model.from_raw(raw)
        return (raw, flat) + model.public(flat)

    return query_guests(transport, params, "name", read, model.value_from_raw)
