# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The routing table: precedence, globs, regexes, hosts and groups, errors, explanations."""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._routing.decide import RoutingTable, route
from ansible_collections.lxcri.containers.plugins.module_utils._routing.model import BACKENDS, Decision
from ansible_collections.lxcri.containers.plugins.module_utils._routing.patterns import Pattern, PatternError


def backend_of(name, rules=None, **kwargs):
    return route(name, rules=rules, **kwargs).backend


def error_of(*args, **kwargs):
    with pytest.raises(LxcriError) as info:
        route(*args, **kwargs)
    assert info.value.error_kind == "invalid_argument"
    return info.value


# ---------------------------------------------------------------- precedence

RULES = [{"name": "kube", "containers": "kube-*", "backend": "crun"}]


def test_default_is_lxc_when_nothing_is_set():
    decision = route("web-1")
    assert decision == Decision("lxc", "lxcri_default_backend", "lxcri_routing is empty; the built-in default is 'lxc'")


def test_default_backend_variable_is_used_when_no_rule_matches():
    decision = route("web-1", rules=RULES, default_backend="runc", host="node1")
    assert decision.backend == "runc"
    assert decision.rule == "lxcri_default_backend"
    assert decision.reason == "no rule in lxcri_routing matched container 'web-1' on host 'node1'; lxcri_default_backend is 'runc'"


def test_matching_rule_beats_default():
    assert route("kube-ovn-1", rules=RULES, default_backend="runc").backend == "crun"


def test_host_variable_beats_rules_and_default():
    decision = route("kube-ovn-1", rules=RULES, default_backend="runc", host="node1", host_backend="lxc")
    assert decision == Decision("lxc", "lxcri_backend", "host 'node1' sets lxcri_backend: lxc")


def test_container_field_beats_everything():
    decision = route("kube-ovn-1", rules=RULES, default_backend="lxc", host="node1", host_backend="lxc", spec_backend="runc")
    assert decision == Decision("runc", "backend", "container 'kube-ovn-1' sets backend: runc")


def test_empty_strings_count_as_unset():
    decision = route("kube-ovn-1", rules=RULES, default_backend="", host="node1", host_backend="", spec_backend="")
    assert decision.rule == "kube"
    assert route("web", rules=RULES, default_backend="").reason.endswith("the built-in default is 'lxc'")


def test_first_matching_rule_wins_in_order():
    rules = [
        {"name": "first", "containers": "kube-ovn-*", "backend": "runc"},
        {"name": "second", "containers": "kube-*", "backend": "crun"},
    ]
    assert route("kube-ovn-1", rules=rules).rule == "first"
    assert route("kube-proxy", rules=rules).rule == "second"
    assert route("kube-ovn-1", rules=list(reversed(rules))).rule == "second"


def test_vm_and_jail_are_valid_routing_targets():
    rules = [{"containers": "win-*", "backend": "vm"}, {"containers": "bsd-*", "backend": "jail"}]
    assert backend_of("win-1", rules) == "vm"
    assert backend_of("bsd-1", rules) == "jail"


# ---------------------------------------------------------------- globs (fnmatch.fnmatchcase)

@pytest.mark.parametrize("pattern,name,expected", [
    ("kube-*", "kube-ovn-1", True),
    ("kube-*", "kube-", True),
    ("kube-*", "kubelet", False),
    ("kube-*", "x-kube-1", False),
    # the earlier project's non-backtracking '*' did not match these
    ("*-db", "my-app-db", True),
    ("*-db-*", "a-db-b-db-c", True),
    ("a*b*c", "aXbYbZc", True),
    ("db-[0-9]*", "db-7", True),
    ("db-[0-9]*", "db-x", False),
    ("db-[!0-9]*", "db-x", True),
    ("web-?", "web-1", True),
    ("web-?", "web-10", False),
    ("*", "anything", True),
    # case sensitive, whatever the platform
    ("Kube-*", "kube-1", False),
    ("kube-*", "KUBE-1", False),
    # a glob is a glob: '.*' means "starts with a dot", '^kube' the literal text
    (".*", "kube-ovn", False),
    (".*", ".hidden", True),
    ("^kube", "kube", False),
    ("^kube", "^kube", True),
])
def test_glob_patterns_mean_what_fnmatchcase_means(pattern, name, expected):
    assert Pattern(pattern).matches(name) is expected
    assert fnmatch.fnmatchcase(name, pattern) is expected
    assert (backend_of(name, [{"containers": pattern, "backend": "crun"}]) == "crun") is expected


