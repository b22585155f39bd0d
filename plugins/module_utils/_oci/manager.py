# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Converge one OCI container: validate, lock, read state, plan, run the steps, record what was created.

A run where nothing needs to change makes exactly one runtime call (``state``), or none
when the runtime's root directory does not exist yet.
"""

from __future__ import annotations

import os

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import (
    TIMEOUT,
    UNSUPPORTED_HOST,
    LxcriError,
    invalid_argument,
)
from ansible_collections.lxcri.containers.plugins.module_utils._common.executor import Executor
from ansible_collections.lxcri.containers.plugins.module_utils._oci import plan as oci_plan
from ansible_collections.lxcri.containers.plugins.module_utils._oci.bundle import load_bundle
from ansible_collections.lxcri.containers.plugins.module_utils._oci.cgroups import CRUN_REMEDY, crun_supported, read_layout
from ansible_collections.lxcri.containers.plugins.module_utils._oci.lock import ContainerLock, NoLock
from ansible_collections.lxcri.containers.plugins.module_utils._oci.names import normalize_signal, validate_name
from ansible_collections.lxcri.containers.plugins.module_utils._oci.procwatch import process_identity, wait_exit
from ansible_collections.lxcri.containers.plugins.module_utils._oci.record import RecordPaths, make_record, read_record, remove_files, write_record
from ansible_collections.lxcri.containers.plugins.module_utils._oci.runtime import DEFAULT_ROOTS, Runtime, find_executable
from ansible_collections.lxcri.containers.plugins.module_utils._oci.state import RUNNING, STOPPED, public_view

KILL_GRACE = 10
# ``converge(listed=...)`` default: read the container's state with one ``state`` call.
_NOT_LISTED = object()


def resolve_runtime(runtime, executable, layout_reader=read_layout):
    """``(name, binary, layout)``: ``auto`` picks crun when installed and the cgroup layout allows it, else runc.

    The decision reads mountinfo only; it never runs a runtime command.
    """
    layout = None
    if runtime == "auto":
        if executable:
            raise invalid_argument("executable", "needs runtime crun or runc; with runtime auto the binary is looked up")
        layout = layout_reader()
        if crun_supported(layout):
            try:
                return "crun", find_executable("crun"), layout
            except LxcriError:
                pass
        return "runc", find_executable("runc"), layout
    return runtime, find_executable(runtime, executable), layout


def check_host(runtime, layout, layout_reader=read_layout):
    """crun on a hybrid cgroup host: fail with the remedy before crun prints its own error."""
    if runtime != "crun":
        return
    layout = layout or layout_reader()
    if not crun_supported(layout):
        raise LxcriError(
            "runtime: crun cannot create containers on this host: its cgroup layout is %s (cgroup v1 controllers on a tmpfs at "
            "/sys/fs/cgroup plus cgroup2 at /sys/fs/cgroup/unified), which crun refuses; %s" % (layout, CRUN_REMEDY),
            UNSUPPORTED_HOST,
            details={"field": "runtime", "cgroup_layout": layout},
        )


def resolve_log_path(log_path, bundle, name):
    """The container's stdout/stderr file: ``log_path``, else ``<dirname(bundle)>/<name>.log``."""
    if log_path:
        if not os.path.isabs(log_path):
            raise invalid_argument("log_path", "must be an absolute path, got %r" % log_path)
        parent = os.path.dirname(os.path.normpath(log_path))
        if not os.path.isdir(parent):
            raise invalid_argument("log_path", "directory %s does not exist" % parent)
        if os.path.isdir(log_path):
            raise invalid_argument("log_path", "%s is a directory, give a file path" % log_path)
        return os.path.normpath(log_path)
    if bundle is None:
        return None
    return os.path.join(os.path.dirname(bundle.path), name + ".log")


def compare_config(current, record, bundle, runtime, root):
    """``same``/``changed``/``unknown`` for an existing container, ``None`` when there is nothing to compare."""
    if current is None or bundle is None:
        return None
    if not record or record.get("created") != current.get("created") or record.get("runtime") != runtime or record.get("root") != root:
        return oci_plan.UNKNOWN
    if os.path.normpath(current.get("bundle") or "") != bundle.path or record.get("bundle") != bundle.path:
        return oci_plan.CHANGED
    return oci_plan.SAME if record.get("config_digest") == bundle.digest else oci_plan.CHANGED


