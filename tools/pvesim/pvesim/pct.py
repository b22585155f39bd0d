# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pct`` (PVE::CLI::pct): API-backed subcommands run the shared handlers in-process as
root@pam in a ``cli`` environment; local ones (status, exec, enter, push, pull, unlock,
mount, unmount) are implemented here.  Contract §0.1, §0.2, §1, §2, §3.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

from . import clitools, faults, guestcli, handlers
from .config import encode_text
from .guestcli import VMID_P
from .handlers import Env, PVEError
from .schema import Param, validate
from .state import State, perl_sorted

PCT_PM = "/usr/share/perl5/PVE/CLI/pct.pm"

# name: (method, path template or None for local, positional args, upid_exit)
COMMANDS = {
    "list": ("GET", "/nodes/{node}/lxc", [], False),
    "config": ("GET", "/nodes/{node}/lxc/{vmid}/config", ["vmid"], False),
    "pending": ("GET", "/nodes/{node}/lxc/{vmid}/pending", ["vmid"], False),
    "set": ("PUT", "/nodes/{node}/lxc/{vmid}/config", ["vmid"], False),
    "resize": ("PUT", "/nodes/{node}/lxc/{vmid}/resize", ["vmid", "disk", "size"], False),
    "create": ("POST", "/nodes/{node}/lxc", ["vmid", "ostemplate"], True),
    "restore": ("POST", "/nodes/{node}/lxc", ["vmid", "ostemplate"], True),
    "destroy": ("DELETE", "/nodes/{node}/lxc/{vmid}", ["vmid"], True),
    "start": ("POST", "/nodes/{node}/lxc/{vmid}/status/start", ["vmid"], True),
    "stop": ("POST", "/nodes/{node}/lxc/{vmid}/status/stop", ["vmid"], True),
    "shutdown": ("POST", "/nodes/{node}/lxc/{vmid}/status/shutdown", ["vmid"], True),
    "reboot": ("POST", "/nodes/{node}/lxc/{vmid}/status/reboot", ["vmid"], True),
    "template": ("POST", "/nodes/{node}/lxc/{vmid}/template", ["vmid"], False),
    "clone": ("POST", "/nodes/{node}/lxc/{vmid}/clone", ["vmid", "newid"], True),
    "listsnapshot": ("GET", "/nodes/{node}/lxc/{vmid}/snapshot", ["vmid"], False),
    "snapshot": ("POST", "/nodes/{node}/lxc/{vmid}/snapshot", ["vmid", "snapname"], True),
    "delsnapshot": ("DELETE", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}", ["vmid", "snapname"], True),
    "rollback": ("POST", "/nodes/{node}/lxc/{vmid}/snapshot/{snapname}/rollback", ["vmid", "snapname"], True),
    "status": (None, None, ["vmid"], False),
    "exec": (None, None, ["vmid", "extra-args"], False),
    "enter": (None, None, ["vmid"], False),
    "console": (None, None, ["vmid"], False),
    "unlock": (None, None, ["vmid"], False),
    "mount": (None, None, ["vmid"], False),
    "unmount": (None, None, ["vmid"], False),
    "push": (None, None, ["vmid", "file", "destination"], False),
    "pull": (None, None, ["vmid", "path", "destination"], False),
}
# The class of each command in pct.pm's $cmddef (print_usage_short groups by it)
_LXC, _CONFIG, _SNAPSHOT, _STATUS, _PCT = ("PVE::API2::LXC", "PVE::API2::LXC::Config", "PVE::API2::LXC::Snapshot",
                                           "PVE::API2::LXC::Status", "PVE::CLI::pct")
CLASSES = {"list": _LXC, "pending": _LXC, "resize": _LXC, "create": _LXC, "restore": _LXC, "destroy": _LXC, "template": _LXC,
           "clone": _LXC, "config": _CONFIG, "set": _CONFIG, "start": _STATUS, "stop": _STATUS,
           "shutdown": _STATUS, "reboot": _STATUS, "listsnapshot": _SNAPSHOT, "snapshot": _SNAPSHOT,
           "delsnapshot": _SNAPSHOT, "rollback": _SNAPSHOT}
# real pct subcommands pvesim does not simulate: known (so no "unknown command"), but refused;
# (class, usage line as print_usage_short shows it)
NOT_SIMULATED = {
    "migrate": (_LXC, "pct migrate <vmid> <target> [OPTIONS]"),
    "move-volume": (_LXC, "pct move-volume <vmid> <volume> [<storage>] [<target-vmid>] [<target-volume>] [OPTIONS]"),
    "remote-migrate": (_PCT, "pct remote-migrate <vmid> [<target-vmid>] <target-endpoint> --target-bridge <string> "
                             "--target-storage <string> [OPTIONS]"),
    "suspend": (_STATUS, "pct suspend <vmid>"), "resume": (_STATUS, "pct resume <vmid>"),
    "df": (_PCT, "pct df <vmid>"), "fsck": (_PCT, "pct fsck <vmid> [OPTIONS]"),
    "fstrim": (_PCT, "pct fstrim <vmid> [OPTIONS]"), "rescan": (_PCT, "pct rescan  [OPTIONS]"),
    "cpusets": (_PCT, "pct cpusets "),
}

