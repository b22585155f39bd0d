# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parameter schemas and validation with PVE::JSONSchema's messages (contract §0.2).

A handler schema is ``{name: Param(...)}``.  :func:`validate` returns the typed parameters or
raises ``400 Parameter verification failed.`` with one message per bad parameter.
"""

from __future__ import annotations

import re

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


class FormatError(ValueError):
    """Raised by format checkers; the text becomes ``invalid format - <text>\\n`` (a format
    ``die``s with a newline, which PVE::Exception keeps: a blank line follows on the CLI)."""


class PropertyFormatError(FormatError):
    """``parse_property_string``'s ``raise "format error\\n", errors => {...}``: the errors of the
    keys of one property string, collected by ``check_object``."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__(self.render(None))

    def render(self, path: str | None) -> str:
        """PVE::Exception's text, the keys under ``path`` (``net0.ip``) as check_object names them."""
        return "format error\n" + "".join("%s: %s\n" % ("%s.%s" % (path, k) if path else k, self.errors[k])
                                          for k in sorted(self.errors))


class ParamFormatError(ValueError):
    """A property string parameter failed: its message depends on the parameter's name."""

    def __init__(self, error: PropertyFormatError):
        super().__init__(error.render(None))
        self.error = error

    def message_for(self, name: str) -> str:
        return "invalid format - " + self.error.render(name)


class Param:
    def __init__(self, type="string", optional=True, default=None, minimum=None, maximum=None, enum=None,
                 format=None, pattern=None, max_length=None, min_length=None, description="", typetext=None,
                 format_description=None, alias=None, cli_filepath=False, requires=None, list_format=False):
        self.type = type
        self.optional = optional
        self.default = default
        self.minimum = minimum
        self.maximum = maximum
        self.enum = enum
        self.format = format
        self.pattern = pattern
        self.max_length = max_length
        self.min_length = min_length
        self.description = description
        self.typetext = typetext
        self.format_description = format_description
        self.alias = alias
        self.cli_filepath = cli_filepath
        self.requires = requires
        self.list_format = list_format  # '-list' formats: may be repeated on the CLI

    def copy(self, **kw):
        p = Param.__new__(Param)
        p.__dict__.update(self.__dict__)
        p.__dict__.update(kw)
        return p


