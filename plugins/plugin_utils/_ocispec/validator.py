# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validate an OCI runtime ``config.json`` document against the official schema.

The schema files of opencontainers/runtime-spec v1.3.0 (Apache-2.0, see
``schema/LICENSE``) ship next to this file.  They are JSON Schema draft-04; this
module implements the draft-04 keywords itself so the collection needs no
third-party library on the controller.  The unit tests check it against the
spec's own good/bad fixtures and against the ``jsonschema`` library.

Every error is reported as ``$.json.path: message`` with messages worded as the
``jsonschema`` library words them.
"""

from __future__ import annotations

import json
import os
import re

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema")
CONFIG_SCHEMA = "config-schema.json"
SPEC_VERSION = "1.3.0"

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REPR_MAX = 60

_schema_cache = {}
_regex_cache = {}


class ValidationIssue:
    """One schema violation: where (``path``, a list of keys/indexes), what (``message``) and which ``keyword``."""

    __slots__ = ("path", "message", "keyword", "description")

    def __init__(self, path, message, keyword, description=None):
        self.path = list(path)
        self.message = message
        self.keyword = keyword
        self.description = description

    @property
    def json_path(self):
        return format_path(self.path)

    def __str__(self):
        return "%s: %s" % (self.json_path, self.message)

    def __repr__(self):
        return "ValidationIssue(%r)" % (str(self),)


def format_path(path):
    """``['process', 'env', 3]`` -> ``$.process.env[3]``; keys that are not identifiers are quoted."""
    out = ["$"]
    for part in path:
        if isinstance(part, int):
            out.append("[%d]" % part)
        elif _IDENTIFIER.match(part):
            out.append("." + part)
        else:
            out.append("[%s]" % json.dumps(part))
    return "".join(out)


def _short(value):
    """A repr like jsonschema's, cut short so a long (possibly secret) value is not echoed whole."""
    if isinstance(value, bool):
        text = "True" if value else "False"
    elif value is None:
        text = "None"
    else:
        text = repr(value)
    if len(text) > _REPR_MAX:
        text = text[:_REPR_MAX - 3] + "..."
    return text


def load_schema_file(name):
    """Load one shipped schema file by name (cached)."""
    if name not in _schema_cache:
        if os.path.basename(name) != name or not name.endswith(".json"):
            raise ValueError("schema reference %r points outside the shipped schema" % (name,))
        with open(os.path.join(SCHEMA_DIR, name), "rb") as handle:
            _schema_cache[name] = json.loads(handle.read().decode("utf-8"))
    return _schema_cache[name]


def _resolve(ref, base):
    """Resolve a ``$ref`` relative to the file ``base``; returns ``(schema, file_name)``."""
    file_part, _sep, fragment = ref.partition("#")
    name = file_part or base
    node = load_schema_file(name)
    if fragment:
        for token in fragment.lstrip("/").split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list):
                node = node[int(token)]
            else:
                node = node[token]
    return node, name


def _regex(pattern):
    compiled = _regex_cache.get(pattern)
    if compiled is None:
        compiled = _regex_cache[pattern] = re.compile(pattern)
    return compiled


def _is_type(value, name):
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "integer":
        # draft-04: a float is never an integer, not even 1.0
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return True


def _equal(one, two):
    """JSON equality: ``True`` is not ``1``, containers compare deeply."""
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(_equal(one[k], two[k]) for k in one)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(_equal(a, b) for a, b in zip(one, two))
    if isinstance(one, (dict, list)) or isinstance(two, (dict, list)):
        return False
    return one == two


