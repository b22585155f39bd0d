# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VM planner: minimal writes, disks, secrets, what a running VM keeps pending, clones.

Proxmox behaviour cited from qemu-server 9.2.6: ``src/PVE/QemuServer.pm`` ``vmconfig_hotplug_pending``
(``$fast_plug_option``, the hotplug default ``network,disk,usb``), ``vmconfig_update_net``,
``vmconfig_update_disk``, ``vmconfig_update_agent``, ``vmconfig_delete_or_detach_drive`` (a deleted
disk becomes ``unusedN`` unless forced); ``src/PVE/API2/Qemu.pm`` ``update_vm_api`` (cipassword hashed
with ``encrypt_pw`` and written at once; ``<hidden>`` in the task log), ``vm_config`` (``**********``),
``resize_vm`` ("shrinking disks is not supported"), ``clone_vm`` ("parameter 'storage' not allowed for
linked clones", "always change MAC", ``Copy-of-VM-<name>``); ``Drive.pm`` ``$NEW_DISK_RE``, ``drive_is_cloudinit``.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Plan
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model, plan
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pvevm.qm_fixtures import CURRENT, current


def desired(**params):
    return model.desired_from_params(params)


@pytest.mark.parametrize("exclusive", [False, True])
def test_info_output_fed_back_is_a_no_op(exclusive):
    """pve_vm_info returns model.public(...)[0]; the same dict as module parameters changes nothing."""
    config, _extra = model.public(current())
    delta = plan.plan_config(current(), model.desired_from_params(config), exclusive=exclusive)
    assert delta.empty and delta.set == {} and delta.delete == [] and delta.resize == []


def test_only_differing_keys_are_written():
    delta = plan.plan_config(current(), desired(cores=4, memory=2048, name="web1", net=[{"bridge": "vmbr2"}],
                                                disks={"scsi0": {"storage": "local-lvm", "size": "40G", "iothread": True}}))
    assert sorted(delta.set) == ["cores", "net0"] and delta.delete == []
    assert delta.resize == [("scsi0", "40G")]
    # MAC, model and firewall kept when not declared: the NIC is not replaced.
    assert delta.write_values() == {"cores": "4", "net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr2,firewall=1"}
    assert delta.after["scsi0"] == {"file": "local-lvm:vm-100-disk-0", "iothread": True, "size": "40G"}
    assert delta.summary() == "cores, net0"


def test_undeclared_sub_options_are_kept_unless_exclusive():
    """A template's NIC and disk options survive a clone that declares only bridge and size."""
    delta = plan.plan_config(current(), desired(net=[{"bridge": "vmbr0"}], disks={"scsi0": {"storage": "local-lvm", "size": "32G"}}))
    assert delta.empty
    delta = plan.plan_config(current(), desired(net=[{"bridge": "vmbr0"}], disks={"scsi0": {"storage": "local-lvm", "size": "32G"}}),
                             exclusive=True)
    assert delta.write_values() == {"net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0", "scsi0": "local-lvm:vm-100-disk-0,size=32G"}
    # Declared false turns a flag off either way.
    assert plan.plan_config(current(), desired(net=[{"firewall": False}])).write_values() == {
        "net0": "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=0"}


def test_declared_mac_and_model_replace_the_nic():
    delta = plan.plan_config(current(), desired(net=[{"model": "e1000", "macaddr": "BC:24:11:00:00:01", "bridge": "vmbr0", "firewall": True}]))
    assert delta.write_values() == {"net0": "e1000=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"}


def test_empty_values_are_deletes():
    delta = plan.plan_config(current(), desired(description="", tags=[], nameserver=[], sshkeys=[], hookscript=""))
    assert delta.set == {} and sorted(delta.delete) == ["description", "hookscript", "nameserver", "sshkeys"]
    # Tags merge unless exclusive, so [] only clears them with exclusive.
    config, _extra = model.public(current())
    delta = plan.plan_config(current(), model.desired_from_params(dict(config, tags=[])), exclusive=True)
    assert delta.set == {} and delta.delete == ["tags"]
    # Nothing to delete when the key is not set.
    assert plan.plan_config({"cores": 1}, desired(description="")).empty


def test_tags_merge_unless_exclusive():
    assert plan.plan_config(current(), desired(tags=["db"])).set == {"tags": ["db", "prod", "web"]}
    assert plan.plan_config(current(), desired(tags=["db"]), exclusive=True).set == {"tags": ["db"]}


def test_exclusive_removes_undeclared_devices_and_detaches_disks():
    """Without exclusive, undeclared NICs, ipconfigs and disks are left alone; with it they are deleted
    (Proxmox detaches a deleted disk to unusedN: vmconfig_delete_or_detach_drive without force)."""
    declared = desired(net=[{"bridge": "vmbr0", "firewall": True}], ipconfig=[{"ip": "10.0.0.5/24", "gw": "10.0.0.1"}],
                       disks={"scsi0": {"storage": "local-lvm", "size": "32G", "iothread": True}}, tags=["prod", "web"])
    assert plan.plan_config(current(), declared).empty
    delta = plan.plan_config(current(), declared, exclusive=True)
    assert delta.set == {} and delta.delete == ["efidisk0", "ide2", "ipconfig1", "net1"]
    assert "unused0" not in delta.delete  # unusedN are not disks of the config the module manages


def test_new_disk_is_an_allocation_in_gib():
    delta = plan.plan_config(current(), desired(disks={"virtio1": {"storage": "local-lvm", "size": 8, "iothread": True},
                                                       "scsi2": {"storage": "local-zfs", "size": "512M"},
                                                       "sata0": {"file": "local-lvm:4", "format": "qcow2"}}))
    assert delta.write_values() == {"virtio1": "local-lvm:8,iothread=1", "scsi2": "local-zfs:0.5", "sata0": "local-lvm:4,format=qcow2"}
    assert delta.resize == []


def test_imported_efi_and_tpm_disks_take_the_size_proxmox_gives_them():
    """API2/Qemu.pm check_drive_param: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>"."""
    delta = plan.plan_config(current(), desired(disks={
        "scsi1": {"storage": "local-lvm", "import-from": "local:import/debian.qcow2"},
        "tpmstate0": {"storage": "local-lvm", "version": "v2.0"}}))
    assert delta.write_values() == {"scsi1": "local-lvm:0,import-from=local:import/debian.qcow2", "tpmstate0": "local-lvm:1,version=v2.0"}
    with pytest.raises(LxcriError, match=r"^disks.scsi1.size: a disk imported with import-from gets the size of its source"):
        plan.plan_config(current(), desired(disks={"scsi1": {"storage": "local-lvm", "size": 8, "import-from": "local:import/a.qcow2"}}))


def test_create_only_disk_options_do_not_count_afterwards():
    """create_disks drops 'format' after allocating: declaring it again must not rewrite the disk."""
    cur = dict(current(), scsi1={"file": "local:100/vm-100-disk-3.qcow2", "size": "8G"})
    assert plan.plan_config(cur, desired(disks={"scsi1": {"storage": "local", "size": "8G", "format": "qcow2"}})).empty


def test_disks_never_shrink_move_or_resize_a_cdrom():
    with pytest.raises(LxcriError, match=r"^disks.scsi0.size: 16G is smaller than the current 32G; disks never shrink"):
        plan.plan_config(current(), desired(disks={"scsi0": {"size": "16G"}}))
    with pytest.raises(LxcriError, match=r"^disks.scsi0.storage: the disk is on local-lvm; moving a disk to ceph is not supported"):
        plan.plan_config(current(), desired(disks={"scsi0": {"storage": "ceph", "size": "32G"}}))
    with pytest.raises(LxcriError, match=r"^disks.ide2.size: ide2 is a CD-ROM drive"):
        plan.plan_config(current(), desired(disks={"ide2": {"size": "1G"}}))
    with pytest.raises(LxcriError, match=r"^disks.scsi5: a new disk needs storage and size"):
        plan.plan_config(current(), desired(disks={"scsi5": {"size": "32G"}}))
    with pytest.raises(LxcriError, match=r"^disks.scsi5.size: a size applies to a new volume"):
        plan.plan_config(current(), desired(disks={"scsi5": {"file": "local-lvm:vm-100-disk-7", "size": "32G"}}))


def test_cloudinit_drive_asked_as_storage_cloudinit_matches_the_existing_one():
    """`ide2: local-lvm:cloudinit` creates local-lvm:vm-100-cloudinit,media=cdrom (drive_is_cloudinit)."""
    assert plan.plan_config(current(), desired(disks={"ide2": {"file": "local-lvm:cloudinit"}})).empty
    delta = plan.plan_config(current(), desired(disks={"ide2": {"file": "local:iso/debian.iso", "media": "cdrom"}}))
    assert delta.write_values() == {"ide2": "local:iso/debian.iso,media=cdrom"}


def test_cipassword_is_written_when_it_cannot_be_compared():
    """Proxmox stores a salted hash and prints '**********': the value cannot be compared."""
    # On create: written.
    config = plan.plan_create(desired(cipassword="s3cret", ciuser="admin"))
    assert plan.create_values(config)["cipassword"] == "s3cret"
    # A VM without one gets it; one with a password keeps it, unless update_password: always.
    without = dict(current())
    del without["cipassword"]
    assert plan.plan_config(without, desired(cipassword="s3cret")).write_values() == {"cipassword": "s3cret"}
    assert plan.plan_config(current(), desired(cipassword="s3cret")).empty
    delta = plan.plan_config(current(), desired(cipassword="s3cret"), rewrite_secrets=True)
    assert delta.write_values() == {"cipassword": "s3cret"}
    # An empty password deletes it.
    assert plan.plan_config(current(), desired(cipassword="")).delete == ["cipassword"]


def test_the_secret_never_reaches_actions_or_the_diff():
    delta = plan.plan_config(current(), desired(cipassword="s3cret", cores=4), rewrite_secrets=True)
    assert delta.shown_values() == {"cipassword": "<hidden>", "cores": "4"}
    result = Plan(*delta.diff_views())
    result.add("set", "set %s of VM 100" % delta.summary(), argv=["qm", "set", "100"] + [
        "--%s=%s" % item for item in sorted(delta.shown_values().items())])
    shown = result.result(hidden_keys=model.SECRET_KEYS)
    assert "s3cret" not in json.dumps(shown)
    assert shown["diff"]["after"] == {"cipassword": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER", "cores": 4}


@pytest.mark.parametrize(("params", "hotplug", "pending"), [
    # $fast_plug_option and the cloud-init keys: written at once.
    ({"name": "web2", "onboot": False, "description": "x", "tags": ["db"], "protection": False, "ciuser": "root",
      "sshkeys": ["k"], "nameserver": ["1.1.1.1"], "ipconfig": [{"ip": "dhcp"}]}, None, set()),
    # Not hotpluggable with the default hotplug (network,disk,usb): cores, sockets, cpu, memory, ostype, boot ...
    ({"cores": 4, "sockets": 2, "cpu": "host", "memory": 4096, "ostype": "win11", "boot": ["net0"], "bios": "seabios",
      "scsihw": "lsi", "machine": "pc"}, None, {"cores", "sockets", "cpu", "memory", "ostype", "boot", "bios", "scsihw", "machine"}),
    ({"memory": 4096, "vcpus": 1}, "network,disk,cpu,memory", set()),
    ({"tablet": False, "numa": True, "acpi": False}, None, {"numa", "acpi"}),
    ({"tablet": False}, "network,disk", {"tablet"}),
    # NICs: bridge/tag/firewall/rate change live; a model change needs hotplug 'network'.
    ({"net": [{"bridge": "vmbr9", "firewall": False}]}, "0", set()),
    ({"net": [{"model": "e1000", "bridge": "vmbr0", "firewall": True}]}, "0", {"net0"}),
    ({"net": [{"model": "e1000", "bridge": "vmbr0", "firewall": True}]}, None, set()),
    ({"net": [{"bridge": "vmbr0", "firewall": True}, {"bridge": "vmbr1", "mtu": 1450, "rate": 12.5, "tag": 20, "model": "e1000"},
              {"bridge": "vmbr2"}]}, "disk", {"net2"}),
    # Disks: a new scsi/virtio disk is hot-plugged, ide/sata never; cold options wait for the restart.
    ({"disks": {"scsi1": {"storage": "local-lvm", "size": 8}, "sata1": {"storage": "local-lvm", "size": 8}}}, None, {"sata1"}),
    ({"disks": {"scsi1": {"storage": "local-lvm", "size": 8}}}, "network", {"scsi1"}),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "32G", "iothread": False}}}, None, {"scsi0"}),
    ({"disks": {"scsi0": {"storage": "local-lvm", "size": "32G", "iothread": True, "mbps": 100, "backup": False}}}, None, set()),
    ({"disks": {"ide2": {"file": "local:iso/debian.iso", "media": "cdrom"}}}, None, set()),
    # A cloud-init drive: an ide one is never hot-plugged, a scsi one is; the existing CD-ROM changes medium.
    ({"disks": {"ide3": {"file": "local-lvm:cloudinit"}, "scsi3": {"file": "local-zfs:cloudinit"}}}, None, {"ide3"}),
    ({"disks": {"ide2": {"file": "local-zfs:cloudinit"}}}, None, set()),
    ({"disks": {"efidisk0": {"file": "local-lvm:vm-100-disk-1", "efitype": "2m", "size": "4M"}}}, None, {"efidisk0"}),
    # Balloon: a new target is live, switching the device on or off is not.
    ({"balloon": 1536}, None, set()),
    ({"balloon": 0}, None, {"balloon"}),
    # Agent: only fstrim_cloned_disks is hot.
    ({"agent": {"enabled": True}}, None, set()),
    ({"agent": {"enabled": True, "fstrim_cloned_disks": True, "type": "isa"}}, None, {"agent"}),
])
def test_pending_prediction_follows_vmconfig_hotplug_pending(params, hotplug, pending):
    cur = current()
    if hotplug is not None:
        cur["hotplug"] = hotplug
    delta = plan.plan_config(cur, model.desired_from_params(params))
    assert not delta.empty
    assert delta.pending_keys() == pending


