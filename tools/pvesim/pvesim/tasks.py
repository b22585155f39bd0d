# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tasks (workers) and UPIDs as PVE::RESTEnvironment / PVE::Tools implement them (contract §6.2).

``fork_worker(env, dtype, id, func)`` returns a UPID.

* ``env.rpc == "cli"``: the worker runs synchronously in this process; everything it logs goes
  to ``env.stdout`` and the task log; at the end ``TASK ERROR: <msg>`` -> ``<msg>`` on
  ``env.stderr``, ``TASK WARNINGS: n`` -> ``Task finished with n warning(s)!`` on stderr.
  The result is also left on ``env.last_task`` (a :class:`TaskResult`) for ``$upid_exit``.
* otherwise the worker runs in a background thread and the UPID is returned at once.

``func(worker)`` gets a :class:`Worker` with ``log(text)``, ``warn(text)`` and
``run_cmd(argv)`` (merged stdout/stderr streamed into the log).  Raising any exception fails
the task; ``PVEError``/plain exceptions give their message as the task error.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import threading
import time

UPID_RE = re.compile(
    r"^UPID:([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
    r"([^:\s]+):([^:\s]*):([^:\s]+):$")

TASK_DIR = "/var/log/pve/tasks"


class TaskResult:
    def __init__(self, upid, exitstatus):
        self.upid = upid
        self.exitstatus = exitstatus

    @property
    def ok(self):
        return self.exitstatus == "OK" or bool(re.match(r"^WARNINGS: \d+$", self.exitstatus or ""))


def upid_encode(node, pid, pstart, starttime, dtype, id_, user):
    return "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (node, pid, pstart, starttime, dtype, id_, user)


def upid_decode(upid):
    m = UPID_RE.match(upid or "")
    if not m:
        raise ValueError("unable to parse worker upid '%s'" % upid)
    return {
        "upid": upid, "node": m.group(1), "pid": int(m.group(3), 16), "pstart": int(m.group(4), 16),
        "starttime": int(m.group(5), 16), "type": m.group(6), "id": m.group(7), "user": m.group(8),
    }


