# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Root-only VM options over an API token, refused before any write (pvesim enforces them as Proxmox does).

qemu-server ``PVE/API2/Qemu.pm``: ``$check_vm_modify_config_perm`` dies "only root can set '<opt>' config" for an
option in none of its groups (``hookscript``, for a set and for a delete alike), and ``$check_storage_access`` calls
pve-storage ``PVE::Storage::check_volume_access``, "Only root can pass arbitrary filesystem paths." for a disk on a
host path.  ``$authuser eq 'root@pam'`` is false for every token, root@pam's included.
"""

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.manager import VmManager
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve import test_manager as ct
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pvevm.test_vm_manager import make_template, params, run, vm

TOKEN = dict(api_token_id="root@pam!ansible", api_token_secret="3f1c2d4e-token-secret")
HOOK = "local:snippets/hook.sh"


def token_run(sim, check=False, **kwargs):
    before = len(sim.writes)
    result = VmManager(sim.api_vm_transport(**TOKEN), params(**kwargs), check_mode=check).run()
    result["_writes"] = sim.writes[before:]
    return result


def refused(sim, fields, check=False, **kwargs):
    """The run fails with error_kind permission naming ``fields`` and the remedy, having written nothing."""
    before = len(sim.writes)
    with pytest.raises(LxcriError) as err:
        token_run(sim, check=check, **kwargs)
    assert err.value.error_kind == "permission", err.value.msg
    assert err.value.details["fields"] == fields
    assert "transport: qm" in err.value.msg and "api_user: root@pam with api_password" in err.value.msg
    assert TOKEN["api_token_secret"] not in repr(err.value.to_result())
    assert sim.writes[before:] == []
    return err.value


@pytest.fixture
def node(tmp_path, monkeypatch):
    return PveNode(tmp_path, monkeypatch)


def test_pvesim_refuses_a_token_the_hookscript_as_proxmox_does(node):
    """The premise: the write itself fails over a token (so the module must not attempt it)."""
    run(node, "api", **vm())
    with pytest.raises(LxcriError) as err:
        node.api_vm_transport(**TOKEN).update(200, {"hookscript": HOOK}, [])
    assert err.value.error_kind == "permission" and "hookscript" in err.value.msg


@pytest.mark.parametrize("check", [False, True])
def test_create_with_a_hookscript_over_a_token_is_refused_before_any_write(node, check):
    err = refused(node, ["hookscript"], check=check, **vm(hookscript=HOOK))
    assert "the hookscript" in err.msg and node.vm_conf_text(200) is None


def test_changing_or_removing_the_hookscript_over_a_token_is_refused_but_an_unchanged_one_is_fine(node):
    run(node, "qm", **vm(hookscript=HOOK))
    assert not token_run(node, **vm(hookscript=HOOK))["changed"]
    changed = token_run(node, **vm(hookscript=HOOK, memory=2048))
    assert changed["changed"] and [a["kind"] for a in changed["actions"]] == ["set"]
    refused(node, ["hookscript"], **vm(hookscript="local:snippets/other.sh", memory=4096))
    refused(node, ["hookscript"], **vm(hookscript=""))
    conf = node.vm_conf_text(200)
    assert "hookscript: %s" % HOOK in conf and "memory: 2048" in conf


def test_a_disk_on_a_host_path_over_a_token_is_refused_naming_the_disk(node):
    run(node, "api", **vm())
    refused(node, ["disks.virtio1"], **vm(disks={"virtio1": {"file": "/dev/disk/by-id/ata-EXAMPLE"}}))
    refused(node, ["disks.scsi1"], **vm(disks={"scsi1": {"storage": "local-lvm", "import-from": "/var/tmp/debian.qcow2"}}))
    assert "virtio1" not in node.vm_conf_text(200)


def test_a_password_login_as_root_and_qm_may_set_what_a_token_may_not(node):
    made = run(node, "api", **vm(hookscript=HOOK))
    assert made["changed"] and "hookscript: %s" % HOOK in node.vm_conf_text(200)
    moved = run(node, "qm", **vm(hookscript="local:snippets/other.sh"))
    assert moved["changed"] and "hookscript: local:snippets/other.sh" in node.vm_conf_text(200)


def test_a_clone_over_a_token_that_would_set_a_hookscript_is_refused_before_the_clone(node):
    make_template(node)
    refused(node, ["hookscript"], vmid=210, node="pve", clone={"source": 900}, hookscript=HOOK)
    assert node.vm_conf_text(210) is None


def test_container_hookscript_removal_over_a_token_is_refused_too(node):
    """The shared deny step covers deletes for CTs as well (pve-container check_ct_modify_config_perm checks @$delete)."""
    ct.run(node, "pct", ct.web(node))
    ct.set_conf_line(node, 120, "hookscript", HOOK)
    before = len(node.writes)
    with pytest.raises(LxcriError) as err:
        Manager(node.api_transport(**TOKEN), ct.params(**ct.web(node, hookscript=""))).run()
    assert err.value.error_kind == "permission" and err.value.details["fields"] == ["hookscript"]
    assert "transport: pct" in err.value.msg and node.writes[before:] == []
    with pytest.raises(LxcriError) as err:  # what the write would have met
        node.api_transport(**TOKEN).update(120, {}, ["hookscript"])
    assert err.value.error_kind == "permission"
