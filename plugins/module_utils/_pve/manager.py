# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge one Proxmox container: find it, read it, plan, run the plan (or not, in check mode)."""

from __future__ import annotations

import copy

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.executor import Executor
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Plan
from ansible_collections.lxcri.containers.plugins.module_utils._pve import conffile, inputcheck, model, retry
from ansible_collections.lxcri.containers.plugins.module_utils._pve import plan as pve_plan
from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps

SECRET_KEYS = ("password",)
# Keys of the canonical config that the module accepts as options (the info module returns only these in ``config``).
CONFIG_OPTIONS = ("hostname", "ostype", "arch", "cores", "cpulimit", "cpuunits", "memory", "swap", "rootfs", "net", "mp", "features",
                  "nameserver", "searchdomain", "onboot", "startup", "tags", "description", "timezone", "protection", "hookscript",
                  "unprivileged", "cmode", "console", "tty", "entrypoint", "debug", "lxc")


def split_public(flat, lxc=None):
    """Flat canonical config -> (config in the module's input shape, everything else)."""
    shaped = model.public(flat)
    if lxc:
        shaped["lxc"] = model.mask_lxc(lxc)
    config = dict((k, v) for k, v in shaped.items() if k in CONFIG_OPTIONS)
    extra = dict((k, v) for k, v in shaped.items() if k not in CONFIG_OPTIONS)
    return config, extra


def validate_params(params):
    """Checks that need no Proxmox call; raise ``invalid_argument`` naming the field."""
    inputcheck.guest_identity(params, "hostname", "container")
    password = params.get("password")
    if password is not None and len(password) < 5:
        raise errors.invalid_argument("password", "must be at least 5 characters (Proxmox minimum)")
    if password is not None:
        # Sent on one stdin line: a line break would cut it (and never echo it back in the message).
        inputcheck.no_line_breaks("password", password)
    for index, entry in enumerate(params.get("lxc") or []):
        field = "lxc[%d]" % index
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise errors.invalid_argument(field, "each entry must be a [lxc.key, value] pair, got a %s" % type(entry).__name__)
        inputcheck.raw_lxc_entry(field, str(entry[0]), str(entry[1]))
        if str(entry[0]) in ("lxc.rootfs.path", "lxc.rootfs.options"):
            raise errors.invalid_argument(field, "%s is managed by Proxmox and not allowed" % entry[0])
    for key in ("ostemplate", "hostname"):
        if isinstance(params.get(key), str):
            inputcheck.no_control_chars(key, params[key])
    ostemplate = params.get("ostemplate")
    if ostemplate and ":" not in ostemplate and not ostemplate.startswith("/"):
        raise errors.invalid_argument("ostemplate", "expected a volume id such as local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst")


def query_guests(transport, params, name_key, read, value_from_raw):
    """What the info modules return: the guests matching ``vmid``/``<name_key>``/``node``/``tags``, sorted by vmid, each
    with its config in its module's input shape.  ``read(row)`` gives ``(raw, flat, config, extra)`` of one guest; the
    raw keys its model drops (``value_from_raw`` None) and ``extra`` are ``unmanaged``."""
    want_tags = set(ps.parse_tags(params.get("tags"))) if params.get("tags") else set()
    guests = []
    for row in sorted(transport.list(), key=lambda r: r["vmid"]):
        if params.get("vmid") is not None and row["vmid"] != params["vmid"]:
            continue
        if params.get(name_key) and row.get("name") != params[name_key]:
            continue
        if params.get("node") and row.get("node") and row["node"] != params["node"]:
            continue
        raw, flat, config, extra = read(row)
        if want_tags and not want_tags <= set(flat.get("tags") or []):
            continue
        unmanaged = dict((k, v) for k, v in raw.items() if value_from_raw(k, v) is None and k not in ("digest", "lock"))
        unmanaged.update(extra)
        unmanaged.pop("template", None)
        guests.append({"vmid": row["vmid"], "node": row.get("node"), "status": row.get("status"), "lock": row.get("lock") or raw.get("lock"),
                       "template": bool(flat.get("template")), "config": config, "unmanaged": unmanaged})
    return guests