# ---------------------------------------------------------------- regexes (re.fullmatch)

@pytest.mark.parametrize("pattern,name,expected", [
    ("re:kube-.*", "kube-ovn-1", True),
    ("re:kube-.*", "my-kube-1", False),
    # full match: a regex is anchored at both ends, with or without ^ and $
    ("re:kube", "kube-ovn", False),
    ("re:kube", "kube", True),
    ("re:^kube", "kube", True),
    ("re:^kube", "kube-ovn", False),
    ("re:^kube.*", "kube-ovn", True),
    ("re:.*", "anything-at-all", True),
    ("re:.*", "x", True),
    ("re:.*-db", "my-app-db", True),
    ("re:(web|api)-[0-9]+", "api-12", True),
    ("re:(web|api)-[0-9]+", "api-", False),
    (r"re:db-\d{2}", "db-42", True),
    (r"re:db-\d{2}", "db-421", False),
    ("re:Kube-.*", "kube-1", False),
    ("re:(?i)kube-.*", "KUBE-1", True),
])
def test_regex_patterns_mean_what_re_fullmatch_means(pattern, name, expected):
    assert Pattern(pattern).matches(name) is expected
    assert (re.fullmatch(pattern[3:], name) is not None) is expected
    assert (backend_of(name, [{"containers": pattern, "backend": "runc"}]) == "runc") is expected


def test_earlier_projects_example_table_now_routes_as_intended():
    # config.json.example of the earlier project, written with explicit 're:' prefixes
    rules = [
        {"containers": "re:^(kube-ovn-.*|cilium-.*)$", "backend": "crun"},
        {"containers": "re:.*", "backend": "lxc"},
    ]
    assert backend_of("kube-ovn-controller", rules, default_backend="runc") == "crun"
    assert backend_of("cilium-agent", rules, default_backend="runc") == "crun"
    # '.*' is a real catch-all now: the default (runc) is never reached
    decision = route("postgres", rules=rules, default_backend="runc")
    assert decision.backend == "lxc"
    assert decision.rule == "lxcri_routing[1]"
    # the legacy crun_name_patterns globs
    legacy = [{"containers": ["kube-ovn-*", "cilium-*"], "backend": "crun"}]
    assert backend_of("kube-ovn-1", legacy) == "crun"
    assert backend_of("cilium-x", legacy) == "crun"
    assert backend_of("coredns", legacy) == "lxc"


def test_globs_that_look_like_regexes_warn_but_are_kept():
    table = RoutingTable([{"name": "old", "containers": ["^kube", ".*", "web-*"], "backend": "crun"}])
    assert table.warnings == [
        "lxcri_routing[0] (old).containers: glob '^kube' looks like a regular expression; write 're:^kube' to match it as one",
        "lxcri_routing[0] (old).containers: glob '.*' looks like a regular expression; write 're:.*' to match it as one",
    ]
    assert table.route("kube-ovn").backend == "lxc"
    assert table.route("web-1").backend == "crun"
    assert RoutingTable([{"containers": "re:^kube.*", "backend": "crun"}]).warnings == []


# ---------------------------------------------------------------- hosts and groups

def test_rule_matching_inventory_host_by_glob_and_regex():
    rules = [
        {"name": "edge", "hosts": "edge-*", "backend": "runc"},
        {"name": "pve", "hosts": "re:pve-[0-9]+", "backend": "lxc"},
    ]
    table = RoutingTable(rules, default_backend="crun")
    assert table.route("web", host="edge-3").rule == "edge"
    assert table.route("web", host="pve-12").rule == "pve"
    assert table.route("web", host="pve-12a").rule == "lxcri_default_backend"
    # no host known: a host rule cannot match
    assert table.route("web").rule == "lxcri_default_backend"


def test_rule_matching_any_inventory_group():
    table = RoutingTable([{"name": "oci", "groups": ["oci_*", "re:kube(rnetes)?"], "backend": "crun"}])
    assert table.route("web", host="h", groups=["dbservers", "oci_nodes"]).backend == "crun"
    assert table.route("web", host="h", groups=["kubernetes"]).backend == "crun"
    assert table.route("web", host="h", groups=["kubernetes-old"]).backend == "lxc"
    assert table.route("web", host="h", groups=[]).backend == "lxc"
    decision = table.route("web", host="h", groups=["web", "oci_nodes"])
    assert decision.reason == "lxcri_routing[0] (oci) matched: group 'oci_nodes' matches 'oci_*'"


