# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pve inventory plugin as Ansible loads it, over a canned Proxmox API.

The canned answers are PVE's documented shapes (``GET /cluster/resources`` rows of
PVE::API2::Cluster ``resources``: ``id``, ``type`` lxc|qemu, ``vmid``, ``node``, ``name``,
``status``, ``tags`` as ``;``-joined text, ``pool``, ``template`` 0|1); they include VMs and
pools, which pvesim does not simulate. The same plugin against pvesim's HTTPS API is in
test_pve_inventory_pvesim.py and the molecule scenario ``inventory``.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.lxcri.containers.plugins.plugin_utils._pveinventory import guests, naming, source

SECRET = "0b3f7a3e-1111-2222-3333-444455556666"


def row(vmid, name, type_="lxc", node="pve1", status="running", tags=None, pool=None, template=0):
    entry = {"id": "%s/%d" % (type_, vmid), "type": type_, "vmid": vmid, "node": node, "name": name, "status": status,
             "maxmem": 536870912, "mem": 0, "maxcpu": 1, "cpu": 0, "uptime": 0, "template": template}
    if tags is not None:
        entry["tags"] = tags
    if pool is not None:
        entry["pool"] = pool
    return entry


CLUSTER = [
    row(101, "web", tags="prod;web", pool="frontend"),
    row(102, "db", status="stopped", tags="prod", node="pve2"),
    row(103, "web", node="pve2", tags="staging"),
    row(200, "builder", type_="qemu", tags="ci"),
    row(900, "tpl", status="stopped", template=1),
]


class FakeProxmox:
    """proxmoxer's ``ProxmoxAPI(host, **kw)`` shape: ``api("path").get(**params)``; records every request."""

    instances: list = []

    def __init__(self, answers, host, **kwargs):
        self.answers = answers
        self.host = host
        self.kwargs = kwargs
        self.requests = []
        FakeProxmox.instances.append(self)

    def __call__(self, path):
        api = self

        class Resource:
            def get(self, **params):
                api.requests.append(("GET", "/" + path, params))
                answer = api.answers["/" + path]
                if isinstance(answer, Exception):
                    raise answer
                return json.loads(json.dumps(answer))

        return Resource()


def factory(answers):
    def make(host, **kwargs):
        return FakeProxmox(answers, host, **kwargs)
    return make


def load(tmp_path, config, answers=None, name="pve.yml"):
    """Parse ``config`` with the plugin as the inventory manager would; returns (inventory, plugin)."""
    FakeProxmox.instances = []
    path = tmp_path / name
    path.write_text(textwrap.dedent(config))
    plugin = inventory_loader.get("lxcri.containers.pve")
    assert plugin.verify_file(str(path))
    plugin.api_factory = factory(answers if answers is not None else {"/cluster/resources": CLUSTER})
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=True)
    return inventory, plugin


BASE = """
plugin: lxcri.containers.pve
api_host: pve.example.org
api_token_id: ansible@pve!inv
api_token_secret: %s
""" % SECRET


def hostvars(inventory, host):
    return inventory.get_host(host).get_vars()