@pytest.mark.parametrize(("removed", "hotplug", "pending"), [
    ("net1", None, set()), ("net1", "0", {"net1"}),
    ("ipconfig1", None, set()),
    ("ide2", None, {"ide2"}), ("efidisk0", None, {"efidisk0"}),
])
def test_pending_prediction_of_deletes(removed, hotplug, pending):
    cur = current()
    if hotplug is not None:
        cur["hotplug"] = hotplug
    config, _extra = model.public(dict((k, v) for k, v in cur.items() if k != removed))
    delta = plan.plan_config(cur, model.desired_from_params(config), exclusive=True)
    assert delta.delete == [removed]
    assert delta.pending_keys() == pending


def test_deleted_scsi_disk_is_hot_unplugged_and_balloon_delete():
    cur = dict(current(), scsi1={"file": "local-lvm:vm-100-disk-5", "size": "8G"})
    config, _extra = model.public(current())
    assert plan.plan_config(cur, model.desired_from_params(config), exclusive=True).pending_keys() == set()
    assert plan.hot_applied("balloon", 0, None, set()) is False  # a balloon 0 -> unset switches the device on
    assert plan.hot_applied("balloon", 512, None, set()) is True


def test_a_swapped_volume_hot_plugs_on_scsi_and_virtio_only():
    """vmconfig_update_disk: a new volume on an existing drive is unplugged and plugged like a new disk, which
    "skip"s for ide and sata (and without the disk hotplug feature)."""
    before, after = {"file": "local-lvm:vm-100-disk-1", "size": "8G"}, {"file": "local-lvm:vm-100-disk-2", "size": "8G"}
    features = plan.hotplug_features(None)
    assert plan.hot_applied("scsi1", before, after, features) is True
    assert plan.hot_applied("virtio1", before, after, features) is True
    assert plan.hot_applied("sata1", before, after, features) is False
    assert plan.hot_applied("ide1", before, after, features) is False
    assert plan.hot_applied("scsi1", before, after, plan.hotplug_features("network")) is False


