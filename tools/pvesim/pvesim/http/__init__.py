# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pvesim serve``: run the simulated REST API (pveproxy) of a state directory.

::

    pvesim serve --port 18006 [--state-dir DIR] [--listen 127.0.0.1] [--background]
                 [--auth-fail-delay SECONDS] [--log FILE]
    pvesim serve --stop [--state-dir DIR]
    pvesim serve --status [--state-dir DIR]     # prints the runtime info JSON, exit 1 if not running

``--background`` forks, detaches and returns once the socket accepts connections; the pid is in
``<state>/.host/run/pveproxy/pveproxy.pid`` and the URL/port/certificate fingerprint in
``<state>/.host/run/pveproxy/pvesim-api.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time


def _parser():
    p = argparse.ArgumentParser(prog="pvesim serve", description="Run the simulated PVE REST API (HTTPS, loopback only).")
    p.add_argument("--state-dir", help="state directory (default: $PVESIM_STATE_DIR)")
    p.add_argument("--port", type=int, default=8006, help="TCP port (default 8006)")
    p.add_argument("--listen", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--background", "-d", action="store_true", help="detach; return once the API accepts connections")
    p.add_argument("--auth-fail-delay", type=float, default=0.0,
                   help="seconds to delay 401 answers (real PVE: 3; default 0 to keep tests fast)")
    p.add_argument("--log", help="append an access log to this file")
    p.add_argument("--stop", action="store_true", help="stop the background server of this state directory")
    p.add_argument("--status", action="store_true", help="print the running server's info, exit 1 if none")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for start/stop (default 15)")
    return p


def _read_pid(state):
    from .server import pid_file

    try:
        pid = int(pid_file(state).read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def _wait_port(host, port, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(state, timeout=15.0):
    """Stop the background server; returns True if one was running."""
    from .server import info_file, pid_file

    pid = _read_pid(state)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, signal.SIGKILL)
    for p in (pid_file(state), info_file(state)):
        try:
            p.unlink()
        except OSError:
            pass
    return True


def cli_main(argv=None):
    from ..state import State, StateError
    from .server import check_loopback, info_file, make_server, remove_runtime_files, write_runtime_files

    args = _parser().parse_args(argv)
    try:
        state = State.locate(args.state_dir)
    except StateError as exc:
        sys.stderr.write("pvesim serve: %s\n" % exc)
        return 2
    if args.stop:
        if not stop(state, args.timeout):
            sys.stderr.write("pvesim serve: no running API server for %s\n" % state.root)
            return 1
        return 0
    if args.status:
        if _read_pid(state) is None:
            sys.stderr.write("pvesim serve: not running\n")
            return 1
        sys.stdout.write(info_file(state).read_text())
        return 0
    try:
        check_loopback(args.listen)
    except ValueError as exc:
        sys.stderr.write("pvesim serve: %s\n" % exc)
        return 2
    running = _read_pid(state)
    if running is not None:
        sys.stderr.write("pvesim serve: already running (pid %d) for %s\n" % (running, state.root))
        return 1

    if args.background:
        rfd, wfd = os.pipe()
        pid = os.fork()
        if pid:
            os.close(wfd)
            with os.fdopen(rfd) as fh:
                msg = fh.read()
            os.waitpid(pid, 0)
            if msg.startswith("ok "):
                info = json.loads(msg[3:])
                sys.stdout.write("%s\n" % info["url"])
                return 0
            sys.stderr.write("pvesim serve: %s\n" % (msg or "server failed to start"))
            return 1
        os.close(rfd)
        os.setsid()
        if os.fork():
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        log = open(args.log, "a", encoding="utf-8") if args.log else None  # noqa: SIM115 - lives as long as the server
        try:
            srv = make_server(state, host=args.listen, port=args.port, auth_fail_delay=args.auth_fail_delay, log=log)
            info = write_runtime_files(state, srv)
        except Exception as exc:
            os.write(wfd, str(exc).encode())
            os.close(wfd)
            os._exit(1)
        os.write(wfd, ("ok " + json.dumps(info)).encode())
        os.close(wfd)
        return _run(srv, state, remove_runtime_files)

    log = open(args.log, "a", encoding="utf-8") if args.log else sys.stderr  # noqa: SIM115 - lives as long as the server
    try:
        srv = make_server(state, host=args.listen, port=args.port, auth_fail_delay=args.auth_fail_delay, log=log)
    except Exception as exc:
        sys.stderr.write("pvesim serve: %s\n" % exc)
        return 1
    info = write_runtime_files(state, srv)
    sys.stderr.write("pvesim API listening on %s (certificate fingerprint %s)\n" % (info["url"], info["fingerprint"]))
    return _run(srv, state, remove_runtime_files)


def _run(srv, state, cleanup):
    import threading

    def _term(_signo, _frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        cleanup(state)
    return 0


main = cli_main
