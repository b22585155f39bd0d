# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_check: parsers on real outputs, each check's verdict and remedy, fail_on, validation before any read."""

from __future__ import annotations

import importlib.util
import os

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._hostcheck import checks, parse
from ansible_collections.lxcri.containers.plugins.module_utils._hostcheck.run import host_check

# The recorded outputs live next to this file (loaded by path: ansible-test does not put test directories on sys.path).
_SPEC = importlib.util.spec_from_file_location("hostcheck_samples", os.path.join(os.path.dirname(__file__), "hostcheck_samples.py"))
S = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(S)


class FakeHost:
    """A host made of recorded outputs; every call is logged."""

    def __init__(self, binaries=(), commands=None, files=None, fs_types=None, dirs=(), statvfs=None, writable=None):
        self.binaries = dict((name, "/usr/bin/%s" % name) for name in binaries)
        self.commands = dict(commands or {})
        self.files = dict(files or {})
        self.fs_types = dict(fs_types or {})
        self.dirs = set(dirs)
        self.statvfs_map = dict(statvfs or {})
        self.writable = writable
        self.calls = []

    def which(self, name):
        self.calls.append(("which", name))
        return self.binaries.get(name)

    def run(self, argv):
        self.calls.append(("run", tuple(argv)))
        key = " ".join([os.path.basename(argv[0])] + list(argv[1:]))
        return self.commands.get(key, (127, "", "no recording for %s" % key))

    def read(self, path):
        self.calls.append(("read", path))
        return self.files.get(path)

    def exists(self, path):
        return path in self.files or path in self.dirs or path == "/"

    def isdir(self, path):
        return path in self.dirs or path == "/"

    def access(self, path, mode):
        return self.writable is None or path in self.writable

    def statvfs(self, path):
        return self.statvfs_map.get(path, (50 << 30, 100 << 30, False))

    def fs_type(self, path):
        return self.fs_types.get(path)


def hybrid_host(controllers="hugetlb\n", **kwargs):
    files = {"/proc/self/mountinfo": S.MOUNTINFO_HYBRID, "/sys/fs/cgroup/unified/cgroup.controllers": controllers,
             "/proc/sys/user/max_user_namespaces": "96365\n"}
    files.update(kwargs.pop("files", {}))
    return FakeHost(files=files, fs_types={"/sys/fs/cgroup": "tmpfs", "/sys/fs/cgroup/unified": "cgroup2fs"}, **kwargs)


def private_v1_host(**kwargs):
    files = {"/proc/self/mountinfo": S.MOUNTINFO_PRIVATE_V1, "/proc/sys/user/max_user_namespaces": "96365\n"}
    return FakeHost(files=files, fs_types={"/sys/fs/cgroup": "tmpfs"}, **kwargs)


def v2_host(**kwargs):
    files = {"/proc/self/mountinfo": S.MOUNTINFO_V2, "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory pids\n",
             "/proc/sys/user/max_user_namespaces": "63000\n"}
    files.update(kwargs.pop("files", {}))
    return FakeHost(files=files, fs_types={"/sys/fs/cgroup": "cgroup2fs"}, **kwargs)


def by_name(result):
    return dict((item["name"], item) for item in result["checks"])


# -- parsers --------------------------------------------------------------------------------------

def test_parse_runc_version():
    expected = {"version": "1.1.5+ds1", "commit": "1.1.5+ds1-1+deb12u1", "spec": "1.0.2-dev", "go": "go1.19.8", "libseccomp": "2.5.4"}
    assert parse.parse_runc_version(S.RUNC_VERSION) == expected
    assert parse.parse_runc_version("crun version 1.8.1") is None


def test_parse_crun_version():
    info = parse.parse_crun_version(S.CRUN_VERSION)
    assert info["version"] == "1.8.1"
    assert info["spec"] == "1.0.0"
    assert info["rundir"] == "/run/crun"
    assert "+SYSTEMD" in info["build_flags"] and "+YAJL" in info["build_flags"]


def test_parse_features_runc_and_crun_without_the_command():
    feats = parse.parse_features(S.RUNC_FEATURES)
    assert feats["oci_version_min"] == "1.0.0"
    assert feats["oci_version_max"] == "1.0.2-dev"
    assert "user" in feats["namespaces"]
    assert feats["cgroup_v1"] is True and feats["cgroup_v2"] is True
    assert parse.parse_features(S.CRUN_FEATURES_STDERR) is None
    assert parse.parse_features("") is None
    assert parse.parse_features("[1, 2]") is None


