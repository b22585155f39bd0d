# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pve_template as Ansible runs it: docs match the argspec, bad input fails before any command runs."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.lxcri.containers.plugins.doc_fragments import pve as pve_fragment
from ansible_collections.lxcri.containers.plugins.modules import pve_template
from ansible_collections.lxcri.containers.tests.unit.plugins.modules.module_harness import ansible_module_kwargs, run_module_process


def run_module(args, tmp_path, path=None):
    return run_module_process("pve_template", args, tmp_path, path)


def test_documented_options_match_the_argspec(monkeypatch):
    captured = ansible_module_kwargs(pve_template, monkeypatch)
    spec = captured["argument_spec"]
    assert captured["supports_check_mode"] is True
    doc = yaml.safe_load(pve_template.DOCUMENTATION)
    options = dict(yaml.safe_load(pve_fragment.ModuleDocFragment.DOCUMENTATION)["options"])
    options.update(yaml.safe_load(pve_fragment.ModuleDocFragment.API)["options"])
    options.update(doc["options"])
    assert doc["version_added"] == "0.1.0"
    assert "lxcri.containers.attributes.ACTIONGROUP_PROXMOX" in doc["extends_documentation_fragment"]
    assert set(options) == set(spec)
    for option, values in spec.items():
        documented = options[option]
        assert documented["type"] == values["type"], option
        assert documented.get("default") == values.get("default"), option
        assert documented.get("choices") == values.get("choices"), option
        assert bool(documented.get("required")) == bool(values.get("required")), option
    yaml.safe_load(pve_template.EXAMPLES)
    yaml.safe_load(pve_template.RETURN)


@pytest.mark.parametrize("args, field", [
    ({"name": "../etc/passwd.tar.gz"}, "name"),
    ({"name": "x.tar.gz", "checksum": "sha256:12"}, "checksum"),
    ({"name": "local:vztmpl/x.tar.gz", "storage": "nfs"}, "storage"),
])
def test_bad_input_fails_before_any_command(tmp_path, args, field):
    # An empty PATH: if the module tried to run pvesh/pveam it would fail differently.
    result = run_module(args, tmp_path, path=str(tmp_path))
    assert result["failed"] is True
    assert result["error_kind"] == "invalid_argument"
    assert result["msg"].startswith(field + ": ")


def test_pct_without_pveam_says_so(tmp_path, monkeypatch):
    # A node's /etc/pve (its local node name), but no Proxmox tools on PATH.
    pve = tmp_path / "pve"
    (pve / "nodes" / "pve").mkdir(parents=True)
    (pve / "local").symlink_to("nodes/pve")
    monkeypatch.setenv("PVESIM_STATE_DIR", str(pve))
    result = run_module({"name": "x.tar.gz", "transport": "pct"}, tmp_path, path=str(tmp_path))
    assert result["failed"] is True and result["error_kind"] == "runtime_missing"
    assert "pvesh and pveam" in result["msg"]
