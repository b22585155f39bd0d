# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every simulated PVE command line shares (``pct``, ``pvesh``, ``pveam``, ``pvesm``, and a
future ``qm``): the option parser, command selection, the usage lines and the root check.

* :func:`get_options` is pve-common ``PVE::JSONSchema::get_options`` on top of Getopt::Long as PVE
  configures it (``prefix_pattern=(--|-)``, otherwise the defaults: permute, ignore_case,
  auto_abbrev).  Booleans and interactive options take an optional value (``name:s``), ``-list``
  formats and arrays may be repeated (``name=s@``; a ``-list`` is then joined with ``,``), any
  other option keeps its last value.  Getopt's own complaints (``Unknown option: x``, ``Option x
  requires an argument``) go to STDERR before ``400 unable to parse option``.
* :func:`usage_str` is ``PVE::RESTHandler::getopt_usage`` in its ``short`` format and
  :func:`short_usage` is ``PVE::CLIHandler::print_usage_short`` (commands grouped by class).
* :func:`select_command` is ``CLIHandler``'s ``handle_cmd``: unique command prefixes expand,
  ``setup_environment`` (the root check) runs before an unknown command is reported.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Callable, TextIO

from .handlers import PVEError
from .schema import FALSE_WORDS, TRUE_WORDS, Param

HELP_CLASS = "PVE::CLIHandler"  # CLIHandler adds `help` with its own class: it sorts last


@dataclass
class Command:
    """One entry of a CLIHandler ``$cmddef``: the class that implements it (it decides the usage
    grouping), its positional arguments, its parameter schema and its fixed parameters."""

    klass: str
    args: list[str]
    props: dict[str, Param]
    fixed: set[str] = field(default_factory=lambda: {"node"})
    format_options: bool = False
    usage: str | None = None  # the literal usage line of a command whose schema is not simulated


def _is_list(p: Param) -> bool:
    return bool(p.list_format)


def usage_str(prefix: str, cmd: Command) -> str:
    """``getopt_usage`` (``short``): ``<prefix> <args>[ [OPTIONS]][ [FORMAT_OPTIONS]]`` (no newline).

    Positional arguments are ``<a>``, ``[<a>]`` when optional, ``{<a>}`` for a ``-list``; required
    options that are not positional become ``--name <type>``.  ``[OPTIONS]`` only when there is an
    option left (so ``pct list `` keeps the space before its missing arguments)."""
    if cmd.usage is not None:
        return cmd.usage
    args = []
    for a in cmd.args:
        p = cmd.props.get(a)
        if a == "extra-args":
            args.append("[<extra-args>]")
        elif p is None:
            args.append("<%s>" % a)
        elif _is_list(p):
            args.append("{<%s>}" % a)
        else:
            args.append("[<%s>]" % a if p.optional else "<%s>" % a)
    has_options = False
    for name in sorted(cmd.props):
        if name in cmd.args or name in cmd.fixed:
            continue
        has_options = True
        p = cmd.props[name]
        if not p.optional:
            args.append("--%s <%s>" % (name, p.type or "string"))
    out = "%s %s" % (prefix, " ".join(args))
    if has_options:
        out += " [OPTIONS]"
    if cmd.format_options:
        out += " [FORMAT_OPTIONS]"
    return out


def short_usage(prog: str, commands: dict[str, Command]) -> str:
    """``print_usage_short`` without a command: every command, grouped by class (a blank line
    between classes), then ``help``."""
    table = dict(commands)
    table.setdefault("help", Command(HELP_CLASS, ["extra-args"], {"extra-args": Param("array"), "verbose": Param("boolean")},
                                     fixed=set()))
    text = "USAGE: %s <COMMAND> [ARGS] [OPTIONS]\n\n" % prog
    previous = None
    for name in sorted(table, key=lambda n: (table[n].klass, n)):
        cmd = table[name]
        if previous is not None and previous != cmd.klass:
            text += "\n"
        text += "       " + usage_str("%s %s" % (prog, name), cmd) + "\n"
        previous = cmd.klass
    return text


class CliExit(Exception):
    """Stop a CLI with ``code`` after its text was written."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def expand_command(names, word: str) -> str | None:
    """CLIHandler's ``expand_command_name`` with ``enforce_exact``: a unique prefix expands."""
    if word in names:
        return word
    hits = [n for n in names if n.startswith(word)]
    return hits[0] if len(hits) == 1 else None


