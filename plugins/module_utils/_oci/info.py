# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""List the containers of one or both runtimes (and given roots) in the canonical shape.

Read-only: a root directory that does not exist has no containers and is not passed
to the runtime (which would create it); no ``--log`` file is written.
"""

from __future__ import annotations

import os

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError, invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._oci.names import validate_name
from ansible_collections.lxcri.containers.plugins.module_utils._oci.record import RecordPaths, read_record
from ansible_collections.lxcri.containers.plugins.module_utils._oci.runtime import DEFAULT_ROOTS, RUNTIMES, Runtime, find_executable
from ansible_collections.lxcri.containers.plugins.module_utils._oci.state import public_view


def _sources(params):
    """``[(runtime, root, executable_or_None, explicit)]`` from ``runtime``/``root``/``executable``."""
    wanted = params.get("runtime") or "all"
    names = list(RUNTIMES) if wanted == "all" else [wanted]
    roots = params.get("root") or []
    executable = params.get("executable")
    if executable and wanted == "all":
        raise invalid_argument("executable", "needs runtime crun or runc, not all")
    if roots and wanted == "all":
        raise invalid_argument("root", "needs runtime crun or runc: the roots of the two runtimes differ")
    for root in roots:
        if not os.path.isabs(root):
            raise invalid_argument("root", "must hold absolute paths, got %r" % root)
    sources = []
    for name in names:
        for root in roots or [DEFAULT_ROOTS[name]]:
            sources.append((name, os.path.normpath(root), executable, wanted != "all"))
    return sources


def list_containers(params, run_command):
    """The module result: ``containers`` (sorted by runtime, root, id), ``commands`` and ``missing_runtimes``."""
    filters = params.get("name") or []
    for item in filters:
        validate_name(item, "name")
    result = {"changed": False, "containers": [], "commands": [], "missing_runtimes": []}
    for name, root, executable, explicit in _sources(params):
        try:
            binary = find_executable(name, executable)
        except LxcriError:
            if explicit:
                raise
            result["missing_runtimes"].append({"runtime": name, "root": root, "reason": "%s is not installed" % name})
            continue
        runtime = Runtime(name, binary, root, run_command=run_command)
        found = runtime.list()
        for container in found:
            if filters and container["id"] not in filters:
                continue
            detail = runtime.state(container["id"])
            if detail is None:
                continue  # deleted between list and state
            record = read_record(RecordPaths(root, container["id"]).record)
            result["containers"].append(public_view(detail, record))
        result["commands"].extend(runtime.calls)
    result["containers"].sort(key=lambda item: (item["runtime"], item["root"], item["id"]))
    return result