class Request:
    """The validated parameters; building it raises before any command runs."""

    def __init__(self, params, layout_reader=read_layout, bundle=None):
        self.name = validate_name(params.get("name"))
        self.state = params.get("state") or "started"
        if self.state not in oci_plan.DESIRED_STATES:
            raise invalid_argument("state", "must be one of %s" % ", ".join(oci_plan.DESIRED_STATES))
        self.stop_signal = normalize_signal(params.get("stop_signal") or "SIGTERM")
        self.stop_timeout = params.get("stop_timeout", 10)
        if self.stop_timeout is None or self.stop_timeout < 0:
            raise invalid_argument("stop_timeout", "must be 0 or more seconds")
        self.lock_timeout = params.get("lock_timeout", 60)
        if self.lock_timeout is None or self.lock_timeout < 0:
            raise invalid_argument("lock_timeout", "must be 0 or more seconds")
        self.recreate = params.get("recreate", True)
        self.systemd_cgroup = bool(params.get("systemd_cgroup"))
        self.bundle = None
        if self.state != "absent":
            if not params.get("bundle"):
                raise invalid_argument("bundle", "is required with state %s" % self.state)
            self.bundle = bundle or load_bundle(params["bundle"])
        self.log_path = resolve_log_path(params.get("log_path"), self.bundle, self.name)
        root = params.get("root")
        if root is not None and not os.path.isabs(root):
            raise invalid_argument("root", "must be an absolute path, got %r" % root)
        self.runtime, self.executable, layout = resolve_runtime(params.get("runtime") or "auto", params.get("executable"), layout_reader)
        if self.state != "absent":
            check_host(self.runtime, layout, layout_reader)
        self.root = os.path.normpath(root or DEFAULT_ROOTS[self.runtime])


def converge(params, run_command, check_mode=False, layout_reader=read_layout, warn=None, listed=_NOT_LISTED, bundle=None):
    """The whole module run; returns the result dict or raises ``LxcriError``.

    ``run_command`` is ``AnsibleModule.run_command``: every runtime call goes through it.
    ``listed`` is the container's entry of a ``list`` the caller already ran (``None``: not listed), so a
    fleet needs one ``list`` per runtime and root; when it shows something to do, the state is read
    again under the container's lock before anything runs.  ``bundle`` is the bundle as it will be
    (check mode of a caller that writes the bundle first), instead of the one on disk.

    Warnings go to ``warn`` (``AnsibleModule.warn``) when given, else into ``result["warnings"]``.
    """
    result = _converge(params, run_command, check_mode, layout_reader, listed, bundle)
    if warn is not None:
        for message in result.pop("warnings", []):
            warn(message)
    return result


def _converge(params, run_command, check_mode, layout_reader, listed, bundle):
    req = Request(params, layout_reader, bundle)
    paths = RecordPaths(req.root, req.name)
    log_file = paths.runtime_log if (not check_mode or os.path.exists(paths.runtime_log)) else None
    runtime = Runtime(req.runtime, req.executable, req.root, req.systemd_cgroup, log_file, run_command=run_command)
    # planned argv always show the --log a real run uses, even when check mode cannot pass it yet
    planner = Runtime(req.runtime, req.executable, req.root, req.systemd_cgroup, paths.runtime_log)
    if check_mode:
        lock = NoLock()
    else:
        paths.ensure_directory()
        lock = ContainerLock(paths.lock, req.lock_timeout)
    with lock:
        return _converge_locked(req, paths, runtime, planner, lock, check_mode, listed)


def _converge_locked(req, paths, runtime, planner, lock, check_mode, listed=_NOT_LISTED):
    current = runtime.state(req.name) if listed is _NOT_LISTED else listed
    record = read_record(paths.record) if current else None
    config = compare_config(current, record, req.bundle, req.runtime, req.root)
    steps, predicted = oci_plan.decide(req.state, current["status"] if current else None, config, req.recreate)
    if steps and listed is not _NOT_LISTED and not check_mode:
        return _converge_locked(req, paths, runtime, planner, lock, check_mode)
    renderers = {
        oci_plan.CREATE: lambda: planner.create_argv(req.name, req.bundle.path),
        oci_plan.START: lambda: planner.start_argv(req.name),
        oci_plan.STOP: lambda: planner.kill_argv(req.name, req.stop_signal),
        oci_plan.RESUME: lambda: planner.resume_argv(req.name),
        oci_plan.DELETE: lambda: planner.delete_argv(req.name),
    }
    steps_run = _Steps(req, paths, runtime, current)
    plan = oci_plan.build_plan(
        req.name,
        req.state,
        current,
        config,
        steps,
        predicted,
        lambda step: renderers[step](),
        old_config=(record or {}).get("config"),
        new_config=req.bundle.config if req.bundle else None,
        stop_signal=req.stop_signal,
        stop_timeout=req.stop_timeout,
        bundle_path=req.bundle.path if req.bundle else None,
        runner=steps_run.runner,
    )
    executor = Executor(plan, check_mode)
    steps_run.executor = executor
    result = plan.result()
    result.update(runtime=req.runtime, root=req.root, log_path=req.log_path, warnings=[])
    if current and config in (oci_plan.CHANGED, oci_plan.UNKNOWN) and oci_plan.CREATE not in steps and req.state != "absent":
        old_view, new_view = oci_plan.config_changes(record.get("config") if config == oci_plan.CHANGED else None, req.bundle.config)
        result["drift"] = {"config": config, "before": old_view if config == oci_plan.CHANGED else {}, "after": new_view}
        result["warnings"].append(
            "container %s was created from a different config.json (%s) and recreate is false, so it keeps its old config"
            % (req.name, "config unknown" if config == oci_plan.UNKNOWN else "changed keys: " + ", ".join(sorted(set(old_view) | set(new_view))))
        )
    if check_mode or not steps:
        result["container"] = public_view(current, record)
        result["commands"] = list(runtime.calls)
        if current is None and not check_mode:
            # nothing exists: leave no record, runtime log or lock file behind
            remove_files(paths.record, paths.runtime_log)
            lock.remove()
        return _finish(result)

    try:
        final, record = steps_run.execute()
    except LxcriError as exc:
        exc.details.setdefault("commands", list(runtime.calls))
        if current is None and not exc.details.get("container"):
            # a failed create left no container: leave no record, runtime log or lock either
            remove_files(paths.record, paths.runtime_log)
            lock.remove()
        raise
    result["actions"] = plan.result()["actions"]
    result["container"] = public_view(final, record)
    result["commands"] = list(runtime.calls)
    if req.state in ("started", "restarted") and (not final or final["status"] != RUNNING):
        result["warnings"].append(
            "container %s was started but its process is no longer running (status %s); see %s"
            % (req.name, final["status"] if final else "absent", req.log_path)
        )
    if final is None:
        remove_files(paths.record, paths.runtime_log)
        lock.remove()
    return _finish(result)


