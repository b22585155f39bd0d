# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pvesh``: the REST handlers from the shell, in-process, as ``root@pam`` in a ``cli`` env.

Follows pve-manager ``PVE/CLI/pvesh.pm`` and pve-common ``CLIFormatter.pm``:

* ``pvesh [--noproxy] [--nooutput] get|set|create|delete|ls|usage <api_path> [OPTIONS]``.
  ``create`` = POST, ``set`` = PUT.
* No handler for ``<cmd> <path>``: ``No '<cmd>' handler defined for '<path>'`` on STDERR, exit 1.
* Task handlers run synchronously (task output on STDOUT, task error on STDERR); the UPID is
  then printed as the result, exit 0 even if the task failed.
* Output options: ``--output-format text|json|json-pretty|yaml`` (default ``text``),
  ``--noborder``, ``--noheader``, ``--human-readable`` (default 1), ``--quiet``.
  ``json`` is compact with sorted keys; ``json-pretty`` is Perl JSON's pretty style (3-space
  indent, ``"key" : value``); ``text`` prints objects as a key/value table and lists of objects
  as a table (box borders in a UTF-8 locale, ASCII otherwise; ``--noborder`` for plain columns).
* Errors: ``400 Parameter verification failed.`` + ``<param>: <msg>`` lines + the usage line
  ``pvesh <cmd> <api_path> [OPTIONS]``; plain errors print their message; exit 255.
"""

from __future__ import annotations

import json
import locale
import os
import re
import sys

from . import clitools, handlers, schema

METHOD_MAP = {"create": "POST", "set": "PUT", "get": "GET", "delete": "DELETE"}
COMMANDS = ("usage", "get", "ls", "set", "create", "delete")
FORMAT_OPTIONS = {
    "output-format": schema.Param("string", enum=["text", "json", "json-pretty", "yaml"], default="text"),
    "noborder": schema.Param("boolean"),
    "noheader": schema.Param("boolean"),
    "human-readable": schema.Param("boolean", default=1),
    "quiet": schema.Param("boolean"),
}
USAGE = """USAGE: pvesh <COMMAND> [ARGS] [OPTIONS]

       pvesh create <api_path> [OPTIONS] [FORMAT_OPTIONS]
       pvesh delete <api_path> [OPTIONS] [FORMAT_OPTIONS]
       pvesh get <api_path> [OPTIONS] [FORMAT_OPTIONS]
       pvesh ls <api_path> [OPTIONS] [FORMAT_OPTIONS]
       pvesh set <api_path> [OPTIONS] [FORMAT_OPTIONS]
       pvesh usage <api_path> [OPTIONS]

       pvesh help [<extra-args>] [OPTIONS]
