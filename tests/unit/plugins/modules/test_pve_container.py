# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.lxcri.containers.plugins.doc_fragments import pve as pve_fragment
from ansible_collections.lxcri.containers.plugins.modules import pve_container, pve_container_info
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode


@pytest.fixture
def node(tmp_path, monkeypatch):
    return PveNode(tmp_path, monkeypatch)


def run_module(mod, args, node, monkeypatch, capsys, via="pct"):
    """The module's main() with its real transport (pct or API) talking to pvesim."""
    monkeypatch.setattr(mod, "make_transport", lambda module, **kw: node.pct_transport() if via == "pct" else node.api_transport())
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("mod", [pve_container, pve_container_info])
def test_documented_options_match_the_argument_spec(mod):
    doc = yaml.safe_load(mod.DOCUMENTATION)
    fragment = dict(yaml.safe_load(pve_fragment.ModuleDocFragment.DOCUMENTATION)["options"],
                    **yaml.safe_load(pve_fragment.ModuleDocFragment.API)["options"])
    spec = mod.argument_spec()
    assert set(doc["options"]) | set(fragment) == set(spec)
    for name, option in list(doc["options"].items()) + list(fragment.items()):
        assert option.get("type") == spec[name].get("type", "str"), name
        assert option.get("default") == spec[name].get("default"), name
        assert option.get("choices") == spec[name].get("choices"), name


def test_module_create_noop_and_error_kind(node, monkeypatch, capsys):
    pve = node
    args = dict(vmid=130, hostname="m1", ostemplate=node.template, storage="local-lvm", rootfs="2G",
                net=[{"name": "eth0", "bridge": "vmbr0"}], password="secret1", state="started")
    first = run_module(pve_container, args, pve, monkeypatch, capsys)
    assert first["changed"] and first["status"] == "running" and first["vmid"] == 130
    assert "secret1" not in json.dumps(first)
    second = run_module(pve_container, args, pve, monkeypatch, capsys)
    assert not second["changed"]
    bad = run_module(pve_container, dict(args, memory=4), pve, monkeypatch, capsys)
    assert bad["failed"] and bad["error_kind"] == "invalid_argument" and bad["msg"].startswith("memory:")


@pytest.mark.parametrize("via", ["pct", "api"])
def test_info_output_feeds_back_as_input(node, via, monkeypatch, capsys):
    pve = node
    args = dict(vmid=131, hostname="m2", ostemplate=node.template, ostype="unmanaged", storage="local-lvm", rootfs="2G", tags=["a", "b"],
                mp={"mp0": {"mp": "/data", "size": "1G"}}, net=[{"name": "eth0", "bridge": "vmbr0", "firewall": True}],
                features={"nesting": True}, description="two\nlines", startup="order=3")
    run_module(pve_container, args, pve, monkeypatch, capsys, via)
    info = run_module(pve_container_info, dict(tags=["A"]), pve, monkeypatch, capsys, via)
    assert [c["vmid"] for c in info["containers"]] == [131]
    config = info["containers"][0]["config"]
    assert config["mp"]["mp0"]["mp"] == "/data" and config["description"] == "two\nlines"
    again = run_module(pve_container, dict(config, vmid=131, exclusive=True), pve, monkeypatch, capsys, via)
    assert not again["changed"], again["actions"]


def test_api_options_fall_back_to_the_environment(node, monkeypatch, capsys):
    seen = {}

    def fake_transport(module, **kwargs):
        seen.update(module.params)
        return node.api_transport()

    monkeypatch.setattr(pve_container_info, "make_transport", fake_transport)
    for name, value in (("PROXMOX_HOST", "pve1.example.com"), ("PROXMOX_PORT", "8443"), ("PROXMOX_TOKEN_ID", "ci@pve!ansible"),
                        ("PROXMOX_TOKEN_SECRET", "uuid-secret"), ("PROXMOX_VALIDATE_CERTS", "false"), ("PROXMOX_API_TIMEOUT", "90")):
        monkeypatch.setenv(name, value)
    with patch_module_args({"transport": "api"}), pytest.raises(SystemExit):
        pve_container_info.main()
    out = json.loads(capsys.readouterr().out)
    assert out["containers"] == []
    assert (seen["api_host"], seen["api_port"], seen["api_token_id"], seen["api_token_secret"]) == ("pve1.example.com", 8443, "ci@pve!ansible", "uuid-secret")
    assert seen["validate_certs"] is False and seen["api_timeout"] == 90 and seen["api_user"] is None
    assert "uuid-secret" not in json.dumps(out)


class _AutoModule:
    def __init__(self, has_pct, **params):
        self.has_pct = has_pct
        self.params = dict(dict((k, None) for k in pve_container.argument_spec()), transport="auto", **params)

    def get_bin_path(self, name, required=False):
        return "/usr/sbin/%s" % name if self.has_pct else None


def test_transport_auto_picks_pct_on_a_node_and_the_api_elsewhere(node):
    from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
    from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import make_transport

    assert make_transport(_AutoModule(True)).name == "pct"
    with pytest.raises(LxcriError) as err:
        make_transport(_AutoModule(False))
    assert err.value.error_kind == "invalid_argument" and err.value.msg.startswith("api_host")


def test_oci_bundle_goes_through_the_pve_template_hook(node, monkeypatch, capsys):
    from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import ocihook

    seen = {}

    def fake_hook(module, transport, params=None):
        seen["bundle"] = params["oci_bundle"]
        merged = dict(params, ostemplate=node.template, entrypoint="/app", cmode="console")
        return merged, {"changed": True, "actions": [{"kind": "upload", "description": "upload lxcri-oci-abc_amd64.tar.gz"}]}

    monkeypatch.setattr(ocihook, "apply_oci_bundle", fake_hook)
    pve = node
    args = dict(vmid=140, oci_bundle="/srv/bundles/app", storage="local-lvm", rootfs="1G")
    result = run_module(pve_container, args, pve, monkeypatch, capsys)
    assert seen["bundle"] == "/srv/bundles/app"
    assert [a["kind"] for a in result["actions"]] == ["upload", "create"]
    assert result["config"]["entrypoint"] == "/app" and result["oci_template"]["changed"] is True
    both = run_module(pve_container, dict(args, ostemplate="local:vztmpl/x.tar.gz"), pve, monkeypatch, capsys)
    assert both["failed"] and "mutually exclusive" in both["msg"]