def _finish(result):
    if not result["warnings"]:
        del result["warnings"]
    return result


class _Steps:
    """What each step of one container's plan runs; ``execute`` runs them and always ends with one ``state`` call."""

    def __init__(self, req, paths, runtime, current):
        self.req = req
        self.paths = paths
        self.runtime = runtime
        self.current = current
        self.pid = current["pid"] if current else 0
        self.created = False
        self.executor = None

    def runner(self, step):
        return {
            oci_plan.CREATE: self.create,
            oci_plan.START: lambda: self.runtime.run(self.runtime.start_argv(self.req.name)),
            oci_plan.RESUME: lambda: self.runtime.run(self.runtime.resume_argv(self.req.name)),
            oci_plan.STOP: self.stop,
            oci_plan.DELETE: self.delete,
        }[step]

    def execute(self):
        """Run the plan; records the config when it created the container; ``(final state, record)``."""
        req = self.req
        failure = None
        try:
            self.executor.execute()
        except LxcriError as exc:
            failure = exc
        final = self.runtime.state(req.name)
        record = None
        if final is not None:
            if self.created:
                record = make_record(req.runtime, req.root, req.name, req.bundle, final["created"])
                write_record(self.paths.record, record)
            else:
                record = read_record(self.paths.record)
        if failure is not None:
            failure.details["container"] = public_view(final, record)
            raise failure
        return final, record

    def create(self):
        req = self.req
        log_existed = os.path.exists(req.log_path)
        try:
            self.runtime.run(self.runtime.create_argv(req.name, req.bundle.path), output_path=req.log_path)
        except LxcriError:
            _cleanup_failed_create(self.runtime, req.name)
            if not log_existed:
                remove_files(req.log_path)
            raise
        self.created = True

    def delete(self):
        self.runtime.run(self.runtime.delete_argv(self.req.name))
        remove_files(self.paths.record)

    def stop(self):
        """stop_signal, wait ``stop_timeout`` for the init process to exit, then SIGKILL (recorded as its own ``kill`` action)."""
        req, runtime = self.req, self.runtime
        identity = process_identity(self.pid)
        starttime = identity[1] if identity else None
        call = runtime.run(runtime.kill_argv(req.name, req.stop_signal), check=False)
        if call.rc != 0:
            if _stopped(runtime, req.name):
                return
            raise runtime.failure(call)
        if not identity or wait_exit(self.pid, starttime, req.stop_timeout):
            return
        self.executor.record("kill", "container %s did not stop within %s s: send SIGKILL" % (req.name, req.stop_timeout),
                             runtime.kill_argv(req.name, "KILL"), run=lambda: self.kill(starttime))

    def kill(self, starttime):
        req, runtime = self.req, self.runtime
        call = runtime.run(runtime.kill_argv(req.name, "KILL"), check=False)
        if call.rc != 0 and not _stopped(runtime, req.name):
            raise runtime.failure(call)
        if not wait_exit(self.pid, starttime, KILL_GRACE) and not _stopped(runtime, req.name):
            raise LxcriError("container %s did not stop within %s s after SIGKILL" % (req.name, KILL_GRACE), TIMEOUT)


def _cleanup_failed_create(runtime, name):
    """A failed create must leave nothing: delete whatever the runtime left under the id."""
    try:
        if runtime.state(name) is not None:
            runtime.run(runtime.delete_argv(name, force=True), check=False)
    except LxcriError:
        pass


def _stopped(runtime, name):
    state = runtime.state(name)
    return state is None or state["status"] == STOPPED