"""
# handlers whose PVE schema has `links => [{rel => 'child', ...}]` but whose name does not say "index"
_CHILD_LINKED = {"vmlist", "node_tasks", "storage_content", "tasks", "aplinfo_index", "listsnapshot"}
CHILD_KEYS = ("subdir", "vmid", "node", "storage", "upid", "volid", "realm", "name", "id", "key")


class _Exit(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


# ------------------------------------------------------------------------------------------
# output (PVE::CLIFormatter)
# ------------------------------------------------------------------------------------------

def _perl_pretty(obj, level=0):
    ind = "   " * (level + 1)
    end = "   " * level
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = ['%s%s : %s' % (ind, json.dumps(k, ensure_ascii=False), _perl_pretty(obj[k], level + 1)) for k in sorted(obj)]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(obj, list):
        if not obj:
            return "[]"
        return "[\n" + ",\n".join(ind + _perl_pretty(v, level + 1) for v in obj) + "\n" + end + "]"
    return json.dumps(obj, ensure_ascii=False)


def _yaml_scalar(v):
    if v is None:
        return "~"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    s = str(v)
    if s == "" or re.match(r"^(~|null|true|false|yes|no|on|off|y|n|-?\d+(\.\d+)?([eE][-+]?\d+)?|0x[0-9a-fA-F]+)$", s, re.I) \
            or re.search(r"(^[\s\-?:,\[\]{}#&*!|>'\"%@`])|(:\s)|(\s#)|(\s$)|[\x00-\x1f]", s):
        if "\n" in s or re.search(r"[\x00-\x1f]", s):
            return json.dumps(s, ensure_ascii=False)
        return "'" + s.replace("'", "''") + "'"
    return s


def _yaml(obj, indent=0):
    pad = "  " * indent
    lines = []
    if isinstance(obj, dict):
        if not obj:
            return [pad + "{}"]
        for k in sorted(obj):
            v = obj[k]
            if isinstance(v, (dict, list)) and v:
                lines.append("%s%s:" % (pad, _yaml_scalar(k)))
                lines.extend(_yaml(v, indent + (1 if isinstance(v, dict) else 0)))
            else:
                lines.append("%s%s: %s" % (pad, _yaml_scalar(k), _yaml_inline(v)))
        return lines
    if isinstance(obj, list):
        if not obj:
            return [pad + "[]"]
        for v in obj:
            if isinstance(v, (dict, list)) and v:
                sub = _yaml(v, indent + 1)
                first = sub[0][len(pad) + 2:]
                lines.append("%s- %s" % (pad, first))
                lines.extend(sub[1:])
            else:
                lines.append("%s- %s" % (pad, _yaml_inline(v)))
        return lines
    return [pad + _yaml_scalar(obj)]


def _yaml_inline(v):
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _yaml_scalar(v)


def to_yaml(obj):
    if isinstance(obj, (dict, list)) and obj:
        return "---\n" + "\n".join(_yaml(obj)) + "\n"
    return "--- %s\n" % _yaml_inline(obj)


def _data_to_text(value, propdef, options):
    if value is None:
        return ""
    if options.get("human-readable", 1) and propdef and propdef.get("type") == "boolean":
        return "1" if value else "0"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _terminal_opts(stdout):
    try:
        enc = locale.nl_langinfo(locale.CODESET)
    except (AttributeError, ValueError):
        enc = "UTF-8"
    opts = {"utf8": enc.upper().replace("_", "-") in ("UTF-8", "UTF8"), "columns": None}
    try:
        if stdout.isatty():
            opts["columns"] = os.get_terminal_size(stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        pass
    return opts


def _sort_value(v):
    return (v is None, v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0, str(v))


def print_text_table(out, data, returnprops, props, options, term):
    """PVE::CLIFormatter::print_text_table."""
    sort_key = options.get("sort_key", props[0] if props else None)
    show_border = not options.get("noborder")
    show_header = not options.get("noheader")
    utf8 = term.get("utf8")
    columns = term.get("columns")
    if sort_key not in (None, 0):
        typ = (returnprops.get(sort_key) or {}).get("type", "string")
        if typ in ("integer", "number"):
            data = sorted(data, key=lambda e: (e.get(sort_key) is None, e.get(sort_key) or 0))
        else:
            data = sorted(data, key=lambda e: (e.get(sort_key) is None, "" if e.get(sort_key) is None else str(e.get(sort_key))))
    rows = []
    for entry in data:
        height = 1
        rowdata = {}
        for prop in props:
            text = _data_to_text(entry.get(prop), returnprops.get(prop) or {}, options)
            lines = text.split("\n") if text else []
            while lines and lines[-1] == "":
                lines.pop()
            height = max(height, len(lines))
            rowdata[prop] = {"lines": lines, "width": max([len(x) for x in lines] or [0])}
        rows.append({"height": height, "rowdata": rowdata})
    fmt_parts = []
    border = {"t": "", "h": "", "m": "", "b": ""}
    cols = {}
    n = len(props)
    for i, prop in enumerate(props):
        info = returnprops.get(prop) or {}
        typ = info.get("type", "string")
        left = typ not in ("integer", "number")
        title = info.get("title", prop)
        longest = max([len(title)] + [r["rowdata"][prop]["width"] for r in rows])
        cutoff = info.get("print_width") or info.get("maxLength")
        if cutoff is None or cutoff > longest:
            cutoff = longest
        cols[prop] = {"title": title, "cutoff": cutoff, "left": left}
        if show_border:
            if utf8:
                v, t1, h1, m1, b1 = "│", "┌─", "╞═", "├─", "└─"
                if i > 0:
                    t1, h1, m1, b1 = "┬─", "╪═", "┼─", "┴─"
                fmt_parts.append((v + " ", prop, " " + v if i == n - 1 else " "))
                last = i == n - 1
                border["t"] += t1 + "─" * cutoff + ("─┐" if last else "─")
                border["h"] += h1 + "═" * cutoff + ("═╡" if last else "═")
                border["m"] += m1 + "─" * cutoff + ("─┤" if last else "─")
                border["b"] += b1 + "─" * cutoff + ("─┘" if last else "─")
            else:
                last = i == n - 1
                fmt_parts.append(("| ", prop, " |" if last else " "))
                border["m"] += "+-" + "-" * cutoff + ("-+" if last else "-")
                border["h"] += "+=" + "=" * cutoff + ("=+" if (last and n > 1) else "=")
        else:
            fmt_parts.append(("", prop, "" if i == n - 1 else " "))
    if not border["t"]:
        border["t"] = border["m"]
    if not border["b"]:
        border["b"] = border["m"]

    def fmt(values):
        s = ""
        for (pre, prop, post) in fmt_parts:
            c = cols[prop]
            val = values[prop]
            if not show_border and post == "" and prop == props[-1]:
                s += pre + val + post
                continue
            s += pre + (val.ljust(c["cutoff"]) if c["left"] else val.rjust(c["cutoff"])) + post
        return s

    def writeln(text):
        out.write((text[:columns] if columns else text) + "\n")

    if show_border:
        writeln(border["t"])
    if show_header:
        writeln(fmt({p: cols[p]["title"] for p in props}))
        sep = border["h"]
    else:
        sep = border["m"]
    for idx, r in enumerate(rows):
        if show_border and (idx != 0 or show_header):
            writeln(sep)
            sep = border["m"]
        for line in range(r["height"]):
            writeln(fmt({p: (r["rowdata"][p]["lines"][line] if line < len(r["rowdata"][p]["lines"]) else "")[:cols[p]["cutoff"]]
                         for p in props}))
    if show_border:
        writeln(border["b"])


def _props_to_print(propdefs):
    req = sorted(k for k, v in propdefs.items() if not v.get("optional"))
    opt = sorted(k for k, v in propdefs.items() if v.get("optional"))
    return req + opt


def _guess_type(data):
    if data is None:
        return "null"
    if isinstance(data, dict):
        return "object"
    if isinstance(data, list):
        return "array"
    return "string"


def print_api_result(out, data, returns, props=None, options=None, term=None):
    """PVE::CLIFormatter::print_api_result."""
    options = dict(options or {})
    if options.get("quiet"):
        return
    term = term or _terminal_opts(out)
    fmt = options.get("output-format") or "text"
    if returns and returns.get("type"):
        if returns["type"] == "null":
            return
        if returns.get("optional") and data is None:
            return
    else:
        if data is None:
            # every real handler declares `returns`; a null result is a `{type => 'null'}` one
            return
        t = _guess_type(data)
        returns = {"type": t}
        if t == "array":
            returns["items"] = {"type": _guess_type(data[0] if data else None)}
    if fmt == "yaml":
        out.write(to_yaml(data))
    elif fmt == "json":
        out.write(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n")
    elif fmt == "json-pretty":
        out.write(_perl_pretty(data) + "\n")
    else:
        typ = returns["type"]
        if typ == "object":
            propdefs = returns.get("properties") or {}
            keys = props if props is not None else _props_to_print(propdefs)
            if not keys:
                keys = sorted((data or {}).keys())
            kv = [{"key": k, "value": _data_to_text(data[k], propdefs.get(k), options)}
                  for k in keys if (data or {}).get(k) is not None]
            options.setdefault("sort_key", "key")
            print_text_table(out, kv, {}, ["key", "value"], options, term)
        elif typ == "array":
            if not data:
                return
            items = returns.get("items") or {}
            if items.get("type") == "object":
                propdefs = items.get("properties") or {}
                keys = props if props is not None else _props_to_print(propdefs)
                if not keys:
                    keys = sorted({k for obj in data if isinstance(obj, dict) for k in obj})
                print_text_table(out, data, propdefs, keys, options, term)
            else:
                kv = [{"value": v} for v in data]
                print_text_table(out, kv, {"value": items}, ["value"], dict(options, noheader=1), term)
        else:
            out.write("%s\n" % ("" if data is None else (1 if data else 0) if isinstance(data, bool) else data))


# ------------------------------------------------------------------------------------------
# commands
# ------------------------------------------------------------------------------------------

def _returns(handler):
    r = getattr(handler, "returns", None)
    return r if isinstance(r, dict) else None


def child_key(handler, data=None):
    """The ``{prop}`` of the handler's child link (``links => [{rel => 'child', href => '{x}'}]``)."""
    link = getattr(handler, "child_link", None)
    if link:
        return link.strip("{}")
    if isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        for k in CHILD_KEYS:
            if all(k in x for x in data):
                return k
    return None


