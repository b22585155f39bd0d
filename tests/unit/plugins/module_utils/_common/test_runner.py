# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import TIMEOUT, LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module


class _Exit(Exception):
    pass


class RecordingModule:
    """Stands in for AnsibleModule's two exits, which never return."""

    def __init__(self):
        self.exited = None
        self.failed = None

    def exit_json(self, **kwargs):
        self.exited = kwargs
        raise _Exit()

    def fail_json(self, **kwargs):
        self.failed = kwargs
        raise _Exit()


def test_success_exits_with_the_converge_result():
    module = RecordingModule()
    with pytest.raises(_Exit):
        run_module(module, lambda m: {"changed": True, "vmid": 101})
    assert module.exited == {"changed": True, "vmid": 101}
    assert module.failed is None


def test_lxcri_error_becomes_fail_json_with_kind_and_stderr():
    def converge(module):
        raise LxcriError("task timed out", TIMEOUT, cmd=["pct", "start", "101"], rc=255, stderr="tail",
                         details={"upid": "UPID:x"})

    module = RecordingModule()
    with pytest.raises(_Exit):
        run_module(module, converge)
    assert module.failed == {"msg": "task timed out", "error_kind": "timeout", "cmd": ["pct", "start", "101"],
                             "rc": 255, "stderr": "tail", "upid": "UPID:x"}
    assert module.exited is None


def test_other_exceptions_are_not_swallowed():
    def converge(module):
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run_module(RecordingModule(), converge)
