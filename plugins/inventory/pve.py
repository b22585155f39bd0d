# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: pve
short_description: Proxmox VE containers and VMs as inventory hosts
version_added: 0.1.0
description:
  - Lists the LXC containers and QEMU VMs of a Proxmox VE cluster (or single node) with B(one) call of
    C(GET /cluster/resources?type=vm), and makes one inventory host per guest.
  - Per-guest detail calls are made only when asked, with O(want_config) and O(want_interfaces).
  - Host names come from O(host_name). When two guests would get the same name, each of them is named
    C(<name>-<vmid>) instead; two guests never become one host.
  - "Every host gets the variables C(pve_vmid), C(pve_name), C(pve_node), C(pve_type) (V(lxc) or V(qemu)),
    C(pve_status), C(pve_tags) (a list), C(pve_pool), C(pve_template) (bool) and C(pve_lock);
    C(pve_config) with O(want_config); C(pve_interfaces), C(pve_ipv4_addresses) and C(pve_ipv6_addresses) with
    O(want_interfaces); and C(ansible_connection) from O(lxc_connection) / O(qemu_connection)."
  - "Groups (names prefixed with O(group_prefix)): C(node_<node>), C(type_<lxc|qemu>), C(status_<status>),
    C(tag_<tag>) and C(pool_<pool>), on top of the ones of O(groups) and O(keyed_groups)."
  - The API credentials are used only to read; they are never set as host variables or stored in the cache.
  - The inventory source is a YAML file whose name ends in C(pve.yml) or C(pve.yaml).
