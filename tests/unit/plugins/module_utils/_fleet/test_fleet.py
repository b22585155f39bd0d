# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet's pool, its config-file reader (CTs and VMs) and its bundle writer."""

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import INVALID_ARGUMENT, LOCKED, LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.executor import Executor
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Plan
from ansible_collections.lxcri.containers.plugins.module_utils._fleet import ocibundle, pool
from ansible_collections.lxcri.containers.plugins.module_utils._fleet.pve import VM, FleetReads, converge_one, lanes
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import container_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pve.conffile import VM_FORMAT, pending_view
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.argspec import vm_spec


# --- the pool -------------------------------------------------------------------------------------------
def test_one_failure_does_not_stop_the_others_and_is_named():
    def one(index):
        if index == 1:
            raise LxcriError("CT 101 is locked", LOCKED, details={"actions": [{"kind": "set", "description": "set memory"}]})
        return {"changed": index == 2, "actions": []}

    results = pool.run_lanes([[0], [1], [2]], one, parallel=3)
    summary = pool.summarize(["a", "b", "c"], results)
    assert [item["failed"] for item in summary["containers"]] == [False, True, False]
    assert summary["containers"][1]["error_kind"] == LOCKED
    assert summary["containers"][1]["changed"] is True  # it ran a step before failing
    assert summary["failed"] and summary["error_kind"] == "task_failed"
    assert "b (locked: CT 101 is locked)" in summary["msg"] and "1 of 3" in summary["msg"]
    assert summary["changed"] is True


def test_a_lane_runs_in_order_and_lanes_run_at_once():
    started = threading.Barrier(2, timeout=10)
    order = []

    def one(index):
        if index in (0, 2):
            started.wait()  # both lanes must be running at the same time to get past this
        order.append(index)
        return {"changed": False, "actions": []}

    pool.run_lanes([[0, 1], [2, 3]], one, parallel=2)
    assert order.index(0) < order.index(1) and order.index(2) < order.index(3)


def test_items_are_checked_with_the_single_module_spec_before_anything_runs():
    with pytest.raises(LxcriError) as caught:
        pool.validate_items([{"vmid": 101, "memory": 512}, {"vmid": 102, "memory": "lots"}], container_spec(), lambda item: str(item["vmid"]))
    assert caught.value.error_kind == INVALID_ARGUMENT
    assert caught.value.msg.startswith("containers[1] (102): ") and "memory" in caught.value.msg
    items, secrets = pool.validate_items([{"vmid": 101, "password": "s3cret!"}], container_spec(), lambda item: str(item["vmid"]))
    assert items[0]["state"] == "present" and secrets == {"s3cret!"}


def test_duplicates_name_both_items():
    with pytest.raises(LxcriError) as caught:
        pool.refuse_duplicates([{"vmid": 1, "h": "a"}, {"vmid": 2, "h": "b"}, {"vmid": 1, "h": "c"}], lambda i: i["vmid"], lambda i: i["h"], "vmid")
    assert caught.value.msg.startswith("containers[2] (c): same vmid as containers[0] (a)")


def test_new_containers_without_vmid_share_one_lane():
    items = [{"vmid": 101, "hostname": "a"}, {"hostname": "new-1"}, {"hostname": "known"}, {"hostname": "new-2"},
             {"hostname": "gone", "state": "absent"}]
    assert lanes(items, [{"vmid": 200, "name": "known"}]) == [[0], [2], [4], [1, 3]]


# --- the config file: what pct pending and pct config read -------------------------------------------------
CONF = """#web%3A front 100%25
#second line
arch: amd64
cores: 2
hostname: web
memory: 512
nameserver: 10.0.0.1
net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth
swap: 512
lxc.environment.runtime: A=1
lxc.environment.runtime: B=2
lxc.cgroup2.devices.allow: c 10:200 rwm

[pve:pending]
cores: 4
delete: swap,!nameserver,unknown
memory: 1024
searchdomain: example.com

[before-upgrade]
arch: amd64
hostname: web-old
snaptime: 1700000000
"""


def test_pending_view_is_the_config_with_pending_values_and_deletions_applied():
    view, keys, digest, lxc = pending_view(CONF)
    assert view["description"] == "web: front 100%\nsecond line\n"
    assert view["cores"] == "4" and view["memory"] == "1024" and view["searchdomain"] == "example.com"
    assert "swap" not in view and "nameserver" not in view
    assert view["hostname"] == "web"  # a snapshot section is not the current config
    assert view["env"] == "A=1\0B=2"
    assert keys == {"cores", "memory", "searchdomain", "swap", "nameserver"}  # 'unknown' is not set, so nothing is pending for it
    assert lxc == [["lxc.cgroup2.devices.allow", "c 10:200 rwm"]]
    # PVE's digest is the SHA-1 of the file (PVE::Tools::get_config_digest / pvesim's parse_config)
    assert digest == "%s" % __import__("hashlib").sha1(CONF.encode()).hexdigest()


