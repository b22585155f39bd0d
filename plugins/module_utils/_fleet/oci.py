# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many OCI containers of one host in one module run, each converged by ``_oci.manager.converge``.

Reads: one ``list`` per runtime and root serves every container (``oci_container`` runs one
``state`` per container); config digests come from the bundles and the records.  A container
whose listing shows something to do is read again under its lock before anything runs.
With ``bundle_config`` the bundle is written first (``ocibundle``), as the ``oci_bundle`` role would.
"""

from __future__ import annotations

import os
import shutil
import threading

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.executor import Executor
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Plan
from ansible_collections.lxcri.containers.plugins.module_utils._fleet.ocibundle import BundleSpec, HostFacts, plan_bundle
from ansible_collections.lxcri.containers.plugins.module_utils._oci import manager
from ansible_collections.lxcri.containers.plugins.module_utils._oci.argspec import container_spec
from ansible_collections.lxcri.containers.plugins.module_utils._oci.runtime import DEFAULT_ROOTS, Runtime


def item_spec() -> dict:
    """An item of ``oci_containers``: the options of ``oci_container`` plus the bundle to write or remove."""
    spec = container_spec()
    spec.update(
        bundle_config=dict(type="dict", options=dict(
            config=dict(type="dict", required=True),
            rootfs_source=dict(type="str", default="dir", choices=["auto", "dir", "tar", "oci_layout"]),
            rootfs_dir=dict(type="path"),
            rootfs_tar=dict(type="path"),
            rootfs_image=dict(type="path"),
            rootfs_image_tag=dict(type="str", default="latest"),
            rootfs_prune=dict(type="bool", default=True),
            runtimes=dict(type="list", elements="str", default=["runc", "crun"]),
            oci_version_fallback=dict(type="str", default="1.0.2"),
        )),
        remove_bundle=dict(type="bool", default=False),
    )
    return spec


class Listings:
    """One ``list`` per runtime and root, run before the workers start; a failed listing fails only its containers."""

    def __init__(self, run_command) -> None:
        self.run_command = run_command
        self._found: dict = {}
        self._lock = threading.Lock()
        self.commands: list[list[str]] = []

    def entry(self, runtime: str, executable: str, root: str, name: str):
        key = (runtime, executable, root)
        with self._lock:
            if key not in self._found:
                lister = Runtime(runtime, executable, root, run_command=self.run_command)
                try:
                    self._found[key] = dict((item["id"], item) for item in lister.list())
                except LxcriError as exc:
                    self._found[key] = exc
                self.commands.extend(lister.calls)
            found = self._found[key]
        if isinstance(found, LxcriError):
            raise found
        return found.get(name)


def check_sources(items: list[dict], label) -> None:
    """Every bundle source exists (before any container is touched); the error names the item and the field."""
    for index, item in enumerate(items):
        if not item.get("bundle_config") or item.get("state") == "absent":
            continue
        try:
            BundleSpec(item.get("bundle"), item["bundle_config"]).check_source()
        except LxcriError as exc:
            raise LxcriError("containers[%d] (%s).%s" % (index, label(item), exc.msg), exc.error_kind,
                             details=dict(exc.details, field="containers[%d].%s" % (index, exc.details.get("field")))) from None


def _runtime_of(params: dict) -> tuple[str, str, str]:
    name, binary, _layout = manager.resolve_runtime(params.get("runtime") or "auto", params.get("executable"))
    return name, binary, os.path.normpath(params.get("root") or DEFAULT_ROOTS[name])


def converge_one(params: dict, facts: HostFacts, listings: Listings, run_command, check_mode: bool, warn) -> dict:
    """Write the bundle (when given), then converge the container with ``oci_container``'s own code."""
    plan = Plan()
    executor = Executor(plan, check_mode)
    bundle = None
    absent = params.get("state") == "absent"
    if params.get("bundle_config") and not absent:
        spec = BundleSpec(params.get("bundle"), params["bundle_config"])
        spec.check_source()
        bundle = plan_bundle(spec, facts, executor, run_command)
        executor.execute()
    runtime, binary, root = _runtime_of(params)
    listed = listings.entry(runtime, binary, root, params["name"])
    container_params = dict((key, params.get(key)) for key in container_spec())
    container_params.update(runtime=runtime, executable=binary, root=root)
    try:
        result = manager.converge(container_params, run_command, check_mode=check_mode, warn=warn, listed=listed,
                                  bundle=bundle if check_mode else None)
    except LxcriError as exc:
        exc.details["actions"] = [action.to_result() for action in plan.actions] + list(exc.details.get("actions") or [])
        raise
    if absent and params.get("remove_bundle") and params.get("bundle") and os.path.isdir(params["bundle"]):
        bundle_dir = os.path.normpath(params["bundle"])
        executor.record("remove_bundle", "remove the bundle directory %s" % bundle_dir, ["rm", "-rf", bundle_dir],
                        run=lambda: shutil.rmtree(bundle_dir))
    bundle_actions = [action.to_result() for action in plan.actions]
    result["actions"] = [item for item in bundle_actions if item["kind"] != "remove_bundle"] + result["actions"] + \
        [item for item in bundle_actions if item["kind"] == "remove_bundle"]
    result["changed"] = bool(result["changed"] or bundle_actions)
    result["bundle_changed"] = bool(bundle_actions)
    # As pve_container's: the status after the run, predicted in check mode.
    predicted = (result.get("diff") or {}).get("after", {}).get("status") if check_mode and result["changed"] else None
    result["status"] = predicted or (result.get("container") or {}).get("status") or "absent"
    return result
