# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one error type every backend raises, with a stable machine-readable kind.

Code deep in module_utils raises ``LxcriError`` instead of calling ``fail_json``;
``runner.run_module`` turns it into the module result.  Unit tests call the
functions directly and assert on ``error_kind``.
"""

from __future__ import annotations

INVALID_ARGUMENT = "invalid_argument"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
LOCKED = "locked"
PERMISSION = "permission"
TIMEOUT = "timeout"
RUNTIME_MISSING = "runtime_missing"
RUNTIME_ERROR = "runtime_error"
TASK_FAILED = "task_failed"
UNSUPPORTED_HOST = "unsupported_host"

ERROR_KINDS = (
    INVALID_ARGUMENT,
    NOT_FOUND,
    CONFLICT,
    LOCKED,
    PERMISSION,
    TIMEOUT,
    RUNTIME_MISSING,
    RUNTIME_ERROR,
    TASK_FAILED,
    UNSUPPORTED_HOST,
)


class LxcriError(Exception):
    """A failure with a stable ``error_kind`` and, when a command failed, its output.

    ``details`` holds extra keys returned with the failure (for example the
    ``upid`` of a Proxmox task or the ``field`` an invalid argument names).
    """

    def __init__(self, msg, error_kind=RUNTIME_ERROR, cmd=None, rc=None, stdout=None, stderr=None, details=None):
        if error_kind not in ERROR_KINDS:
            raise ValueError("unknown error_kind %r" % (error_kind,))
        super().__init__(msg)
        self.msg = msg
        self.error_kind = error_kind
        self.cmd = list(cmd) if cmd is not None else None
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.details = dict(details or {})

    def to_result(self):
        """The keys passed to ``fail_json``: ``msg``, ``error_kind`` and what is known of the command."""
        result = dict(self.details)
        result["msg"] = self.msg
        result["error_kind"] = self.error_kind
        for key in ("cmd", "rc", "stdout", "stderr"):
            value = getattr(self, key)
            if value is not None:
                result[key] = value
        return result


def invalid_argument(field, problem):
    """An ``invalid_argument`` error whose message starts with the offending field."""
    return LxcriError("%s: %s" % (field, problem), INVALID_ARGUMENT, details={"field": field})