def test_parse_simple_versions():
    assert parse.parse_simple_version(S.UMOCI_VERSION, "umoci") == "0.4.7+ds-3+b7"
    assert parse.parse_simple_version(S.SKOPEO_VERSION, "skopeo") == "1.9.3"
    assert parse.parse_simple_version(S.SKOPEO_VERSION_NEW, "skopeo") == "1.13.3"
    assert parse.parse_simple_version("garbage", "skopeo") is None


def test_parse_pveam_list_and_storage_status():
    rows = parse.parse_pveam_list(S.PVEAM_LIST)
    assert rows == {"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst": "120.29MB",
                    "local:vztmpl/busybox-pvesim_1.35.0-1_amd64.tar.gz": "1.03MB"}
    assert parse.parse_pveam_list("NAME                SIZE\n") == {}
    status = parse.parse_storage_status(S.STORAGE_STATUS)
    assert status["local"]["content"] == ["backup", "iso", "vztmpl"]
    assert status["local"]["active"] is True and status["local"]["avail"] == 74121592832
    assert status["nfs1"]["active"] is False and status["nfs1"]["avail"] is None
    assert parse.parse_storage_status("not json") is None
    assert parse.parse_nodes(S.NODES) == ["pve"]
    assert parse.parse_pve_version(S.PVE_VERSION)["version"] == "9.0.3"


def test_parse_subid_and_versions():
    text = "root:100000:65536\nalice:165536:65536\nbroken\nroot:x:1\n"
    assert parse.parse_subid(text, "root") == [(100000, 65536)]
    assert parse.parse_subid("", "root") == []
    assert parse.version_tuple("1.1.5+ds1") == (1, 1, 5)
    assert parse.version_tuple("1.0.2-dev") == (1, 0, 2)
    assert parse.version_tuple("v1.3.0") == (1, 3, 0)
    assert parse.version_tuple(None) == ()


# -- cgroups ----------------------------------------------------------------------------------------

def test_hybrid_host_with_a_v2_controller_fails_crun_with_the_namespace_remedy():
    host = hybrid_host(binaries=("crun", "runc", "umoci", "skopeo"),
                       commands={"crun --version": (0, S.CRUN_VERSION, ""), "runc --version": (0, S.RUNC_VERSION, ""),
                                 "crun features": (1, "", S.CRUN_FEATURES_STDERR), "runc features": (0, S.RUNC_FEATURES, "")})
    result = host_check({"backends": ["crun", "runc"], "fail_on": "never"}, host)
    named = by_name(result)
    crun = named["cgroup:crun"]
    assert crun["status"] == "fail"
    assert "hugetlb" in crun["detail"]
    assert "cgroups in hybrid mode not supported" in crun["detail"]
    assert "umount /sys/fs/cgroup/unified" in crun["remedy"] and "unshare" in crun["remedy"]
    assert named["cgroup:runc"]["status"] == "ok"
    assert named["cgroup:layout"]["status"] == "warn"
    facts = result["ansible_facts"]["lxcri_host"]
    assert facts["cgroup"]["layout"] == "hybrid"
    assert facts["cgroup"]["v2_controllers"] == ["hugetlb"]
    assert facts["cgroup"]["crun_usable"] is False
    assert facts["cgroup"]["v1_hierarchies"][0] == "blkio"


def test_hybrid_host_without_v2_controllers_is_accepted_by_crun():
    host = hybrid_host(controllers="", binaries=("crun",), commands={"crun --version": (0, S.CRUN_VERSION, "")})
    result = host_check({"backends": ["crun"], "fail_on": "never"}, host)
    assert by_name(result)["cgroup:crun"]["status"] == "ok"
    assert result["ansible_facts"]["lxcri_host"]["cgroup"]["crun_usable"] is True


def test_private_namespace_without_the_unified_mount_is_v1_and_crun_is_ok():
    host = private_v1_host(binaries=("crun",), commands={"crun --version": (0, S.CRUN_VERSION, "")})
    result = host_check({"backends": ["crun"], "fail_on": "fail"}, host)
    named = by_name(result)
    assert result["ansible_facts"]["lxcri_host"]["cgroup"]["layout"] == "v1"
    assert named["cgroup:crun"]["status"] == "ok" and named["cgroup:crun"]["remedy"] is None
    assert named["cgroup:layout"]["status"] == "warn"
    # crun's cgroup check is not a failure any more: the module succeeds with fail_on=fail
    assert result["failed_checks"] == []


