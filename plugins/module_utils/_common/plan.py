# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Desired vs current canonical dicts -> a plan of actions, ``changed`` and a diff.

Every backend parses what it reads into a canonical dict, builds the desired
canonical dict from the module parameters, and lets this module decide what
differs.  Backends then turn the plan's actions into commands or API calls;
in check mode they stop after planning.
"""

from __future__ import annotations

import copy

_MISSING = object()


class KeyChange:
    """One top-level key whose value differs: ``before`` or ``after`` is ``None`` when absent."""

    __slots__ = ("key", "before", "after")

    def __init__(self, key, before, after):
        self.key = key
        self.before = before
        self.after = after

    @property
    def added(self):
        return self.before is None

    @property
    def removed(self):
        return self.after is None

    def __eq__(self, other):
        return isinstance(other, KeyChange) and (self.key, self.before, self.after) == (other.key, other.before, other.after)

    def __repr__(self):
        return "KeyChange(%r, %r, %r)" % (self.key, self.before, self.after)


def compare(current, desired, managed_keys=None, removable_keys=()):
    """Return the ``KeyChange`` list, sorted by key, that turns ``current`` into ``desired``.

    Only keys present in ``desired`` are compared (a key the user did not declare
    is left alone), except ``removable_keys``: those present in ``current`` but
    absent from ``desired`` are reported as removed.  ``managed_keys`` limits the
    comparison to those keys.  A desired value of ``None`` means "not declared".
    """
    changes = []
    keys = set(desired) | set(removable_keys)
    if managed_keys is not None:
        keys &= set(managed_keys)
    for key in sorted(keys):
        want = desired.get(key)
        have = current.get(key)
        if want is None:
            if key in removable_keys and have is not None:
                changes.append(KeyChange(key, have, None))
            continue
        if have != want:
            changes.append(KeyChange(key, have, want))
    return changes


class Action:
    """A step of a plan: a short ``kind`` (``create``, ``set``, ``start`` ...) and what it does.

    ``argv`` is the command the step runs (or an API call rendered as a list),
    filled in when it is known, so it can be returned in ``actions``.  ``run`` is
    the callable that performs the step; ``_common.executor.Executor`` calls it
    outside check mode, so a check-mode run shows the very actions a real run records.
    """

    __slots__ = ("kind", "description", "argv", "data", "run")

    def __init__(self, kind, description, argv=None, data=None, run=None):
        self.kind = kind
        self.description = description
        self.argv = list(argv) if argv is not None else None
        self.data = data
        self.run = run

    def to_result(self):
        result = {"kind": self.kind, "description": self.description}
        if self.argv is not None:
            result["argv"] = list(self.argv)
        return result

    def __repr__(self):
        return "Action(%r, %r)" % (self.kind, self.description)


class Plan:
    """The ordered actions that converge one object, with the before/after diff.

    ``before`` and ``after`` are canonical dicts (``None`` when the object does
    not exist on that side).  ``changed`` is true exactly when there is an
    action to run.
    """

    def __init__(self, before=None, after=None):
        self.before = copy.deepcopy(before)
        self.after = copy.deepcopy(after)
        self.actions = []

    def add(self, kind, description, argv=None, data=None, run=None):
        action = Action(kind, description, argv=argv, data=data, run=run)
        self.actions.append(action)
        return action

    @property
    def changed(self):
        return bool(self.actions)

    def diff(self, hidden_keys=()):
        """The ``diff`` result: only keys that differ, with ``hidden_keys`` masked.

        Secrets (passwords, tokens) go into ``hidden_keys`` so that diff mode
        shows that they change but never their values.
        """
        before = _prune(self.before, self.after, hidden_keys)
        after = _prune(self.after, self.before, hidden_keys)
        return {"before": before, "after": after}

    def result(self, hidden_keys=()):
        return {
            "changed": self.changed,
            "actions": [action.to_result() for action in self.actions],
            "diff": self.diff(hidden_keys),
        }


def _prune(side, other, hidden_keys):
    """Keep the keys of ``side`` that differ from ``other`` (whole dict if other is None)."""
    if side is None:
        return {}
    if not isinstance(side, dict):
        return side
    other = other if isinstance(other, dict) else {}
    pruned = {}
    for key, value in side.items():
        if other.get(key, _MISSING) == value:
            continue
        pruned[key] = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" if key in hidden_keys else copy.deepcopy(value)
    return pruned
