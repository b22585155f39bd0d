# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The routing data model: backends, rules and decisions.

Parsing and validation live in ``validate``, matching in ``patterns`` and the
precedence in ``decide``; this file only holds the shapes they share.
"""

from __future__ import annotations

# Every backend a container can be routed to.  ``vm`` and ``jail`` are valid
# routing targets (so a routing table can be written today) but nothing can
# converge them yet; ``WORKING_BACKENDS`` is what the container role accepts.
BACKENDS = ("lxc", "crun", "runc", "vm", "jail")
WORKING_BACKENDS = ("lxc", "crun", "runc")
DEFAULT_BACKEND = "lxc"

# Names of the variables and fields the precedence reads, used as the ``rule``
# of decisions that did not come from a routing rule.
SPEC_FIELD = "backend"
HOST_VAR = "lxcri_backend"
RULES_VAR = "lxcri_routing"
DEFAULT_VAR = "lxcri_default_backend"

# The three things a rule can match, in the order they are reported.
MATCH_KINDS = ("containers", "hosts", "groups")
RULE_KEYS = ("name", "backend") + MATCH_KINDS

# Spellings used by the earlier project (or elsewhere) mapped to a hint.
BACKEND_HINTS = {
    "proxmox-lxc": "lxc",
    "pct": "lxc",
    "proxmox": "vm",
    "qemu": "vm",
    "kvm": "vm",
}


class Rule:
    """One entry of ``lxcri_routing``.

    ``matchers`` maps each match kind present in the rule to its compiled
    patterns.  Every kind present must match (AND); within a kind any
    pattern may match (OR).
    """

    __slots__ = ("index", "name", "backend", "matchers")

    def __init__(self, index, name, backend, matchers):
        self.index = index
        self.name = name
        self.backend = backend
        self.matchers = matchers

    @property
    def label(self):
        """How decisions and errors name this rule: its ``name``, else its position."""
        if self.name:
            return self.name
        return "%s[%d]" % (RULES_VAR, self.index)

    @property
    def where(self):
        """The rule's position and, when it has one, its name, for error messages."""
        if self.name:
            return "%s[%d] (%s)" % (RULES_VAR, self.index, self.name)
        return "%s[%d]" % (RULES_VAR, self.index)

    def __repr__(self):
        return "Rule(%r, %r, %r, %r)" % (self.index, self.name, self.backend, self.matchers)


class Decision:
    """Where a container goes and why: ``backend``, ``rule`` (what decided) and ``reason``."""

    __slots__ = ("backend", "rule", "reason")

    def __init__(self, backend, rule, reason):
        self.backend = backend
        self.rule = rule
        self.reason = reason

    def as_dict(self):
        return {"backend": self.backend, "rule": self.rule, "reason": self.reason}

    def __eq__(self, other):
        return isinstance(other, Decision) and self.as_dict() == other.as_dict()

    def __repr__(self):
        return "Decision(%r, %r, %r)" % (self.backend, self.rule, self.reason)
