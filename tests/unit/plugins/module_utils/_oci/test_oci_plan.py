# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The (desired state x current status x config) state machine, the config diff and the rendered plan."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._oci import plan as p

C, S, T, R, D = p.CREATE, p.START, p.STOP, p.RESUME, p.DELETE

# (desired, current status, steps when the config is the same, status after)
SAME_CONFIG = [
    ("present", None, [C], "created"),
    ("present", "created", [], "created"),
    ("present", "running", [], "running"),
    ("present", "paused", [], "paused"),
    ("present", "stopped", [], "stopped"),
    ("started", None, [C, S], "running"),
    ("started", "created", [S], "running"),
    ("started", "running", [], "running"),
    ("started", "paused", [R], "running"),
    ("started", "stopped", [D, C, S], "running"),
    ("stopped", None, [C], "created"),
    ("stopped", "created", [], "created"),
    ("stopped", "running", [T], "stopped"),
    ("stopped", "paused", [R, T], "stopped"),
    ("stopped", "stopped", [], "stopped"),
    ("restarted", None, [C, S], "running"),
    ("restarted", "created", [S], "running"),
    ("restarted", "running", [T, D, C, S], "running"),
    ("restarted", "paused", [R, T, D, C, S], "running"),
    ("restarted", "stopped", [D, C, S], "running"),
    ("absent", None, [], "absent"),
    ("absent", "created", [D], "absent"),
    ("absent", "running", [T, D], "absent"),
    ("absent", "paused", [R, T, D], "absent"),
    ("absent", "stopped", [D], "absent"),
]

# (desired, current status, steps when the config changed and recreate is true)
CHANGED_CONFIG = [
    ("present", "created", [D, C], "created"),
    ("present", "running", [T, D, C, S], "running"),
    ("present", "paused", [R, T, D, C, S], "running"),
    ("present", "stopped", [D, C], "created"),
    ("started", "created", [D, C, S], "running"),
    ("started", "running", [T, D, C, S], "running"),
    ("started", "paused", [R, T, D, C, S], "running"),
    ("started", "stopped", [D, C, S], "running"),
    ("stopped", "created", [D, C], "created"),
    ("stopped", "running", [T, D, C], "created"),
    ("stopped", "paused", [R, T, D, C], "created"),
    ("stopped", "stopped", [D, C], "created"),
    ("restarted", "created", [D, C, S], "running"),
    ("restarted", "running", [T, D, C, S], "running"),
    ("restarted", "stopped", [D, C, S], "running"),
    ("absent", "running", [T, D], "absent"),
]


@pytest.mark.parametrize("desired, status, steps, after", SAME_CONFIG)
def test_every_pair_with_unchanged_config(desired, status, steps, after):
    config = None if status is None or desired == "absent" else p.SAME
    assert p.decide(desired, status, config) == (steps, after)


@pytest.mark.parametrize("desired, status, steps, after", CHANGED_CONFIG)
@pytest.mark.parametrize("config", [p.CHANGED, p.UNKNOWN])
def test_every_pair_with_outdated_config_recreates(desired, status, steps, after, config):
    assert p.decide(desired, status, config, recreate=True) == (steps, after)


@pytest.mark.parametrize("desired, status, steps, after", [row for row in SAME_CONFIG if row[1] is not None and row[0] != "absent"])
def test_recreate_false_makes_an_outdated_config_behave_like_the_same(desired, status, steps, after):
    assert p.decide(desired, status, p.CHANGED, recreate=False) == (steps, after)


def test_every_desired_state_is_covered_for_every_status():
    covered = set((desired, status) for desired, status, _steps, _after in SAME_CONFIG)
    assert covered == set((desired, status) for desired in p.DESIRED_STATES for status in (None, "created", "running", "paused", "stopped"))


def test_creating_is_a_conflict_and_unknown_statuses_are_refused():
    with pytest.raises(LxcriError) as info:
        p.decide("started", "creating", p.SAME)
    assert info.value.error_kind == "conflict"
    with pytest.raises(LxcriError):
        p.decide("started", "exploded", p.SAME)
    with pytest.raises(ValueError):
        p.decide("running", None, None)


def test_config_changes_reports_dotted_keys_and_removed_keys():
    old = {"ociVersion": "1.0.2", "process": {"args": ["sleep", "1"], "cwd": "/"}, "hostname": "a", "annotations": {"k": "v"}}
    new = {"ociVersion": "1.0.2", "process": {"args": ["sleep", "2"], "cwd": "/"}, "hostname": "a"}
    before, after = p.config_changes(old, new)
    assert before == {"process.args": ["sleep", "1"], "annotations.k": "v"}
    assert after == {"process.args": ["sleep", "2"]}


def test_config_changes_hide_env_values():
    old = {"process": {"env": ["PATH=/bin", "TOKEN=s3cret"]}}
    new = {"process": {"env": ["PATH=/bin", "TOKEN=other"]}}
    before, after = p.config_changes(old, new)
    text = repr((before, after))
    assert "s3cret" not in text and "other" not in text
    assert before["process.env"][0] == after["process.env"][0]
    assert before["process.env"][1] != after["process.env"][1]
    assert before["process.env"][1].startswith("TOKEN=<masked:")
    # Not an unsalted digest prefix, which a table of hashes of likely values would reverse.
    assert hashlib.sha256(b"s3cret").hexdigest()[:12] not in before["process.env"][1]
    assert p.config_changes(old, new) == (before, after)  # equal values mask equally within a run


def render(step):
    return ["runc", "--root", "/run/x", step, "web"]


def test_plan_carries_argv_in_order_and_diff_of_status():
    steps, after = p.decide("started", "stopped", p.SAME)
    plan = p.build_plan("web", "started", {"status": "stopped", "bundle": "/b"}, p.SAME, steps, after, render, old_config={"a": 1}, new_config={"a": 1})
    result = plan.result()
    assert result["changed"] is True
    assert [action["argv"][3] for action in result["actions"]] == ["delete", "create", "start"]
    assert result["diff"] == {"before": {"status": "stopped"}, "after": {"status": "running"}}


def test_noop_plan_is_unchanged_with_empty_diff():
    plan = p.build_plan("web", "started", {"status": "running"}, p.SAME, [], "running", render)
    assert plan.result() == {"changed": False, "actions": [], "diff": {"before": {}, "after": {}}}


def test_recreate_plan_diff_shows_changed_config_keys_and_bundle():
    current = {"status": "running", "bundle": "/old"}
    steps, after = p.decide("started", "running", p.CHANGED)
    plan = p.build_plan(
        "web",
        "started",
        current,
        p.CHANGED,
        steps,
        after,
        render,
        old_config={"hostname": "a", "ociVersion": "1"},
        new_config={"hostname": "b", "ociVersion": "1"},
        bundle_path="/new",
    )
    diff = plan.diff()
    assert diff["before"] == {"bundle": "/old", "config": {"hostname": "a"}}
    assert diff["after"] == {"bundle": "/new", "config": {"hostname": "b"}}


def test_unknown_config_diff_says_so():
    steps, after = p.decide("started", "running", p.UNKNOWN)
    plan = p.build_plan(
        "web", "started", {"status": "running", "bundle": "/b"}, p.UNKNOWN, steps, after, render, new_config={"hostname": "b"}, bundle_path="/b"
    )
    diff = plan.diff()
    assert diff["before"]["config"]["hostname"].startswith("<unknown")
    assert diff["after"]["config"] == {"hostname": "b"}