def test_pending_after_the_write():
    """API2/Qemu.pm update_vm_api: running -> vmconfig_hotplug_pending($modified), stopped -> vmconfig_apply_pending."""
    # The current side is the pending view: a change already pending and declared again is no write.
    view, keys, _digest = model.parse_pending_api([{"key": "cores", "value": 2, "pending": 4}, {"key": "name", "value": "web1"}])
    delta = plan.plan_config(model.from_raw(view), desired(cores=4, name="web1"))
    assert delta.empty and delta.pending_after(keys, running=True) == {"cores"}
    delta = plan.plan_config(model.from_raw(view), desired(cores=4, memory=4096, name="web2"))
    assert delta.pending_after(keys, running=True) == {"cores", "memory"}
    assert delta.pending_after(keys, running=False) == set()
    assert plan.plan_config(model.from_raw(view), desired(cores=4)).pending_after(keys, running=False) == {"cores"}


def test_cloudinit_changes_are_named_for_the_next_boot():
    delta = plan.plan_config(current(), desired(ciuser="root", cores=4, ipconfig=[{"ip": "dhcp"}]))
    assert delta.cloudinit_keys == ["ciuser", "ipconfig0"]


def test_hotplug_features():
    assert plan.hotplug_features(None) == {"network", "disk", "usb"} == plan.hotplug_features("1")
    assert plan.hotplug_features("0") == set()
    assert plan.hotplug_features("disk,cpu") == {"disk", "cpu"}