def iter_issues(instance, schema, base, path=()):
    """Yield every :class:`ValidationIssue` of ``instance`` against ``schema`` (found in file ``base``)."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        # draft-04: a $ref replaces every sibling keyword
        target, target_base = _resolve(schema["$ref"], base)
        yield from iter_issues(instance, target, target_base, path)
        return

    description = schema.get("description")

    def issue(message, keyword):
        return ValidationIssue(path, message, keyword, description)

    wanted = schema.get("type")
    if wanted is not None:
        names = wanted if isinstance(wanted, list) else [wanted]
        if not any(_is_type(instance, name) for name in names):
            shown = ", ".join(repr(name) for name in names)
            yield issue("%s is not of type %s" % (_short(instance), shown), "type")
            return

    if "enum" in schema and not any(_equal(instance, choice) for choice in schema["enum"]):
        yield issue("%s is not one of %r" % (_short(instance), schema["enum"]), "enum")

    for keyword in ("allOf", "anyOf", "oneOf", "not"):
        if keyword in schema:
            yield from _combinators(keyword, schema[keyword], instance, base, path, issue)

    if isinstance(instance, str):
        yield from _string_issues(instance, schema, issue)
    elif isinstance(instance, (int, float)) and not isinstance(instance, bool):
        yield from _number_issues(instance, schema, issue)
    elif isinstance(instance, list):
        yield from _array_issues(instance, schema, base, path, issue)
    elif isinstance(instance, dict):
        yield from _object_issues(instance, schema, base, path, issue)


def _combinators(keyword, subschemas, instance, base, path, issue):
    if keyword == "allOf":
        for sub in subschemas:
            yield from iter_issues(instance, sub, base, path)
        return
    if keyword == "not":
        if not any(True for _found in iter_issues(instance, subschemas, base, path)):
            yield issue("%s should not be valid under %s" % (_short(instance), _short(subschemas)), "not")
        return
    results = [list(iter_issues(instance, sub, base, path)) for sub in subschemas]
    passing = sum(1 for found in results if not found)
    if passing == 0:
        message = "%s is not valid under any of the given schemas" % (_short(instance),)
        best = _best(results)
        if best is not None:
            message += " (closest match: %s: %s)" % (best.json_path, best.message)
        yield issue(message, keyword)
    elif keyword == "oneOf" and passing > 1:
        yield issue("%s is valid under each of %d of the given schemas" % (_short(instance), passing), "oneOf")


def _best(results):
    """The most specific issue of the branch that got furthest: deepest path, then fewest issues."""
    candidates = [found for found in results if found]
    if not candidates:
        return None
    branch = max(candidates, key=lambda found: (max(len(one.path) for one in found), -len(found)))
    return max(branch, key=lambda one: len(one.path))


def _string_issues(instance, schema, issue):
    if "minLength" in schema and len(instance) < schema["minLength"]:
        yield issue("%s is too short" % (_short(instance),), "minLength")
    if "maxLength" in schema and len(instance) > schema["maxLength"]:
        yield issue("%s is too long" % (_short(instance),), "maxLength")
    if "pattern" in schema and not _regex(schema["pattern"]).search(instance):
        yield issue("%s does not match %r" % (_short(instance), schema["pattern"]), "pattern")


def _number_issues(instance, schema, issue):
    if "minimum" in schema:
        limit = schema["minimum"]
        if schema.get("exclusiveMinimum"):
            if instance <= limit:
                yield issue("%s is less than or equal to the minimum of %s" % (_short(instance), limit), "minimum")
        elif instance < limit:
            yield issue("%s is less than the minimum of %s" % (_short(instance), limit), "minimum")
    if "maximum" in schema:
        limit = schema["maximum"]
        if schema.get("exclusiveMaximum"):
            if instance >= limit:
                yield issue("%s is greater than or equal to the maximum of %s" % (_short(instance), limit), "maximum")
        elif instance > limit:
            yield issue("%s is greater than the maximum of %s" % (_short(instance), limit), "maximum")
    if "multipleOf" in schema:
        factor = schema["multipleOf"]
        quotient = instance / factor
        if quotient != int(quotient):
            yield issue("%s is not a multiple of %s" % (_short(instance), factor), "multipleOf")


def _array_issues(instance, schema, base, path, issue):
    if "minItems" in schema and len(instance) < schema["minItems"]:
        yield issue("%s is too short" % (_short(instance),), "minItems")
    if "maxItems" in schema and len(instance) > schema["maxItems"]:
        yield issue("%s is too long" % (_short(instance),), "maxItems")
    if schema.get("uniqueItems"):
        for index, item in enumerate(instance):
            if any(_equal(item, other) for other in instance[:index]):
                yield issue("%s has non-unique elements" % (_short(instance),), "uniqueItems")
                break
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(instance):
            yield from iter_issues(item, items, base, tuple(path) + (index,))
    elif isinstance(items, list):
        for index, item in enumerate(instance[:len(items)]):
            yield from iter_issues(item, items[index], base, tuple(path) + (index,))
        extra = schema.get("additionalItems", True)
        if extra is False and len(instance) > len(items):
            yield issue("Additional items are not allowed", "additionalItems")
        elif isinstance(extra, dict):
            for index in range(len(items), len(instance)):
                yield from iter_issues(instance[index], extra, base, tuple(path) + (index,))


def _object_issues(instance, schema, base, path, issue):
    for name in schema.get("required", ()):
        if name not in instance:
            yield issue("%r is a required property" % (name,), "required")
    if "minProperties" in schema and len(instance) < schema["minProperties"]:
        yield issue("%s does not have enough properties" % (_short(instance),), "minProperties")
    if "maxProperties" in schema and len(instance) > schema["maxProperties"]:
        yield issue("%s has too many properties" % (_short(instance),), "maxProperties")
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties", True)
    unexpected = []
    for key, value in instance.items():
        child = tuple(path) + (key,)
        matched = False
        if key in properties:
            matched = True
            yield from iter_issues(value, properties[key], base, child)
        for pattern, sub in patterns.items():
            if _regex(pattern).search(key):
                matched = True
                yield from iter_issues(value, sub, base, child)
        if not matched:
            if extra is False:
                unexpected.append(key)
            elif isinstance(extra, dict):
                yield from iter_issues(value, extra, base, child)
    if unexpected:
        shown = ", ".join(repr(key) for key in unexpected)
        verb = "was" if len(unexpected) == 1 else "were"
        yield issue("Additional properties are not allowed (%s %s unexpected)" % (shown, verb), "additionalProperties")
    for key, dependency in schema.get("dependencies", {}).items():
        if key not in instance:
            continue
        if isinstance(dependency, list):
            for name in dependency:
                if name not in instance:
                    yield issue("%r is a dependency of %r" % (name, key), "dependencies")
        else:
            yield from iter_issues(instance, dependency, base, path)


def config_issues(document):
    """All schema violations of an OCI runtime ``config.json`` document (a parsed dict), sorted by path."""
    schema = load_schema_file(CONFIG_SCHEMA)
    found = list(iter_issues(document, schema, CONFIG_SCHEMA))
    found.sort(key=lambda one: (one.json_path, one.message))
    return found


def config_errors(document):
    """The violations as ``"$.path: message"`` strings; an empty list means the document is valid."""
    return [str(one) for one in config_issues(document)]


def document_errors(document):
    """Like :func:`config_errors`, but ``document`` may also be JSON text (bytes or str)."""
    if isinstance(document, bytes):
        document = document.decode("utf-8", "replace")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as exc:
            return ["$: not valid JSON: %s" % (exc,)]
    return config_errors(_plain(document))


def _plain(value):
    """Copy ``value`` into plain JSON types, dropping the subclasses Ansible data tagging adds."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value
