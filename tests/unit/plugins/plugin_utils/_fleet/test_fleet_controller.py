# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The controller side of the fleet: spec translation, spec checks, bundle rendering with the oci_bundle role's files."""

from __future__ import annotations

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.lxcri.containers.plugins.module_utils._fleet.ocibundle import ROOT_PLACEHOLDER, VERSION_PLACEHOLDER
from ansible_collections.lxcri.containers.plugins.plugin_utils._fleet import translate, validate
from ansible_collections.lxcri.containers.plugins.plugin_utils._fleet.render import BundleError, BundleRenderer

SETTINGS = {"default_state": "started", "oci_bundle_dir": "/srv/bundles", "oci_roots": {"runc": "/run/r"}, "oci_container_defaults": {},
            "oci_bundle_defaults": {}, "pve": {"transport": "pct"}, "lxc_defaults": {"storage": "local-lvm"}, "lxc_bridge": "vmbr1",
            "vm_defaults": {"ciuser": "admin"}, "vm_bridge": "vmbr2"}
KNOWN = {"bundle": ["memory", "extra"], "oci": ["stop_timeout"], "lxc": ["vmid", "storage"], "vm": validate.vm_known()}
VM_ROUTE = {"backend": "vm", "rule": "vms", "reason": "rule vms matched"}


def test_an_lxc_spec_becomes_pve_container_parameters_and_its_own_override_wins():
    spec = {"name": "web", "cpu": 1.5, "memory": 256, "source": {"template": "local:vztmpl/t.tar.gz"}, "network": {"ip": "10.0.0.5/24", "gw": "10.0.0.1"},
            "mounts": [{"source": "/srv/a", "destination": "/a", "readonly": True}], "env": {"A": "1"}, "command": ["/bin/sh", "-c", "echo hi"],
            "lxc": {"vmid": 120, "storage": "fast"}}
    connection, own = translate.split_connection(translate.lxc_params(spec, SETTINGS))
    assert connection == {"transport": "pct"}
    assert own == {"hostname": "web", "state": "started", "ostemplate": "local:vztmpl/t.tar.gz", "memory": 256, "cores": 2, "cpulimit": 1.5,
                   "net": {"net0": {"name": "eth0", "bridge": "vmbr1", "ip": "10.0.0.5/24", "gw": "10.0.0.1"}},
                   "mp": {"mp0": {"volume": "/srv/a", "mp": "/a", "ro": True}}, "lxc": [["lxc.environment", "A=1"]],
                   "entrypoint": "/bin/sh -c 'echo hi'", "vmid": 120, "storage": "fast"}


def test_an_oci_spec_becomes_bundle_variables_and_container_parameters():
    defaults = BundleRenderer(_templar()).defaults
    spec = {"name": "db", "source": {"rootfs": "/srv/rootfs.tar"}, "command": ["/bin/sleep", "infinity"], "memory": 64, "cpu": 0.25,
            "network": {"mode": "host"}, "oci": {"bundle": {"extra": {"annotations": {"a": "b"}}}, "container": {"stop_timeout": 3}}}
    variables = translate.bundle_vars(spec, SETTINGS, defaults)
    assert variables["oci_bundle_path"] == "/srv/bundles/db" and variables["oci_bundle_rootfs_source"] == "auto"
    assert variables["oci_bundle_memory"] == "64M" and variables["oci_bundle_cpu_quota"] == 25000
    assert "network" not in variables["oci_bundle_namespaces"] and variables["oci_bundle_extra"] == {"annotations": {"a": "b"}}
    expected = {"name": "db", "state": "started", "runtime": "runc", "bundle": "/srv/bundles/db", "root": "/run/r", "stop_timeout": 3}
    assert translate.oci_params(spec, "runc", SETTINGS) == expected