def test_pure_v2_host():
    host = v2_host(binaries=("crun", "runc", "umoci", "skopeo"), dirs={"/run"},
                   commands={"crun --version": (0, S.CRUN_VERSION, ""), "runc --version": (0, S.RUNC_VERSION, ""),
                             "umoci --version": (0, S.UMOCI_VERSION, ""), "skopeo --version": (0, S.SKOPEO_VERSION, "")})
    result = host_check({"backends": ["crun", "runc"], "fail_on": "warn"}, host)
    assert result["summary"] == {"ok": 14, "warn": 0, "fail": 0}
    named = by_name(result)
    assert named["cgroup:layout"]["status"] == "ok"
    assert "cpuset cpu io memory pids" in named["cgroup:layout"]["detail"]
    assert named["cgroup:crun"]["status"] == "ok"


def test_no_cgroup_mount_fails():
    host = FakeHost(files={"/proc/self/mountinfo": "", "/proc/sys/user/max_user_namespaces": "1\n"}, fs_types={"/sys/fs/cgroup": "0x1234"})
    result = host_check({"backends": ["runc"], "fail_on": "never"}, host)
    named = by_name(result)
    assert named["cgroup:layout"]["status"] == "fail"
    assert named["cgroup:runc"]["status"] == "fail"


# -- binaries and spec versions -----------------------------------------------------------------------

def test_missing_required_binary_fails_missing_helper_warns():
    host = v2_host(binaries=("runc",), commands={"runc --version": (0, S.RUNC_VERSION, ""), "runc features": (0, S.RUNC_FEATURES, "")})
    result = host_check({"backends": ["runc", "lxc"], "fail_on": "never"}, host)
    named = by_name(result)
    assert named["binary:runc"]["status"] == "ok" and "1.1.5+ds1" in named["binary:runc"]["detail"]
    assert named["binary:umoci"]["status"] == "warn" and "apt-get install umoci" in named["binary:umoci"]["remedy"]
    assert named["binary:pct"]["status"] == "fail" and "Proxmox VE node" in named["binary:pct"]["remedy"]
    assert named["spec:runc"]["status"] == "ok"
    assert "1.0.0 to 1.0.2-dev" in named["spec:runc"]["detail"] and "'runc features'" in named["spec:runc"]["detail"]
    runtimes = result["ansible_facts"]["lxcri_host"]["runtimes"]
    assert runtimes["runc"]["features_command"] is True and runtimes["runc"]["oci_version_max"] == "1.0.2-dev"


def test_crun_without_features_takes_the_spec_from_version_and_warns_on_newer_bundles():
    host = v2_host(binaries=("crun",), commands={"crun --version": (0, S.CRUN_VERSION, ""), "crun features": (1, "", S.CRUN_FEATURES_STDERR)})
    result = host_check({"backends": ["crun"], "fail_on": "never"}, host)
    spec = by_name(result)["spec:crun"]
    assert spec["status"] == "ok"
    assert "1.0.0" in spec["detail"] and "no 'features' command: unknown command features" in spec["detail"]
    assert result["ansible_facts"]["lxcri_host"]["runtimes"]["crun"] == {
        "version": "1.8.1", "features_command": False, "oci_version_min": None, "oci_version_max": "1.0.0"}
    newer = host_check({"backends": ["crun"], "fail_on": "never", "oci_version": "1.3.0"}, host)
    assert by_name(newer)["spec:crun"]["status"] == "warn"
    assert "ociVersion 1.3.0" in by_name(newer)["spec:crun"]["detail"]


# -- user namespaces ----------------------------------------------------------------------------------

def test_userns_disabled_and_subuid_missing():
    host = v2_host(files={"/proc/sys/user/max_user_namespaces": "0\n", "/etc/subuid": "root:100000:65536\n"})
    result = host_check({"backends": ["lxc"], "fail_on": "never"}, host)
    named = by_name(result)
    assert named["userns:kernel"]["status"] == "fail" and "max_user_namespaces" in named["userns:kernel"]["remedy"]
    assert named["userns:subuid"]["status"] == "ok"
    assert named["userns:subgid"]["status"] == "warn"
    assert "root:100000:65536" in named["userns:subgid"]["remedy"] and "/etc/subgid" in named["userns:subgid"]["remedy"]


# -- bridges -----------------------------------------------------------------------------------------

