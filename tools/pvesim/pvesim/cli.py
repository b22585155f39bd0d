# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``pvesim`` command and the entry point of the ``pct``/``pveam``/``pvesh`` launchers.

    pvesim init DIR [--node NAME] [--mode state|lxc] [--allow-non-root]
    pvesim bin-dir BINDIR [--state-dir DIR]      write pct/pveam/pvesh/pvesm/qm launchers into BINDIR
    pvesim run pct|pveam|pvesh|pvesm ARGS...      run a tool without launchers
    pvesim fault ...                              fault injection (see ``pvesim fault --help``)
    pvesim serve ...                              the HTTPS API server (pvesim.http)
    pvesim template build|add|install ...         LXC templates and the pveam catalogue (pvesim.templates)
    pvesim auth passwd|user-add|token-add|acl-add  users, tokens, ACLs (pvesim.auth)
    pvesim qemu-guest [--state-dir DIR]           build the VM guest and probe KVM ahead of the first 'qm start'

Every front end calls :func:`run_tool`, which refuses to run on a real Proxmox VE host.
"""

from __future__ import annotations

import argparse
import importlib
import stat
import sys
from pathlib import Path

from . import __version__
from .state import ENV_STATE_DIR, MODES, State, StateError

TOOLS = ("pct", "pveam", "pvesh", "pvesm", "qm")
LAUNCHER_MARK = "# pvesim-launcher: written by 'pvesim bin-dir'; safe to delete"
SYSTEM_BIN_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")


def real_pve_markers(root="/"):
    """Reasons to believe this is a real Proxmox VE host (empty list if none)."""
    found = []
    r = Path(root)
    if (r / "usr/share/perl5/PVE").is_dir():
        found.append("/usr/share/perl5/PVE")
    try:
        with open(r / "proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and parts[1] == "/etc/pve":
                    found.append("a %s mount at /etc/pve (pmxcfs)" % parts[2])
    except OSError:
        pass
    if (r / "usr/bin/pmxcfs").exists():
        found.append("/usr/bin/pmxcfs")
    return found


def refuse_on_real_pve(stderr=None, root="/"):
    found = real_pve_markers(root)
    if found:
        (stderr or sys.stderr).write(
            "pvesim: refusing to run on a real Proxmox VE host (found %s); use the real tools there.\n" % ", ".join(found))
        return True
    return False


def run_tool(name, argv=None):
    """Entry point of a ``pct``/``pveam``/``pvesh`` launcher.  Returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if refuse_on_real_pve():
        return 255
    if name not in TOOLS:
        sys.stderr.write("pvesim: unknown tool '%s'\n" % name)
        return 2
    mod = importlib.import_module("pvesim." + name)
    return mod.main(argv)


def write_launchers(bindir, state_dir=None, tools=TOOLS, python=None):
    """Write launchers; refuses system dirs and files it did not write itself."""
    bindir = Path(bindir).absolute()
    if str(bindir) in SYSTEM_BIN_DIRS or str(bindir.resolve()) in SYSTEM_BIN_DIRS:
        raise StateError("refusing to write launchers into the system directory %s; use a dedicated directory" % bindir)
    bindir.mkdir(parents=True, exist_ok=True)
    python = python or sys.executable
    written = []
    for tool in tools:
        p = bindir / tool
        if p.exists() or p.is_symlink():
            try:
                ours = LAUNCHER_MARK in p.read_text(errors="replace")
            except OSError:
                ours = False
            if not ours or p.is_symlink():
                raise StateError("refusing to overwrite %s: it was not written by pvesim" % p)
        lines = ["#!%s" % python, LAUNCHER_MARK, "import os", "import sys"]
        if state_dir:
            lines.append("os.environ.setdefault(%r, %r)" % (ENV_STATE_DIR, str(Path(state_dir).absolute())))
        lines += ["from pvesim.cli import run_tool", "sys.exit(run_tool(%r))" % tool, ""]
        p.write_text("\n".join(lines))
        p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
        written.append(str(p))
    return written


def _fault_main(args):
    from . import faults

    st = State.locate(args.state_dir)
    if args.fault_cmd == "fail":
        faults.add_fail(st, args.kind, args.count, args.message)
        print("next %d '%s' operation(s) will fail" % (args.count, faults.canonical_kind(args.kind)))
    elif args.fault_cmd == "warn":
        faults.add_warn(st, args.kind, args.count, args.message)
        print("next %d '%s' task(s) will log a warning" % (args.count, faults.canonical_kind(args.kind)))
    elif args.fault_cmd == "slow":
        faults.add_slow(st, args.seconds, args.kind)
        print("'%s' tasks sleep %gs" % (faults.canonical_kind(args.kind), args.seconds))
    elif args.fault_cmd == "fail-create-after-alloc":
        faults.set_fail_create_after_alloc(st, args.count, args.message)
        print("next %d create(s) fail after the rootfs was allocated" % args.count)
    elif args.fault_cmd == "hold-lock":
        from .config import lxc_configs

        pid = faults.hold_lock(st, args.vmid, args.seconds)
        print("holding %s for %gs (pid %d)" % (lxc_configs(st).lock_pve_path(args.vmid), args.seconds, pid))
    elif args.fault_cmd == "release-lock":
        if not faults.release_lock(st, args.vmid):
            print("no lock held for %s" % args.vmid, file=sys.stderr)
            return 1
    elif args.fault_cmd == "clear":
        faults.clear(st)
    elif args.fault_cmd == "show":
        import json

        print(json.dumps(faults.load(st), indent=2, sort_keys=True))
    return 0


