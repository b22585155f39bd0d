# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Name patterns: a shell glob (``fnmatch.fnmatchcase``) or, with ``re:``, a full-match regex.

The earlier project matched with a home-made engine where ``^kube`` meant
"exactly kube" and ``.*`` never matched anything.  Here a pattern means what
it means in Python: ``kube-*`` is ``fnmatch.fnmatchcase(name, "kube-*")`` and
``re:kube-.*`` is ``re.fullmatch("kube-.*", name)``.  Matching is case
sensitive in both forms.
"""

from __future__ import annotations

import fnmatch
import re

REGEX_PREFIX = "re:"


class PatternError(ValueError):
    """A pattern that cannot be used; the caller adds which rule it belongs to."""


class Pattern:
    """One compiled pattern; ``text`` is what the user wrote (with its ``re:`` prefix)."""

    __slots__ = ("text", "kind", "_regex", "_glob")

    def __init__(self, text):
        if not isinstance(text, str):
            raise PatternError("pattern %r is a %s, not a string" % (text, type(text).__name__))
        self.text = text
        if text.startswith(REGEX_PREFIX):
            body = text[len(REGEX_PREFIX):]
            if not body:
                raise PatternError("pattern %r has nothing after 're:'" % (text,))
            try:
                self._regex = re.compile(body)
            except re.error as exc:
                raise PatternError("pattern %r is not a valid regular expression: %s" % (text, exc)) from None
            self._glob = None
            self.kind = "regex"
        else:
            if not text:
                raise PatternError("empty pattern")
            self._regex = None
            self._glob = text
            self.kind = "glob"

    def matches(self, value):
        """True when ``value`` (a string) matches the whole pattern."""
        if self._regex is not None:
            return self._regex.fullmatch(value) is not None
        return fnmatch.fnmatchcase(value, self._glob)

    def regex_hint(self):
        """A warning text when a glob looks like it was meant as a regex, else ``None``.

        ``^kube`` or ``.*`` as globs are legal (they match the literal ``^kube``
        and names starting with a dot) but are almost always a regex written
        without the ``re:`` prefix, as in the earlier project's config files.
        """
        if self.kind != "glob":
            return None
        text = self.text
        if text.startswith("^") or text.endswith("$") or ".*" in text or "\\" in text or "|" in text or "+" in text:
            return "glob %r looks like a regular expression; write %r to match it as one" % (text, REGEX_PREFIX + text)
        return None

    def __eq__(self, other):
        return isinstance(other, Pattern) and other.text == self.text

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return "Pattern(%r)" % (self.text,)