def test_bridges_missing_not_a_bridge_down_and_ok():
    files = {"/sys/class/net/eth0": "", "/sys/class/net/vmbr1/operstate": "down\n", "/sys/class/net/vmbr2/operstate": "up\n"}
    dirs = {"/sys/class/net/vmbr1", "/sys/class/net/vmbr1/bridge", "/sys/class/net/vmbr2", "/sys/class/net/vmbr2/bridge"}
    host = v2_host(files=files, dirs=dirs)
    result = host_check({"backends": ["runc"], "bridges": ["vmbr0", "eth0", "vmbr1", "vmbr2"], "fail_on": "never"}, host)
    named = by_name(result)
    assert named["bridge:vmbr0"]["status"] == "fail"
    assert "ip link add vmbr0 type bridge" in named["bridge:vmbr0"]["remedy"]
    assert named["bridge:eth0"]["status"] == "fail" and "not a bridge" in named["bridge:eth0"]["detail"]
    assert named["bridge:vmbr1"]["status"] == "warn" and named["bridge:vmbr1"]["remedy"] == "ip link set vmbr1 up"
    assert named["bridge:vmbr2"]["status"] == "ok"


# -- storages and templates -----------------------------------------------------------------------------

def pve_host(**kwargs):
    commands = {
        "pvesh get /version --output-format json": (0, S.PVE_VERSION, ""),
        "pvesh get /nodes --output-format json": (0, S.NODES, ""),
        "pvesh get /nodes/pve/storage --output-format json": (0, S.STORAGE_STATUS, ""),
        "pveam list local": (0, S.PVEAM_LIST, ""),
        "pveam list nfs1": (255, "", "storage 'nfs1' is not online\n"),
    }
    commands.update(kwargs.pop("commands", {}))
    return v2_host(binaries=("pct", "pveam", "pvesh"), commands=commands, **kwargs)


def test_templates_present_missing_and_storages():
    host = pve_host()
    params = {"backends": ["lxc"], "fail_on": "never", "node": "pve", "storages": ["local-lvm", "nope"],
              "templates": ["local:vztmpl/busybox-pvesim_1.35.0-1_amd64.tar.gz", "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
                            "nfs1:vztmpl/x.tar.gz"]}
    result = host_check(params, host)
    named = by_name(result)
    assert named["binary:pct"]["status"] == "ok" and "pve-manager 9.0.3" in named["binary:pct"]["detail"]
    assert named["template:local:vztmpl/busybox-pvesim_1.35.0-1_amd64.tar.gz"]["status"] == "ok"
    missing = named["template:local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz"]
    assert missing["status"] == "fail"
    assert "pveam download local alpine-3.20-default_20240908_amd64.tar.xz" in missing["remedy"]
    assert "pve_template" in missing["remedy"]
    assert named["storage:local"]["status"] == "ok"
    assert named["storage:local-lvm"]["status"] == "ok"
    assert named["storage:nope"]["status"] == "fail" and "does not exist" in named["storage:nope"]["detail"]
    assert named["storage:nfs1"]["status"] == "fail" and "not active" in named["storage:nfs1"]["detail"]
    assert named["template:nfs1:vztmpl/x.tar.gz"]["status"] == "fail"
    assert "pveam list nfs1" in named["template:nfs1:vztmpl/x.tar.gz"]["detail"]
    facts = result["ansible_facts"]["lxcri_host"]["proxmox"]
    assert facts["templates"]["local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz"] == {"present": False}
    # pveam list ran once per storage
    assert sum(1 for call in host.calls if call[0] == "run" and call[1][1:2] == ("list",) and call[1][2] == "local") == 1


def test_template_storage_without_vztmpl_content_fails_with_pvesm_set():
    host = pve_host(commands={"pveam list local-lvm": (255, "", "Storage does not support templates!\n")})
    result = host_check({"backends": ["lxc"], "fail_on": "never", "templates": ["local-lvm:vztmpl/a.tar.gz"], "node": "pve"}, host)
    named = by_name(result)
    assert named["storage:local-lvm"]["status"] == "fail"
    assert named["storage:local-lvm"]["remedy"] == "pvesm set local-lvm --content images,rootdir,vztmpl"
    assert "Storage does not support templates!" in named["template:local-lvm:vztmpl/a.tar.gz"]["detail"]


def test_node_is_taken_from_pvesh_when_it_is_the_only_node():
    host = pve_host()
    result = host_check({"backends": ["lxc"], "fail_on": "never", "templates": ["local:vztmpl/busybox-pvesim_1.35.0-1_amd64.tar.gz"]}, host)
    assert result["ansible_facts"]["lxcri_host"]["proxmox"]["node"] in ("pve", os.uname()[1].split(".")[0])
    if os.uname()[1].split(".")[0] != "pve":
        assert by_name(result)["storage:local"]["status"] == "ok"