def test_a_config_without_pending_section_has_no_pending_keys():
    view, keys, _digest, lxc = pending_view("hostname: a\nmemory: 256\n")
    assert view == {"hostname": "a", "memory": "256"} and keys == set() and lxc == []


# --- the bundle writer -------------------------------------------------------------------------------------
def _doc(**extra):
    doc = {"ociVersion": ocibundle.VERSION_PLACEHOLDER, "root": {"path": ocibundle.ROOT_PLACEHOLDER, "readonly": False},
           "process": {"args": ["/bin/sh"], "cwd": "/"}}
    doc.update(extra)
    return doc


class _NoRun:
    def __call__(self, argv, **kwargs):
        raise AssertionError("ran %r" % (argv,))


def _facts(version="1.0.2"):
    facts = ocibundle.HostFacts(_NoRun())
    facts.spec_version = lambda runtimes, fallback, cache_dir=None: version
    return facts


def test_a_directory_rootfs_bundle_is_planned_then_written_once(tmp_path):
    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    bundle_dir = tmp_path / "bundles" / "web"
    spec = ocibundle.BundleSpec(str(bundle_dir), {"config": _doc(), "rootfs_source": "auto", "rootfs_dir": str(rootfs)})
    spec.check_source()
    checked = Plan()
    bundle = ocibundle.plan_bundle(spec, _facts(), Executor(checked, check_mode=True), _NoRun())
    Executor(checked, check_mode=True).execute()
    assert not bundle_dir.exists()
    assert [action.kind for action in checked.actions] == ["bundle_dir", "config"]
    assert bundle.config["ociVersion"] == "1.0.2" and bundle.config["root"]["path"] == str(rootfs)

    real = Plan()
    ocibundle.plan_bundle(spec, _facts(), Executor(real), _NoRun())
    Executor(real).execute()
    assert [action.to_result() for action in real.actions] == [action.to_result() for action in checked.actions]
    written = bundle_dir / "config.json"
    assert json.loads(written.read_text()) == bundle.config
    assert oct(written.stat().st_mode & 0o777) == "0o600" and oct(bundle_dir.stat().st_mode & 0o777) == "0o700"

    again = Plan()
    ocibundle.plan_bundle(spec, _facts(), Executor(again), _NoRun())
    assert again.actions == []
    # a new spec version on the host rewrites config.json, nothing else
    newer = Plan()
    ocibundle.plan_bundle(spec, _facts("1.1.0"), Executor(newer), _NoRun())
    assert [action.kind for action in newer.actions] == ["config"]


def test_a_tar_rootfs_is_keyed_by_its_checksum_and_old_ones_are_pruned(tmp_path):
    archive = tmp_path / "rootfs.tar"
    archive.write_bytes(b"not really a tar, only hashed here")
    bundle_dir = tmp_path / "b"
    (bundle_dir / "rootfs-tar-0000000000000000").mkdir(parents=True)
    spec = ocibundle.BundleSpec(str(bundle_dir), {"config": _doc(), "rootfs_source": "auto", "rootfs_dir": str(archive)})
    spec.check_source()
    plan = Plan()
    bundle = ocibundle.plan_bundle(spec, _facts(), Executor(plan, check_mode=True), _NoRun())
    name = "rootfs-tar-" + __import__("hashlib").sha256(archive.read_bytes()).hexdigest()[:16]
    assert bundle.config["root"]["path"] == name
    assert [(action.kind, action.argv[0]) for action in plan.actions] == [("unpack", "tar"), ("config", "write"), ("prune", "rm")]
    assert plan.actions[2].argv[-1] == str(bundle_dir / "rootfs-tar-0000000000000000")