LOCAL_PARAMS = {
    "status": {"vmid": VMID_P, "verbose": Param("boolean")},
    "exec": {"vmid": VMID_P, "extra-args": Param("array"), "keep-env": Param("boolean", default=1)},
    "enter": {"vmid": VMID_P, "keep-env": Param("boolean", default=1)},
    "console": {"vmid": VMID_P, "escape": Param("string", pattern=r"\^?[a-z]", default="^a")},
    "unlock": {"vmid": VMID_P},
    "mount": {"vmid": VMID_P},
    "unmount": {"vmid": VMID_P},
    "push": {"vmid": VMID_P, "file": Param("string", optional=False), "destination": Param("string", optional=False),
             "user": Param("string"), "group": Param("string"), "perms": Param("string")},
    "pull": {"vmid": VMID_P, "path": Param("string", optional=False), "destination": Param("string", optional=False),
             "user": Param("string"), "group": Param("string"), "perms": Param("string")},
}
NO_UPID_EXIT_TASKS = ("resize", "template")
# the fixed parameters of a $cmddef entry beyond `node` (pct.pm: restore is create_vm with restore => 1)
FIXED = {"restore": {"restore": 1}}
# commands whose handler has create_vm's param_mapping (an interactive `--password`)
CREATE_VM = ("create", "restore")


def _fixed(cmd: str) -> set[str]:
    return ({"node"} if COMMANDS[cmd][0] else set()) | set(FIXED.get(cmd, {}))


def command(cmd: str) -> clitools.Command:
    return clitools.Command(CLASSES.get(cmd, _PCT), COMMANDS[cmd][2], schema_for(cmd), fixed=_fixed(cmd))


def usage_str(cmd: str) -> str:
    return clitools.usage_str("pct " + cmd, command(cmd))


def short_usage() -> str:
    table = {c: command(c) for c in COMMANDS}
    table.update({c: clitools.Command(klass, [], {}, usage=line) for c, (klass, line) in NOT_SIMULATED.items()})
    return clitools.short_usage("pct", table)


def schema_for(cmd):
    method, path, pos, _upid_exit = COMMANDS[cmd]
    if method is None:
        return LOCAL_PARAMS[cmd]
    h, _path_params = handlers.find(method, path.replace("{node}", "x").replace("{vmid}", "100").replace("{snapname}", "snap"))
    return h.params


def get_options(cmd, schema, args, stderr):
    """The options and arguments of ``pct <cmd>`` (PVE::JSONSchema::get_options)."""
    interactive = ("password",) if cmd in CREATE_VM else ()
    return clitools.get_options(schema, args, COMMANDS[cmd][2], stderr, usage_str(cmd), fixed=_fixed(cmd),
                                interactive=interactive)


def _read_filepath(opts, schema):
    for k, p in schema.items():
        if getattr(p, "cli_filepath", False) and k in opts:
            try:
                with open(opts[k]) as fh:
                    opts[k] = fh.read()
            except OSError as exc:
                raise PVEError("unable to open file '%s' - %s" % (opts[k], exc.strerror)) from None


def main(argv, stdout=None, stderr=None, state=None):
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    return guestcli.run(lambda: _main(argv, out, err, state), err)


def _main(argv, out, err, state):
    argv = ["move-volume" if argv[:1] == ["move_volume"] else argv[0]] + list(argv[1:]) if argv else []
    known = set(COMMANDS) | set(NOT_SIMULATED)

    code, cmd, rest = clitools.select_command("pct", argv, known, short_usage(), out, err,
                                              lambda: clitools.require_root(state))
    if code is not None:
        return code
    if cmd in NOT_SIMULATED:
        raise PVEError("pvesim: 'pct %s' is not simulated" % cmd)
    st = state or State.locate()
    env = Env(st, user="root@pam", rpc="cli", stdout=out, stderr=err)
    method, path, pos, upid_exit = COMMANDS[cmd]
    schema = schema_for(cmd)
    opts = get_options(cmd, schema, rest, err)
    if method is None:
        try:
            params = validate(schema, opts, cli=True)
        except PVEError as exc:
            exc.usage = usage_str(cmd)
            raise
        faults.check(st, cmd)
        return LOCAL[cmd](env, params)
    _read_filepath(opts, schema)
    if cmd in CREATE_VM and opts.get("password") == "":
        opts["password"] = guestcli.read_confirmed_password()
    res = guestcli.call_api(env, method, path, opts, usage_str(cmd), FIXED.get(cmd))
    return OUTPUT.get(cmd, guestcli.no_output)(env, res, upid_exit)


