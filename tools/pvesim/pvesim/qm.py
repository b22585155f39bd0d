# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``qm`` (PVE::CLI::qm, qemu-server 9.2.6 ``src/PVE/CLI/qm.pm`` ``$cmddef``): API-backed
subcommands run the ``/nodes/{node}/qemu`` handlers in-process as root@pam in a ``cli``
environment; ``status``, ``unlock`` and ``cloudinit dump`` are qm.pm's own.  Contract §9.

``qm disk resize`` is the command, ``qm resize`` its alias (as in qm.pm); the other ``disk``,
``guest`` and migration commands are known but refused as not simulated.
"""

from __future__ import annotations

import sys
import urllib.parse
from typing import TextIO

from . import clitools, faults, guestcli, handlers
from .config import encode_text
from .handlers import Env, PVEError
from .schema import Param, validate
from .state import State

# name: (method, path or None for a local command, positional args, $upid_exit)
COMMANDS = {
    "list": ("GET", "/nodes/{node}/qemu", [], False),
    "create": ("POST", "/nodes/{node}/qemu", ["vmid"], True),
    "destroy": ("DELETE", "/nodes/{node}/qemu/{vmid}", ["vmid"], True),
    "clone": ("POST", "/nodes/{node}/qemu/{vmid}/clone", ["vmid", "newid"], True),
    "set": ("PUT", "/nodes/{node}/qemu/{vmid}/config", ["vmid"], False),
    "config": ("GET", "/nodes/{node}/qemu/{vmid}/config", ["vmid"], False),
    "pending": ("GET", "/nodes/{node}/qemu/{vmid}/pending", ["vmid"], False),
    "template": ("POST", "/nodes/{node}/qemu/{vmid}/template", ["vmid"], False),
    "start": ("POST", "/nodes/{node}/qemu/{vmid}/status/start", ["vmid"], True),
    "stop": ("POST", "/nodes/{node}/qemu/{vmid}/status/stop", ["vmid"], True),
    "shutdown": ("POST", "/nodes/{node}/qemu/{vmid}/status/shutdown", ["vmid"], True),
    "reboot": ("POST", "/nodes/{node}/qemu/{vmid}/status/reboot", ["vmid"], True),
    "suspend": ("POST", "/nodes/{node}/qemu/{vmid}/status/suspend", ["vmid"], True),
    "resume": ("POST", "/nodes/{node}/qemu/{vmid}/status/resume", ["vmid"], True),
    "disk resize": ("PUT", "/nodes/{node}/qemu/{vmid}/resize", ["vmid", "disk", "size"], False),
    "cloudinit dump": ("GET", "/nodes/{node}/qemu/{vmid}/cloudinit/dump", ["vmid", "type"], False),
    "status": (None, None, ["vmid"], False),
    "unlock": (None, None, ["vmid"], False),
}
ALIASES = {"resize": "disk resize"}
_API, _QM = "PVE::API2::Qemu", "PVE::CLI::qm"
CLASSES = {c: (_QM if COMMANDS[c][0] is None else _API) for c in COMMANDS}
NOT_SIMULATED = ("migrate", "remote-migrate", "reset", "sendkey", "vncproxy", "wait", "monitor", "showcmd", "snapshot",
                 "delsnapshot", "listsnapshot", "rollback", "importdisk", "importovf", "move-disk", "move_disk", "rescan",
                 "unlink", "agent", "guest", "terminal", "mtunnel", "nbdstop", "enroll-efi-keys", "cleanup", "disk",
                 "cloudinit")
LOCAL_PARAMS = {"status": {"vmid": guestcli.VMID_P, "verbose": Param("boolean")}, "unlock": {"vmid": guestcli.VMID_P}}


def schema_for(cmd: str) -> dict:
    method, path, _pos, _upid_exit = COMMANDS[cmd]
    if method is None:
        return LOCAL_PARAMS[cmd]
    handler, _params = handlers.find(method, path.replace("{node}", "x").replace("{vmid}", "100"))
    return handler.params


def command(cmd: str) -> clitools.Command:
    return clitools.Command(CLASSES[cmd], COMMANDS[cmd][2], schema_for(cmd), fixed={"node"} if COMMANDS[cmd][0] else set())


def usage_str(cmd: str) -> str:
    return clitools.usage_str("qm " + cmd, command(cmd))


def short_usage() -> str:
    return clitools.short_usage("qm", {c: command(c) for c in COMMANDS})


def main(argv: list[str], stdout: TextIO | None = None, stderr: TextIO | None = None, state: State | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    return guestcli.run(lambda: _main(list(argv), out, err, state), err)


# qm.pm ``param_mapping``: create_vm and update_vm take ``--sshkeys`` as a file whose content is
# uri_escape'd, and ``--cipassword`` as the ``pve-password`` standard mapping (bare: read from STDIN).
PARAM_MAPPING = ("create", "set")


def _map_params(opts: dict) -> None:
    if "sshkeys" in opts:
        try:
            with open(opts["sshkeys"], encoding="utf-8") as stream:
                # URI::Escape::uri_escape: everything but RFC 3986's unreserved characters
                opts["sshkeys"] = urllib.parse.quote(stream.read(), safe="")
        except OSError as exc:
            raise PVEError("unable to open file '%s' - %s" % (opts["sshkeys"], exc.strerror)) from None
    if opts.get("cipassword") == "":
        opts["cipassword"] = guestcli.read_confirmed_password()


def _split_command(argv: list[str]) -> list[str]:
    """Fuse the two-word commands (``disk resize``, ``cloudinit dump``) and resolve aliases."""
    if len(argv) >= 2 and "%s %s" % (argv[0], argv[1]) in COMMANDS:
        return ["%s %s" % (argv[0], argv[1])] + argv[2:]
    if argv and argv[0] in ALIASES:
        return [ALIASES[argv[0]]] + argv[1:]
    return argv


def _main(argv: list[str], out: TextIO, err: TextIO, state: State | None) -> int:
    argv = _split_command(argv)
    known = set(COMMANDS) | set(NOT_SIMULATED)
    code, cmd, rest = clitools.select_command("qm", argv, known, short_usage(), out, err,
                                              lambda: clitools.require_root(state))
    if code is not None:
        return code
    if cmd in NOT_SIMULATED:
        raise PVEError("pvesim: 'qm %s' is not simulated" % " ".join(argv[:2] if cmd in ("disk", "guest", "cloudinit") else [cmd]))
    st = state or State.locate()
    env = Env(st, user="root@pam", rpc="cli", stdout=out, stderr=err)
    method, path, pos, upid_exit = COMMANDS[cmd]
    schema = schema_for(cmd)
    mapped = cmd in PARAM_MAPPING
    opts = clitools.get_options(schema, rest, pos, err, usage_str(cmd), fixed={"node"}, interactive=("cipassword",) if mapped else ())
    if mapped:
        _map_params(opts)
    if method is None:
        try:
            params = validate(schema, opts, cli=True)
        except PVEError as exc:
            exc.usage = usage_str(cmd)
            raise
        faults.check(st, cmd)
        return LOCAL[cmd](env, params)
    res = guestcli.call_api(env, method, path, opts, usage_str(cmd))
    return OUTPUT.get(cmd, guestcli.no_output)(env, res, upid_exit)


def _out_list(env: Env, res, upid_exit: bool) -> int:
    """qm.pm ``list``: nothing without VMs, else ``%10s %-20s %-10s %-10s %12s %-10s`` rows."""
    if not res:
        return 0
    env.stdout.write("%10s %-20s %-10s %-10s %12s %-10s\n" % ("VMID", "NAME", "STATUS", "MEM(MB)", "BOOTDISK(GB)", "PID"))
    for rec in sorted(res, key=lambda r: r["vmid"]):
        env.stdout.write("%10s %-20s %-10s %-10s %12.2f %-10s\n" % (
            rec["vmid"], rec["name"], rec.get("qmpstatus") or rec["status"], _perl_num((rec.get("maxmem") or 0) / 1048576),
            (rec.get("maxdisk") or 0) / 1073741824, rec.get("pid") or 0))
    return 0


def _perl_num(value: float) -> str:
    """Perl's ``%s`` of a number: integral values without a fraction."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def _out_config(env: Env, res, upid_exit: bool) -> int:
    """qm.pm ``config``: sorted ``key: value``, no digest, the description ``encode_text``-escaped."""
    for k in sorted(res):
        if k == "digest":
            continue
        v = encode_text(res[k]) if k == "description" else guestcli.value_text(res[k])
        env.stdout.write("%s: %s\n" % (k, v))
    return 0


