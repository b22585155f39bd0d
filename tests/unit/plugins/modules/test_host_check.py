# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_check as Ansible runs it, on this machine: docs match the argspec, the real cgroup layout is reported as statfs sees it."""

from __future__ import annotations

import subprocess

import yaml

from ansible_collections.lxcri.containers.plugins.modules import host_check
from ansible_collections.lxcri.containers.tests.unit.plugins.modules.module_harness import ansible_module_kwargs, run_module_process


def run_module(args, tmp_path):
    return run_module_process("host_check", args, tmp_path)


def test_documented_options_match_the_argspec(monkeypatch):
    captured = ansible_module_kwargs(host_check, monkeypatch)
    spec = captured["argument_spec"]
    assert captured["supports_check_mode"] is True
    doc = yaml.safe_load(host_check.DOCUMENTATION)
    assert doc["version_added"] == "0.1.0"
    assert set(doc["options"]) == set(spec)
    for option, values in spec.items():
        documented = doc["options"][option]
        assert documented["type"] == values["type"], option
        assert documented.get("default") == values.get("default"), option
        assert documented.get("choices") == values.get("choices"), option
        assert documented.get("elements") == values.get("elements"), option
    assert set(doc["options"]["free_space"]["suboptions"]) == set(spec["free_space"]["options"])
    yaml.safe_load(host_check.EXAMPLES)
    yaml.safe_load(host_check.RETURN)


def _stat_type(path):
    done = subprocess.run(["stat", "-fc", "%T", path], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def test_reports_this_hosts_cgroup_layout_as_stat_sees_it(tmp_path):
    result = run_module({"backends": ["runc", "crun"], "fail_on": "never", "state_dirs": [str(tmp_path / "state")]}, tmp_path)
    assert result["changed"] is False
    cgroup = result["ansible_facts"]["lxcri_host"]["cgroup"]
    top = _stat_type("/sys/fs/cgroup")
    if top == "cgroup2fs":
        expected = "v2"
    elif top == "tmpfs" and _stat_type("/sys/fs/cgroup/unified") == "cgroup2fs":
        expected = "hybrid"
    else:
        expected = "v1"
    assert cgroup["layout"] == expected
    crun = [item for item in result["checks"] if item["name"] == "cgroup:crun"][0]
    if expected == "hybrid" and cgroup["v2_controllers"]:
        assert crun["status"] == "fail" and "umount /sys/fs/cgroup/unified" in crun["remedy"]
    else:
        assert crun["status"] == "ok"
    state = [item for item in result["checks"] if item["name"] == "state_dir:%s" % (tmp_path / "state")][0]
    assert state["status"] == "ok" and "checked its parent %s" % tmp_path in state["detail"]
    assert not (tmp_path / "state").exists()


def test_fail_on_fail_fails_on_a_missing_bridge_with_its_remedy(tmp_path):
    result = run_module({"backends": ["runc"], "bridges": ["mol-hc-nobr0"], "fail_on": "fail"}, tmp_path)
    assert result["failed"] is True
    assert result["error_kind"] == "unsupported_host"
    assert "bridge:mol-hc-nobr0 [fail]" in result["msg"]
    assert "ip link add mol-hc-nobr0 type bridge" in result["msg"]
    assert "bridge:mol-hc-nobr0" in result["failed_checks"]


def test_bad_template_fails_before_checking(tmp_path):
    result = run_module({"backends": ["lxc"], "templates": ["local:iso/x.iso"]}, tmp_path)
    assert result["failed"] is True and result["error_kind"] == "invalid_argument"
    assert result["msg"].startswith("templates: ")
    assert "checks" not in result
