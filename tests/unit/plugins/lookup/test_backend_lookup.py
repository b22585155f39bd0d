# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lxcri.containers.backend lookup, loaded through ansible-core's plugin loader."""

from __future__ import annotations

import os
import sys

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.template import Templar, trust_as_template


def collections_root():
    """The directory holding ``ansible_collections/lxcri/containers``: on sys.path, or above this file."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in sys.path + [here]:
        candidate = os.path.abspath(entry or ".")
        while True:
            if os.path.isfile(os.path.join(candidate, "ansible_collections", "lxcri", "containers", "galaxy.yml")):
                return candidate
            parent = os.path.dirname(candidate)
            if entry != here or parent == candidate:
                break
            candidate = parent
    raise RuntimeError("the lxcri.containers collection is not importable; put the directory holding ansible_collections on PYTHONPATH")


@pytest.fixture(scope="module")
def lookup():
    if not any(type(finder).__name__ == "_AnsibleCollectionFinder" for finder in sys.meta_path):
        # Plain pytest (not ansible-test): other test modules may already have imported the collection as
        # an ordinary namespace package.  Drop those package entries (not the leaf modules, so classes keep
        # their identity) so ansible's collection loader can import them again with collection metadata.
        for name in ("ansible_collections", "ansible_collections.lxcri", "ansible_collections.lxcri.containers"):
            sys.modules.pop(name, None)
        init_plugin_loader([collections_root()])
    loader = DataLoader()
    plugin = lookup_loader.get("lxcri.containers.backend", loader=loader, templar=Templar(loader=loader))
    assert plugin is not None, "lookup plugin lxcri.containers.backend not found"
    return plugin


def run(plugin, terms, variables, **kwargs):
    plugin._templar.available_variables = variables
    return plugin.run(terms, variables=variables, **kwargs)


RULES = [
    {"name": "kube", "containers": ["kube-ovn-*", "re:cilium-[a-z]+"], "backend": "crun"},
    {"name": "edge", "groups": "edge", "backend": "runc"},
]


def host_vars(**extra):
    variables = {"inventory_hostname": "node1", "group_names": ["pve"], "lxcri_routing": RULES}
    variables.update(extra)
    return variables


def test_names_are_routed_with_the_current_hosts_variables(lookup):
    assert run(lookup, ["kube-ovn-1", "cilium-agent", "web"], host_vars()) == ["crun", "crun", "lxc"]


def test_default_backend_variable(lookup):
    assert run(lookup, ["web"], host_vars(lxcri_default_backend="runc")) == ["runc"]


def test_group_rule_uses_group_names(lookup):
    assert run(lookup, ["web"], host_vars(group_names=["edge", "pve"])) == ["runc"]


def test_host_variable_beats_rules(lookup):
    assert run(lookup, ["kube-ovn-1"], host_vars(lxcri_backend="lxc")) == ["lxc"]


def test_container_spec_backend_field_wins(lookup):
    specs = [{"name": "kube-ovn-1", "backend": "runc", "memory": 64}, {"name": "kube-ovn-2"}]
    assert run(lookup, specs, host_vars(lxcri_backend="lxc")) == ["runc", "lxc"]


def test_explain_returns_backend_rule_and_reason(lookup):
    result = run(lookup, ["cilium-agent", "web"], host_vars(), explain=True)
    assert result == [
        {"backend": "crun", "rule": "kube", "reason": "lxcri_routing[0] (kube) matched: container 'cilium-agent' matches 're:cilium-[a-z]+'"},
        {"backend": "lxc", "rule": "lxcri_default_backend",
         "reason": "no rule in lxcri_routing matched container 'web' on host 'node1'; the built-in default is 'lxc'"},
    ]


def test_explicit_rules_and_default_options_replace_the_variables(lookup):
    rules = [{"containers": "web*", "backend": "runc"}]
    assert run(lookup, ["web", "kube-ovn-1"], host_vars(), rules=rules, default_backend="jail") == ["runc", "jail"]


def test_templated_variables_of_the_current_host_are_rendered(lookup):
    variables = host_vars(site_backend="runc")
    variables["lxcri_default_backend"] = trust_as_template("{{ site_backend }}")
    assert run(lookup, ["web"], variables) == ["runc"]


def test_errors_are_lookup_errors_naming_the_rule(lookup):
    bad = RULES + [{"name": "oops", "containers": "re:(", "backend": "crun"}]
    with pytest.raises(AnsibleLookupError) as info:
        run(lookup, ["web"], host_vars(lxcri_routing=bad))
    assert str(info.value).startswith("lxcri_routing[2] (oops).containers[0]: pattern 're:(' is not a valid regular expression")
    with pytest.raises(AnsibleLookupError, match=r"^lxcri_routing\[0\]: has nothing to match"):
        run(lookup, ["web"], host_vars(lxcri_routing=[{"backend": "crun"}]))
    with pytest.raises(AnsibleLookupError, match=r"^lxcri_routing\[0\] \(kube\)\.backend: 'docker' is not a backend"):
        run(lookup, ["web"], host_vars(lxcri_routing=[dict(RULES[0], backend="docker")]))


def test_bad_terms_are_refused(lookup):
    with pytest.raises(AnsibleLookupError, match="has no 'name'"):
        run(lookup, [{"backend": "crun"}], host_vars())
    with pytest.raises(AnsibleLookupError, match="not int"):
        run(lookup, [3], host_vars())


def test_unknown_host_is_refused(lookup):
    with pytest.raises(AnsibleLookupError, match="host 'ghost' is not in the inventory"):
        run(lookup, ["web"], host_vars(hostvars={}), host="ghost")
