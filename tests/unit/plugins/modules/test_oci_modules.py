# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The oci_container and oci_container_info modules as Ansible runs them: docs match the argspec, bad input fails early."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.lxcri.containers.plugins.modules import oci_container, oci_container_info
from ansible_collections.lxcri.containers.tests.unit.plugins.modules.module_harness import ansible_module_kwargs, run_module_process

MODULES = {"oci_container": oci_container, "oci_container_info": oci_container_info}


def run_module(name, args, tmp_path):
    return run_module_process(name, args, tmp_path)


def argspec_of(module, monkeypatch):
    return ansible_module_kwargs(module, monkeypatch)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_documented_options_match_the_argspec(name, monkeypatch):
    module = MODULES[name]
    doc = yaml.safe_load(module.DOCUMENTATION)
    spec = argspec_of(module, monkeypatch)["argument_spec"]
    assert doc["version_added"] == "0.1.0"
    assert set(doc["options"]) == set(spec)
    for option, values in spec.items():
        documented = doc["options"][option]
        assert documented["type"] == values["type"], option
        assert documented.get("default") == values.get("default"), option
        assert documented.get("choices") == values.get("choices"), option
        assert bool(documented.get("required")) == bool(values.get("required")), option
        assert documented.get("elements") == values.get("elements"), option
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)


@pytest.mark.parametrize(
    "args, kind, fragment",
    [
        ({"name": "a/b", "runtime": "runc", "bundle": "/nonexistent"}, "invalid_argument", "name: "),
        ({"name": "ok", "runtime": "runc", "bundle": "/nonexistent-bundle"}, "not_found", "bundle: "),
        ({"name": "ok", "runtime": "runc", "executable": "/nonexistent/runc", "state": "absent"}, "runtime_missing", "executable: "),
    ],
)
def test_bad_input_fails_with_error_kind_and_creates_nothing(tmp_path, args, kind, fragment):
    args = dict(args, root=str(tmp_path / "root"))
    result = run_module("oci_container", args, tmp_path)
    assert result["failed"] is True
    assert result["error_kind"] == kind
    assert result["msg"].startswith(fragment)
    assert sorted(os.listdir(tmp_path)) == ["args.json"]


def test_missing_bundle_for_started_is_reported_by_ansible(tmp_path):
    result = run_module("oci_container", {"name": "ok", "runtime": "runc"}, tmp_path)
    assert result["failed"] is True
    assert "bundle" in result["msg"]


def test_info_rejects_root_without_a_single_runtime(tmp_path):
    result = run_module("oci_container_info", {"root": [str(tmp_path)]}, tmp_path)
    assert result["failed"] is True
    assert result["error_kind"] == "invalid_argument"
    assert result["msg"].startswith("root: ")


def test_info_on_missing_root_lists_nothing_and_runs_nothing(tmp_path):
    result = run_module("oci_container_info", {"runtime": "runc", "root": [str(tmp_path / "missing")], "executable": "/bin/true"}, tmp_path)
    assert result["changed"] is False
    assert result["containers"] == [] and result["commands"] == []
    assert not (tmp_path / "missing").exists()