def group_hosts(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


def test_one_request_lists_every_guest_with_its_vars(tmp_path):
    inventory, _plugin = load(tmp_path, BASE)
    (api,) = FakeProxmox.instances
    assert api.requests == [("GET", "/cluster/resources", {"type": "vm"})]
    assert api.host == "pve.example.org" and api.kwargs["token_name"] == "inv" and api.kwargs["user"] == "ansible@pve"
    assert api.kwargs["verify_ssl"] is True
    assert sorted(inventory.hosts) == ["builder", "db", "tpl", "web-101", "web-103"]
    assert {k: v for k, v in hostvars(inventory, "web-101").items() if k.startswith(("pve_", "ansible_connection"))} == {
        "pve_vmid": 101, "pve_name": "web", "pve_node": "pve1", "pve_type": "lxc", "pve_status": "running",
        "pve_tags": ["prod", "web"], "pve_pool": "frontend", "pve_template": False, "pve_lock": None,
        "ansible_connection": "lxcri.containers.pct"}
    assert "ansible_connection" not in hostvars(inventory, "builder")
    assert hostvars(inventory, "tpl")["pve_template"] is True


def test_groups_by_node_type_status_tag_and_pool(tmp_path):
    inventory, _plugin = load(tmp_path, BASE)
    assert group_hosts(inventory, "pve_node_pve1") == ["builder", "tpl", "web-101"]
    assert group_hosts(inventory, "pve_node_pve2") == ["db", "web-103"]
    assert group_hosts(inventory, "pve_type_lxc") == ["db", "tpl", "web-101", "web-103"]
    assert group_hosts(inventory, "pve_type_qemu") == ["builder"]
    assert group_hosts(inventory, "pve_status_stopped") == ["db", "tpl"]
    assert group_hosts(inventory, "pve_tag_prod") == ["db", "web-101"]
    assert group_hosts(inventory, "pve_pool_frontend") == ["web-101"]
    assert "pve_pool_None" not in inventory.groups


def test_secrets_never_reach_host_vars(tmp_path):
    answers = {"/cluster/resources": [row(300, "vm", type_="qemu")],
               "/nodes/pve1/qemu/300/config": {"name": "vm", "cipassword": "$5$hash", "digest": "abc", "memory": "512"}}
    inventory, _plugin = load(tmp_path, BASE + "want_config: true\n", answers)
    variables = hostvars(inventory, "vm")
    assert variables["pve_config"] == {"name": "vm", "memory": "512"}
    text = json.dumps(variables, default=str)
    assert SECRET not in text and "$5$hash" not in text and "ansible@pve!inv" not in text


@pytest.mark.parametrize("rows, expected", [
    # unique names stay as they are
    ([row(101, "a"), row(102, "b")], {"a": 101, "b": 102}),
    # every guest that shares a name gets its vmid, whatever the list order
    ([row(102, "web"), row(101, "web"), row(103, "db")], {"web-101": 101, "web-102": 102, "db": 103}),
    # a guest without a name is named by its vmid
    ([row(104, "")], {"104": 104}),
])
def test_naming_collisions_add_the_vmid(tmp_path, rows, expected):
    inventory, _plugin = load(tmp_path, BASE, {"/cluster/resources": rows})
    assert {name: hostvars(inventory, name)["pve_vmid"] for name in inventory.hosts} == expected


def test_a_collision_that_the_vmid_cannot_break_is_an_error_not_a_merge():
    clash = guests.guests_from_resources([row(101, "web"), row(102, "web"), row(103, "web-101")])
    with pytest.raises(naming.NamingError, match=r"'web-101' would be used by both lxc 101 and lxc 103"):
        naming.assign_names(clash, lambda guest: guest.name)


def test_host_name_template(tmp_path):
    inventory, _plugin = load(tmp_path, BASE + 'host_name: "{{ pve_node }}-{{ pve_name }}"\n')
    assert sorted(inventory.hosts) == ["pve1-builder", "pve1-tpl", "pve1-web", "pve2-db", "pve2-web"]


def test_filters_and_types(tmp_path):
    config = BASE + textwrap.dedent("""
    types: [lxc]
    filters:
      - pve_template is false
      - "'prod' in pve_tags or pve_node == 'pve2'"
    """)
    inventory, _plugin = load(tmp_path, config)
    assert sorted(inventory.hosts) == ["db", "web-101", "web-103"]


def test_filtered_out_guests_do_not_cause_collisions(tmp_path):
    inventory, _plugin = load(tmp_path, BASE + "filters: [\"pve_node == 'pve1'\"]\n")
    assert sorted(inventory.hosts) == ["builder", "tpl", "web"]


def test_a_broken_filter_names_itself(tmp_path):
    with pytest.raises(AnsibleParserError, match=r"filter 'no_such_var == 1' failed for vmid 101"):
        load(tmp_path, BASE + "filters: ['no_such_var == 1']\n")


def test_constructed_compose_groups_and_keyed_groups(tmp_path):
    config = BASE + textwrap.dedent("""
    compose:
      role: pve_tags | first
    groups:
      big_node: pve_node == 'pve1'
    keyed_groups:
      - key: pve_tags
        prefix: tag
    """)
    inventory, _plugin = load(tmp_path, config)
    assert hostvars(inventory, "web-101")["role"] == "prod"
    assert group_hosts(inventory, "big_node") == ["builder", "tpl", "web-101"]
    assert group_hosts(inventory, "tag_web") == ["web-101"]
    assert group_hosts(inventory, "tag_staging") == ["web-103"]


def test_interfaces_only_for_running_guests_and_agent_failures_warn(tmp_path):
    answers = {
        "/cluster/resources": [row(101, "ct"), row(102, "off", status="stopped"), row(200, "vm", type_="qemu")],
        "/nodes/pve1/lxc/101/interfaces": [
            {"name": "lo", "ip-addresses": [{"ip-address-type": "inet", "ip-address": "127.0.0.1", "prefix": 8}]},
            {"name": "eth0", "hwaddr": "bc:24:11:00:00:01",
             "ip-addresses": [{"ip-address-type": "inet", "ip-address": "10.0.0.5", "prefix": 24},
                              {"ip-address-type": "inet6", "ip-address": "fd00::5", "prefix": 64}]}],
        "/nodes/pve1/qemu/200/agent/network-get-interfaces": RuntimeError("500 Internal Server Error: QEMU guest agent is not running"),
    }
    inventory, _plugin = load(tmp_path, BASE + "want_interfaces: true\n", answers)
    (api,) = FakeProxmox.instances
    assert [r[1] for r in api.requests] == ["/cluster/resources", "/nodes/pve1/lxc/101/interfaces",
                                            "/nodes/pve1/qemu/200/agent/network-get-interfaces"]
    assert hostvars(inventory, "ct")["pve_ipv4_addresses"] == ["10.0.0.5"]
    assert hostvars(inventory, "ct")["pve_ipv6_addresses"] == ["fd00::5"]
    assert hostvars(inventory, "off")["pve_interfaces"] == []
    assert hostvars(inventory, "vm")["pve_ipv4_addresses"] == []


CACHED = BASE + textwrap.dedent("""
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: {cache_dir}
cache_timeout: 3600
""")


def test_cache_serves_the_second_parse_without_a_request_and_holds_no_secret(tmp_path):
    cache_dir = tmp_path / "cache"
    config = CACHED.format(cache_dir=cache_dir)
    first, plugin = load(tmp_path, config)
    plugin.update_cache_if_changed()
    assert len(FakeProxmox.instances) == 1
    second, _plugin = load(tmp_path, config, answers={})
    assert FakeProxmox.instances == []
    assert sorted(second.hosts) == sorted(first.hosts)
    stored = "".join(p.read_text() for p in cache_dir.iterdir())
    assert "web" in stored and SECRET not in stored and "ansible@pve" not in stored


def test_cache_is_bypassed_when_ansible_asks_for_a_refresh(tmp_path):
    config = CACHED.format(cache_dir=tmp_path / "cache")
    _first, plugin = load(tmp_path, config)
    plugin.update_cache_if_changed()
    path = tmp_path / "pve.yml"
    plugin = inventory_loader.get("lxcri.containers.pve")
    plugin.api_factory = factory({"/cluster/resources": [row(150, "new")]})
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(path), cache=False)   # --flush-cache / refresh_inventory
    assert sorted(inventory.hosts) == ["new"]