def test_create_writes_allocations_and_lets_proxmox_make_macs():
    config = plan.plan_create(desired(cores=2, memory=2048, net=[{"bridge": "vmbr0"}], disks={
        "scsi0": {"storage": "local-lvm", "size": "32G", "iothread": True}, "ide2": {"file": "local-lvm:cloudinit"}},
        boot=["scsi0"], description="", tags=["web"]))
    assert plan.create_values(config) == {
        "cores": "2", "memory": "2048", "net0": "virtio,bridge=vmbr0", "scsi0": "local-lvm:32,iothread=1",
        "ide2": "local-lvm:cloudinit,media=cdrom", "boot": "order=scsi0", "tags": "web"}


@pytest.mark.parametrize(("value", "field"), [
    ("tmpl", "clone"),
    ({"full": True}, "clone.source"),
    ({"source": 99}, "clone.source"),
    ({"source": True}, "clone.source"),
    ({"source": "tmpl;x"}, "clone.source"),
    ({"source": "tmpl", "full": "maybe"}, "clone.full"),
    ({"source": "tmpl", "target_storage": "local,lvm"}, "clone.target_storage"),
    ({"source": "tmpl", "target_storage": "local lvm"}, "clone.target_storage"),
    ({"source": "tmpl", "full": False, "target_storage": "local-lvm"}, "clone.target_storage"),
    ({"source": "tmpl", "pool": "x"}, "clone.pool"),
])
def test_clone_bad_input_names_the_field(value, field):
    with pytest.raises(LxcriError) as exc:
        plan.clone_from_params(value)
    assert str(exc.value).startswith(field + ": ")