def test_all_keys_of_a_rule_must_match():
    rules = [{"name": "edge-db", "containers": "db-*", "hosts": "edge-*", "groups": "ssd", "backend": "runc"}]
    table = RoutingTable(rules)
    assert table.route("db-1", host="edge-1", groups=["ssd"]).backend == "runc"
    assert table.route("db-1", host="edge-1", groups=["hdd"]).backend == "lxc"
    assert table.route("db-1", host="core-1", groups=["ssd"]).backend == "lxc"
    assert table.route("web-1", host="edge-1", groups=["ssd"]).backend == "lxc"
    decision = table.route("db-1", host="edge-1", groups=["hdd", "ssd"])
    assert decision.as_dict() == {
        "backend": "runc",
        "rule": "edge-db",
        "reason": "lxcri_routing[0] (edge-db) matched: container 'db-1' matches 'db-*'; host 'edge-1' matches 'edge-*'; group 'ssd' matches 'ssd'",
    }


def test_unnamed_rule_is_named_by_position():
    decision = route("a-1", rules=[{"containers": "b-*", "backend": "runc"}, {"containers": ["x", "a-*"], "backend": "crun"}])
    assert decision.as_dict() == {
        "backend": "crun",
        "rule": "lxcri_routing[1]",
        "reason": "lxcri_routing[1] matched: container 'a-1' matches 'a-*'",
    }


# ---------------------------------------------------------------- errors name the rule

def test_unknown_backend_in_rule_names_the_rule():
    exc = error_of("x", rules=[RULES[0], {"name": "bad", "containers": "x", "backend": "docker"}])
    assert exc.msg == "lxcri_routing[1] (bad).backend: 'docker' is not a backend; expected one of lxc, crun, runc, vm, jail"
    assert exc.details == {"field": "lxcri_routing[1] (bad).backend"}


def test_earlier_projects_backend_spellings_get_a_hint():
    exc = error_of("x", rules=[{"containers": "x", "backend": "proxmox-lxc"}])
    assert exc.msg.endswith("(did you mean 'lxc'?)")
    assert error_of("x", rules=[{"containers": "x", "backend": "proxmox"}]).msg.endswith("(did you mean 'vm'?)")
    assert error_of("x", default_backend="CRUN").msg.startswith("lxcri_default_backend: 'CRUN' is not a backend")
    assert error_of("x", default_backend="CRUN").msg.endswith("(did you mean 'crun'?)")


def test_invalid_regex_names_the_rule_and_the_pattern():
    exc = error_of("x", rules=[{"name": "broken", "containers": ["ok-*", "re:kube-(ovn"], "backend": "crun"}])
    assert exc.msg.startswith("lxcri_routing[0] (broken).containers[1]: pattern 're:kube-(ovn' is not a valid regular expression: ")
    assert "missing )" in exc.msg


def test_rule_with_nothing_to_match_names_the_rule():
    exc = error_of("x", rules=[RULES[0], {"backend": "crun"}])
    assert exc.msg == "lxcri_routing[1]: has nothing to match; give at least one of containers, hosts, groups"
    exc = error_of("x", rules=[{"name": "empty", "hosts": None, "backend": "crun"}])
    assert exc.msg == "lxcri_routing[0] (empty): has nothing to match; give at least one of containers, hosts, groups"


def test_empty_pattern_list_is_refused():
    exc = error_of("x", rules=[{"name": "e", "groups": [], "backend": "crun"}])
    assert exc.msg == "lxcri_routing[0] (e).groups: is an empty list, so the rule could never match; remove the key or give a pattern"


@pytest.mark.parametrize("pattern,problem", [
    ("", "empty pattern"),
    ("re:", "pattern 're:' has nothing after 're:'"),
    (5, "pattern 5 is a int, not a string"),
])
def test_unusable_patterns_are_refused(pattern, problem):
    exc = error_of("x", rules=[{"containers": ["a", pattern], "backend": "crun"}])
    assert exc.msg == "lxcri_routing[0].containers[1]: " + problem


def test_earlier_projects_rule_shape_gets_a_hint():
    exc = error_of("x", rules=[{"pattern": "^kube", "runtime": "crun"}])
    assert exc.msg == (
        "lxcri_routing[0]: unknown key(s) 'pattern', 'runtime'; a rule takes name, backend, containers, hosts, groups "
        "('pattern': use 'containers' (a glob, or 're:<regex>' for a full-match regular expression); 'runtime': use 'backend')"
    )