def test_environment_fallbacks_are_the_modules_ones():
    env = {"PROXMOX_HOST": "h", "PROXMOX_PORT": "8007", "PROXMOX_USER": "u@pve", "PROXMOX_PASSWORD": "pw",
           "PROXMOX_VALIDATE_CERTS": "false", "PROXMOX_API_TIMEOUT": "5"}
    params = source.api_params({"api_host": None, "api_user": "me@pam"}, environ=env)
    assert params == {"api_host": "h", "api_port": 8007, "api_user": "me@pam", "api_token_id": None, "api_token_secret": None,
                      "api_password": "pw", "validate_certs": False, "api_timeout": 5}
    assert source.api_params({}, environ={})["validate_certs"] is True


def test_a_bad_environment_value_names_the_option(monkeypatch, tmp_path):
    monkeypatch.setenv("PROXMOX_VALIDATE_CERTS", "maybe")
    with pytest.raises(AnsibleParserError, match="validate_certs.*'maybe' is not a valid bool"):
        load(tmp_path, BASE, {})
    assert FakeProxmox.instances == []


def test_missing_credentials_fail_before_any_request(tmp_path):
    with pytest.raises(AnsibleParserError, match="api_token_id"):
        load(tmp_path, "plugin: lxcri.containers.pve\napi_host: h\n", {})
    assert FakeProxmox.instances == []


def test_api_errors_say_what_failed(tmp_path):
    err = RuntimeError("401 Unauthorized: authentication failure")
    err.status_code = 401
    with pytest.raises(AnsibleParserError, match=r"listing the guests of the cluster: .*check api_user/api_token_id"):
        load(tmp_path, BASE, {"/cluster/resources": err})


def test_only_pve_yml_files_are_claimed(tmp_path):
    plugin = inventory_loader.get("lxcri.containers.pve")
    other = tmp_path / "hosts.yml"
    other.write_text("all: {}\n")
    assert not plugin.verify_file(str(other))
