# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pve_vms``: many VMs in one module run, against pvesim (state mode, in-process)."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lxcri.containers.plugins.doc_fragments import fleet as fleet_fragment
from ansible_collections.lxcri.containers.plugins.doc_fragments import pve as pve_fragment
from ansible_collections.lxcri.containers.plugins.module_utils._fleet import pve as fleet_pve
from ansible_collections.lxcri.containers.plugins.modules import pve_vms
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode


@pytest.fixture
def node(tmp_path, monkeypatch):
    return PveNode(tmp_path, monkeypatch)


def run_module(args, node, monkeypatch, capsys, via="qm", check=False):
    """The module's main() with its real transport (qm or API) talking to pvesim."""
    monkeypatch.setattr(fleet_pve.VM, "make_transport", lambda module, **kw: node.qm_transport() if via == "qm" else node.api_vm_transport())
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=True)), pytest.raises(SystemExit):
        pve_vms.main()
    return json.loads(capsys.readouterr().out)


def test_documented_options_match_the_argument_spec():
    doc = yaml.safe_load(pve_vms.DOCUMENTATION)
    fragments = dict(yaml.safe_load(pve_fragment.ModuleDocFragment.API)["options"], **yaml.safe_load(fleet_fragment.ModuleDocFragment.DOCUMENTATION)["options"],
                     **yaml.safe_load(pve_fragment.ModuleDocFragment.QM)["options"])
    spec = fleet_pve.argument_spec(fleet_pve.VM)
    assert set(doc["options"]) | set(fragments) == set(spec)
    for name, option in list(doc["options"].items()) + list(fragments.items()):
        assert option.get("type") == spec[name].get("type", "str"), name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("choices") == spec[name].get("choices"), name


@pytest.mark.parametrize("via", ["qm", "api"])
def test_create_then_a_no_op_reads_once_for_all(node, via, monkeypatch, capsys):
    vms = [{"vmid": 401, "name": "f1", "memory": 256, "cores": 1, "state": "started"},
           {"vmid": 402, "name": "f2", "memory": 512, "disks": {"scsi0": {"storage": "local-lvm", "size": "1G"}}, "state": "stopped"}]
    args = dict(containers=vms, node="pve", transport=via)
    planned = run_module(args, node, monkeypatch, capsys, via, check=True)
    assert planned["changed"] and node.writes == [] and node.vm_conf_text(401) is None
    assert [[action["kind"] for action in vm["actions"]] for vm in planned["containers"]] == [["create", "start"], ["create"]]
    made = run_module(args, node, monkeypatch, capsys, via)
    assert made["changed"] and [vm["status"] for vm in made["containers"]] == ["running", "stopped"]
    assert made["containers"][0]["diff"]["after"]["memory"] == 256
    before = len(node.argvs)
    again = run_module(args, node, monkeypatch, capsys, via)
    assert not again["changed"] and [vm["changed"] for vm in again["containers"]] == [False, False]
    if via == "qm":
        assert again["reads"] == [["/usr/sbin/qm", "list"]] and again["config_files_read"] == 2
        assert node.argvs[before:] == [["/usr/sbin/qm", "list"]]
    else:
        # one listing, then one GET .../pending per VM: no status or config re-read
        assert again["reads"] == [["GET", "/nodes/pve/qemu"], ["GET", "/nodes/pve/qemu/401/pending"], ["GET", "/nodes/pve/qemu/402/pending"]]
        assert again["config_files_read"] == 0


def test_a_bad_item_fails_naming_it_before_anything_runs(node, monkeypatch, capsys):
    vms = [{"vmid": 403, "name": "ok", "memory": 256}, {"vmid": 404, "name": "bad", "net": [{"bridge": "vmbr0,tag=1"}]}]
    result = run_module(dict(containers=vms), node, monkeypatch, capsys)
    assert result["failed"] and result["error_kind"] == "invalid_argument"
    assert result["msg"].startswith("containers[1] (bad).net[0].bridge: "), result["msg"]
    assert node.argvs == [] and node.vm_conf_text(403) is None
    duplicate = run_module(dict(containers=[{"name": "same"}, {"name": "same"}]), node, monkeypatch, capsys)
    assert duplicate["failed"] and "containers[1] (same): same name as containers[0] (same)" in duplicate["msg"]