def _out_list(env, res, upid_exit):
    if not res:
        return 0
    fmt = "%-10s %-10s %-12s %-20s\n"
    env.stdout.write(fmt % ("VMID", "Status", "Lock", "Name"))
    for d in sorted(res, key=lambda x: x["vmid"]):
        env.stdout.write(fmt % (d["vmid"], d["status"], d.get("lock") or "", d["name"]))
    return 0


def _out_config(env, res, upid_exit):
    for k in perl_sorted(res.keys()):
        if k in ("digest", "lxc"):
            continue
        v = res[k]
        if k == "description":
            v = encode_text(v)
        env.stdout.write("%s: %s\n" % (k, guestcli.value_text(v)))
    for k, v in res.get("lxc") or []:
        env.stdout.write("%s: %s\n" % (k, v))
    return 0


def _out_listsnapshot(env, res, upid_exit):
    """GuestHelpers::print_snapshot_tree."""
    import time as _t

    snaps = {s["name"]: s for s in res}
    children = {}
    roots = []
    for s in res:
        par = s.get("parent")
        if par and par in snaps:
            children.setdefault(par, []).append(s)
        else:
            roots.append(s)

    def key(s):
        # by snaptime, entries without one ("current") last
        return (0, s["snaptime"]) if s.get("snaptime") is not None else (1, 0)

    def walk(s, depth):
        prefix = " " * depth + "`->"
        ts = _t.strftime("%Y-%m-%d %H:%M:%S", _t.localtime(s["snaptime"])) if s.get("snaptime") else ""
        desc = (s.get("description") or "").split("\n", 1)[0] or "no-description"
        width = max(0, 30 - len(prefix))
        env.stdout.write("%s %-*s %-23s %s\n" % (prefix, width, s["name"], ts, desc))
        for c in sorted(children.get(s["name"], []), key=key):
            walk(c, depth + 1)

    for r in sorted(roots, key=key):
        walk(r, 0)
    return 0


OUTPUT = {"list": _out_list, "config": _out_config, "pending": guestcli.out_pending, "listsnapshot": _out_listsnapshot}


# --------------------------------------------------------------------------------------------
# local commands
# --------------------------------------------------------------------------------------------

def _load(env, vmid):
    from .lxc_api import load_config

    return load_config(env, vmid)


def _backend(env):
    from .backend import get_backend

    return get_backend(env.state)


def _status(env, p):
    from .lxc_api import vmstatus

    vmid = p["vmid"]
    conf = _load(env, vmid)
    d = vmstatus(env, vmid, conf)
    if p.get("verbose"):
        for k in sorted(d):
            if k == "cpu" or d[k] is None:
                continue
            env.stdout.write("%s: %s\n" % (k, d[k]))
    else:
        env.stdout.write("status: %s\n" % (d.get("status") or "unknown"))
    return 0


def _exec(env, p):
    vmid = p["vmid"]
    _load(env, vmid)
    b = _backend(env)
    if not b.is_running(vmid):
        raise PVEError("container '%s' not running!" % vmid)
    if not p.get("extra-args"):
        raise PVEError("missing command at %s line 246." % PCT_PM)
    argv = b.exec_argv(vmid, p["extra-args"], keep_env=bool(p.get("keep-env", 1)))
    env.stdout.flush()
    env.stderr.flush()
    if env.stdout is sys.stdout and env.stderr is sys.stderr:
        try:
            os.execvp(argv[0], argv)
        except OSError as exc:
            raise PVEError("exec failed: %s" % exc.strerror) from None
    proc = subprocess.run(argv, capture_output=True, check=False)
    env.stdout.write(proc.stdout.decode("utf-8", "replace"))
    env.stderr.write(proc.stderr.decode("utf-8", "replace"))
    return proc.returncode


def _enter(env, p):
    vmid = p["vmid"]
    _load(env, vmid)
    b = _backend(env)
    if not b.is_running(vmid):
        raise PVEError("container '%s' not running!" % vmid)
    argv = b.exec_argv(vmid, [], keep_env=bool(p.get("keep-env", 1)))[:-1]
    if not (sys.stdin.isatty() and env.stdout is sys.stdout):
        # lxc-attach without a command needs a terminal; say so instead of hanging
        raise PVEError("pvesim: 'pct enter' needs an interactive terminal; use 'pct exec %s -- <cmd>'" % vmid)
    os.execvp(argv[0], argv)
    return 0


def _console(env, p):
    vmid = p["vmid"]
    _load(env, vmid)
    raise PVEError("pvesim: 'pct console' is not simulated; use 'pct exec %s -- <cmd>'" % vmid)