def _has_child_link(handler):
    if getattr(handler, "child_link", None):
        return True
    r = _returns(handler)
    if r and r.get("type") == "array":
        links = r.get("links")
        if links:
            return True
    name = (handler.name or "").lower()
    return name.endswith(("index", "idx", "dir", "_list")) or name in _CHILD_LINKED


def resource_cap(path):
    h = handlers.find("GET", path)[0]
    res = "--" if h is None else ("Dr" if _has_child_link(h) else "-r")
    for method, letter in (("PUT", "w"), ("POST", "c"), ("DELETE", "d")):
        res += letter if handlers.find(method, path)[0] is not None else "-"
    return res


def _usage_line(cmd):
    return "pvesh %s <api_path> [OPTIONS]" % cmd


def _usage_str(cmd, path, handler, uri_params, verbose=False):
    params = {k: v for k, v in handler.params.items() if k not in uri_params}
    req = sorted(k for k, p in params.items() if not p.optional)
    s = "pvesh %s %s" % (cmd, path)
    for k in req:
        s += " --%s <%s>" % (k, params[k].type)
    if any(p.optional for p in params.values()):
        s += " [OPTIONS]"
    if not verbose:
        return s + "\n"
    lines = [s, ""]
    if handler.description:
        lines += ["  " + handler.description, ""]
    for k in sorted(params):
        p = params[k]
        text = p.typetext or "<%s>" % p.type
        lines.append("  --%-27s %s%s" % (k, text, " (default=%s)" % p.default if p.default is not None else ""))
        if p.description:
            lines.append("             %s" % p.description)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _make_env(stdout, stderr):
    from .state import State

    state = State.locate()
    return handlers.Env(state, user="root@pam", rpc="cli", stdout=stdout, stderr=stderr)