def test_spec_checks_name_the_spec_and_the_field():
    route = {"backend": "runc", "rule": "r", "reason": "x"}
    with pytest.raises(validate.SpecError) as caught:
        validate.check_spec(2, {"name": "db", "source": {"rootfs": "/r"}}, route, "started", KNOWN)
    assert caught.value.msg.startswith("lxcri_containers[2] (db).command: required")
    with pytest.raises(validate.SpecError) as caught:
        validate.check_spec(0, {"name": "db", "source": {"rootfs": "/r"}, "command": ["x"], "lxc": {"cores": 2}}, route, "started", KNOWN)
    assert caught.value.msg.startswith("lxcri_containers[0] (db).lxc: cores not parameters")
    with pytest.raises(validate.SpecError) as caught:
        validate.check_backend(1, {"name": "j"}, {"backend": "jail", "rule": "backend", "reason": "its own"})
    assert caught.value.msg.startswith("lxcri_containers[1] (j): routed to jail by backend") and "lxc, vm, crun or runc" in caught.value.msg
    validate.check_backend(1, {"name": "v"}, VM_ROUTE)
    with pytest.raises(validate.SpecError) as caught:
        validate.check_names([{"name": "a"}, {"name": "b"}, {"name": "a"}], "node1")
    assert "the names a are declared more than once on node1" in caught.value.msg
    with pytest.raises(validate.SpecError) as caught:
        validate.check_vmids([(0, {"name": "a"}, "lxc", {"vmid": 7}), (3, {"name": "b"}, "lxc", {"vmid": 7})])
    assert caught.value.msg.startswith("lxcri_containers[3] (b).lxc.vmid: 7 is also the vmid of lxcri_containers[0] (a)")
    # a vmid is unique across CTs and VMs
    with pytest.raises(validate.SpecError) as caught:
        validate.check_vmids([(0, {"name": "a"}, "lxc", {"vmid": 7}), (1, {"name": "v"}, "vm", {"vmid": 7})])
    assert caught.value.msg.startswith("lxcri_containers[1] (v).vm.vmid: 7 is also the vmid of lxcri_containers[0] (a)")


def test_a_vm_spec_becomes_pve_vm_parameters_cloned_from_its_template():
    spec = {"name": "build-1", "cpu": 1.5, "memory": 2048, "state": "stopped", "source": {"vm_template": "debian-12-cloud"},
            "network": {"ip": "192.0.2.10/24", "gw": "192.0.2.1"}, "vm": {"vmid": 310, "clone": {"source": 9000, "full": True}}}
    connection, own = translate.split_connection(translate.vm_params(spec, SETTINGS))
    assert connection == {"transport": "qm"}  # the role's "on the node" for VMs
    assert own == {"name": "build-1", "state": "stopped", "clone": {"source": 9000, "full": True}, "memory": 2048, "cores": 2, "cpulimit": 1.5,
                   "net": [{"model": "virtio", "bridge": "vmbr2"}], "ipconfig": [{"ip": "192.0.2.10/24", "gw": "192.0.2.1"}],
                   "ciuser": "admin", "vmid": 310}
    # the same translation as the lxc path for what both have
    lxc = translate.lxc_params(dict(spec, source={"template": "local:vztmpl/t.tar.gz"}, vm=None), SETTINGS)
    assert (lxc["cores"], lxc["cpulimit"], lxc["memory"]) == (own["cores"], own["cpulimit"], own["memory"])
    assert {key: lxc["net"]["net0"][key] for key in ("ip", "gw")} == own["ipconfig"][0]
    plain = translate.vm_params({"name": "v", "cpu": 2, "source": {"vm_template": 9000}, "network": {"mode": "none"}}, dict(SETTINGS, pve={}))
    assert plain == {"name": "v", "state": "started", "clone": {"source": 9000}, "cores": 2, "ciuser": "admin"}


@pytest.mark.parametrize("spec, message", [
    ({"source": {"template": "local:vztmpl/t.tar.gz"}}, "source: routed to vm by vms, which needs source.vm_template"),
    ({"source": {"vm_template": 9000}, "network": {"mode": "host"}}, "network.mode: host is only possible for crun and runc"),
    ({"source": {"vm_template": 9000}, "mounts": [{"source": "/srv", "destination": "/srv"}]}, "mounts: not possible for a VM"),
    ({"source": {"vm_template": 9000}, "env": {"A": "1"}}, "env: not possible for a VM"),
    ({"source": {"vm_template": 9000}, "command": ["/bin/sh"]}, "command: not possible for a VM"),
    ({"source": {"vm_template": 9000}, "vm": {"ostemplate": "x"}}, "vm: ostemplate not parameters of lxcri.containers.pve_vm"),
])
def test_vm_spec_checks_name_the_field(spec, message):
    with pytest.raises(validate.SpecError) as caught:
        validate.check_spec(3, dict(spec, name="web"), VM_ROUTE, "started", KNOWN)
    assert caught.value.msg.startswith("lxcri_containers[3] (web)." + message), caught.value.msg


