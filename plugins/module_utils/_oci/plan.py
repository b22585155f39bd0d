# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The (desired state x current status) state machine of one OCI container, on top of ``_common.plan``.

Steps are ``create``, ``start``, ``stop`` (signal, wait, SIGKILL), ``resume`` and ``delete``.
OCI has no restart and a stopped container cannot be started again, so every way
back to ``running`` from ``stopped`` is delete + create + start.
"""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import CONFLICT, LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Plan, compare
from ansible_collections.lxcri.containers.plugins.module_utils._oci.bundle import flatten, mask_env
from ansible_collections.lxcri.containers.plugins.module_utils._oci.state import ABSENT, CREATED, CREATING, PAUSED, RUNNING, STOPPED

CREATE = "create"
START = "start"
STOP = "stop"
RESUME = "resume"
DELETE = "delete"

DESIRED_STATES = ("present", "started", "stopped", "restarted", "absent")

# config comparison outcomes
SAME = "same"
CHANGED = "changed"
UNKNOWN = "unknown"

_TEARDOWN = {
    CREATED: [DELETE],
    RUNNING: [STOP, DELETE],
    PAUSED: [RESUME, STOP, DELETE],
    STOPPED: [DELETE],
}


def decide(desired, status, config, recreate=True):
    """Return ``(steps, predicted_status)``.

    ``status`` is the current status or ``None`` (absent); ``config`` is ``same``,
    ``changed``, ``unknown`` (no trustworthy record) or ``None`` (not compared, for
    ``absent``).  With ``recreate`` false an outdated config never causes a recreate
    on its own (the caller reports it as drift).
    """
    if desired not in DESIRED_STATES:
        raise ValueError("unknown desired state %r" % (desired,))
    if status == CREATING:
        raise LxcriError("the container is being created by another process (status creating); try again", CONFLICT)
    if status is not None and status not in _TEARDOWN:
        raise LxcriError("the container has status %r, which this module does not know how to handle" % (status,), CONFLICT)
    renew = recreate and config in (CHANGED, UNKNOWN)

    if desired == "absent":
        steps = list(_TEARDOWN[status]) if status else []
    elif status is None:
        steps = [CREATE] if desired in ("present", "stopped") else [CREATE, START]
    elif desired == "present":
        if not renew:
            steps = []
        elif status in (RUNNING, PAUSED):
            steps = _TEARDOWN[status] + [CREATE, START]
        else:
            steps = _TEARDOWN[status] + [CREATE]
    elif desired == "started":
        if status == STOPPED or renew:
            steps = _TEARDOWN[status] + [CREATE, START]
        elif status == CREATED:
            steps = [START]
        elif status == PAUSED:
            steps = [RESUME]
        else:
            steps = []
    elif desired == "stopped":
        if renew:
            steps = _TEARDOWN[status] + [CREATE]
        elif status == RUNNING:
            steps = [STOP]
        elif status == PAUSED:
            steps = [RESUME, STOP]
        else:
            steps = []
    else:  # restarted
        steps = [START] if status == CREATED and not renew else _TEARDOWN[status] + [CREATE, START]
    return steps, predict(status, steps)


def predict(status, steps):
    """The status after ``steps`` ran."""
    after = {CREATE: CREATED, START: RUNNING, STOP: STOPPED, RESUME: RUNNING, DELETE: ABSENT}
    if not steps:
        return status or ABSENT
    return after[steps[-1]]


def config_changes(old_config, new_config):
    """``(before, after)`` dicts of the dotted config keys that differ (``process.env`` values masked)."""
    old_flat = mask_env(flatten(old_config)) if isinstance(old_config, dict) else {}
    new_flat = mask_env(flatten(new_config)) if isinstance(new_config, dict) else {}
    changes = compare(old_flat, new_flat, removable_keys=tuple(old_flat))
    before = dict((change.key, change.before) for change in changes if change.before is not None)
    after = dict((change.key, change.after) for change in changes if change.after is not None)
    return before, after


def build_plan(
    name, desired, current, config, steps, predicted, render, old_config=None, new_config=None, stop_signal="TERM", stop_timeout=10, bundle_path=None,
    runner=None,
):
    """A ``Plan`` whose actions carry the argv ``render(kind)`` gives for each step, and ``runner(kind)`` (when given) to run it.

    ``before``/``after`` hold ``status`` and, when the container is (re)created, the
    config keys that change (all keys for a new container; ``config_digest`` marks
    an unknown old config).
    """
    status = current["status"] if current else ABSENT
    before = {"status": status}
    after = {"status": predicted}
    if CREATE in steps and current and bundle_path:
        before["bundle"] = current.get("bundle")
        after["bundle"] = bundle_path
    if CREATE in steps and new_config is not None:
        old = old_config if current and config in (SAME, CHANGED) else None
        cfg_before, cfg_after = config_changes(old, new_config)
        if current and config == UNKNOWN:
            cfg_before = dict((key, "<unknown: not created by this module or recreated outside it>") for key in cfg_after)
        before["config"] = cfg_before
        after["config"] = cfg_after
    plan = Plan(before, after)
    descriptions = {
        CREATE: "create container %s from its bundle" % name,
        START: "start the process of container %s" % name,
        STOP: "send SIG%s to container %s, wait up to %s s for it to stop, then SIGKILL" % (stop_signal, name, stop_timeout),
        RESUME: "resume paused container %s" % name,
        DELETE: "delete container %s" % name,
    }
    for step in steps:
        plan.add(step, descriptions[step], argv=render(step), run=runner(step) if runner else None)
    return plan
