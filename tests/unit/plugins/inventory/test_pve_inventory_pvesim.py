# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pve inventory plugin over HTTPS against pvesim (state mode): proxmoxer, API token, real answers."""

from __future__ import annotations

import io
import textwrap

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

pytest.importorskip("proxmoxer", reason="the API transport needs proxmoxer")
pvesim_auth = pytest.importorskip("pvesim.auth", reason="pvesim (tools/pvesim) is installed by scripts/setup.sh")

from pvesim import pct  # noqa: E402  pylint: disable=wrong-import-position
from pvesim.http.testing import api_server  # noqa: E402  pylint: disable=wrong-import-position
from pvesim.state import State  # noqa: E402  pylint: disable=wrong-import-position
from pvesim.templates import build_busybox_template, install_template  # noqa: E402  pylint: disable=wrong-import-position


def run_pct(state, *args):
    out, err = io.StringIO(), io.StringIO()
    rc = pct.main([str(a) for a in args], stdout=out, stderr=err, state=state)
    assert rc == 0, err.getvalue()


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    state = State(tmp_path_factory.mktemp("pvesim") / "state").init(node="pve", mode="state")
    auth = pvesim_auth.AuthStore(state.pve_path("")).ensure()
    token = auth.add_token("root@pam", "inv", privsep=False)
    auth.add_user("auditor@pve")
    auth.add_acl("/vms/9102", "auditor@pve", "PVEAuditor")
    reader = auth.add_token("auditor@pve", "ro", privsep=False)
    template = install_template(state, build_busybox_template(str(tmp_path_factory.mktemp("t") / "debian-12-busybox_1.0-1_amd64.tar.gz")))
    for vmid, hostname, tags in ((9101, "web", "prod;web"), (9102, "db", "prod"), (9103, "web", "staging")):
        run_pct(state, "create", vmid, template, "--hostname", hostname, "--tags", tags, "--rootfs", "local-lvm:1")
    run_pct(state, "start", 9101)
    with api_server(state, port=0) as api:  # an ephemeral port: tests run in parallel workers
        yield {"api": api, "token": token, "reader": reader}


def parse(tmp_path, sim, token, extra=""):
    path = tmp_path / "pve.yml"
    path.write_text(textwrap.dedent("""
    plugin: lxcri.containers.pve
    api_host: {host}
    api_port: {port}
    api_token_id: "{token_id}"
    api_token_secret: "{secret}"
    validate_certs: false
    """).format(host=sim["api"].host, port=sim["api"].port, token_id=token["full-tokenid"], secret=token["value"]) + extra)
    plugin = inventory_loader.get("lxcri.containers.pve")
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=False)
    return inventory


def test_lists_pvesim_guests_with_groups_and_vars(tmp_path, sim):
    inventory = parse(tmp_path, sim, sim["token"], "want_interfaces: true\nwant_config: true\n")
    assert sorted(inventory.hosts) == ["db", "web-9101", "web-9103"]
    web = inventory.get_host("web-9101").get_vars()
    assert (web["pve_vmid"], web["pve_node"], web["pve_type"], web["pve_status"], web["pve_tags"]) == \
        (9101, "pve", "lxc", "running", ["prod", "web"])
    assert web["ansible_connection"] == "lxcri.containers.pct"
    assert web["pve_config"]["hostname"] == "web" and "digest" not in web["pve_config"]
    assert sorted(h.name for h in inventory.groups["pve_tag_prod"].get_hosts()) == ["db", "web-9101"]
    assert sorted(h.name for h in inventory.groups["pve_status_stopped"].get_hosts()) == ["db", "web-9103"]
    assert [h.name for h in inventory.groups["pve_node_pve"].get_hosts()] == ["web-9101", "db", "web-9103"]
    assert inventory.get_host("db").get_vars()["pve_interfaces"] == []


def test_a_token_sees_only_the_guests_it_may_audit(tmp_path, sim):
    inventory = parse(tmp_path, sim, sim["reader"])
    assert sorted(inventory.hosts) == ["db"]


def test_a_wrong_secret_is_an_authentication_error(tmp_path, sim):
    bad = dict(sim["token"], value="00000000-0000-0000-0000-000000000000")
    with pytest.raises(AnsibleParserError, match="check api_user/api_token_id/api_token_secret") as err:
        parse(tmp_path, sim, bad)
    assert bad["value"] not in str(err.value)