ROWS = [{"vmid": 9000, "name": "debian-tmpl", "template": 1, "node": "pve1"}, {"vmid": 100, "name": "web1", "node": "pve1"},
        {"vmid": 101, "name": "twin"}, {"vmid": 102, "name": "twin"}]


def test_clone_source_and_arguments():
    spec = plan.clone_from_params({"source": "debian-tmpl"})
    assert spec == plan.CloneSpec("debian-tmpl") and plan.clone_from_params(None) is None
    row = plan.find_clone_source(spec, ROWS)
    # Proxmox's default made explicit: linked from a template, full from a VM, full with a target storage.
    assert plan.clone_args(spec, row, 120, "web2") == {"newid": 120, "full": False, "name": "web2"}
    assert plan.clone_args(plan.clone_from_params({"source": "100"}), ROWS[1], 121) == {"newid": 121, "full": True}
    spec = plan.clone_from_params({"source": 9000, "target_storage": "local-zfs"})
    assert plan.clone_args(spec, plan.find_clone_source(spec, ROWS), 122) == {"newid": 122, "full": True, "storage": "local-zfs"}
    with pytest.raises(LxcriError, match="^clone.full: VM 100 is not a template"):
        plan.clone_args(plan.clone_from_params({"source": 100, "full": False}), ROWS[1], 123)
    with pytest.raises(LxcriError, match="^clone.source: no VM 404") as exc:
        plan.find_clone_source(plan.clone_from_params({"source": 404}), ROWS)
    assert exc.value.error_kind == "not_found"
    with pytest.raises(LxcriError, match=r"^clone.source: the name twin matches several VMs \(vmids 101, 102\)") as exc:
        plan.find_clone_source(plan.clone_from_params({"source": "twin"}), ROWS)
    assert exc.value.error_kind == "conflict"


