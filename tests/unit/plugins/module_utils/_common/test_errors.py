# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError, invalid_argument


def test_error_kinds_are_the_documented_stable_set():
    assert errors.ERROR_KINDS == (
        "invalid_argument", "not_found", "conflict", "locked", "permission",
        "timeout", "runtime_missing", "runtime_error", "task_failed", "unsupported_host",
    )


def test_unknown_error_kind_is_refused():
    with pytest.raises(ValueError, match="unknown error_kind 'oops'"):
        raise LxcriError("boom", "oops")


def test_to_result_carries_msg_kind_and_command_output():
    exc = LxcriError("runc create failed", errors.RUNTIME_ERROR, cmd=["runc", "create", "x"], rc=1,
                     stderr="container with given ID already exists", details={"actions": [["runc", "state", "x"]]})
    assert exc.to_result() == {
        "msg": "runc create failed",
        "error_kind": "runtime_error",
        "cmd": ["runc", "create", "x"],
        "rc": 1,
        "stderr": "container with given ID already exists",
        "actions": [["runc", "state", "x"]],
    }


def test_to_result_omits_unknown_command_fields():
    assert LxcriError("nope", errors.NOT_FOUND).to_result() == {"msg": "nope", "error_kind": "not_found"}


def test_details_cannot_override_msg_or_kind():
    exc = LxcriError("real", errors.LOCKED, details={"msg": "fake", "error_kind": "conflict"})
    assert exc.to_result()["msg"] == "real"
    assert exc.to_result()["error_kind"] == "locked"


def test_invalid_argument_names_the_field_first():
    exc = invalid_argument("name", "must not contain '/'")
    assert str(exc) == "name: must not contain '/'"
    assert exc.error_kind == "invalid_argument"
    assert exc.to_result()["field"] == "name"