# -- state directories and free space ----------------------------------------------------------------------

def test_state_dirs_missing_dir_checks_parent_and_read_only_fails():
    host = v2_host(dirs={"/run", "/srv/ro"}, statvfs={"/srv/ro": (10 << 30, 20 << 30, True)})
    result = host_check({"backends": ["runc"], "state_dirs": ["/run/lxcri/runc", "/srv/ro"], "fail_on": "never"}, host)
    named = by_name(result)
    assert named["state_dir:/run/lxcri/runc"]["status"] == "ok"
    assert "checked its parent /run" in named["state_dir:/run/lxcri/runc"]["detail"]
    assert named["state_dir:/srv/ro"]["status"] == "fail" and "read-only" in named["state_dir:/srv/ro"]["detail"]


def test_not_writable_state_dir_fails():
    host = v2_host(dirs={"/run", "/run/runc"}, writable=set())
    result = host_check({"backends": ["runc"], "fail_on": "never"}, host)
    assert by_name(result)["state_dir:/run/runc"]["status"] == "fail"


def test_free_space_too_low_fails_and_default_uses_state_dirs():
    host = v2_host(dirs={"/run", "/run/runc", "/var"}, statvfs={"/var": (100 << 20, 1 << 30, False)})
    result = host_check({"backends": ["runc"], "fail_on": "never", "free_space": [{"path": "/var/lib/vz", "min_bytes": 1 << 30}]}, host)
    disk = by_name(result)["disk:/var/lib/vz"]
    assert disk["status"] == "fail" and "100.0 MiB free" in disk["detail"] and "924.0 MiB" in disk["remedy"]
    default = host_check({"backends": ["runc"], "fail_on": "never"}, host)
    assert by_name(default)["disk:/run/runc"]["status"] == "ok"


# -- fail_on and validation ------------------------------------------------------------------------------

def test_fail_on_decides_failure():
    def make():
        return private_v1_host(binaries=("runc",), commands={"runc --version": (0, S.RUNC_VERSION, ""), "runc features": (0, S.RUNC_FEATURES, "")})
    # only warnings (cgroup v1) -> passes with fail_on=fail, fails with fail_on=warn
    assert host_check({"backends": ["runc"], "fail_on": "fail"}, make())["summary"]["fail"] == 0
    with pytest.raises(LxcriError) as err:
        host_check({"backends": ["runc"], "fail_on": "warn"}, make())
    assert err.value.error_kind == "unsupported_host"
    assert "cgroup:layout [warn]" in err.value.msg
    assert err.value.details["checks"] and err.value.details["warned_checks"] == ["binary:umoci", "binary:skopeo", "cgroup:layout"]
    with pytest.raises(LxcriError) as err:
        host_check({"backends": ["runc"], "bridges": ["vmbr9"], "fail_on": "fail"}, make())
    assert "bridge:vmbr9 [fail]" in err.value.msg and "ip link add vmbr9 type bridge" in err.value.msg
    result = host_check({"backends": ["runc"], "bridges": ["vmbr9"], "fail_on": "never"}, make())
    assert result["failed_checks"] == ["bridge:vmbr9"] and result["changed"] is False


@pytest.mark.parametrize("params, field", [
    ({"backends": []}, "backends"),
    ({"backends": ["lxd"]}, "backends"),
    ({"backends": ["lxc"], "templates": ["local:iso/x.iso"]}, "templates"),
    ({"backends": ["lxc"], "templates": ["debian.tar.gz"]}, "templates"),
    ({"backends": ["lxc"], "bridges": ["a/b"]}, "bridges"),
    ({"backends": ["runc"], "state_dirs": ["relative"]}, "state_dirs"),
    ({"backends": ["runc"], "min_free_bytes": -1}, "min_free_bytes"),
    ({"backends": ["runc"], "free_space": [{"path": "x"}]}, "free_space[0].path"),
    ({"backends": ["runc"], "free_space": [{"path": "/x", "min_bytes": -5}]}, "free_space[0].min_bytes"),
])
def test_bad_input_fails_naming_the_field_before_reading_anything(params, field):
    host = v2_host()
    with pytest.raises(LxcriError) as err:
        host_check(params, host)
    assert err.value.error_kind == "invalid_argument"
    assert err.value.details["field"] == field
    assert host.calls == []


def test_split_template():
    assert checks.split_template("local:vztmpl/a_b.tar.zst") == ("local", "a_b.tar.zst")
    with pytest.raises(ValueError):
        checks.split_template("local:vztmpl/")
