# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection (``pvesim fault ...``), stored in ``<state>/.pvesim/faults.json``.

Kinds are PVE's own names: task types (``vzcreate``, ``vzstart``, ``vzstop``, ``vzshutdown``,
``vzreboot``, ``vzdestroy``, ``vztemplate``, ``resize``, ``push_file``, ``pull_file``,
``download``, ...) for task-backed operations, and API handler names (``update_vm``,
``vm_config``, ``vm_pending``, ``vm_status``, ``vmlist``, ``nextid``, ``resources``, ...) for
synchronous ones, plus the CLI-local ``pct`` commands ``status``, ``exec``, ``list``.
``pct`` subcommand names are accepted as aliases (``start`` -> ``vzstart``, ``set`` ->
``update_vm``).  ``*`` matches everything.

* fail: the next N matching operations fail.  A task kind fails *inside* the task (CLI exit
  255 / REST 200 + failed task, like a real in-worker error); a synchronous kind fails before
  anything is done (HTTP 500 / CLI nonzero).
* slow: every matching task sleeps N seconds before it does its work.
* warn: the next N matching tasks log ``WARN: <message>`` (``$rpcenv->warn``, as a guest's
  systemd version check does) and end with warnings (``WARNINGS: n``, ``Task finished with n
  warning(s)!``), not an error.
* fail-create-after-alloc: the next N creates fail after the rootfs volume was allocated
  (the volume is then freed again, as PVE does).
* hold-lock: a background process holds the CT's config file lock for N seconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time

from .state import atomic_write

ALIASES = {
    "create": "vzcreate", "restore": "vzrestore", "start": "vzstart", "stop": "vzstop", "shutdown": "vzshutdown",
    "reboot": "vzreboot", "destroy": "vzdestroy", "template": "vztemplate", "push": "push_file", "pull": "pull_file",
    "snapshot": "vzsnapshot", "delsnapshot": "vzdelsnapshot", "rollback": "vzrollback", "set": "update_vm",
    "config": "vm_config", "pending": "vm_pending", "suspend": "vzsuspend", "resume": "vzresume",
    "clone": "vzclone", "listsnapshot": "snapshot_list",
}

DEFAULT_MESSAGE = "pvesim: injected fault ({kind})"


def canonical_kind(kind):
    return ALIASES.get(kind, kind)


def _path(state):
    return state.root / ".pvesim" / "faults.json"


@contextlib.contextmanager
def _locked(state):
    p = state.root / ".pvesim" / "faults.lock"
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(p), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def load(state):
    try:
        data = json.loads(_path(state).read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    data.setdefault("fail", [])
    data.setdefault("slow", [])
    data.setdefault("warn", [])
    data.setdefault("fail_create_after_alloc", {"remaining": 0})
    data.setdefault("held_locks", {})
    return data


def save(state, data):
    atomic_write(_path(state), json.dumps(data, indent=2, sort_keys=True) + "\n")


def add_fail(state, kind, count=1, message=None):
    kind = canonical_kind(kind)
    with _locked(state):
        data = load(state)
        data["fail"].append({"kind": kind, "remaining": int(count), "message": message or DEFAULT_MESSAGE.format(kind=kind)})
        save(state, data)


def add_warn(state, kind, count=1, message=None):
    kind = canonical_kind(kind)
    with _locked(state):
        data = load(state)
        data["warn"].append({"kind": kind, "remaining": int(count), "message": message or "pvesim: injected warning ({kind})"})
        save(state, data)


def add_slow(state, seconds, kind="*"):
    kind = canonical_kind(kind)
    with _locked(state):
        data = load(state)
        data["slow"] = [s for s in data["slow"] if s["kind"] != kind]
        if float(seconds) > 0:
            data["slow"].append({"kind": kind, "seconds": float(seconds)})
        save(state, data)


def set_fail_create_after_alloc(state, count=1, message=None):
    with _locked(state):
        data = load(state)
        data["fail_create_after_alloc"] = {"remaining": int(count), "message": message or "pvesim: injected fault after rootfs allocation"}
        save(state, data)


def clear(state):
    with _locked(state):
        data = load(state)
        for pid in list(data["held_locks"].values()):
            with contextlib.suppress(OSError):
                os.kill(int(pid), 15)
        save(state, {})


def _take(state, kind, table="fail"):
    """Consume one matching entry of ``table`` (``fail`` or ``warn``); returns its message or None."""
    if not _path(state).exists():
        return None
    with _locked(state):
        data = load(state)
        for f in data[table]:
            if f["remaining"] > 0 and f["kind"] in (kind, "*"):
                f["remaining"] -= 1
                data[table] = [x for x in data[table] if x["remaining"] > 0]
                save(state, data)
                return f["message"].replace("{kind}", kind)
    return None


def check(state, kind):
    """Synchronous hook: raise a 500 PVEError if a fault for ``kind`` is pending."""
    msg = _take(state, kind)
    if msg is not None:
        from .handlers import PVEError

        raise PVEError(msg)


def before_task(state, dtype, worker):
    """Task hook (runs inside the worker): slow down, maybe warn, then maybe fail."""
    if not _path(state).exists():
        return
    data = load(state)
    delay = 0.0
    for s in data["slow"]:
        if s["kind"] in (dtype, "*"):
            delay = max(delay, float(s["seconds"]))
    if delay:
        time.sleep(delay)
    warning = _take(state, dtype, "warn")
    if warning is not None:
        worker.warn(warning)
    msg = _take(state, dtype)
    if msg is not None:
        raise RuntimeError(msg)


def take_create_after_alloc(state):
    if not _path(state).exists():
        return None
    with _locked(state):
        data = load(state)
        f = data["fail_create_after_alloc"]
        if f.get("remaining", 0) > 0:
            f["remaining"] -= 1
            save(state, data)
            return f.get("message") or "pvesim: injected fault after rootfs allocation"
    return None


def hold_lock(state, vmid, seconds):
    """Hold ``pve-config-<vmid>.lock`` from a detached child process for ``seconds``.

    Returns the holder's pid once the lock is held.
    """
    from .config import lxc_configs

    path = lxc_configs(state).lock_host_path(vmid)
    path.parent.mkdir(parents=True, exist_ok=True)
    rfd, wfd = os.pipe()
    child = os.fork()
    if child == 0:  # intermediate child: detach and fork the holder (double fork, no zombie)
        try:
            os.close(rfd)
            os.setsid()
            if os.fork() == 0:
                fd = os.open(str(path), os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(wfd, str(os.getpid()).encode())
                os.close(wfd)
                devnull = os.open(os.devnull, os.O_RDWR)
                for i in (0, 1, 2):
                    os.dup2(devnull, i)
                time.sleep(float(seconds))
        finally:
            os._exit(0)
    os.close(wfd)
    os.waitpid(child, 0)
    pid = int(os.read(rfd, 32) or b"0")
    os.close(rfd)
    with _locked(state):
        data = load(state)
        data["held_locks"][str(vmid)] = pid
        save(state, data)
    return pid


def release_lock(state, vmid):
    with _locked(state):
        data = load(state)
        pid = data["held_locks"].pop(str(vmid), None)
        save(state, data)
    if pid:
        with contextlib.suppress(OSError):
            os.kill(int(pid), 15)
        return True
    return False