def test_predicted_clone_then_planned_like_any_update():
    source = dict(CURRENT, template=True)
    clone = plan.predict_clone(source, {"newid": 120, "full": True, "storage": "local-zfs"}, 9000)
    assert "template" not in clone and "unused0" not in clone
    assert clone["name"] == "Copy-of-VM-web1"
    assert "macaddr" not in clone["net0"] and clone["net0"]["bridge"] == "vmbr0"
    assert clone["scsi0"] == {"file": "local-zfs:(clone of local-lvm:vm-100-disk-0)", "iothread": True, "size": "32G"}
    assert clone["ide2"]["file"] == "local-zfs:(clone of local-lvm:vm-100-cloudinit)"
    linked = plan.predict_clone(source, {"newid": 120, "full": False, "name": "web2"}, 9000)
    assert linked["name"] == "web2" and linked["scsi0"]["file"] == "local-lvm:(clone of local-lvm:vm-100-disk-0)"
    # The module then writes the declared differences to the clone, as to any VM.
    delta = plan.plan_config(linked, desired(name="web2", cores=4, disks={"scsi0": {"storage": "local-lvm", "size": "40G"}}))
    assert delta.set == {"cores": 4} and delta.resize == [("scsi0", "40G")]


def test_boot_order_names_devices_of_the_vm():
    """update_vm_api: "invalid bootorder: device '<dev>' does not exist" - refused before any call."""
    assert plan.plan_config(current(), desired(boot=["net1", "scsi0"])).set == {"boot": ["net1", "scsi0"]}
    delta = plan.plan_config(current(), desired(boot=["virtio3", "scsi0"], disks={"virtio3": {"storage": "local-lvm", "size": 4}}))
    assert delta.set["boot"] == ["virtio3", "scsi0"]
    with pytest.raises(LxcriError, match="^boot: scsi5 is not a device of this VM"):
        plan.plan_config(current(), desired(boot=["scsi5"]))
    with pytest.raises(LxcriError, match="^boot: net1 is not a device of this VM"):
        config, _extra = model.public(dict((k, v) for k, v in current().items() if k != "net1"))
        plan.plan_config(current(), model.desired_from_params(dict(config, boot=["net1"])), exclusive=True)
    with pytest.raises(LxcriError, match="^boot: net0 is not a device of this VM"):
        plan.plan_create(desired(boot=["scsi0", "net0"], disks={"scsi0": {"storage": "local-lvm", "size": 8}}))


def test_diff_views_show_resizes_and_mask_nothing_themselves():
    delta = plan.plan_config(current(), desired(cores=4, disks={"scsi0": {"storage": "local-lvm", "size": "40G"}}))
    before, after = delta.diff_views()
    assert before["cores"] == 2 and after["cores"] == 4
    assert before["disks"]["scsi0"]["size"] == "32G" and after["disks"]["scsi0"]["size"] == "40G"
    assert after["cipassword"] == model.MASKED_VALUE  # PVE's own mask; Plan.diff masks it again by key