def _unlock(env, p):
    from .lxc_api import lock_config, write_config

    vmid = p["vmid"]
    with lock_config(env, vmid):
        conf = _load(env, vmid)
        if not conf.get("lock"):
            raise PVEError("no lock found trying to remove any lock")
        conf.pop("lock")
        write_config(env, vmid, conf)
    return 0


def _mount(env, p):
    from .lxc_api import check_lock, lock_config, write_config

    vmid = p["vmid"]
    with lock_config(env, vmid):
        conf = _load(env, vmid)
        check_lock(conf)
        conf["lock"] = "mounted"
        write_config(env, vmid, conf)
    env.stdout.write("mounted CT %s in '/var/lib/lxc/%s/rootfs'\n" % (vmid, vmid))
    return 0


def _unmount(env, p):
    from .lxc_api import lock_config, write_config

    vmid = p["vmid"]
    with lock_config(env, vmid):
        conf = _load(env, vmid)
        if not conf.get("lock"):
            raise PVEError("no lock found trying to remove 'mounted' lock")
        if conf["lock"] != "mounted":
            raise PVEError("found lock '%s' trying to remove 'mounted' lock" % conf["lock"])
        conf.pop("lock")
        write_config(env, vmid, conf)
    return 0


def _perms(p):
    perms = p.get("perms")
    if perms is None:
        return None
    if not perms.startswith("0"):
        perms = "0" + perms
    return int(perms, 16) if perms.lower().startswith("0x") else int(perms, 8)


def _attach_sh(env, vmid, script, args, stdin=None, stdout=None):
    b = _backend(env)
    argv = b.exec_argv(vmid, ["/bin/sh", "-c", script, "sh"] + list(args), keep_env=False)
    return subprocess.run(argv, stdin=stdin, stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE,
                          check=False)


def _push(env, p):
    from .lxc_api import lock_config
    from .tasks import fork_worker

    vmid = p["vmid"]
    b = _backend(env)
    with lock_config(env, vmid):
        if not b.is_running(vmid):
            raise PVEError("can only push files to a running CT")
        _load(env, vmid)
        if b.mode != "lxc":
            raise PVEError("pvesim: 'pct push' needs the lxc execution mode")

        def realcmd(worker):
            with contextlib.ExitStack() as stack:
                try:
                    src = stack.enter_context(open(p["file"], "rb"))
                except OSError:
                    raise PVEError("failed to open %s for reading" % p["file"]) from None
                script = 'umask 022; cat > "$1" || exit 1; [ -z "$2" ] || chmod "$2" "$1" || exit 1; ' \
                         '[ -z "$3" ] || chown "$3" "$1" || exit 1; [ -z "$4" ] || chgrp "$4" "$1"'
                perms = _perms(p)
                r = _attach_sh(env, vmid, script, [p["destination"], "%o" % perms if perms is not None else "",
                                                   p.get("user") or "", p.get("group") or ""], stdin=src)
            if r.returncode != 0:
                raise PVEError("failed to create file: %s: %s" % (p["destination"], r.stderr.decode(errors="replace").strip()))

        fork_worker(env, "push_file", vmid, realcmd, user="root@pve")
    return 0


def _pull(env, p):
    from .lxc_api import lock_config
    from .tasks import fork_worker

    vmid = p["vmid"]
    b = _backend(env)
    with lock_config(env, vmid):
        if not b.is_running(vmid):
            raise PVEError("can only pull files from a running VM at %s line 664." % PCT_PM)
        if b.mode != "lxc":
            raise PVEError("pvesim: 'pct pull' needs the lxc execution mode")

        def realcmd(worker):
            dest = p["destination"]
            perms = _perms(p)
            try:
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, perms if perms is not None else 0o644)
            except OSError as exc:
                raise PVEError("failed to create file: %s: %s" % (dest, exc.strerror)) from None
            with os.fdopen(fd, "wb") as fh:
                r = _attach_sh(env, vmid, 'exec cat "$1"', [p["path"]], stdout=fh)
            if r.returncode != 0:
                raise PVEError("failed to open %s: %s" % (p["path"], "No such file or directory"))
            if perms is not None:
                os.chmod(dest, perms)
            if p.get("user") or p.get("group"):
                import grp
                import pwd

                uid = -1
                gid = -1
                if p.get("user"):
                    u = p["user"]
                    uid = int(u) if u.isdigit() else pwd.getpwnam(u).pw_uid
                if p.get("group"):
                    g = p["group"]
                    gid = int(g) if g.isdigit() else grp.getgrnam(g).gr_gid
                os.chown(dest, uid, gid)

        fork_worker(env, "pull_file", vmid, realcmd, user="root@pve")
    return 0


LOCAL = {"status": _status, "exec": _exec, "enter": _enter, "console": _console, "unlock": _unlock, "mount": _mount,
         "unmount": _unmount, "push": _push, "pull": _pull}
