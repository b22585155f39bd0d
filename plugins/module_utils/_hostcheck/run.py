# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validate the parameters, run the checks in order, and decide failure as ``fail_on`` says."""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._hostcheck import checks

BACKENDS = ("lxc", "crun", "runc")
FAIL_ON = ("fail", "warn", "never")
DEFAULT_MIN_FREE = 1 << 30


def validate(params):
    """Normalised parameters; bad input raises ``invalid_argument`` naming the field, before any check runs."""
    backends = list(params.get("backends") or [])
    if not backends:
        raise errors.invalid_argument("backends", "give at least one of %s" % ", ".join(BACKENDS))
    for backend in backends:
        if backend not in BACKENDS:
            raise errors.invalid_argument("backends", "unknown backend %r (choose from %s)" % (backend, ", ".join(BACKENDS)))
    for volid in params.get("templates") or []:
        try:
            checks.split_template(volid)
        except ValueError as exc:
            raise errors.invalid_argument("templates", str(exc)) from None
    for bridge in params.get("bridges") or []:
        if not bridge or "/" in bridge or bridge in (".", "..") or len(bridge) > 15:
            raise errors.invalid_argument("bridges", "%r is not a network interface name" % (bridge,))
    min_free = params.get("min_free_bytes")
    min_free = DEFAULT_MIN_FREE if min_free is None else min_free
    if min_free < 0:
        raise errors.invalid_argument("min_free_bytes", "must be >= 0, got %s" % min_free)
    fail_on = params.get("fail_on") or "fail"
    if fail_on not in FAIL_ON:
        raise errors.invalid_argument("fail_on", "must be one of %s" % ", ".join(FAIL_ON))
    state_dirs = params.get("state_dirs")
    if state_dirs is None:
        state_dirs = [checks.DEFAULT_STATE_DIRS[b] for b in backends if b in checks.DEFAULT_STATE_DIRS]
    for path in state_dirs:
        if not path.startswith("/"):
            raise errors.invalid_argument("state_dirs", "%r is not an absolute path" % (path,))
    free_space = []
    for index, item in enumerate(params.get("free_space") or []):
        path = item.get("path")
        if not path or not path.startswith("/"):
            raise errors.invalid_argument("free_space[%d].path" % index, "an absolute path is required, got %r" % (path,))
        need = item.get("min_bytes")
        need = min_free if need is None else need
        if need < 0:
            raise errors.invalid_argument("free_space[%d].min_bytes" % index, "must be >= 0, got %s" % need)
        free_space.append({"path": path, "min_bytes": need})
    if not params.get("free_space"):
        free_space = [{"path": path, "min_bytes": min_free} for path in state_dirs]
    return {
        "backends": backends,
        "bridges": list(params.get("bridges") or []),
        "templates": list(params.get("templates") or []),
        "storages": list(params.get("storages") or []),
        "node": params.get("node"),
        "state_dirs": state_dirs,
        "free_space": free_space,
        "min_free_bytes": min_free,
        "oci_version": params.get("oci_version"),
        "fail_on": fail_on,
    }


def host_check(params, host):
    """Run every check; return the module result or raise when ``fail_on`` says so."""
    opts = validate(params)
    report = checks.Report()
    backends = opts["backends"]
    binaries = checks.check_binaries(report, host, backends)
    checks.check_spec_versions(report, host, backends, binaries, opts["oci_version"])
    checks.check_cgroups(report, host, backends)
    checks.check_userns(report, host, backends)
    checks.check_bridges(report, host, opts["bridges"])
    checks.check_proxmox_storage(report, host, opts["storages"], opts["templates"], node=opts["node"], min_free_bytes=opts["min_free_bytes"])
    checks.check_state_dirs(report, host, opts["state_dirs"])
    checks.check_free_space(report, host, opts["free_space"])

    counts = report.counts()
    facts = dict(report.facts)
    facts["backends"] = backends
    facts["summary"] = counts
    facts["checks"] = dict((item["name"], item["status"]) for item in report.checks)
    msg = "%d checks: %d ok, %d warn, %d fail" % (len(report.checks), counts["ok"], counts["warn"], counts["fail"])
    result = {
        "changed": False,
        "msg": msg,
        "checks": report.checks,
        "summary": counts,
        "failed_checks": report.names(checks.FAIL),
        "warned_checks": report.names(checks.WARN),
        "ansible_facts": {"lxcri_host": facts},
    }
    bad = []
    if opts["fail_on"] in ("fail", "warn"):
        bad += [item for item in report.checks if item["status"] == checks.FAIL]
    if opts["fail_on"] == "warn":
        bad += [item for item in report.checks if item["status"] == checks.WARN]
    if bad:
        lines = ["%s [%s]: %s -> %s" % (item["name"], item["status"], item["detail"], item["remedy"]) for item in bad]
        details = dict(result)
        details.pop("msg")
        raise LxcriError("host check failed (fail_on=%s): %s; %s" % (opts["fail_on"], msg, " | ".join(lines)),
                         errors.UNSUPPORTED_HOST, details=details)
    return result