def _fmt_num(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def parse_bool(value, cli=False):
    """Return 1/0 or None if ``value`` is not a boolean.  REST: only 1/0/JSON bools (§4.1)."""
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return 1 if value == 1 else (0 if value == 0 else None)
    s = str(value)
    if s in ("1", "0"):
        return int(s)
    if cli:
        if s.lower() in TRUE_WORDS:
            return 1
        if s.lower() in FALSE_WORDS:
            return 0
    return None


def check_value(p, value, cli=False):
    """Type-check and normalise one value.  Returns the typed value; raises ValueError(msg)."""
    t = p.type
    if t == "array":
        return list(value) if isinstance(value, (list, tuple)) else [value]
    if t == "boolean":
        b = parse_bool(value, cli=cli)
        if b is None:
            raise ValueError("type check ('boolean') failed - got '%s'" % value)
        return b
    if t == "integer":
        if isinstance(value, bool):
            raise ValueError("type check ('integer') failed - got '%s'" % value)
        if isinstance(value, int):
            v = value
        else:
            if not re.match(r"^-?\d+$", str(value)):
                raise ValueError("type check ('integer') failed - got '%s'" % value)
            v = int(str(value))
    elif t == "number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = value
        else:
            s = str(value)
            if not re.match(r"^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", s):
                raise ValueError("type check ('number') failed - got '%s'" % s)
            v = float(s)
            if v.is_integer() and re.match(r"^-?\d+$", s):
                v = int(s)
    else:
        if isinstance(value, bool):
            value = "1" if value else "0"
        v = str(value)
    # PVE::JSONSchema::check_prop's order: format, pattern, maxLength, minLength, maximum, minimum, enum
    text = v if isinstance(v, str) else str(value)
    res = v
    if p.format is not None:
        try:
            formatted = p.format(text)
        except PropertyFormatError as exc:
            raise ParamFormatError(exc) from None
        except FormatError as exc:
            raise ValueError("invalid format - %s\n" % exc) from None
        if formatted is not None and isinstance(v, str):
            res = formatted
    if p.pattern is not None and not re.match("^(?:%s)$" % p.pattern, text):
        raise ValueError("value does not match the regex pattern")
    if p.max_length is not None and len(text) > p.max_length:
        raise ValueError("value may only be %d characters long" % p.max_length)
    if p.min_length is not None and len(text) < p.min_length:
        raise ValueError("value must be at least %d characters long" % p.min_length)
    if not isinstance(v, str):
        _check_range(p, v)
    if p.enum is not None and text not in p.enum:
        raise ValueError("value '%s' does not have a value in the enumeration '%s'" % (text, ", ".join(p.enum)))
    return res


def _check_range(p, v):
    if p.maximum is not None and v > p.maximum:
        raise ValueError("value must have a maximum value of %s" % _fmt_num(p.maximum))
    if p.minimum is not None and v < p.minimum:
        raise ValueError("value must have a minimum value of %s" % _fmt_num(p.minimum))


def validate(schema, params, cli=False, allow_extra=False):
    """Validate ``params`` (dict) against ``schema``; returns a new typed dict.

    Unset optional parameters are *not* filled with defaults (handlers decide, like PVE).
    """
    from .handlers import param_error

    errors = {}
    out = {}
    for k, v in params.items():
        p = schema.get(k)
        if p is None:
            if allow_extra:
                out[k] = v
                continue
            errors[k] = "property is not defined in schema and the schema does not allow additional properties"
            continue
        if v is None:
            continue
        if isinstance(v, list) and p.type != "array":
            if len(v) == 1:
                v = v[0]
            elif p.list_format:
                v = ",".join(str(x) for x in v)
            else:
                errors[k] = "type check ('%s') failed - got ARRAY" % p.type
                continue
        try:
            out[k] = check_value(p, v, cli=cli)
        except ParamFormatError as exc:
            errors[k] = exc.message_for(k)
        except ValueError as exc:
            errors[k] = str(exc)
    for k, p in schema.items():
        if not p.optional and k not in out and k not in errors:
            errors[k] = "property is missing and it is not optional"
        # check_object: a given property's `requires` must be given too
        if p.requires and params.get(k) is not None and params.get(p.requires) is None:
            errors[p.requires] = "missing property required by '%s'" % k
    if errors:
        raise param_error(errors)
    return out


# --------------------------------------------------------------------------------------------
# Common formats
# --------------------------------------------------------------------------------------------

def fmt_configid(s):
    """``pve-configid`` (pve-common JSONSchema.pm pve_verify_configid), e.g. ``pve-snapshot-name``."""
    if not re.match(r"^[a-z][a-z0-9_-]+$", s, re.I):
        raise FormatError("invalid configuration ID '%s'" % s)
    return s


def fmt_configid_list(s):
    items = [x for x in re.split(r"[,;\s]+", s) if x]
    for x in items:
        if not re.match(r"^[a-z][a-z0-9_]*$", x, re.I):
            raise FormatError("invalid configuration ID '%s'" % x)
    return ",".join(items)


def fmt_storage_id(s):
    if not re.match(r"^[a-z][a-z0-9\-_.]*[a-z0-9]$", s, re.I):
        raise FormatError("storage ID '%s' contains illegal characters" % s)
    return s


def fmt_node(s):
    if not re.match(r"^[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?$", s):
        raise FormatError("value does not look like a valid node name")
    return s


def fmt_vmid(s):
    """pve-common ``pve_verify_vmid`` (format ``pve-vmid``), checked before minimum/maximum."""
    if not re.match(r"^[1-9][0-9]{2,8}$", s):
        raise FormatError("value does not look like a valid VM ID")
    return s


VMID = Param("integer", optional=False, minimum=100, maximum=999999999, format=fmt_vmid,
             description="The (unique) ID of the VM.",
             typetext="<integer> (100 - 999999999)")
NODE = Param("string", optional=False, format=fmt_node, description="The cluster node name.")
STORAGE = Param("string", format=fmt_storage_id, description="The storage identifier.")
