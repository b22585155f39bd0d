# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pve_vm's argument spec: the info output passes Ansible's own validation and plans nothing."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import connection_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import argspec, model, plan
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pvevm.qm_fixtures import current


def validated(params):
    result = ArgumentSpecValidator(dict(connection_spec(), **argspec.vm_spec())).validate(params)
    assert result.error_messages == []
    return result.validated_parameters


def test_every_info_key_is_an_option():
    assert set(model.CONFIG_OPTIONS) <= set(argspec.vm_spec())


def test_info_output_through_the_argument_spec_is_a_no_op():
    config, _extra = model.public(current())
    params = validated(dict(config, vmid=100))
    assert plan.plan_config(current(), model.desired_from_params(params), exclusive=True).empty


def test_secret_is_no_log_and_clone_is_checked_by_both_layers():
    spec = argspec.vm_spec()
    assert spec["cipassword"]["no_log"] is True
    result = ArgumentSpecValidator(spec).validate({"name": "web2", "clone": {"full": True}})
    assert result.error_messages == ["missing required arguments: source found in clone"]
    params = validated({"name": "web2", "clone": {"source": "debian-tmpl", "target_storage": "local,lvm"}})
    with pytest.raises(LxcriError, match="^clone.target_storage: "):
        plan.clone_from_params(params["clone"])


@pytest.mark.parametrize(("params", "field"), [
    ({"vmid": 99}, "vmid"),
    ({"vmid": 1000000000}, "vmid"),
    ({"cores": 2}, "vmid"),
    ({"vmid": 100, "node": "pve\n1"}, "node"),
    ({"vmid": 100, "timeout": -1}, "timeout"),
    ({"vmid": 100, "lock_timeout": -5}, "lock_timeout"),
    ({"name": "web 2"}, "name"),
    ({"name": "web2", "clone": {"source": "tmpl", "full": False, "target_storage": "local-zfs"}}, "clone.target_storage"),
    ({"name": "web2", "disks": {"scsi0": {"storage": "local-lvm", "size": "8G", "cache": "none,ro=1"}}}, "disks.scsi0.cache"),
])
def test_check_params_refuses_before_any_call(params, field):
    with pytest.raises(LxcriError) as exc:
        plan.check_params(validated(params))
    assert exc.value.error_kind == "invalid_argument"
    assert str(exc.value).startswith(field + ": ")


def test_check_params_of_a_clone():
    params = validated({"name": "web2", "clone": {"source": "debian-tmpl"}, "cores": 4, "net": [{"bridge": "vmbr0"}],
                        "ipconfig": [{"ip": "dhcp"}], "cipassword": "s3cret", "state": "started"})
    desired, clone = plan.check_params(params)
    assert clone == plan.CloneSpec("debian-tmpl")
    assert desired == {"name": "web2", "cores": 4, "net0": {"bridge": "vmbr0"}, "ipconfig0": {"ip": "dhcp"}, "cipassword": "s3cret"}