def select_command(prog: str, argv: list[str], commands, usage: str, stdout: TextIO, stderr: TextIO,
                   check_root: Callable[[], None] | None = None) -> tuple[int | None, str | None, list[str] | None]:
    """``(None, cmd, rest)`` for a known subcommand, else ``(exit code, None, None)`` after PVE's
    help or error text.  ``check_root`` is the CLI's ``setup_environment``; it runs before an
    unknown command is reported, as in CLIHandler, and raises :class:`PVEError` to refuse."""
    argv = list(argv)
    if not argv:
        stderr.write("ERROR: no command specified\n" + usage)
        return 255, None, None
    names = set(commands) | {"help"}
    cmd = expand_command(names, argv[0]) or argv[0]
    if check_root is not None:
        try:
            check_root()
        except PVEError as exc:
            stderr.write("%s\n" % exc)
            return 255, None, None
    if cmd in ("help", "--help", "-h"):
        stdout.write(usage)
        return 0, None, None
    if cmd not in commands:
        stderr.write("ERROR: unknown command '%s %s'\n" % (prog, cmd) + usage)
        return 255, None, None
    return None, cmd, argv[1:]


def require_root(state=None) -> None:
    """``PVE::RPCEnvironment::setup_default_cli_env``: ``please run as root``, unless the state
    directory (``state`` or the located one) was made with ``--allow-non-root``."""
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        return
    from .state import State

    try:
        allowed = bool((state or State.locate()).settings.get("allow_non_root"))
    except Exception:  # no usable state directory: nothing allows a non-root caller
        allowed = False
    if not allowed:
        raise PVEError("please run as root")


def parse_boolean(value: str) -> int | None:
    """pve-common ``parse_boolean``."""
    low = value.lower()
    if low in TRUE_WORDS:
        return 1
    if low in FALSE_WORDS:
        return 0
    return None


_OPTION_RE = re.compile(r"^(--|-)(.+)$", re.S)


def _lookup(name: str, names: list[str], stderr: TextIO) -> str | None:
    """Getopt::Long's option lookup: ignore_case, then a unique abbreviation (auto_abbrev)."""
    low = name.lower()
    exact = [n for n in names if n.lower() == low]  # forceStop, keepEnv: the schema's own case
    if exact:
        return exact[0]
    hits = [n for n in names if n.lower().startswith(low)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        stderr.write("Option %s is ambiguous (%s)\n" % (name, ", ".join(hits)))
    else:
        stderr.write("Unknown option: %s\n" % name)
    return None


def get_options(props: dict[str, Param], args: list[str], arg_names: list[str], stderr: TextIO, usage: str,
                fixed=(), interactive=()) -> dict:
    """``PVE::JSONSchema::get_options``: the parameters of one command line.

    ``arg_names`` are the positional parameters (``extra-args`` takes the rest), ``fixed`` the
    ones the CLI sets itself (not options), ``interactive`` options that may go without a value
    (``''`` then; the caller prompts).  Errors are ``PVEError`` 400 with ``usage`` attached."""
    names = sorted(n for n in props if n not in fixed)
    optional_value = {n for n in names if props[n].type == "boolean" or n in interactive}
    opts: dict = {}
    positionals: list[str] = []
    failed = False
    queue = list(args)
    while queue:
        token = queue.pop(0)
        if token == "--":
            positionals.extend(queue)
            break
        m = _OPTION_RE.match(token)
        if not m or token == "-":
            positionals.append(token)
            continue
        spec = m.group(2)
        inline = None
        if "=" in spec[1:]:
            cut = spec.index("=", 1)
            spec, inline = spec[:cut], spec[cut + 1:]
        name = _lookup(spec, names, stderr)
        if name is None:
            failed = True
            continue
        if name in optional_value:
            if inline is not None:
                value = inline
            elif queue and queue[0] != "--" and not (_OPTION_RE.match(queue[0]) and queue[0] != "-"):
                value = queue.pop(0)
            else:
                value = ""
        else:
            if inline == "" or (inline is None and not queue):
                stderr.write("Option %s requires an argument\n" % spec)
                failed = True
                continue
            value = inline if inline is not None else queue.pop(0)
        p = props[name]
        if _is_list(p) or p.type == "array":
            opts.setdefault(name, []).append(value)
        else:
            opts[name] = value
    if failed:
        raise PVEError("unable to parse option", status=400, usage=usage)

    positional_names = list(arg_names)
    if positional_names and positional_names[-1] == "extra-args":
        opts["extra-args"] = positionals[len(positional_names) - 1:]
        positionals = positionals[:len(positional_names) - 1]
        positional_names = positional_names[:-1]
    if len(positionals) > len(positional_names):
        raise PVEError("too many arguments", status=400, usage=usage)
    for i, name in enumerate(positional_names):
        if i < len(positionals):
            opts[name] = positionals[i]
        elif not getattr(props.get(name), "optional", False):
            raise PVEError("not enough arguments", status=400, usage=usage)

    for name, value in list(opts.items()):
        p = props.get(name)
        if p is None or name in positional_names:
            continue
        if p.type == "boolean":
            if value == "":
                opts[name] = "1"
            else:
                parsed = parse_boolean(value)
                if parsed is None:
                    raise PVEError("unable to parse boolean option", status=400, usage=usage)
                opts[name] = str(parsed)
        elif _is_list(p):
            opts[name] = ",".join(value)
    return opts
