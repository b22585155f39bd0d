# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What ``pct`` and ``qm`` share beyond the option parser (``clitools``): the exit codes of a
command line (``PVE::CLIHandler``: a ``PVEError`` exits 255 or its own code), an API-backed
subcommand run in-process as root@pam, ``$upid_exit``, and ``GuestHelpers::format_pending``.
"""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from . import handlers
from .config import encode_text
from .handlers import Env, PVEError, format_cli_error
from .schema import Param, fmt_vmid, validate
from .state import StateError

VMID_P = Param("integer", optional=False, minimum=100, maximum=999999999, format=fmt_vmid)


def run(main: Callable[[], int], err: TextIO) -> int:
    """Run a command line's body; its errors become PVE's messages and exit codes."""
    try:
        return main()
    except StateError as exc:
        err.write("pvesim: %s\n" % exc)
        return 2
    except PVEError as exc:
        err.write(format_cli_error(exc))
        return exc.exitcode if exc.exitcode is not None else 255
    except KeyboardInterrupt:
        err.write("received interrupt\n")
        return 255


def call_api(env: Env, method: str, path: str, opts: dict, usage: str, extra: dict | None = None):
    """The handler of ``method path`` with the options the path does not carry (parameter errors show ``usage``)."""
    vmid = opts.get("vmid", "")
    if "{vmid}" in path:
        # the path carries the vmid; validate it like a parameter (bad values -> 400 with usage)
        try:
            validate({"vmid": VMID_P}, {"vmid": vmid}, cli=True)
        except PVEError as exc:
            exc.usage = usage
            raise
    rpath = path.replace("{node}", env.state.node).replace("{vmid}", str(vmid)).replace("{snapname}", str(opts.get("snapname", "")))
    call_opts = {k: v for k, v in opts.items() if "{%s}" % k not in path}
    call_opts.update(extra or {})
    env.last_task = None
    try:
        return handlers.call(env, method, rpath, call_opts, cli=True)
    except PVEError as exc:
        if exc.status == 400:
            exc.usage = usage
        raise


def no_output(env: Env, res, upid_exit: bool) -> int:
    """``$upid_exit``: 255 when the synchronous task failed (its errors are on STDERR already)."""
    task = getattr(env, "last_task", None)
    return 255 if upid_exit and task is not None and not task.ok else 0


def value_text(value) -> str:
    """A config value as the CLI prints it (booleans as 1/0)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def out_pending(env: Env, res, upid_exit: bool) -> int:
    """GuestHelpers::format_pending."""
    for item in sorted(res, key=lambda x: x["key"].encode()):
        k = item["key"]
        if k == "digest":
            continue
        v = item.get("value")
        pv = item.get("pending")
        if k == "description":
            v = encode_text(v) if v is not None else None
            pv = encode_text(pv) if pv is not None else None
        if v is not None:
            if item.get("delete"):
                env.stdout.write("del %s: %s\n" % (k, value_text(v)))
            elif pv is not None:
                env.stdout.write("cur %s: %s\n" % (k, value_text(v)))
                env.stdout.write("new %s: %s\n" % (k, value_text(pv)))
            else:
                env.stdout.write("cur %s: %s\n" % (k, value_text(v)))
        elif pv is not None:
            env.stdout.write("new %s: %s\n" % (k, value_text(pv)))
    return 0


def _read_line(prompt: str) -> str:
    """PVE::PTY::read_password: a line from stdin when it is not a terminal, else a prompt."""
    import getpass

    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        raise PVEError("EOF while reading password")
    return line[:-1] if line.endswith("\n") else line


def read_confirmed_password() -> str:
    """PVE's interactive ``--password``/``--cipassword`` (the ``pve-password`` standard mapping of PVE::CLIHandler):
    PVE::PTY::get_confirmed_password, two reads that must match (pve-common src/PVE/PTY.pm)."""
    pw1 = _read_line("Enter new password: ")
    pw2 = _read_line("Retype new password: ")
    if pw1 != pw2:
        raise PVEError("passwords do not match")
    return pw1