def query(transport, params):
    """``pve_container_info``: the containers matching the filters."""
    def read(row):
        raw, lxc = transport.read_config(row["vmid"], row.get("node"))
        flat = model.from_raw(raw)
        return (raw, flat) + split_public(flat, lxc)

    return query_guests(transport, params, "hostname", read, model.value_from_raw)


class Located:
    """The guest a run acts on as found: ``current`` (canonical pending view) is None when it does not exist."""

    __slots__ = ("vmid", "node", "current", "pending", "digest", "status")

    def __init__(self, vmid, node, current, pending, digest, status):
        self.vmid, self.node, self.current, self.pending, self.digest, self.status = vmid, node, current, pending, digest, status


class GuestManager:
    """What converging a CT and a VM share: the executor wiring, finding the guest, stopping it, the run-state
    transitions, and removing a half-made guest.  ``word`` (CT/VM) and ``name_key`` (hostname/name) differ."""

    word = "CT"
    name_key = "hostname"
    cli = "pct"

    @staticmethod
    def root_only_changes(changes, deleted, current):
        """The (field, reason) pairs of a write (``changes`` {key: canonical value}, ``deleted`` keys) that Proxmox
        allows over the API only to root@pam logged in with a password; each guest type's plan supplies its own."""
        raise NotImplementedError

    def __init__(self, transport, params, check_mode=False, warn=None):
        self.t = transport
        self.p = params
        self.check = check_mode
        self.warn = warn or (lambda msg: None)
        self.timeout = params.get("timeout") or 300
        self.lock_timeout = params.get("lock_timeout") if params.get("lock_timeout") is not None else 60
        self.executor = None

    # -- helpers ------------------------------------------------------------------------
    def _do(self, plan, kind, description, func, lock_vmid, **kwargs):
        """Record an action on the plan's executor; it runs (with lock retry) unless in check mode.

        The action shows what ``func(check=True)`` renders, so check mode and a real run list the same actions.
        """
        shown = func(check=True, **kwargs)
        self.executor.record(kind, description, argv=shown if shown and isinstance(shown[0], str) else None,
                             run=lambda: retry.with_lock_retry(lambda: func(check=False, **kwargs), self.lock_timeout,
                                                               vmid=lock_vmid, tool=self.cli))
        return shown

    def _plan(self, before, after):
        """The plan of this run, and the executor that runs its actions."""
        plan = Plan(before, after)
        self.executor = Executor(plan, self.check)
        return plan

    def _find(self, rows):
        vmid = self.p.get("vmid")
        name = self.p.get(self.name_key)
        node = self.p.get("node")
        if vmid is not None:
            matches = [row for row in rows if row["vmid"] == vmid]
        else:
            matches = [row for row in rows if row.get("name") == name and (node is None or row.get("node") == node)]
            if len(matches) > 1:
                raise LxcriError("%s %s matches several guests (vmids %s); give vmid" % (self.name_key, name, ", ".join(str(r["vmid"]) for r in matches)),
                                 errors.CONFLICT, details={"vmids": [r["vmid"] for r in matches]})
        if not matches:
            return None
        entry = matches[0]
        if node and entry.get("node") and entry["node"] != node:
            raise LxcriError("%s %s exists on node %s, not on node %s" % (self.word, entry["vmid"], entry["node"], node), errors.CONFLICT)
        return entry

    def _locate(self, rows, from_raw):
        """Find the guest in the listing and read its pending view (``from_raw`` canonicalises it): a ``Located``."""
        entry = self._find(rows)
        node = self.p.get("node") or (entry or {}).get("node") or self.t.node
        found = self.t.read(entry["vmid"], node) if entry is not None else None
        if found is None:
            return Located(self.p.get("vmid"), node, None, set(), None, "absent")
        raw, pending, digest = found
        if entry.get("stale"):
            entry.update(self.t.status(entry["vmid"], node))
        return Located(entry["vmid"], node, from_raw(raw), pending, digest, entry.get("status") or "unknown")

    def _digest_for_write(self, digest, vmid, node):
        """The digest a ``set`` sends: the one read, else (a guest made by this run) read now; by name in check mode."""
        if digest is None and self.t.reads_digest:
            return conffile.DIGEST_SHOWN if self.check else self.t.read_digest(vmid, node)
        return digest

    def _deny_root_only(self, changes, deleted, current):
        """Refuse, before any write, what Proxmox would refuse an API token or a user other than root@pam (``error_kind``
        permission, naming the fields and the remedy), instead of failing halfway through the plan."""
        if self.t.name != "api" or self.t.is_root_pam:
            return
        found = self.root_only_changes(changes, deleted, current)
        if found:
            raise LxcriError("%s: Proxmox allows changing %s only to root@pam logged in with a password (API tokens, even root@pam's, "
                             "are refused). Use transport: %s on the node, or api_user: root@pam with api_password."
                             % (", ".join(key for key, _reason in found), "; ".join(reason for _key, reason in found), self.cli),
                             errors.PERMISSION, details={"fields": [key for key, _reason in found]})

    def _stop(self, plan, vmid, node):
        if self.p.get("force_stop"):
            self._do(plan, "stop", "stop %s %s" % (self.word, vmid), self.t.stop, vmid, vmid=vmid, node=node)
        else:
            self._do(plan, "shutdown", "shut down %s %s" % (self.word, vmid), self.t.shutdown, vmid, vmid=vmid, timeout=self.timeout, node=node)

    def _failed_create(self, exc, vmid, node, created):
        """Say in ``exc`` what became of a create that failed: removed, or left alone while its task may still run."""
        if exc.error_kind == errors.TIMEOUT:
            # The task may still be running: removing its guest now would race with it.
            exc.details["cleanup"] = ("not attempted: '%s' may still be running; check %s %s (%s status %s / the task) "
                                      "and remove it with state: absent if it is unwanted"
                                      % ((exc.details.get("failed_action") or {}).get("description") or "create %s %s" % (self.word, vmid),
                                         self.word, vmid, self.cli, vmid))
        elif not self.check and (created or exc.error_kind != errors.CONFLICT):
            # The module's promise: a create that fails halfway leaves no guest behind.
            exc.details["cleanup"] = self._cleanup_failed_create(vmid, node)

    def _cleanup_failed_create(self, vmid, node):
        """A create that failed halfway must leave no guest behind (but never touch one we did not make)."""
        try:
            if self.t.read(vmid, node) is None:
                return "nothing left behind"
            if (self.t.status(vmid, node) or {}).get("status") == "running":
                self.t.stop(vmid=vmid, node=node, check=False)
            self.t.destroy(vmid=vmid, purge=True, node=node, check=False)
            return "removed the half-created %s %s" % (self.word, vmid)
        except LxcriError as exc:
            return "could not remove the half-created %s %s: %s" % (self.word, vmid, exc.msg)

    def _warn_unconverged(self, plan_config, final, desired, vmid):
        """After applying, the re-read config must match; say so when Proxmox normalised something differently."""
        try:
            left = plan_config(final, desired, exclusive=bool(self.p.get("exclusive")))
        except LxcriError:
            return
        if not left.empty:
            self.warn("%s %s: after applying, Proxmox reports %s different from what was requested; the next run will try again"
                      % (self.word, vmid, ", ".join(sorted(list(left.set) + list(left.delete) + [d for d, _s in left.resize]))))

    def _transition(self, plan, vmid, node, state, running, is_template, predicted_pending, reread_pending):
        """The run-state part of an update: start, stop, reboot, convert to a template, and ``apply_pending: restart``.

        ``reread_pending()`` gives the keys pending after this run's writes (called only when something was written).
        Returns ``(running, restarted, is_template, predicted_pending)``.
        """
        restarted = False
        if state in ("started", "restarted") and is_template:
            raise LxcriError("%s %s is a template; templates cannot be started (state: %s)" % (self.word, vmid, state), errors.CONFLICT)
        if state == "started" and not running:
            self._do(plan, "start", "start %s %s" % (self.word, vmid), self.t.start, vmid, vmid=vmid, node=node)
            running, restarted = True, True
        elif state == "stopped" and running:
            self._stop(plan, vmid, node)
            running = False
        elif state == "restarted":
            if running:
                self._do(plan, "reboot", "reboot %s %s" % (self.word, vmid), self.t.reboot, vmid, vmid=vmid, timeout=self.timeout, node=node)
            else:
                self._do(plan, "start", "start %s %s" % (self.word, vmid), self.t.start, vmid, vmid=vmid, node=node)
            running, restarted = True, True
        elif state == "template" and not is_template:
            if running:
                self._stop(plan, vmid, node)
                running = False
            self._do(plan, "template", "convert %s %s to a template" % (self.word, vmid), self.t.template, vmid, vmid=vmid, node=node)
            is_template = True

        if running and not restarted and self.p.get("apply_pending") == "restart":
            if not self.check and plan.changed:
                predicted_pending = reread_pending(predicted_pending)
            if predicted_pending:
                self._do(plan, "reboot", "reboot %s %s to apply pending %s" % (self.word, vmid, ", ".join(sorted(predicted_pending))),
                         self.t.reboot, vmid, vmid=vmid, timeout=self.timeout, node=node)
                restarted = True
        return running, restarted, is_template, predicted_pending