def test_an_image_tag_that_is_missing_names_the_field(tmp_path):
    layout = tmp_path / "layout"
    layout.mkdir()
    manifest = {"digest": "sha256:" + "a" * 64, "annotations": {"org.opencontainers.image.ref.name": "v1"}}
    (layout / "index.json").write_text(json.dumps({"manifests": [manifest]}))
    spec = ocibundle.BundleSpec(str(tmp_path / "b"), {"config": _doc(), "rootfs_source": "oci_layout", "rootfs_image": str(layout),
                                                      "rootfs_image_tag": "v2"})
    with pytest.raises(LxcriError) as caught:
        ocibundle.plan_bundle(spec, _facts(), Executor(Plan(), check_mode=True), _NoRun())
    assert caught.value.details["field"] == "oci_bundle_rootfs_image_tag" and "its tags: v1" in caught.value.msg
    spec.rootfs_image_tag = "v1"
    bundle = ocibundle.plan_bundle(spec, _facts(), Executor(Plan(), check_mode=True), _NoRun())
    assert bundle.config["root"]["path"] == "rootfs-oci-" + "a" * 16


def test_a_missing_source_is_refused_before_anything(tmp_path):
    spec = ocibundle.BundleSpec(str(tmp_path / "b"), {"config": _doc(), "rootfs_source": "auto", "rootfs_dir": str(tmp_path / "nope")})
    with pytest.raises(LxcriError) as caught:
        spec.check_source()
    assert caught.value.error_kind == INVALID_ARGUMENT and caught.value.details["field"] == "bundle_config.rootfs_dir"
    assert not os.path.exists(tmp_path / "b")


def test_render_text_is_what_to_nice_json_prints():
    assert ocibundle.render_text({"b": [1, "é"], "a": {}}) == '{\n  "a": {},\n  "b": [\n    1,\n    "é"\n  ]\n}'


def test_the_spec_version_is_probed_once_and_then_read_from_the_cache(tmp_path):
    calls = []

    def run_command(argv):
        calls.append(argv)
        return (0, '{"ociVersionMax": "1.2.0"}', "") if argv[1] == "features" else (0, "runc version 1.1\nspec: 1.0.2\n", "")

    fake = tmp_path / "bin" / "runc"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    old_path = os.environ["PATH"]
    os.environ["PATH"] = str(fake.parent)
    try:
        assert ocibundle.HostFacts(run_command).spec_version(("runc",), "1.0.0", str(tmp_path)) == "1.2.0"
        assert len(calls) == 2
        assert ocibundle.HostFacts(run_command).spec_version(("runc",), "1.0.0", str(tmp_path)) == "1.2.0"
        assert len(calls) == 2  # from the cache file
        fake.write_text("#!/bin/sh\n# upgraded\n")
        assert ocibundle.HostFacts(run_command, check_mode=True).spec_version(("runc",), "1.0.0", str(tmp_path)) == "1.2.0"
        assert len(calls) == 4  # a changed binary is probed again
        # the first create: the bundles' parent does not exist when the versions are probed; it does by the end of the run
        later = tmp_path / "bundles"
        facts = ocibundle.HostFacts(run_command)
        assert facts.spec_version(("runc",), "1.0.0", str(later)) == "1.2.0" and len(calls) == 6
        later.mkdir()
        facts.save_cache()
        assert ocibundle.HostFacts(run_command).spec_version(("runc",), "1.0.0", str(later)) == "1.2.0"
        assert len(calls) == 6  # the next run reads the file written at the end of the first
    finally:
        os.environ["PATH"] = old_path


# --- the reads of a fleet over the API, against pvesim -----------------------------------------------------
@pytest.fixture
def node(tmp_path, monkeypatch):
    from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode

    return PveNode(tmp_path, monkeypatch)


def test_an_api_no_op_reads_one_listing_and_one_pending_per_container(node):
    items = []
    for vmid in (301, 302, 303):
        rc, _out, err = node.run_command(["/usr/sbin/pct", "create", str(vmid), node.template, "--rootfs", "local-lvm:1",
                                          "--hostname", "ct%d" % vmid, "--memory", "256"])
        assert rc == 0, err
        items.append({"vmid": vmid, "hostname": "ct%d" % vmid, "memory": 256, "state": "present"})
    items, _secrets = pool.validate_items(items, container_spec(), lambda item: str(item["vmid"]))
    fleet = FleetReads(node.api_transport())
    node.bodies.clear()
    node.writes.clear()
    results = [converge_one(fleet, item, False, lambda text: None) for item in items]
    assert [result["changed"] for result in results] == [False, False, False]
    assert node.writes == []
    # one GET /nodes/pve/lxc for the status and locks of all, then GET .../pending per container: no status re-read
    assert [(method, path) for method, path, _params in node.bodies] == \
        [("GET", "/nodes/pve/lxc")] + [("GET", "/nodes/pve/lxc/%d/pending" % vmid) for vmid in (301, 302, 303)]


