# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import KeyChange, Plan, compare


def test_compare_equal_dicts_gives_no_change():
    assert compare({"memory": 512, "tags": ["a"]}, {"memory": 512, "tags": ["a"]}) == []


def test_compare_reports_changed_and_added_keys_sorted():
    changes = compare({"memory": 512}, {"memory": 1024, "cores": 2})
    assert changes == [KeyChange("cores", None, 2), KeyChange("memory", 512, 1024)]
    assert changes[0].added and not changes[0].removed


def test_undeclared_keys_are_left_alone():
    assert compare({"memory": 512, "swap": 0}, {"memory": 512}) == []
    assert compare({"memory": 512}, {"memory": None}) == []


def test_removable_keys_absent_from_desired_are_removed():
    changes = compare({"net0": {"name": "eth0"}, "net1": {"name": "eth1"}}, {"net0": {"name": "eth0"}},
                      removable_keys=("net1", "net2"))
    assert changes == [KeyChange("net1", {"name": "eth1"}, None)]
    assert changes[0].removed


def test_managed_keys_limit_the_comparison():
    assert compare({"a": 1, "b": 1}, {"a": 2, "b": 2}, managed_keys=("b",)) == [KeyChange("b", 1, 2)]


def test_nested_values_compare_by_value_not_identity():
    assert compare({"net0": {"bridge": "vmbr0", "ip": "dhcp"}}, {"net0": {"ip": "dhcp", "bridge": "vmbr0"}}) == []


def test_empty_plan_is_unchanged_with_empty_diff():
    plan = Plan({"status": "running"}, {"status": "running"})
    assert not plan.changed
    assert plan.result() == {"changed": False, "actions": [], "diff": {"before": {}, "after": {}}}


def test_plan_result_lists_actions_in_order_with_argv():
    plan = Plan({"status": "stopped"}, {"status": "running"})
    plan.add("delete", "delete the stopped container", ["runc", "delete", "x"])
    plan.add("create", "create the container", ["runc", "create", "x"])
    result = plan.result()
    assert result["changed"] is True
    assert result["actions"] == [
        {"kind": "delete", "description": "delete the stopped container", "argv": ["runc", "delete", "x"]},
        {"kind": "create", "description": "create the container", "argv": ["runc", "create", "x"]},
    ]
    assert result["diff"] == {"before": {"status": "stopped"}, "after": {"status": "running"}}


def test_diff_shows_only_differing_keys_and_masks_secrets():
    plan = Plan({"memory": 512, "password": "old", "cores": 1}, {"memory": 1024, "password": "new", "cores": 1})
    assert plan.diff(hidden_keys=("password",)) == {
        "before": {"memory": 512, "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"},
        "after": {"memory": 1024, "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"},
    }


def test_diff_of_creation_and_removal():
    assert Plan(None, {"memory": 512}).diff() == {"before": {}, "after": {"memory": 512}}
    assert Plan({"memory": 512}, None).diff() == {"before": {"memory": 512}, "after": {}}


def test_plan_keeps_its_own_copy_of_the_sides():
    after = {"tags": ["a"]}
    plan = Plan({}, after)
    after["tags"].append("b")
    assert plan.after == {"tags": ["a"]}
