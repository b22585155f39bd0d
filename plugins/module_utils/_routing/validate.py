# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn user data (``lxcri_routing``, backend names) into the routing model, or fail naming the culprit.

The whole table is validated before any container is routed, so a broken rule
fails every lookup, not only the lookups that happen to reach it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._routing.model import (
    BACKEND_HINTS,
    BACKENDS,
    MATCH_KINDS,
    RULE_KEYS,
    RULES_VAR,
    Rule,
)
from ansible_collections.lxcri.containers.plugins.module_utils._routing.patterns import Pattern, PatternError

# Keys of the earlier project's rule shape, with what to write instead.
_KEY_HINTS = {
    "pattern": "use 'containers' (a glob, or 're:<regex>' for a full-match regular expression)",
    "patterns": "use 'containers' (a glob, or 're:<regex>' for a full-match regular expression)",
    "runtime": "use 'backend'",
    "container": "use 'containers'",
    "names": "use 'containers'",
    "host": "use 'hosts'",
    "group": "use 'groups'",
}


def check_backend(value, field):
    """Return ``value`` if it names a backend, else raise ``invalid_argument`` on ``field``."""
    if isinstance(value, str) and value in BACKENDS:
        return value
    problem = "%r is not a backend; expected one of %s" % (value, ", ".join(BACKENDS))
    if isinstance(value, str):
        hint = BACKEND_HINTS.get(value.strip().lower())
        if hint is None and value.strip().lower() in BACKENDS:
            hint = value.strip().lower()
        if hint is not None:
            problem += " (did you mean %r?)" % (hint,)
    raise invalid_argument(field, problem)


def _as_pattern_list(value, field):
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, (list, tuple)):
        raise invalid_argument(field, "must be a pattern or a list of patterns, not %s" % (type(value).__name__,))
    if not value:
        raise invalid_argument(field, "is an empty list, so the rule could never match; remove the key or give a pattern")
    patterns = []
    for position, text in enumerate(value):
        try:
            patterns.append(Pattern(text))
        except PatternError as exc:
            raise invalid_argument("%s[%d]" % (field, position), str(exc)) from None
    return tuple(patterns)


def parse_rule(index, raw):
    """One rule dict -> ``Rule``; ``index`` is its position in ``lxcri_routing``."""
    where = "%s[%d]" % (RULES_VAR, index)
    if not isinstance(raw, Mapping):
        raise invalid_argument(where, "a rule must be a dict with 'backend' and at least one of %s, not %s" % (", ".join(MATCH_KINDS), type(raw).__name__))
    name = raw.get("name")
    if name is not None:
        if not isinstance(name, str) or not name:
            raise invalid_argument(where + ".name", "must be a non-empty string")
        where = "%s (%s)" % (where, name)
    unknown = sorted(str(key) for key in raw if key not in RULE_KEYS)
    if unknown:
        hints = ["%r: %s" % (key, _KEY_HINTS[key]) for key in unknown if key in _KEY_HINTS]
        problem = "unknown key(s) %s; a rule takes %s" % (", ".join(repr(key) for key in unknown), ", ".join(RULE_KEYS))
        if hints:
            problem += " (%s)" % ("; ".join(hints),)
        raise invalid_argument(where, problem)
    if "backend" not in raw:
        raise invalid_argument(where, "has no 'backend'; say where the containers it matches go (one of %s)" % (", ".join(BACKENDS),))
    backend = check_backend(raw["backend"], where + ".backend")
    matchers = {}
    for kind in MATCH_KINDS:
        if kind in raw and raw[kind] is not None:
            matchers[kind] = _as_pattern_list(raw[kind], "%s.%s" % (where, kind))
    if not matchers:
        raise invalid_argument(where, "has nothing to match; give at least one of %s" % (", ".join(MATCH_KINDS),))
    return Rule(index, name, backend, matchers)


def parse_rules(raw):
    """``lxcri_routing`` -> (list of ``Rule``, list of warning strings).

    ``None`` means no rules.  Rule names must be unique, so that a decision's
    ``rule`` identifies one rule.
    """
    if raw is None:
        return [], []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
        raise invalid_argument(RULES_VAR, "must be a list of rules, not %s" % (type(raw).__name__,))
    rules = []
    warnings = []
    seen = {}
    for index, item in enumerate(raw):
        rule = parse_rule(index, item)
        if rule.name is not None:
            if rule.name in seen:
                raise invalid_argument(rule.where + ".name", "duplicates the name of %s[%d]; rule names must be unique" % (RULES_VAR, seen[rule.name]))
            seen[rule.name] = index
        for kind, patterns in rule.matchers.items():
            for pattern in patterns:
                hint = pattern.regex_hint()
                if hint:
                    warnings.append("%s.%s: %s" % (rule.where, kind, hint))
        rules.append(rule)
    return rules, warnings
