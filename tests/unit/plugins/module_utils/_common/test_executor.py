# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import TASK_FAILED, LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.executor import Executor
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Plan


def _plan(ran, fail_on=None):
    plan = Plan({"status": "stopped"}, {"status": "running"})

    def step(name):
        def run():
            if name == fail_on:
                raise LxcriError("%s failed" % name, TASK_FAILED)
            ran.append(name)
        return run

    for name in ("create", "start", "verify"):
        plan.add(name, "%s the thing" % name, argv=["tool", name], run=step(name))
    return plan


def test_check_mode_runs_nothing_and_records_the_same_actions_as_a_real_run():
    ran_check, ran_real = [], []
    checked = _plan(ran_check)
    Executor(checked, check_mode=True).execute()
    real = _plan(ran_real)
    Executor(real).execute()
    assert ran_check == []
    assert ran_real == ["create", "start", "verify"]
    assert checked.result()["actions"] == real.result()["actions"]


def test_a_failure_carries_the_finished_actions_and_the_failed_one():
    ran = []
    plan = _plan(ran, fail_on="start")
    with pytest.raises(LxcriError) as caught:
        Executor(plan).execute()
    assert ran == ["create"]
    assert [action["kind"] for action in caught.value.details["actions"]] == ["create"]
    assert caught.value.details["failed_action"] == {"kind": "start", "description": "start the thing", "argv": ["tool", "start"]}


def _fail():
    raise LxcriError("locked", TASK_FAILED)


def test_record_runs_at_once_and_a_failed_step_is_not_recorded_as_done():
    ran = []
    plan = Plan()
    executor = Executor(plan)
    executor.record("set", "set memory", ["pct", "set", "100"], run=lambda: ran.append("set"))
    with pytest.raises(LxcriError) as caught:
        executor.record("start", "start CT 100", ["pct", "start", "100"], run=_fail)
    assert ran == ["set"]
    assert [action.kind for action in plan.actions] == ["set"]
    assert caught.value.details["actions"] == [{"kind": "set", "description": "set memory", "argv": ["pct", "set", "100"]}]
    assert caught.value.details["failed_action"]["kind"] == "start"


def test_record_in_check_mode_only_records():
    plan = Plan()
    Executor(plan, check_mode=True).record("start", "start CT 100", ["pct", "start", "100"], run=lambda: pytest.fail("ran in check mode"))
    assert plan.result()["actions"] == [{"kind": "start", "description": "start CT 100", "argv": ["pct", "start", "100"]}]


def test_failures_while_recording_carry_the_plan_actions():
    plan = Plan()
    executor = Executor(plan)
    executor.record("upload", "upload it", None, run=lambda: None)
    with pytest.raises(LxcriError) as caught, executor.recording():
        raise LxcriError("checksum mismatch", TASK_FAILED)
    assert caught.value.details["actions"] == [{"kind": "upload", "description": "upload it"}]