# --- VMs: the qemu-server config file and the fleet's reads, against pvesim ----------------------------------
# qemu-server PVE/QemuServer.pm write_vm_config: main section, [PENDING], [special:cloudinit], then the snapshots.
VM_CONF = """#build VM
#second line
boot: order=scsi0;net0
cipassword: $5$salt$hash
cores: 2
ide2: local-lvm:vm-200-cloudinit,media=cdrom
ipconfig0: ip=192.0.2.10/24,gw=192.0.2.1
memory: 1024
name: build-1
net0: virtio=BC:24:11:00:00:02,bridge=vmbr0
onboot: 1
scsi0: local-lvm:vm-200-disk-0,iothread=1,size=4G
tablet: 0

[PENDING]
cipassword: $5$other$hash
cores: 4
delete: onboot,!unset

[special:cloudinit]
ipconfig0: ip=192.0.2.9/24
name: build-1

[before-upgrade]
cores: 1
snaptime: 1700000000
"""


def test_vm_pending_view_takes_pending_and_masks_the_password():
    view, keys, digest, lxc = pending_view(VM_CONF, VM_FORMAT)
    assert view["cores"] == "4" and "onboot" not in view and view["memory"] == "1024"
    assert keys == {"cipassword", "cores", "onboot"}
    assert view["cipassword"] == "**********"  # API2/Qemu.pm vm_pending masks it; the hash never leaves the file
    assert view["ipconfig0"] == "ip=192.0.2.10/24,gw=192.0.2.1"  # [special:cloudinit] is what the drive holds, not the config
    assert view["description"].startswith("build VM\nsecond line") and lxc == []
    assert digest == __import__("hashlib").sha1(VM_CONF.encode()).hexdigest()
    # the CT reader would not see qemu-server's pending section
    assert pending_view(VM_CONF)[0]["cores"] == "2"


def _qm(node, *argv, data=None):
    rc, out, err = node.run_command(["/usr/sbin/qm"] + [str(arg) for arg in argv], data=data)
    assert rc == 0, err
    return out


def _vm_items(items):
    validated, _secrets = pool.validate_items(items, vm_spec(), lambda item: str(item.get("name")))
    return validated


def test_the_vm_file_view_is_what_qm_pending_prints(node):
    _qm(node, "create", 200, "--name", "build-1", "--memory", 1024, "--cores", 2, "--scsi0", "local-lvm:2", "--net0", "virtio,bridge=vmbr0",
        "--ide2", "local-lvm:cloudinit", "--ipconfig0", "ip=192.0.2.10/24,gw=192.0.2.1", "--onboot", 1,
        "--description", "build VM\nsecond: line 100%", "--ciuser", "admin", "--cipassword", data="Cl0ud-s3cret\nCl0ud-s3cret\n")
    _qm(node, "start", 200)
    # cores and the machine type wait for the next start (vmconfig_hotplug_pending); onboot is changed at once
    _qm(node, "set", 200, "--cores", 4, "--delete", "ostype,onboot", "--machine", "q35", "--cipassword", data="N3w-s3cret\nN3w-s3cret\n")
    text = node.vm_conf_text(200)
    assert "\n[PENDING]\n" in text and "cipassword: $5$" in text
    view, keys, digest, _lxc = pending_view(text, VM_FORMAT)
    qm_view, qm_keys, _none = node.qm_transport().read(200)
    assert view == qm_view and keys == qm_keys and {"cores", "machine"} <= keys, (text, view, keys)
    assert view["cipassword"] == "**********" and "onboot" not in view
    api_view, api_keys, api_digest = node.api_vm_transport().read(200)
    assert view == api_view and keys == api_keys and digest == api_digest


def test_a_vm_fleet_no_op_over_qm_starts_one_process(node):
    _qm(node, "create", 900, "--name", "tmpl", "--memory", 512, "--scsi0", "local-lvm:2", "--net0", "virtio,bridge=vmbr0",
        "--ide2", "local-lvm:cloudinit")
    _qm(node, "template", 900)
    items = _vm_items([
        {"vmid": 301, "name": "vm-a", "clone": {"source": "tmpl"}, "cores": 2, "memory": 768,
         "net": [{"bridge": "vmbr0"}], "ipconfig": [{"ip": "192.0.2.31/24", "gw": "192.0.2.1"}], "state": "started"},
        {"vmid": 302, "name": "vm-b", "clone": {"source": 900}, "cores": 1, "memory": 512, "state": "stopped"},
        {"vmid": 303, "name": "vm-c", "memory": 256, "disks": {"scsi0": {"storage": "local-lvm", "size": "1G"}},
         "state": "present"},
    ])
    made = [converge_one(FleetReads(node.qm_transport(), kind=VM), item, False, lambda text: None) for item in items]
    assert [[action["kind"] for action in result["actions"]] for result in made] == \
        [["clone", "set", "start"], ["clone", "set"], ["create"]]
    assert "ipconfig0: gw=192.0.2.1,ip=192.0.2.31/24" in node.vm_conf_text(301) and "cores: 2" in node.vm_conf_text(301)

    fleet = FleetReads(node.qm_transport(), kind=VM)
    before = len(node.argvs)
    again = [converge_one(fleet, item, False, lambda text: None) for item in items]
    assert [result["changed"] for result in again] == [False, False, False]
    # one `qm list` for the three VMs; each config is a file read, no `qm pending`, no status
    assert node.argvs[before:] == [["/usr/sbin/qm", "list"]]
    assert fleet.file_reads == 3 and [result["reads"] for result in again][0] == [["read", fleet.conf_path(301, "pve")]]
    assert [result["status"] for result in again] == ["running", "stopped", "stopped"]