def _out_text(env: Env, res, upid_exit: bool) -> int:
    env.stdout.write(res)
    return 0


OUTPUT = {"list": _out_list, "config": _out_config, "pending": guestcli.out_pending, "cloudinit dump": _out_text}


def print_recursive_hash(out: TextIO, prefix: str, value, key: str | None) -> None:
    """qm.pm ``print_recursive_hash`` (``qm status --verbose``)."""
    if isinstance(value, dict):
        if key is not None:
            out.write("%s%s:\n" % (prefix, key))
        for k in sorted(value):
            print_recursive_hash(out, "\t" + prefix, value[k], k)
    elif isinstance(value, list):
        if key is not None:
            out.write("%s%s:\n" % (prefix, key))
        for item in value:
            print_recursive_hash(out, "\t" + prefix, item, None)
    elif value is not None:
        out.write("%s%s: %s\n" % (prefix, key, value) if key is not None else "%s%s\n" % (prefix, value))


def _status(env: Env, p: dict) -> int:
    """qm.pm ``status``: ``status: <qmpstatus>``; ``--verbose`` every field but cpu (with
    ``pvesim-accel``: ``kvm`` or ``tcg`` for a running VM)."""
    from .qemu_api import load_config, vmstatus

    vmid = p["vmid"]
    conf = load_config(env, vmid)
    stat = vmstatus(env, vmid, conf)
    if p.get("verbose"):
        for k in sorted(stat):
            if k in ("cpu", "relcpu"):
                continue
            print_recursive_hash(env.stdout, "", stat[k], k)
    else:
        env.stdout.write("status: %s\n" % (stat.get("qmpstatus") or "unknown"))
    return 0


def _unlock(env: Env, p: dict) -> int:
    from .qemu_api import unlock

    unlock(env, p["vmid"])
    return 0


LOCAL = {"status": _status, "unlock": _unlock}
