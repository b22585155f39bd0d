# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers: names, signals, mountinfo cgroup layouts, runc/crun state and list output."""

from __future__ import annotations

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._oci import cgroups
from ansible_collections.lxcri.containers.plugins.module_utils._oci.names import normalize_signal, validate_name
from ansible_collections.lxcri.containers.plugins.module_utils._oci.state import parse_list, parse_state, public_view

# mountinfo as printed on a Debian 12 host booted in hybrid mode (crun refuses it)
HYBRID = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""

# the same host inside `unshare -m` after `umount /sys/fs/cgroup/unified`
LEGACY = "\n".join(line for line in HYBRID.splitlines() if "unified" not in line) + "\n"

# Proxmox VE 7+ / Debian 12 default: pure cgroup v2
UNIFIED = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
26 23 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""

# optional fields (shared:/master:) vary in number; the separator "-" is what counts
NO_CGROUPS = "22 1 8:1 / / rw,relatime shared:1 master:3 - ext4 /dev/sda1 rw\n"


@pytest.mark.parametrize("name", ["web", "a", "A_b.c-9", "x" * 64, "..a", "a..", ".hidden"])
def test_valid_names(name):
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("", "non-empty"),
        (".", "not a valid container id"),
        ("..", "not a valid container id"),
        ("a/b", "no '/'"),
        ("../etc", "no '/'"),
        ("a b", "letters, digits"),
        ("a+b", "letters, digits"),
        ("é", "letters, digits"),
        ("x" * 65, "limit is 64"),
    ],
)
def test_invalid_names_name_the_field(name, fragment):
    with pytest.raises(LxcriError) as info:
        validate_name(name)
    assert info.value.error_kind == "invalid_argument"
    assert info.value.details["field"] == "name"
    assert info.value.msg.startswith("name: ")
    assert fragment in info.value.msg


@pytest.mark.parametrize("given, expected", [("SIGTERM", "TERM"), ("term", "TERM"), ("KILL", "KILL"), ("15", "TERM"), ("9", "KILL"), ("SIGINT", "INT")])
def test_signals_normalize_to_the_bare_name(given, expected):
    assert normalize_signal(given) == expected


@pytest.mark.parametrize("given", ["SIGNOPE", "", "999", "-1"])
def test_bad_signals(given):
    with pytest.raises(LxcriError) as info:
        normalize_signal(given)
    assert info.value.error_kind == "invalid_argument"
    assert info.value.msg.startswith("stop_signal: ")


@pytest.mark.parametrize(
    "text, layout, crun_ok",
    [(HYBRID, "hybrid", False), (LEGACY, "legacy", True), (UNIFIED, "unified", True), (NO_CGROUPS, "none", True)],
)
def test_cgroup_layouts(text, layout, crun_ok):
    assert cgroups.cgroup_layout(text) == layout
    assert cgroups.crun_supported(cgroups.cgroup_layout(text)) is crun_ok


def test_later_mount_on_same_point_wins():
    # a cgroup2 fs mounted over the tmpfs (what `mount -t cgroup2 none /sys/fs/cgroup` does) hides it
    text = HYBRID + "99 31 0:50 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n"
    assert cgroups.cgroup_layout(text) == "unified"


def test_mountinfo_octal_escapes_are_decoded():
    mounts = cgroups.parse_mountinfo("50 22 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw\n")
    assert mounts == {"/mnt/with space": "tmpfs"}


def test_read_layout_of_this_process_is_a_known_value():
    assert cgroups.read_layout() in ("unified", "hybrid", "legacy", "none")


RUNC_STATE = """{
  "ociVersion": "1.0.2-dev",
  "id": "web",
  "pid": 7715,
  "status": "running",
  "bundle": "/srv/oci/web",
  "rootfs": "/srv/oci/web/rootfs",
  "created": "2026-11-22T19:06:06.480226061Z",
  "owner": ""
}"""

CRUN_STATE = """{
    "ociVersion": "1.0.0",
    "id": "web",
    "pid": 0,
    "status": "stopped",
    "bundle": "/srv/oci/web",
    "rootfs": "rootfs",
    "created": "2026-11-22T19:06:17.970848Z",
    "systemd-scope": "",
    "owner": "root",
    "annotations": {"org.example/role": "frontend"}
}
"""


def test_runc_state_is_canonical():
    assert parse_state(RUNC_STATE, "runc", "/run/runc") == {
        "id": "web",
        "status": "running",
        "pid": 7715,
        "bundle": "/srv/oci/web",
        "rootfs": "/srv/oci/web/rootfs",
        "created": "2026-11-22T19:06:06.480226061Z",
        "annotations": {},
        "owner": "",
        "runtime": "runc",
        "root": "/run/runc",
    }


def test_crun_state_relative_rootfs_becomes_absolute_and_annotations_kept():
    state = parse_state(CRUN_STATE, "crun", "/run/crun")
    assert state["rootfs"] == "/srv/oci/web/rootfs"
    assert state["status"] == "stopped" and state["pid"] == 0
    assert state["annotations"] == {"org.example/role": "frontend"}
    assert "systemd-scope" not in state and "ociVersion" not in state


@pytest.mark.parametrize("text", ["null", "null\n", "", "[\n\n]\n", "[]"])
def test_empty_lists_of_both_runtimes(text):
    assert parse_list(text, "runc", "/run/runc") == []


def test_runc_and_crun_list_entries_share_the_shape():
    runc = parse_list(
        '[{"ociVersion":"1.0.2-dev","id":"b","pid":1,"status":"running","bundle":"/x","rootfs":"/x/rootfs","created":"t","owner":"root"},'
        '{"ociVersion":"1.0.2-dev","id":"a","pid":0,"status":"stopped","bundle":"/y","rootfs":"/y/rootfs","created":"u","owner":"root"}]',
        "runc",
        "/run/runc",
    )
    crun = parse_list('[\n {"id": "c", "pid": 5, "status": "created", "bundle": "/z", "created": "v", "owner": "root"}\n]', "crun", "/run/crun")
    assert [item["id"] for item in runc] == ["a", "b"]
    assert set(runc[0]) == set(crun[0])
    assert crun[0]["rootfs"] == "" and crun[0]["annotations"] == {}


@pytest.mark.parametrize("text", ["{not json", '{"status": "running"}', "42"])
def test_garbage_state_is_a_runtime_error(text):
    with pytest.raises(LxcriError) as info:
        parse_state(text, "crun", "/run/crun")
    assert info.value.error_kind == "runtime_error"


def test_list_that_is_not_an_array_is_a_runtime_error():
    with pytest.raises(LxcriError, match="instead of an array"):
        parse_list('{"id": "x"}', "runc", "/run/runc")


def test_public_view_marks_managed_only_when_created_matches():
    state = parse_state(RUNC_STATE, "runc", "/run/runc")
    record = {"created": state["created"], "config_digest": "sha256:abc"}
    assert public_view(state, record)["managed"] is True
    assert public_view(state, record)["config_digest"] == "sha256:abc"
    other = dict(record, created="2020-01-01T00:00:00Z")
    assert public_view(state, other)["managed"] is False
    assert public_view(state, other)["config_digest"] is None
    assert public_view(None, record) == {}
