# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The routing precedence: which backend a container goes to, and why.

First match wins:

1. the container's own ``backend`` field;
2. the host variable ``lxcri_backend``;
3. the ordered rules of ``lxcri_routing`` (container name, inventory host,
   inventory groups; see ``validate`` and ``patterns``);
4. ``lxcri_default_backend``, itself defaulting to ``lxc``.

An empty string counts as unset for the three backend inputs (``backend: ""`` or
``lxcri_backend=`` in an INI inventory).  Every input is validated up front (an invalid default fails even when a rule
matched), so a table that works for one container works for all of them.
"""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._routing.model import (
    DEFAULT_BACKEND,
    DEFAULT_VAR,
    HOST_VAR,
    RULES_VAR,
    SPEC_FIELD,
    Decision,
)
from ansible_collections.lxcri.containers.plugins.module_utils._routing.validate import check_backend, parse_rules


def _check_name(name):
    if not isinstance(name, str) or not name:
        raise invalid_argument("name", "a container name must be a non-empty string, got %r" % (name,))
    return name


def _check_groups(groups):
    if groups is None:
        return ()
    if isinstance(groups, str) or not isinstance(groups, (list, tuple, set, frozenset)):
        raise invalid_argument("groups", "must be a list of inventory group names, not %s" % (type(groups).__name__,))
    for group in groups:
        if not isinstance(group, str):
            raise invalid_argument("groups", "group names must be strings, got %r" % (group,))
    return tuple(groups)


class RoutingTable:
    """A validated ``lxcri_routing`` plus its default; ``route()`` makes decisions.

    ``warnings`` lists patterns that are legal but probably not what the user
    meant (a glob that looks like a regex).
    """

    def __init__(self, rules=None, default_backend=None):
        self.rules, self.warnings = parse_rules(rules)
        if default_backend is None or default_backend == "":
            self.default_backend = DEFAULT_BACKEND
            self._default_origin = "the built-in default is %r" % (DEFAULT_BACKEND,)
        else:
            self.default_backend = check_backend(default_backend, DEFAULT_VAR)
            self._default_origin = "%s is %r" % (DEFAULT_VAR, self.default_backend)

    def route(self, name, host=None, groups=(), spec_backend=None, host_backend=None):
        """Return the ``Decision`` for container ``name`` declared on inventory ``host``.

        ``groups`` are the host's inventory groups, ``spec_backend`` the
        container's own ``backend`` field and ``host_backend`` the host's
        ``lxcri_backend`` (``None`` when unset).
        """
        name = _check_name(name)
        groups = _check_groups(groups)
        if host is not None and not isinstance(host, str):
            raise invalid_argument("host", "an inventory host name must be a string, got %r" % (host,))
        on_host = " on host %r" % (host,) if host else ""
        if spec_backend == "":
            spec_backend = None
        if host_backend == "":
            host_backend = None
        if spec_backend is not None:
            spec_backend = check_backend(spec_backend, "%s.%s" % (name, SPEC_FIELD))
        if host_backend is not None:
            host_backend = check_backend(host_backend, "%s (host %s)" % (HOST_VAR, host) if host else HOST_VAR)

        if spec_backend is not None:
            return Decision(spec_backend, SPEC_FIELD, "container %r sets %s: %s" % (name, SPEC_FIELD, spec_backend))
        if host_backend is not None:
            return Decision(host_backend, HOST_VAR, "host %r sets %s: %s" % (host, HOST_VAR, host_backend))

        for rule in self.rules:
            evidence = []
            for kind, patterns in rule.matchers.items():
                found = self._match(kind, patterns, name, host, groups)
                if found is None:
                    break
                evidence.append(found)
            else:
                return Decision(rule.backend, rule.label, "%s matched: %s" % (rule.where, "; ".join(evidence)))

        if self.rules:
            why = "no rule in %s matched container %r%s; %s" % (RULES_VAR, name, on_host, self._default_origin)
        else:
            why = "%s is empty; %s" % (RULES_VAR, self._default_origin)
        return Decision(self.default_backend, DEFAULT_VAR, why)

    @staticmethod
    def _match(kind, patterns, name, host, groups):
        """The evidence sentence when one of ``patterns`` matches, else ``None``."""
        if kind == "containers":
            for pattern in patterns:
                if pattern.matches(name):
                    return "container %r matches %r" % (name, pattern.text)
            return None
        if kind == "hosts":
            if not host:
                return None
            for pattern in patterns:
                if pattern.matches(host):
                    return "host %r matches %r" % (host, pattern.text)
            return None
        for pattern in patterns:
            for group in groups:
                if pattern.matches(group):
                    return "group %r matches %r" % (group, pattern.text)
        return None


def route(name, rules=None, default_backend=None, host=None, groups=(), spec_backend=None, host_backend=None):
    """One-shot helper: build a ``RoutingTable`` and route ``name`` (see ``RoutingTable.route``)."""
    return RoutingTable(rules, default_backend).route(name, host=host, groups=groups, spec_backend=spec_backend, host_backend=host_backend)