def test_rule_without_backend_is_refused():
    assert error_of("x", rules=[{"containers": "x"}]).msg.startswith("lxcri_routing[0]: has no 'backend'")


@pytest.mark.parametrize("rules,message", [
    ("kube-*", "lxcri_routing: must be a list of rules, not str"),
    ({"containers": "x", "backend": "crun"}, "lxcri_routing: must be a list of rules, not dict"),
    (["kube-*"], "lxcri_routing[0]: a rule must be a dict with 'backend' and at least one of containers, hosts, groups, not str"),
    ([{"name": "", "containers": "x", "backend": "crun"}], "lxcri_routing[0].name: must be a non-empty string"),
    ([{"containers": {"a": 1}, "backend": "crun"}], "lxcri_routing[0].containers: must be a pattern or a list of patterns, not dict"),
])
def test_malformed_tables_are_refused(rules, message):
    assert error_of("x", rules=rules).msg == message


def test_duplicate_rule_names_are_refused():
    rules = [{"name": "a", "containers": "x", "backend": "crun"}, {"name": "a", "containers": "y", "backend": "runc"}]
    assert error_of("x", rules=rules).msg == "lxcri_routing[1] (a).name: duplicates the name of lxcri_routing[0]; rule names must be unique"


def test_whole_table_is_validated_even_when_an_earlier_rule_matches():
    rules = [{"containers": "*", "backend": "crun"}, {"name": "later", "containers": "re:[", "backend": "crun"}]
    assert error_of("anything", rules=rules).msg.startswith("lxcri_routing[1] (later).containers[0]: pattern 're:[' is not a valid")


def test_invalid_container_and_host_backends_name_their_source():
    assert error_of("web-1", spec_backend="podman").msg.startswith("web-1.backend: 'podman' is not a backend")
    assert error_of("web-1", host="node1", host_backend="qemu").msg == (
        "lxcri_backend (host node1): 'qemu' is not a backend; expected one of lxc, crun, runc, vm, jail (did you mean 'vm'?)"
    )
    # an invalid host variable fails even when the container's own field would decide
    assert error_of("web-1", host="node1", host_backend="nope", spec_backend="crun").details["field"] == "lxcri_backend (host node1)"


@pytest.mark.parametrize("name", ["", None, 12, ["a"]])
def test_container_name_must_be_a_non_empty_string(name):
    assert error_of(name).details == {"field": "name"}


def test_groups_must_be_a_list_of_strings():
    assert error_of("x", groups="web").msg == "groups: must be a list of inventory group names, not str"
    assert error_of("x", groups=[1]).msg == "groups: group names must be strings, got 1"


# ---------------------------------------------------------------- properties

NAMES = st.text(alphabet="abcxyz-.0123456789*?[]^$", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(name=NAMES, pattern=st.text(alphabet="abc-*?.", min_size=1, max_size=6))
def test_glob_matching_is_exactly_fnmatchcase(name, pattern):
    assert Pattern(pattern).matches(name) == fnmatch.fnmatchcase(name, pattern)


@settings(max_examples=300, deadline=None)
@given(name=NAMES, body=st.text(alphabet="abc-.*+?|", min_size=1, max_size=6))
def test_regex_matching_is_exactly_re_fullmatch(name, body):
    try:
        compiled = re.compile(body)
    except re.error:
        with pytest.raises(PatternError):
            Pattern("re:" + body)
        return
    assert Pattern("re:" + body).matches(name) == (compiled.fullmatch(name) is not None)


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(alphabet="ab-1", min_size=1, max_size=5),
    rules=st.lists(
        st.fixed_dictionaries({"containers": st.text(alphabet="ab-1*?", min_size=1, max_size=4), "backend": st.sampled_from(BACKENDS)}),
        max_size=6,
    ),
)
def test_decision_is_the_first_rule_whose_glob_matches(name, rules):
    expected = next((index for index, rule in enumerate(rules) if fnmatch.fnmatchcase(name, rule["containers"])), None)
    decision = route(name, rules=rules, default_backend="jail")
    if expected is None:
        assert decision.rule == "lxcri_default_backend"
        assert decision.backend == "jail"
    else:
        assert decision.rule == "lxcri_routing[%d]" % expected
        assert decision.backend == rules[expected]["backend"]