def test_vm_fleet_check_mode_predicts_changes_runs_nothing_and_diffs(node):
    declared = {"vmid": 310, "name": "vm-d", "memory": 256, "cores": 1, "state": "stopped"}
    converge_one(FleetReads(node.qm_transport(), kind=VM), _vm_items([declared])[0], False, lambda text: None)
    changed = _vm_items([dict(declared, memory=512, cores=2, state="started")])[0]
    before_text, before_writes = node.vm_conf_text(310), len(node.writes)
    planned = converge_one(FleetReads(node.qm_transport(), kind=VM), changed, True, lambda text: None)
    assert planned["changed"] and [action["kind"] for action in planned["actions"]] == ["set", "start"]
    assert planned["diff"]["before"]["memory"] == 256 and planned["diff"]["after"]["memory"] == 512
    assert node.vm_conf_text(310) == before_text and len(node.writes) == before_writes
    before_argvs = len(node.argvs)
    real = converge_one(FleetReads(node.qm_transport(), kind=VM), changed, False, lambda text: None)
    assert [action["argv"] for action in real["actions"]] == [action["argv"] for action in planned["actions"]]
    # the write carried the digest of the file it was planned against (qm set --digest), shown by name
    assert real["actions"][0]["argv"][-2:] == ["--digest", "<config digest>"]
    sets = [argv for argv in node.argvs[before_argvs:] if argv[1] == "set"]
    assert sets[0][-2:] == ["--digest", __import__("hashlib").sha1(before_text.encode()).hexdigest()]


def test_one_failed_vm_does_not_stop_the_others(node):
    items = _vm_items([{"vmid": 320, "name": "vm-e", "clone": {"source": "no-such-template"}, "state": "present"},
                       {"vmid": 321, "name": "vm-f", "memory": 256, "state": "present"}])
    fleet = FleetReads(node.qm_transport(), kind=VM)
    results = pool.run_lanes(lanes(items, fleet.rows(), "name"), lambda index: converge_one(fleet, items[index], False, lambda text: None), 2)
    summary = pool.summarize(["vm-e", "vm-f"], results)
    assert [item["failed"] for item in summary["containers"]] == [True, False]
    assert summary["containers"][0]["error_kind"] == "not_found" and "no-such-template" in summary["containers"][0]["msg"]
    assert node.vm_conf_text(320) is None and "memory: 256" in node.vm_conf_text(321)


def test_an_api_vm_no_op_reads_one_listing_and_one_pending_per_vm(node):
    items = _vm_items([{"vmid": vmid, "name": "vm%d" % vmid, "memory": 256, "state": "present"} for vmid in (331, 332)])
    for item in items:
        converge_one(FleetReads(node.api_vm_transport(), kind=VM), item, False, lambda text: None)
    fleet = FleetReads(node.api_vm_transport(), kind=VM)
    node.bodies.clear()
    node.writes.clear()
    results = [converge_one(fleet, item, False, lambda text: None) for item in items]
    assert [result["changed"] for result in results] == [False, False] and node.writes == []
    assert [(method, path) for method, path, _params in node.bodies] == \
        [("GET", "/nodes/pve/qemu")] + [("GET", "/nodes/pve/qemu/%d/pending" % vmid) for vmid in (331, 332)]
    assert fleet.file_reads == 0


def test_new_vms_without_vmid_share_one_lane_by_name():
    items = [{"vmid": 101, "name": "a"}, {"name": "new-1"}, {"name": "known"}, {"name": "new-2"}]
    assert lanes(items, [{"vmid": 200, "name": "known"}], "name") == [[0], [2], [1, 3]]
