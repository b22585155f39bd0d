# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The bad-input table of molecule ``pve``, run here too over both transports against pvesim.

Each entry must fail with ``invalid_argument`` naming its field before the transport runs any
command or API call (not even a read).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager
from ansible_collections.lxcri.containers.plugins.modules.pve_container import argument_spec
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode

VERIFY = Path(__file__).resolve().parents[5] / "extensions" / "molecule" / "pve" / "tasks" / "verify_one.yml"
TABLE = next(task for task in yaml.safe_load(VERIFY.read_text())[0]["block"] if task.get("name", "").startswith("Bad inputs"))["loop"]


def test_the_table_covers_at_least_40_inputs():
    assert len(TABLE) >= 40


@pytest.mark.parametrize("via", ["pct", "api"])
@pytest.mark.parametrize("entry", TABLE, ids=["%d-%s" % (index, entry["field"]) for index, entry in enumerate(TABLE)])
def test_each_bad_input_fails_naming_its_field_before_any_call(tmp_path, monkeypatch, entry, via):
    node = PveNode(tmp_path, monkeypatch)
    params = dict((key, spec.get("default")) for key, spec in argument_spec().items())
    params.update(vmid=9208, hostname="bad", ostemplate=node.template, storage="local-lvm")
    params.update(entry["args"])
    transport = node.pct_transport() if via == "pct" else node.api_transport()
    with pytest.raises(LxcriError) as err:
        Manager(transport, params).run()
    assert err.value.error_kind == "invalid_argument", err.value.msg
    assert err.value.msg.startswith(entry["field"] + ":"), err.value.msg
    assert node.argvs == [] and node.bodies == []