@pytest.mark.parametrize("spec, message", [
    ({"vm": {"cores": "lots"}}, "lxcri_containers[3] (web).vm.cores: "),
    ({"vm": {"bios": "uefi"}}, "lxcri_containers[3] (web).vm.bios: "),
    ({"vm": {"net": [{"model": "virtio", "bridge": "vmbr0,tag=5"}]}}, "lxcri_containers[3] (web).vm.net[0].bridge: "),
    ({"vm": {"clone": {"source": 9000, "full": False, "target_storage": "fast"}}}, "lxcri_containers[3] (web).vm.clone.target_storage: "),
    ({"network": {"ip": "192.0.2.300/24"}}, "lxcri_containers[3] (web).network: translated to pve_vm's ipconfig[0].ip: "),
    ({"network": {"bridge": "vmbr0\nx"}}, "lxcri_containers[3] (web).network: translated to pve_vm's net[0].bridge: "),
    ({"hostname": "not a dns name"}, "lxcri_containers[3] (web).hostname: translated to pve_vm's name: "),
    ({"name": "web_1"}, "lxcri_containers[3] (web_1).name: translated to pve_vm's name: "),
])
def test_bad_vm_values_are_refused_on_the_controller_naming_where_they_were_written(spec, message):
    spec = dict({"name": "web", "source": {"vm_template": 9000}}, **spec)  # its own name wins
    with pytest.raises(validate.SpecError) as caught:
        validate.check_vm(3, spec, translate.vm_params(spec, SETTINGS))
    assert caught.value.msg.startswith(message), caught.value.msg
    validate.check_vm(3, {"name": "web", "source": {"vm_template": 9000}},
                      translate.vm_params({"name": "web", "source": {"vm_template": 9000}}, SETTINGS))


@pytest.mark.parametrize("env, message", [
    ({"A": "x\nlxc.apparmor.profile=unconfined"}, "env: a value contains a newline"),
    ({"A": "x\rB"}, "env: a value contains a newline"),
    ({"A": "x\x00"}, "env: a value contains a newline"),
    ({"1A": "x"}, "env: variable names must be letters"),
    ({"A B": "x"}, "env: variable names must be letters"),
    ({"A\n": "x"}, "env: variable names must be letters"),
])
def test_lxc_env_that_would_inject_config_lines_is_refused_without_echoing_values(env, message):
    route = {"backend": "lxc", "rule": "r", "reason": "x"}
    spec = {"name": "web", "source": {"template": "local:vztmpl/t.tar.gz"}, "env": env}
    with pytest.raises(validate.SpecError) as caught:
        validate.check_spec(4, spec, route, "started", KNOWN)
    assert caught.value.msg.startswith("lxcri_containers[4] (web)." + message)
    assert "unconfined" not in caught.value.msg


def test_an_oci_name_with_a_trailing_newline_is_refused():
    route = {"backend": "runc", "rule": "r", "reason": "x"}
    with pytest.raises(validate.SpecError) as caught:
        validate.check_spec(0, {"name": "db\n", "source": {"rootfs": "/r"}, "command": ["x"]}, route, "started", KNOWN)
    assert "name: " in caught.value.msg and "not a valid crun/runc container id" in caught.value.msg


def _templar():
    return Templar(loader=DataLoader())


def test_the_role_template_renders_with_placeholders_and_passes_the_role_checks():
    renderer = BundleRenderer(_templar())
    spec = {"name": "db", "source": {"rootfs": "/srv/rootfs"}, "command": ["/bin/sleep", "infinity"], "memory": 64, "env": {"K": "{{ not templated }}"}}
    config = renderer.render(translate.bundle_vars(spec, SETTINGS, renderer.defaults))
    assert config["ociVersion"] == VERSION_PLACEHOLDER and config["root"]["path"] == ROOT_PLACEHOLDER
    assert config["process"]["args"] == ["/bin/sleep", "infinity"] and config["hostname"] == "db"
    assert "K={{ not templated }}" in config["process"]["env"]
    assert config["linux"]["resources"]["memory"]["limit"] == 64 * 1024 * 1024


def test_the_role_checks_refuse_bad_bundle_variables_with_the_role_messages():
    renderer = BundleRenderer(_templar())
    base = {"name": "db", "source": {"rootfs": "/srv/rootfs"}, "command": ["/bin/sleep"]}
    with pytest.raises(BundleError) as caught:
        renderer.render(translate.bundle_vars(dict(base, env={"A=B": "1"}), SETTINGS, renderer.defaults))
    assert "oci_bundle_env names must be non-empty and contain no" in caught.value.msg
    with pytest.raises(BundleError) as caught:
        renderer.render(translate.bundle_vars(dict(base, oci={"bundle": {"memory": "lots"}}), SETTINGS, renderer.defaults))
    assert "oci_bytes: 'lots' is not a size" in caught.value.msg
    with pytest.raises(BundleError) as caught:
        extra = {"bundle": {"extra": {"process": {"user": {"uid": "root"}}}}}
        renderer.render(translate.bundle_vars(dict(base, oci=extra), SETTINGS, renderer.defaults))
    assert "the rendered config.json for /srv/bundles/db is invalid" in caught.value.msg and "$.process.user.uid" in caught.value.msg
