# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runc/crun driver: render argv with the same global flags on every call and run it safely.

Every call gets ``--root``, ``--systemd-cgroup`` (when asked) and ``--log <file> --log-format json``
in the same form, and runs through ``AnsibleModule.run_command`` under ``timeout(1)``.
``create`` hands the container its stdio, so ``create`` runs behind a ``sh -c 'exec ...'``
that gives it stdin from /dev/null and stdout/stderr appended to the container's log file,
never a pipe of ours (a container holding our pipe would hang the reader).  Runtime errors
are read back from the ``--log`` JSON lines written during the call.
"""

from __future__ import annotations

import json
import os
import shutil

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import (
    RUNTIME_ERROR,
    RUNTIME_MISSING,
    TIMEOUT,
    LxcriError,
    invalid_argument,
)
from ansible_collections.lxcri.containers.plugins.module_utils._oci.state import parse_list, parse_state

RUNTIMES = ("crun", "runc")
DEFAULT_ROOTS = {"runc": "/run/runc", "crun": "/run/crun"}
EXTRA_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")

# The container's stdio for ``create``: "$0" is the log file, "$@" the runtime argv (no interpolation).
_STDIO_TO_FILE = 'exec "$@" </dev/null >>"$0" 2>&1'
# timeout(1) exits 124 when it stopped the command, 137 when it had to SIGKILL it.
_TIMED_OUT = (124, 137)

# Texts both runtimes print when the id is unknown (runc; crun 1.x; crun HEAD).
_NOT_FOUND_MARKERS = ("does not exist", "No such file or directory")


def find_executable(runtime, executable=None):
    """The absolute path of the runtime binary, or ``runtime_missing``."""
    if executable:
        if not os.path.isabs(executable):
            found = shutil.which(executable)
            if found:
                return found
            raise LxcriError("executable: %s was not found in PATH" % executable, RUNTIME_MISSING, details={"field": "executable"})
        if os.path.isfile(executable) and os.access(executable, os.X_OK):
            return executable
        raise LxcriError("executable: %s does not exist or is not executable" % executable, RUNTIME_MISSING, details={"field": "executable"})
    search = os.pathsep.join([os.environ.get("PATH", "")] + list(EXTRA_PATH))
    found = shutil.which(runtime, path=search)
    if not found:
        raise LxcriError(
            "runtime: %s is not installed (not found in PATH or %s); install it (apt-get install %s) or set executable"
            % (runtime, ", ".join(EXTRA_PATH), runtime),
            RUNTIME_MISSING,
            details={"field": "runtime"},
        )
    return found


class Call:
    """One finished runtime call."""

    __slots__ = ("argv", "rc", "stdout", "stderr", "log_messages")

    def __init__(self, argv, rc, stdout, stderr, log_messages):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.log_messages = log_messages

    def error_text(self):
        """The runtime's own error messages (``--log`` JSON), else its stderr."""
        if self.log_messages:
            return "; ".join(self.log_messages)
        return (self.stderr or "").strip() or "no error message"


def read_log_messages(path, offset):
    """``msg`` of the error/fatal JSON lines written to ``path`` after byte ``offset``."""
    if not path:
        return []
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    messages = []
    for line in data.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            messages.append(line)
            continue
        if isinstance(entry, dict) and str(entry.get("level", "error")) in ("error", "fatal", "panic"):
            messages.append(str(entry.get("msg", line)))
    return messages


class Runtime:
    """A runtime binary bound to one ``--root``; records the argv of every call in ``calls``.

    ``run_command`` is ``AnsibleModule.run_command`` (or a callable with its signature and
    ``(rc, stdout, stderr)`` result); planning-only instances never call it.
    """

    def __init__(self, name, executable, root, systemd_cgroup=False, log_file=None, timeout=120, run_command=None):
        if name not in RUNTIMES:
            raise invalid_argument("runtime", "must be one of %s, got %r" % (", ".join(RUNTIMES), name))
        self.name = name
        self.executable = executable
        self.root = root
        self.systemd_cgroup = systemd_cgroup
        self.log_file = log_file
        self.timeout = timeout
        self.run_command = run_command
        self.calls = []

    def global_args(self):
        argv = [self.executable, "--root", self.root]
        if self.systemd_cgroup:
            argv.append("--systemd-cgroup")
        if self.log_file:
            argv += ["--log", ("file:" + self.log_file) if self.name == "crun" else self.log_file, "--log-format", "json"]
        return argv

    def argv(self, *args):
        return self.global_args() + list(args)

    # argv of the lifecycle commands (used for planning, so check mode shows them)
    def create_argv(self, name, bundle):
        return self.argv("create", "--bundle", bundle, name)

    def start_argv(self, name):
        return self.argv("start", name)

    def kill_argv(self, name, signal):
        return self.argv("kill", name, signal)

    def delete_argv(self, name, force=False):
        return self.argv("delete", "--force", name) if force else self.argv("delete", name)

    def resume_argv(self, name):
        return self.argv("resume", name)

    def state_argv(self, name):
        return self.argv("state", name)

    def list_argv(self):
        return self.argv("list", "--format", "json")

    def run(self, argv, output_path=None, check=True):
        """Run ``argv``; with ``output_path`` the child's stdout/stderr are appended there (for ``create``)."""
        self.calls.append(list(argv))
        offset = 0
        if self.log_file:
            try:
                offset = os.path.getsize(self.log_file)
            except OSError:
                offset = 0
        command = list(argv)
        if output_path:
            command = ["/bin/sh", "-c", _STDIO_TO_FILE, output_path] + command
        if self.timeout:
            command = ["timeout", "--kill-after=5", str(self.timeout)] + command
        try:
            rc, stdout, stderr = self.run_command(command, expand_user_and_vars=False)
        except OSError as exc:
            raise LxcriError("cannot run %s: %s" % (argv[0], exc), RUNTIME_MISSING, cmd=argv) from None
        if self.timeout and rc in _TIMED_OUT:
            raise LxcriError("%s %s did not finish within %s s" % (self.name, argv[len(self.global_args())], self.timeout), TIMEOUT, cmd=argv)
        call = Call(list(argv), rc, stdout, stderr, read_log_messages(self.log_file, offset))
        if check and rc != 0:
            if output_path and not call.log_messages:
                call.stderr = _tail(output_path)
            raise self.failure(call)
        return call

    def failure(self, call, what=None):
        verb = what or call.argv[len(self.global_args())]
        return LxcriError(
            "%s %s failed (rc %s): %s" % (self.name, verb, call.rc, call.error_text()),
            RUNTIME_ERROR,
            cmd=call.argv,
            rc=call.rc,
            stdout=call.stdout,
            stderr=call.stderr,
        )

    def state(self, name):
        """The canonical state of ``name``, or ``None`` when it does not exist.

        When the root directory does not exist no container can, and nothing is run
        (runc and crun would create the root as a side effect).
        """
        if not os.path.isdir(self.root):
            return None
        call = self.run(self.state_argv(name), check=False)
        if call.rc == 0:
            return parse_state(call.stdout, self.name, self.root)
        text = call.error_text()
        if not os.path.exists(os.path.join(self.root, name)) or any(marker in text for marker in _NOT_FOUND_MARKERS):
            return None
        raise self.failure(call)

    def list(self):
        """Every container under the root (``[]`` when the root does not exist)."""
        if not os.path.isdir(self.root):
            return []
        call = self.run(self.list_argv())
        return parse_list(call.stdout, self.name, self.root)


def _tail(path, size=2000):
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(path) - size))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