def _qemu_guest_main(args):
    import json

    from .qemu.guest_image import GuestImageError
    from .qemu.runtime import guest_cache_dir, prepare_guest

    st = State.locate(args.state_dir)
    try:
        guest, accel, why = prepare_guest(st)
    except GuestImageError as exc:
        sys.stderr.write("pvesim: %s\n" % exc)
        return 1
    print(json.dumps({"cache": str(guest_cache_dir(st)), "kernel": str(guest.kernel), "initrd": str(guest.initrd),
                      "kernel_version": guest.kernel_version, "accel": accel, "accel_reason": why}, indent=2, sort_keys=True))
    return 0


def build_parser():
    ap = argparse.ArgumentParser(prog="pvesim", description="Proxmox VE node simulator")
    ap.add_argument("--version", action="version", version="pvesim %s" % __version__)
    sub = ap.add_subparsers(dest="cmd")

    p = sub.add_parser("init", help="create or update a state directory")
    p.add_argument("dir")
    p.add_argument("--node", default="pve")
    p.add_argument("--mode", choices=MODES, default="state")
    p.add_argument("--allow-non-root", action="store_true",
                   help="let non-root users run pct/pvesh/pveam (state mode only; real PVE says 'please run as root')")
    p.add_argument("--cgroup-version", type=int, choices=(1, 2), default=2,
                   help="cgroup version the simulated node reports (cpuunits defaults/clamping)")

    p = sub.add_parser("bin-dir", help="write pct/pveam/pvesh launchers into a dedicated directory")
    p.add_argument("dir")
    p.add_argument("--state-dir", help="default state directory baked into the launchers")

    p = sub.add_parser("run", help="run pct, pveam or pvesh")
    p.add_argument("tool", choices=TOOLS)
    p.add_argument("args", nargs=argparse.REMAINDER)

    p = sub.add_parser("fault", help="fault injection")
    p.add_argument("--state-dir")
    fs = p.add_subparsers(dest="fault_cmd")
    q = fs.add_parser("fail", help="fail the next N operations of a kind (task type, handler name or pct command)")
    q.add_argument("kind")
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--message")
    q = fs.add_parser("warn", help="make the next N tasks of a kind log a WARN line and end with warnings")
    q.add_argument("kind")
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--message")
    q = fs.add_parser("slow", help="make tasks of a kind sleep before they run (0 removes)")
    q.add_argument("seconds", type=float)
    q.add_argument("--kind", default="*")
    q = fs.add_parser("fail-create-after-alloc", help="fail the next N creates after the rootfs was allocated")
    q.add_argument("--count", type=int, default=1)
    q.add_argument("--message")
    q = fs.add_parser("hold-lock", help="hold a CT's config file lock from a background process")
    q.add_argument("vmid", type=int)
    q.add_argument("--seconds", type=float, default=30.0)
    q = fs.add_parser("release-lock", help="release a lock taken with hold-lock")
    q.add_argument("vmid", type=int)
    fs.add_parser("clear", help="remove all faults and release held locks")
    fs.add_parser("show", help="print the fault table")

    p = sub.add_parser("qemu-guest", help="build (or reuse) the VM guest image and probe KVM, as the first 'qm start' "
                                          "of the real mode would; prints where they are as JSON")
    p.add_argument("--state-dir")

    p = sub.add_parser("serve", help="run the HTTPS API server", add_help=False)
    p.add_argument("args", nargs=argparse.REMAINDER)
    for name, text in (("template", "build LXC templates and publish them to the pveam catalogue"),
                       ("auth", "users, passwords, API tokens and ACLs")):
        p = sub.add_parser(name, help=text, add_help=False)
        p.add_argument("args", nargs=argparse.REMAINDER)
    return ap


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if refuse_on_real_pve():
        return 255
    # `pvesim serve` belongs to the HTTP front end: hand over the raw arguments.
    if argv and argv[0] == "serve":
        try:
            http = importlib.import_module("pvesim.http")
        except ModuleNotFoundError:
            sys.stderr.write("pvesim: the HTTPS server is not available in this build\n")
            return 2
        return http.cli_main(argv[1:])
    # `pvesim template ...` / `pvesim auth ...` belong to pvesim.templates / pvesim.auth
    if argv and argv[0] in ("template", "auth"):
        return importlib.import_module("pvesim." + {"template": "templates"}.get(argv[0], argv[0])).main(argv[1:])
    ap = build_parser()
    args = ap.parse_args(argv)
    try:
        if args.cmd == "init":
            st = State(args.dir)
            extra = {"allow_non_root": bool(args.allow_non_root), "cgroup_version": args.cgroup_version}
            st.init(node=args.node, mode=args.mode, extra_settings=extra)
            print("initialised %s (node %s, mode %s)" % (st.root, st.node, st.mode))
            return 0
        if args.cmd == "bin-dir":
            for p in write_launchers(args.dir, args.state_dir):
                print(p)
            return 0
        if args.cmd == "run":
            return run_tool(args.tool, args.args)
        if args.cmd == "qemu-guest":
            return _qemu_guest_main(args)
        if args.cmd == "fault":
            if not args.fault_cmd:
                ap.parse_args(["fault", "--help"])
            return _fault_main(args)
    except StateError as exc:
        sys.stderr.write("pvesim: %s\n" % exc)
        return 2
    ap.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