def read_proc_starttime(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            data = fh.read()
        return int(data.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def task_log_path(state, upid):
    d = upid_decode(upid)
    return state.host_path("%s/%X/%s" % (TASK_DIR, d["starttime"] & 0xF, upid))


@contextlib.contextmanager
def _index_lock(state):
    p = state.host_path(TASK_DIR + "/.lock")
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(p), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _active_add(state, upid):
    with _index_lock(state), open(state.host_path(TASK_DIR + "/active"), "a") as fh:
        fh.write(upid + "\n")


def _active_done(state, upid, status):
    endtime = int(time.time())
    with _index_lock(state):
        p = state.host_path(TASK_DIR + "/active")
        try:
            lines = p.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        lines = [ln for ln in lines if ln.split(" ", 1)[0] != upid]
        p.write_text("".join(ln + "\n" for ln in lines))
        with open(state.host_path(TASK_DIR + "/index"), "a") as fh:
            fh.write("%s %08X %s\n" % (upid, endtime, status))


def list_tasks(state):
    """All known tasks, newest first: dicts with upid fields + status/endtime when finished."""
    out = {}
    texts = []
    # under the lock: a worker finishing between the two reads would otherwise be in neither file
    with _index_lock(state):
        for name in ("index", "active"):
            try:
                texts.append(state.host_path(TASK_DIR + "/" + name).read_text())
            except FileNotFoundError:
                continue
    for text in texts:
        for ln in text.splitlines():
            parts = ln.split(" ", 2)
            try:
                d = upid_decode(parts[0])
            except ValueError:
                continue
            if len(parts) == 3:
                d["endtime"] = int(parts[1], 16)
                d["status"] = parts[2]
            out.setdefault(d["upid"], d)
            if "status" in d:
                out[d["upid"]] = d
    return sorted(out.values(), key=lambda d: d["starttime"], reverse=True)


def task_status(state, upid):
    """``GET /nodes/{node}/tasks/{upid}/status`` data."""
    d = upid_decode(upid)
    res = {"upid": upid, "node": d["node"], "pid": d["pid"], "pstart": d["pstart"], "starttime": d["starttime"],
           "type": d["type"], "id": d["id"], "user": d["user"].split("!", 1)[0]}
    if "!" in d["user"]:
        res["tokenid"] = d["user"].split("!", 1)[1]
    path = task_log_path(state, upid)
    if not path.exists():
        return None
    running = read_proc_starttime(d["pid"]) == d["pstart"] and _in_active(state, upid)
    if running:
        res["status"] = "running"
        return res
    res["status"] = "stopped"
    res["exitstatus"] = _exitstatus_from_log(path)
    return res


def _in_active(state, upid):
    try:
        return any(ln.split(" ", 1)[0] == upid for ln in state.host_path(TASK_DIR + "/active").read_text().splitlines())
    except FileNotFoundError:
        return False


def _exitstatus_from_log(path):
    try:
        with open(path, "rb") as fh:
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError as exc:
        return "unable to get last line from task log - %s" % exc
    last = lines[-1] if lines else ""
    if last == "TASK OK":
        return "OK"
    m = re.match(r"^TASK WARNINGS: (\d+)$", last)
    if m:
        return "WARNINGS: " + m.group(1)
    m = re.match(r"^TASK ERROR: (.*)$", last)
    if m:
        return m.group(1)
    return "unexpected status"


def read_task_log(state, upid, start=0, limit=50):
    """``GET .../tasks/{upid}/log``: (total, [{"n": 1.., "t": line}])."""
    path = task_log_path(state, upid)
    with open(path, "rb") as fh:
        lines = fh.read().decode("utf-8", "replace").splitlines()
    sel = lines[start:start + limit] if limit else lines[start:]
    return len(lines), [{"n": start + i + 1, "t": t} for i, t in enumerate(sel)]


class TaskFailed(Exception):
    pass


class Worker:
    """What a task function gets to talk to its log."""

    def __init__(self, env, upid, logfh, tee):
        self.env = env
        self.upid = upid
        self._fh = logfh
        self._tee = tee
        self.warnings = 0
        self._lock = threading.Lock()
        self._at_line_start = True

    def write(self, text):
        if not text:
            return
        with self._lock:
            self._fh.write(text.encode("utf-8", "surrogateescape"))
            self._fh.flush()
            if self._tee is not None:
                self._tee.write(text)
                self._tee.flush()
            self._at_line_start = text.endswith("\n")

    def log(self, text=""):
        """One line (or several) of task output."""
        self.write(text if text.endswith("\n") else text + "\n")

    def warn(self, text):
        """``$rpcenv->warn``: a ``WARN: <text>`` line; the task then ends ``WARNINGS: n``."""
        self.warnings += 1
        self.log("WARN: " + text.rstrip("\n"))

    def run_cmd(self, argv, check=True, timeout=None, input=None, env=None, errmsg=None):
        """Run a host command, streaming merged output into the task log (PVE::Tools::run_command)."""
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL, env=env)
        if input is not None:
            proc.stdin.write(input if isinstance(input, bytes) else input.encode())
            proc.stdin.close()
        for raw in proc.stdout:
            self.write(raw.decode("utf-8", "replace"))
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise TaskFailed("command '%s' failed: got timeout" % " ".join(argv)) from None
        if rc != 0 and check:
            msg = "command '%s' failed: exit code %d" % (" ".join(argv), rc)
            raise TaskFailed("%s: %s" % (errmsg, msg) if errmsg else msg)
        return rc


def _error_text(exc):
    msg = getattr(exc, "message", None)
    if msg is None:
        msg = str(exc)
    msg = msg.rstrip("\n")
    return re.sub(r"\n", " ", msg)


def fork_worker(env, dtype, id_, func, user=None, background=False):
    """Start a task; see the module docstring."""
    from . import faults

    state = env.state
    user = user or env.user
    sync = env.rpc == "cli" and not background
    starttime = int(time.time())
    result = {}
    ready = threading.Event()

    def body():
        pid = os.getpid() if sync else threading.get_native_id()
        pstart = read_proc_starttime(pid) or 1
        upid = upid_encode(state.node, pid, pstart, starttime, dtype, "" if id_ is None else id_, user)
        path = task_log_path(state, upid)
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(path, "wb")  # noqa: SIM115 - the task log stays open for the whole worker
        _active_add(state, upid)
        result["upid"] = upid
        ready.set()
        worker = Worker(env, upid, fh, env.stdout if sync else None)
        err = None
        try:
            faults.before_task(state, dtype, worker)
            func(worker)
        except BaseException as exc:
            err = _error_text(exc) or "unknown error"
            if not isinstance(exc, Exception):
                err = "received interrupt"
        if err is not None:
            status = err
            line = "TASK ERROR: %s\n" % err
            if sync:
                env.stderr.write(err + "\n")
                env.stderr.flush()
                line = "\n" + line
        elif worker.warnings:
            status = "WARNINGS: %d" % worker.warnings
            line = "TASK WARNINGS: %d\n" % worker.warnings
            if sync:
                env.stderr.write("Task finished with %d warning(s)!\n" % worker.warnings)
                env.stderr.flush()
                line = "\n" + line
        else:
            status = "OK"
            line = "TASK OK\n"
        fh.write(line.encode("utf-8", "surrogateescape"))
        fh.close()
        _active_done(state, upid, status)
        result["status"] = status

    if sync:
        body()
        env.last_task = TaskResult(result["upid"], result["status"])
        return result["upid"]
    t = threading.Thread(target=body, name="pvesim-task-%s" % dtype, daemon=True)
    t.start()
    ready.wait()
    return result["upid"]