extends_documentation_fragment:
  - lxcri.containers.pve.api
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; it makes a YAML file an inventory source of this plugin.
    type: str
    required: true
    choices: [lxcri.containers.pve]
  types:
    description: Which guests to list.
    type: list
    elements: str
    choices: [lxc, qemu]
    default: [lxc, qemu]
  host_name:
    description:
      - Jinja2 template of the host name of a guest, over its C(pve_*) variables, for example
        V({{ pve_node }}-{{ pve_name }}).
      - When not set, the guest's name (C(pve_name)). An empty result falls back to the vmid.
    type: str
  filters:
    description:
      - Jinja2 conditionals over a guest's C(pve_*) variables; a guest is listed only when every one of them is true.
      - A conditional that fails to evaluate is an error, whatever O(strict) says.
    type: list
    elements: str
    default: []
  want_config:
    description:
      - Also read each listed guest's configuration (one C(GET …/config) per guest) into C(pve_config).
      - Keys that carry secrets (C(cipassword)) and the C(digest) are left out.
    type: bool
    default: false
  want_interfaces:
    description:
      - Also read the network interfaces of each running guest (C(GET …/interfaces) for a CT, the QEMU guest agent's
        C(network-get-interfaces) for a VM) into C(pve_interfaces), C(pve_ipv4_addresses) and C(pve_ipv6_addresses).
      - A VM without a responding guest agent only gets a warning.
    type: bool
    default: false
  group_prefix:
    description: Prefix of the groups this plugin makes itself.
    type: str
    default: pve_
  lxc_connection:
    description:
      - C(ansible_connection) of the containers. The default runs tasks inside them with C(pct exec) on their node,
        which needs no network or SSH in the container.
      - An empty string sets none (the inventory's default connection applies).
    type: str
    default: lxcri.containers.pct
  qemu_connection:
    description:
      - C(ansible_connection) of the VMs; by default none is set (usually SSH).
    type: str
    default: ""
requirements:
  - The Python library proxmoxer >= 2.0 and requests on the controller.
notes:
  - "C(/cluster/resources) reports the status pvestatd last saw, which may be up to 10 seconds old."
  - With the pct connection the controller must be the container's node, or the node must be reachable
    as set in the connection's C(node_host) option.
seealso:
  - plugin: lxcri.containers.pct
    plugin_type: connection
"""

EXAMPLES = r"""
---
# pve.yml
plugin: lxcri.containers.pve
api_host: pve1.example.org
api_token_id: ansible@pve!inventory
# api_token_secret from the environment: PROXMOX_TOKEN_SECRET
validate_certs: true
want_interfaces: true
filters:
  - pve_template is false
keyed_groups:
  - key: pve_tags
    prefix: role
compose:
  ansible_host: pve_ipv4_addresses | first | default(pve_name)

---
# pve-running-cts.yml: only running containers, named <node>-<name>, cached for 5 minutes
plugin: lxcri.containers.pve
types: [lxc]
host_name: "{{ pve_node }}-{{ pve_name }}"
filters:
  - pve_status == 'running'
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/lxcri-pve
cache_timeout: 300

# Then: ansible-inventory -i pve.yml --graph
"""

from ansible.errors import AnsibleError, AnsibleParserError  # noqa: E402
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable  # noqa: E402
from ansible.template import trust_as_template  # noqa: E402

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError  # noqa: E402
from ansible_collections.lxcri.containers.plugins.module_utils._pve.transport_api import ApiTransport  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._pveinventory import guests as guest_model  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._pveinventory import source  # noqa: E402
from ansible_collections.lxcri.containers.plugins.plugin_utils._pveinventory.naming import NamingError, assign_names  # noqa: E402


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "lxcri.containers.pve"

    # Tests replace this to count requests or serve canned answers; it builds the API client from the options.
    api_factory = None

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("pve.yml", "pve.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        data = self._cached_or_fetched(path, cache)
        for warning in data.get("warnings") or []:
            self.display.warning(warning)
        self._populate(data)

    # -- data --------------------------------------------------------------------------------
    def _cached_or_fetched(self, path, cache):
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        if use_cache:
            try:
                return self._cache[cache_key]
            except KeyError:
                pass
        data = self._fetch()
        if self.get_option("cache"):
            self._cache[cache_key] = data
        return data

    def _fetch(self):
        options = {key: self.get_option(key) for key in source.API_OPTIONS}
        try:
            params = source.api_params(options)
            reader = ApiTransport(params, api_factory=self.api_factory)
            return source.fetch(reader, types=tuple(self.get_option("types")), want_config=self.get_option("want_config"),
                                want_interfaces=self.get_option("want_interfaces"))
        except LxcriError as exc:
            raise AnsibleParserError("lxcri.containers.pve: %s" % exc.msg) from None

    # -- hosts and groups ------------------------------------------------------------------
    def _populate(self, data):
        guests = guest_model.guests_from_resources(data["resources"], tuple(self.get_option("types")))
        variables = {}
        for guest in guests:
            key = str(guest.vmid)
            variables[guest.vmid] = guest_model.host_vars(
                guest, config=data["config"].get(key) if self.get_option("want_config") else None,
                interfaces=data["interfaces"].get(key, []) if self.get_option("want_interfaces") else None,
                connection=self._connection_for(guest))
        listed = [guest for guest in guests if self._passes_filters(variables[guest.vmid])]
        template = self.get_option("host_name")
        template = trust_as_template(template) if template else None
        try:
            names = assign_names(listed, lambda guest: self._host_name(guest, template, variables[guest.vmid]))
        except NamingError as exc:
            raise AnsibleParserError("lxcri.containers.pve: %s" % exc) from None
        strict = self.get_option("strict")
        for host_name, guest in names.items():
            host = self.inventory.add_host(host_name)
            host_vars = variables[guest.vmid]
            for key, value in host_vars.items():
                self.inventory.set_variable(host, key, value)
            self._add_fixed_groups(host, guest)
            self._set_composite_vars(self.get_option("compose"), host_vars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), host_vars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), host_vars, host, strict=strict)

    def _connection_for(self, guest):
        return self.get_option("lxc_connection") if guest.type == "lxc" else self.get_option("qemu_connection")

    def _host_name(self, guest, template, variables):
        if template is None:
            return guest.name
        return self._render(template, variables)

    def _render(self, template, variables):
        self.templar.available_variables = variables
        try:
            return str(self.templar.template(template))
        except AnsibleError as exc:
            raise AnsibleParserError("lxcri.containers.pve: host_name %r failed for vmid %s: %s"
                                     % (str(template), variables.get("pve_vmid"), exc)) from None

    def _passes_filters(self, variables):
        self.templar.available_variables = variables
        for condition in self.get_option("filters"):
            try:
                if not self.templar.evaluate_conditional(trust_as_template(condition)):
                    return False
            except AnsibleError as exc:
                raise AnsibleParserError("lxcri.containers.pve: filter %r failed for vmid %s: %s"
                                         % (condition, variables.get("pve_vmid"), exc)) from None
        return True

    def _add_fixed_groups(self, host, guest):
        prefix = self.get_option("group_prefix")
        names = ["node_%s" % guest.node, "type_%s" % guest.type, "status_%s" % guest.status]
        names += ["tag_%s" % tag for tag in guest.tags]
        if guest.pool:
            names.append("pool_%s" % guest.pool)
        for name in names:
            group = self.inventory.add_group(self._sanitize_group_name(prefix + name))
            self.inventory.add_child(group, host)
