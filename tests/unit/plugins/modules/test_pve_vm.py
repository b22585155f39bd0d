# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lxcri.containers.plugins.doc_fragments import pve as pve_fragment
from ansible_collections.lxcri.containers.plugins.modules import pve_vm, pve_vm_info
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode


@pytest.fixture
def node(tmp_path, monkeypatch):
    return PveNode(tmp_path, monkeypatch)


def run_module(mod, args, node, monkeypatch, capsys, via="qm"):
    """The module's main() with its real transport (qm or API) talking to pvesim."""
    monkeypatch.setattr(mod, "make_transport", lambda module, **kw: node.qm_transport() if via == "qm" else node.api_vm_transport())
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("mod", [pve_vm, pve_vm_info])
def test_documented_options_match_the_argument_spec(mod):
    doc = yaml.safe_load(mod.DOCUMENTATION)
    fragment = yaml.safe_load(pve_fragment.ModuleDocFragment.API)["options"]
    if mod is pve_vm:
        fragment = dict(fragment, **yaml.safe_load(pve_fragment.ModuleDocFragment.QM)["options"])
    spec = mod.argument_spec() if mod is pve_vm else mod.info_argument_spec()
    assert set(doc["options"]) | set(fragment) == set(spec)
    for name, option in list(doc["options"].items()) + list(fragment.items()):
        assert option.get("type") == spec[name].get("type", "str"), name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("choices") == spec[name].get("choices"), name
        assert bool(option.get("no_log")) is False and (name != "cipassword" or spec[name].get("no_log")), name
    if mod is pve_vm:
        assert set(doc["options"]["clone"]["suboptions"]) == set(spec["clone"]["options"])


@pytest.mark.parametrize("via", ["qm", "api"])
def test_module_create_diff_noop_and_error_kind(node, via, monkeypatch, capsys):
    args = dict(vmid=210, name="m1", node="pve", memory=512, disks={"scsi0": {"storage": "local-lvm", "size": "1G"}},
                net=[{"bridge": "vmbr0"}], state="started", _ansible_diff=True)
    first = run_module(pve_vm, args, node, monkeypatch, capsys, via)
    assert first["changed"] and first["status"] == "running" and first["vmid"] == 210 and first["transport"] == via
    assert first["diff"]["after"]["memory"] == 512
    second = run_module(pve_vm, args, node, monkeypatch, capsys, via)
    assert not second["changed"] and len(second["reads"]) == 2
    bad = run_module(pve_vm, dict(args, memory=4), node, monkeypatch, capsys, via)
    assert bad["failed"] and bad["error_kind"] == "invalid_argument" and bad["msg"].startswith("memory:")


@pytest.mark.parametrize("via", ["qm", "api"])
def test_info_output_feeds_back_as_input(node, via, monkeypatch, capsys):
    args = dict(vmid=211, name="m2", node="pve", tags=["a", "b"], description="two\nlines", startup="order=3", cores=2,
                disks={"scsi0": {"storage": "local-lvm", "size": "1G", "discard": "on"}, "ide2": {"file": "local-lvm:cloudinit"}},
                net=[{"bridge": "vmbr0", "firewall": True}, {"model": "e1000", "bridge": "vmbr0", "tag": 7}],
                ipconfig=[{"ip": "192.0.2.5/24", "gw": "192.0.2.1"}], boot=["scsi0", "net0"], cpu="x86-64-v2-AES")
    run_module(pve_vm, args, node, monkeypatch, capsys, via)
    info = run_module(pve_vm_info, dict(tags=["A"]), node, monkeypatch, capsys, via)
    assert [v["vmid"] for v in info["vms"]] == [211]
    config = info["vms"][0]["config"]
    assert config["description"] == "two\nlines" and config["net"][1]["tag"] == 7
    again = run_module(pve_vm, dict(config, vmid=211, exclusive=True), node, monkeypatch, capsys, via)
    assert not again["changed"], again["actions"]


class _AutoModule:
    def __init__(self, has_qm, **params):
        self.has_qm = has_qm
        self.params = dict(dict((k, None) for k in pve_vm.argument_spec()), transport="auto", **params)

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/%s" % name if self.has_qm else None


def test_transport_auto_picks_qm_on_a_node_and_the_api_elsewhere(node):
    from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
    from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import make_transport

    assert make_transport(_AutoModule(True)).name == "qm"
    with pytest.raises(LxcriError) as err:
        make_transport(_AutoModule(False))
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith("api_host")