class Manager(GuestManager):
    """Converge one container."""

    root_only_changes = staticmethod(pve_plan.root_only_changes)

    # -- main ------------------------------------------------------------------------------
    def run(self):
        params = self.p
        validate_params(params)
        desired = model.desired_from_params(params)
        lxc_desired = [[str(k), str(v)] for k, v in params["lxc"]] if params.get("lxc") is not None else None
        if lxc_desired is not None and not self.t.supports_raw_lxc:
            raise errors.invalid_argument("lxc", "raw lxc.* keys cannot be written over the API (not even by root@pam); use transport: pct on the node")
        state = params.get("state") or "present"

        rows = self.t.list()
        guest = self._locate(rows, model.from_raw)
        vmid, node = guest.vmid, guest.node
        lxc_current = None
        if guest.current is not None and lxc_desired is not None:
            lxc_current = self.t.read_lxc(vmid, node)
        current, pending, digest, status = guest.current, guest.pending, guest.digest, guest.status

        if state == "absent":
            return self._absent(vmid, node, current, status)
        if current is None:
            return self._create(vmid, node, desired, lxc_desired, state)
        return self._update(vmid, node, current, pending, digest, status, desired, lxc_current, lxc_desired, state)

    # -- absent -----------------------------------------------------------------------------------
    def _absent(self, vmid, node, current, status):
        before = split_public(current)[0] if current is not None else None
        plan = self._plan(before, None)
        if current is not None:
            if current.get("protection"):
                # pct destroy would refuse only after the stop: refuse before anything is touched.
                raise LxcriError("CT %s has protection enabled and cannot be removed; lift it first (protection: false, or "
                                 "'pct set %s --protection 0'), then run state: absent again" % (vmid, vmid), errors.CONFLICT,
                                 details={"field": "protection"})
            if status == "running":
                self._stop(plan, vmid, node)
            self._do(plan, "destroy", "destroy CT %s%s" % (vmid, " (purge)" if self.p.get("purge") else ""), self.t.destroy, vmid,
                     vmid=vmid, purge=bool(self.p.get("purge")), node=node)
        return self._result(plan, vmid, node, "absent", None, False)

    # -- create ----------------------------------------------------------------------------------
    def _create(self, vmid, node, desired, lxc_desired, state):
        params = self.p
        if not params.get("ostemplate"):
            raise errors.invalid_argument("ostemplate", "required to create CT %s (no such container%s)" % (
                vmid if vmid is not None else params.get("hostname"), " on node %s" % node if node else ""))
        if desired.get("unprivileged") is None:
            desired.pop("unprivileged", None)
        model.check_ostype(desired)
        if self.t.name == "api" and not node:
            raise errors.invalid_argument("node", "required to create a container over the API")
        config = pve_plan.plan_create(desired)
        self._deny_root_only(config, [], {"unprivileged": config.get("unprivileged", True)})
        if vmid is None:
            vmid = self.t.nextid()
        raw = dict((key, model.value_to_raw(key, value)) for key, value in config.items())
        if params.get("storage"):
            raw["storage"] = params["storage"]
        after = copy.deepcopy(config)
        if params.get("password") is not None:
            after["password"] = params["password"]
        after_public = split_public(after, lxc_desired)[0]
        if "password" in after:
            after_public["password"] = params["password"]
        plan = self._plan(None, after_public)
        status = "stopped"
        created = False
        try:
            self._do(plan, "create", "create CT %s from %s" % (vmid, params["ostemplate"]), self.t.create, vmid,
                     vmid=vmid, ostemplate=params["ostemplate"], params=raw, password=params.get("password"),
                     ssh_public_keys=params.get("ssh_public_keys"), node=node)
            created = True
            if lxc_desired:
                self._do(plan, "raw_lxc", "write raw lxc.* keys of CT %s" % vmid, self.t.set_raw_lxc, vmid, vmid=vmid, entries=lxc_desired,
                         node=node, shown_entries=model.mask_lxc(lxc_desired))
            if state in ("started", "restarted"):
                self._do(plan, "start", "start CT %s" % vmid, self.t.start, vmid, vmid=vmid, node=node)
                status = "running"
            elif state == "template":
                self._do(plan, "template", "convert CT %s to a template" % vmid, self.t.template, vmid, vmid=vmid, node=node)
        except LxcriError as exc:
            self._failed_create(exc, vmid, node, created)
            raise
        if not self.check:
            found = self.t.read(vmid, node)
            if found is not None:
                config = model.from_raw(found[0])
                self._check_converged(config, desired, vmid)
        return self._result(plan, vmid, node, status, config, False, created=True, lxc=lxc_desired)

    # -- update -----------------------------------------------------------------------------------
    def _update(self, vmid, node, current, pending, digest, status, desired, lxc_current, lxc_desired, state):
        params = self.p
        is_template = bool(current.get("template"))
        model.check_ostype(desired, current)
        want_unpriv = desired.pop("unprivileged", None)
        if want_unpriv is not None and want_unpriv != bool(current.get("unprivileged", False)):
            raise LxcriError("unprivileged: CT %s is %s and Proxmox cannot change that after create; destroy and recreate it to change it"
                             % (vmid, "unprivileged" if current.get("unprivileged") else "privileged"), errors.CONFLICT,
                             details={"field": "unprivileged"})
        delta = pve_plan.plan_config(current, desired, exclusive=bool(params.get("exclusive")))
        self._deny_root_only(delta.set, delta.delete, current)
        lxc_changed = lxc_desired is not None and [list(x) for x in lxc_current or []] != lxc_desired
        before_public = split_public(current, lxc_current if lxc_desired is not None else None)[0]
        after_flat = delta.after
        after_public = split_public(after_flat, lxc_desired if lxc_desired is not None else None)[0]
        password_update = params.get("update_password") == "always" and (params.get("password") is not None or params.get("ssh_public_keys") is not None)
        if password_update and not self.t.supports_password_update:
            raise errors.invalid_argument("update_password", "'always' needs transport: pct (the API cannot change the root password "
                                                             "or authorized_keys of an existing CT)")
        if password_update and state in ("stopped", "template", "absent"):
            raise errors.invalid_argument("update_password", "'always' sets the password inside the running CT; it cannot be combined "
                                                             "with state: %s" % state)
        if password_update and params.get("password") is not None:
            after_public["password"] = params["password"]
        plan = self._plan(before_public, after_public)
        running = status == "running"
        if password_update and not running and state not in ("started", "restarted"):
            raise LxcriError("update_password: always sets the password inside the CT, but CT %s is %s; use state: started"
                             % (vmid, status), errors.CONFLICT, details={"field": "update_password"})

        if delta.set or delta.delete:
            values = dict((key, model.value_to_raw(key, value)) for key, value in delta.set.items())
            self._do(plan, "set", "set %s of CT %s" % (", ".join(sorted(list(delta.set) + ["-" + k for k in delta.delete])), vmid),
                     self.t.update, vmid, vmid=vmid, values=values, delete=delta.delete, digest=self._digest_for_write(digest, vmid, node), node=node)
        for disk, size in delta.resize:
            self._do(plan, "resize", "grow %s of CT %s to %s" % (disk, vmid, size), self.t.resize, vmid, vmid=vmid, disk=disk, size=size, node=node)
        if lxc_changed:
            self._do(plan, "raw_lxc", "write raw lxc.* keys of CT %s" % vmid, self.t.set_raw_lxc, vmid, vmid=vmid, entries=lxc_desired, node=node,
                     shown_entries=model.mask_lxc(lxc_desired))

        predicted_pending = set(pending)
        if running:
            predicted_pending |= delta.pending_keys()
            if lxc_changed:
                predicted_pending.add("lxc")

        def reread_pending(predicted):
            found = self.t.read(vmid, node)
            pending_now = set(found[1]) if found else predicted
            if lxc_changed:
                pending_now.add("lxc")
            return pending_now

        running, restarted, is_template, predicted_pending = self._transition(plan, vmid, node, state, running, is_template,
                                                                              predicted_pending, reread_pending)

        if password_update:
            self._do(plan, "password", "set root password/authorized_keys inside CT %s" % vmid, self._password, vmid, vmid=vmid, node=node)

        restart_required = running and not restarted and bool(predicted_pending)
        final = after_flat
        lxc_final = lxc_desired if lxc_desired is not None else None
        if plan.changed and not self.check:
            found = self.t.read(vmid, node)
            if found is not None:
                final = model.from_raw(found[0])
                restart_required = running and bool(found[1]) or (running and lxc_changed and not restarted)
                self._check_converged(final, desired, vmid)
        status_out = "running" if running else "stopped"
        return self._result(plan, vmid, node, status_out, final, restart_required, template=is_template, lxc=lxc_final,
                            pending=sorted(predicted_pending) if restart_required else [])

    def _password(self, vmid, node, check):
        shown = self.t.set_password(vmid, password=self.p.get("password"), ssh_public_keys=self.p.get("ssh_public_keys"), node=node, check=check)
        return shown

    def _check_converged(self, final, desired, vmid):
        desired = dict(desired)
        desired.pop("unprivileged", None)
        self._warn_unconverged(pve_plan.plan_config, final, desired, vmid)

    def _result(self, plan, vmid, node, status, config_flat, restart_required, created=False, template=False, lxc=None, pending=None):
        for warning in getattr(self.t, "warnings", []):
            self.warn(warning)
        result = plan.result(hidden_keys=SECRET_KEYS)
        config = split_public(config_flat, lxc)[0] if config_flat is not None else {}
        if isinstance(config.get("password"), str):
            config.pop("password")
        result.update(vmid=vmid, node=node, status=status, config=config, restart_required=bool(restart_required),
                      template=bool(template or (config_flat or {}).get("template")), pending=pending or [],
                      reads=[list(r) for r in self.t.reads], transport=self.t.name)
        return result
