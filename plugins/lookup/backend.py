# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: backend
short_description: Decide which backend runs a container (lxc, crun, runc, vm or jail)
version_added: 0.1.0
description:
  - Returns the backend a container is routed to, one of V(lxc), V(crun), V(runc), V(vm) or V(jail).
  - "Precedence, first match wins: the container's own C(backend) field (when the term is a container spec);
    the host variable C(lxcri_backend); the ordered rules of the host variable C(lxcri_routing);
    the host variable C(lxcri_default_backend), which defaults to V(lxc)."
  - "A rule of C(lxcri_routing) is a dict with C(backend) and at least one of C(containers), C(hosts) and C(groups),
    each a pattern or a list of patterns, plus an optional unique C(name) used in explanations and errors.
    Every key given must match (C(containers) against the container name, C(hosts) against the inventory host name,
    C(groups) against any of the host's inventory groups); within one key any pattern may match."
  - "A pattern is a shell glob matched with Python's C(fnmatch.fnmatchcase) (V(kube-*), V(db-[0-9]*)), or, when it starts with
    V(re:), a regular expression that must match the whole name (C(re.fullmatch)): V(re:kube-.*) matches C(kube-ovn-1),
    V(re:^kube) matches only C(kube), V(re:.*) matches every name. Matching is case sensitive."
  - Globs that look like regular expressions (V(^kube), V(.*)) are accepted, as they are valid globs, but produce a warning.
  - The variables are read from the host given in O(host) (default the current host), so C(group_vars) apply per host.
  - The whole routing table is validated on every call. An unknown backend, an invalid regular expression, an unknown
    key or a rule with nothing to match fails the lookup with a message naming the rule (its position and name).
  - Use C(query) (or C(wantlist=true)) for several terms, since C(lookup) joins several strings with commas.
options:
  _terms:
    description:
      - Containers to route. Each is a container name, or a container spec (a dict with C(name) and optionally C(backend)),
        such as an item of C(lxcri_containers).
    required: true
    type: list
    elements: raw
  host:
    description:
      - The inventory host the containers are declared on. Its host name, groups and variables
        (C(lxcri_backend), C(lxcri_routing), C(lxcri_default_backend)) are used.
      - Defaults to the host the task runs for.
    type: str
  explain:
    description:
      - Return a dict C({backend, rule, reason}) per term instead of the backend name.
    type: bool
    default: false
  rules:
    description:
      - Routing rules to use instead of the host variable C(lxcri_routing). Same format.
    type: list
    elements: dict
  default_backend:
    description:
      - Backend to use when nothing else decides, instead of the host variable C(lxcri_default_backend).
    type: str
    choices: [lxc, crun, runc, vm, jail]
notes:
  - V(vm) and V(jail) are valid routing targets but the C(lxcri.containers.container) role cannot converge them yet and fails clearly.
seealso:
  - name: Python fnmatch
    description: The glob syntax used by patterns without the C(re:) prefix.
    link: https://docs.python.org/3/library/fnmatch.html
  - name: Python re.fullmatch
    description: The regular expression matching used by C(re:) patterns.
    link: https://docs.python.org/3/library/re.html#re.fullmatch
"""

EXAMPLES = r"""
# group_vars/all.yml
# lxcri_default_backend: lxc
# lxcri_routing:
#   - name: kube-network
#     containers: ["kube-ovn-*", "re:cilium-[a-z]+"]
#     backend: crun
#   - name: edge-hosts
#     groups: edge
#     backend: runc

- name: Show where a container goes
  ansible.builtin.debug:
    msg: "{{ lookup('lxcri.containers.backend', 'kube-ovn-1', host=inventory_hostname) }}"

- name: Show why
  ansible.builtin.debug:
    msg: "{{ lookup('lxcri.containers.backend', 'kube-ovn-1', explain=true) }}"
    # {"backend": "crun", "rule": "kube-network",
    #  "reason": "lxcri_routing[0] (kube-network) matched: container 'kube-ovn-1' matches 'kube-ovn-*'"}

- name: Route every declared container spec (their own backend field wins)
  ansible.builtin.set_fact:
    routed: "{{ query('lxcri.containers.backend', *lxcri_containers) }}"

- name: Route with an explicit table for another host
  ansible.builtin.debug:
    msg: >-
      {{ lookup('lxcri.containers.backend', 'db-1', host='node2',
                rules=[{'containers': 're:db-[0-9]+', 'backend': 'runc'}], default_backend='lxc') }}
"""

RETURN = r"""
_raw:
  description:
    - One entry per term. The backend name, or with O(explain=true) a dict with C(backend),
      C(rule) (the rule's name, C(lxcri_routing[N]) for an unnamed rule, or V(backend), V(lxcri_backend) or
      V(lxcri_default_backend) when no rule decided) and C(reason) (a sentence saying what matched).
  type: list
  elements: raw
"""

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible.utils.display import Display  # noqa: E402

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError  # noqa: E402
from ansible_collections.lxcri.containers.plugins.module_utils._routing.decide import RoutingTable  # noqa: E402
from ansible_collections.lxcri.containers.plugins.module_utils._routing.model import DEFAULT_VAR, HOST_VAR, RULES_VAR  # noqa: E402

display = Display()

_MISSING = object()


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if variables is None:
            variables = self._templar.available_variables or {}
        host, host_vars = self._host_view(variables, self.get_option("host"))

        rules = self.get_option("rules")
        if rules is None:
            rules = host_vars(RULES_VAR)
        default_backend = self.get_option("default_backend")
        if default_backend is None:
            default_backend = host_vars(DEFAULT_VAR)
        host_backend = host_vars(HOST_VAR)
        groups = host_vars("group_names") or ()

        try:
            table = RoutingTable(rules, default_backend)
            for warning in table.warnings:
                display.warning("lxcri.containers.backend: %s" % (warning,))
            decisions = []
            for term in terms:
                name, spec_backend = self._term(term)
                decisions.append(table.route(name, host=host, groups=groups, spec_backend=spec_backend, host_backend=host_backend))
        except LxcriError as exc:
            raise AnsibleLookupError(exc.msg) from None

        if self.get_option("explain"):
            return [decision.as_dict() for decision in decisions]
        return [decision.backend for decision in decisions]

    @staticmethod
    def _term(term):
        if isinstance(term, str):
            return term, None
        if isinstance(term, Mapping):
            if "name" not in term:
                raise AnsibleLookupError("a container spec passed to lxcri.containers.backend has no 'name': %r" % (dict(term),))
            return term["name"], term.get("backend")
        raise AnsibleLookupError("lxcri.containers.backend takes container names or container specs (dicts), not %s: %r" % (type(term).__name__, term))

    def _host_view(self, variables, host):
        """Return (host name, getter) for the variables of ``host`` (default: the current host)."""
        current = variables.get("inventory_hostname")
        if host is None or host == current:
            templar = self._templar

            def current_vars(key):
                value = variables.get(key, _MISSING)
                if value is _MISSING or value is None:
                    return None
                return templar.template(value)

            return current, current_vars

        hostvars = variables.get("hostvars")
        if hostvars is None or host not in hostvars:
            raise AnsibleLookupError("lxcri.containers.backend: host %r is not in the inventory" % (host,))
        view = hostvars[host]

        def other_vars(key):
            if key not in view:
                return None
            return view[key]

        return host, other_vars