def run(argv, stdout=None, stderr=None):
    """Run pvesh with ``argv``; returns the exit code."""
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    argv = list(argv)
    nooutput = False
    while argv and argv[0] in ("--noproxy", "--nooutput"):
        if argv.pop(0) == "--nooutput":
            nooutput = True
    try:
        return _run(argv, stdout, stderr, nooutput)
    except _Exit as ex:
        return ex.code
    except handlers.PVEError as err:
        stderr.write(handlers.format_cli_error(err))
        return 255
    except Exception as exc:  # an uncaught Perl die
        from .state import StateError

        if isinstance(exc, StateError):
            stderr.write("pvesh: %s\n" % exc)
            return 2
        stderr.write(handlers.format_cli_error(exc))
        return 255


def _run(argv, stdout, stderr, nooutput):
    code, cmd, rest = clitools.select_command("pvesh", argv, COMMANDS, USAGE, stdout, stderr, clitools.require_root)
    if code is not None:
        return code
    path = next((a for a in rest if not a.startswith("-")), None)

    if cmd in METHOD_MAP:
        method = METHOD_MAP[cmd]
        handler = uri_params = None
        if path is not None:
            handler, uri_params = handlers.find(method, path)
            if handler is None:
                stderr.write("No '%s' handler defined for '%s'\n" % (cmd, path))
                return 1
        props = dict(handler.params) if handler else {}
        for k in (uri_params or {}):
            props.pop(k, None)
        for k, p in FORMAT_OPTIONS.items():
            props.setdefault(k, p)
        opts = clitools.get_options(props, rest, ["api_path"], stderr, _usage_line(cmd))
        opts.pop("api_path")
        stdopts = {}
        for k in list(opts):
            if k in FORMAT_OPTIONS and k not in (handler.params if handler else {}):
                stdopts[k] = opts.pop(k)
        try:
            stdopts = schema.validate(FORMAT_OPTIONS, stdopts, cli=True)
        except handlers.PVEError as err:
            err.usage = _usage_line(cmd)
            raise
        env = _make_env(stdout, stderr)
        try:
            data = handlers.call(env, method, path, opts, cli=True)
        except handlers.PVEError as err:
            if err.status == 400:
                err.usage = _usage_line(cmd)
            raise
        if nooutput or stdopts.get("quiet"):
            return 0
        print_api_result(stdout, data, _returns(handler), None, stdopts)
        return 0

    if cmd == "ls":
        handler, uri_params = (None, None)
        if path is not None:
            handler, uri_params = handlers.find("GET", path)
        props = dict(handler.params) if handler else {}
        for k in (uri_params or {}):
            props.pop(k, None)
        for k, p in FORMAT_OPTIONS.items():
            props.setdefault(k, p)
        opts = clitools.get_options(props, rest, ["api_path"], stderr, _usage_line(cmd))
        opts.pop("api_path")
        if handler is None:
            raise handlers.PVEError("no such resource '%s'" % path)
        stdopts = schema.validate(FORMAT_OPTIONS, {k: opts.pop(k) for k in list(opts) if k in FORMAT_OPTIONS}, cli=True)
        env = _make_env(stdout, stderr)
        data = handlers.call(env, "GET", path, opts, cli=True)
        key = child_key(handler, data) if _has_child_link(handler) or getattr(handler, "child_link", None) else None
        if key is None:
            raise handlers.PVEError("resource '%s' does not define child links" % path)
        children = [x[key] for x in sorted((x for x in data if isinstance(x, dict)), key=lambda e: str(e.get(key)))]
        base = path.rstrip("/")
        res = [{"name": c, "capabilities": resource_cap("%s/%s" % (base, c))} for c in children]
        stdopts = dict(stdopts)
        stdopts["sort_key"] = "name"
        stdopts.setdefault("noborder", 1)
        stdopts.setdefault("noheader", 1)
        print_api_result(stdout, res, {"type": "array", "items": {"type": "object"}}, ["capabilities", "name"], stdopts)
        return 0

    # usage
    usage_props = {"verbose": schema.Param("boolean"), "returns": schema.Param("boolean"),
                   "command": schema.Param("string", enum=sorted(METHOD_MAP))}
    opts = clitools.get_options(usage_props, rest, ["api_path"], stderr, "pvesh usage <api_path> [OPTIONS]")
    opts.pop("api_path")
    opts = schema.validate(usage_props, opts, cli=True)
    found = False
    for c in ("get", "set", "create", "delete"):
        if opts.get("command") and c != opts["command"]:
            continue
        h, up = handlers.find(METHOD_MAP[c], path)
        if h is None:
            continue
        found = True
        if opts.get("verbose"):
            stdout.write(_usage_str(c, path, h, up, verbose=True))
        else:
            stdout.write("USAGE: " + _usage_str(c, path, h, up))
        if opts.get("returns"):
            stdout.write("RETURNS: %s\n" % _perl_pretty(_returns(h) or {}))
    if not found:
        if opts.get("command"):
            raise handlers.PVEError("no '%s' handler for '%s'" % (opts["command"], path))
        raise handlers.PVEError("no such resource '%s'" % path)
    return 0


def main(argv=None):
    return run(sys.argv[1:] if argv is None else argv)
