# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Snapshot state machine against pve-container's own snapshot test corpus (contract §10).

Storage is mocked exactly as pve-container's ``snapshot-test.pm`` mocks it: snapshots possible
on ``local:snapshotable-disk-1..3``, deletion only on disk-1, rollback on disk-1..3 (disk-4
"possible, but fails"), snaptime forced to 1234567890.  Each case copies the input config into
a state directory, runs the operation and compares the written file with the expected file
literally (and the error text).
"""

from __future__ import annotations

import difflib
import shutil

import pytest
from conftest import CORPUS, run_pct

from pvesim import snapshots, storage
from pvesim.config import lxc_configs
from pvesim.handlers import Env, PVEError

SNAP_OK = {"local:snapshotable-disk-1", "local:snapshotable-disk-2", "local:snapshotable-disk-3"}
DELETE_OK = {"local:snapshotable-disk-1"}
ROLLBACK_ENABLED = {"local:snapshotable-disk-1", "local:snapshotable-disk-2", "local:snapshotable-disk-3"}
ROLLBACK_POSSIBLE = ROLLBACK_ENABLED | {"local:snapshotable-disk-4"}


@pytest.fixture
def mocked(monkeypatch, state):
    calls = {"snapshot": {}, "delete": {}, "rollback": {}}
    feature = {"on": True}

    def rec(kind, volid, snap):
        calls[kind][volid] = (calls[kind][volid] + "," + snap) if volid in calls[kind] else snap

    def vol_snapshot(st, volid, snap):
        if volid not in SNAP_OK:
            raise PVEError("volume snapshot disabled")
        rec("snapshot", volid, snap)

    def vol_delete(st, volid, snap):
        if volid not in DELETE_OK:
            raise PVEError("volume snapshot delete disabled")
        rec("delete", volid, snap)

    def vol_rollback(st, volid, snap):
        if volid not in ROLLBACK_ENABLED:
            raise PVEError("volume snapshot rollback disabled")
        rec("rollback", volid, snap)

    def rollback_possible(st, volid, snap):
        if volid not in ROLLBACK_POSSIBLE:
            raise PVEError("volume_rollback_is_possible failed")
        return True

    monkeypatch.setattr(storage, "volume_has_feature", lambda st, f, volid: feature["on"])
    monkeypatch.setattr(storage, "volume_snapshot", vol_snapshot)
    monkeypatch.setattr(storage, "volume_snapshot_delete", vol_delete)
    monkeypatch.setattr(storage, "volume_snapshot_rollback", vol_rollback)
    monkeypatch.setattr(storage, "volume_rollback_is_possible", rollback_possible)
    monkeypatch.setattr(snapshots.time, "time", lambda: 1234567890)
    return calls, feature


def _setup(state, phase, vmid):
    if not CORPUS.is_dir():
        pytest.skip("conformance corpus not found at %s" % CORPUS)
    src = CORPUS / "snapshot-input" / phase / "lxc" / ("%s.conf" % vmid)
    shutil.copyfile(str(src), str(lxc_configs(state).path(vmid)))
    return Env(state, stdout=__import__("io").StringIO(), stderr=__import__("io").StringIO())


def _check(state, phase, vmid):
    exp = (CORPUS / "snapshot-expected" / phase / "lxc" / ("%s.conf" % vmid)).read_text()
    got = lxc_configs(state).path(vmid).read_text()
    assert got == exp, "".join(difflib.unified_diff(exp.splitlines(True), got.splitlines(True), "expected", "written"))


def _run(fn, err):
    if err is None:
        fn()
        return
    with pytest.raises(PVEError) as ei:
        fn()
    assert ei.value.message == err


@pytest.mark.parametrize("vmid,snap,err,feature", [
    (101, "test", None, True),
    (102, "test2", None, True),
    (200, "test", "CT is locked (snapshot)", True),
    (201, "test", "snapshot name 'test' already used", True),
    (300, "test", "snapshot feature is not available", False),
])
def test_prepare(state, mocked, vmid, snap, err, feature):
    mocked[1]["on"] = feature
    env = _setup(state, "prepare", vmid)
    _run(lambda: snapshots.snapshot_prepare(env, vmid, snap, "test comment"), err)
    _check(state, "prepare", vmid)


@pytest.mark.parametrize("vmid,snap,err", [
    (101, "test", None),
    (102, "test2", None),
    (201, "test", "missing snapshot lock"),
    (202, "test", "snapshot 'test' does not exist"),
    (203, "test", "wrong snapshot state"),
])
def test_commit(state, mocked, vmid, snap, err):
    env = _setup(state, "commit", vmid)
    _run(lambda: snapshots.snapshot_commit(env, vmid, snap), err)
    _check(state, "commit", vmid)


@pytest.mark.parametrize("vmid,snap,err,vols", [
    (101, "test", None, {"local:snapshotable-disk-1": "test"}),
    (102, "test2", None, {"local:snapshotable-disk-1": "test2"}),
    (103, "test", None, {"local:snapshotable-disk-%d" % i: "test" for i in (1, 2, 3)}),
    (201, "test", "volume snapshot disabled", {}),
])
def test_create(state, mocked, vmid, snap, err, vols):
    env = _setup(state, "create", vmid)
    _run(lambda: snapshots.snapshot_create(env, vmid, snap, "test comment"), err)
    assert mocked[0]["snapshot"] == vols
    _check(state, "create", vmid)


@pytest.mark.parametrize("vmid,snap,force,err,deleted", [
    (101, "test", False, None, {"local:snapshotable-disk-1": "test"}),
    (102, "test2", False, None, {"local:snapshotable-disk-1": "test2"}),
    (103, "test", False, None, {"local:snapshotable-disk-1": "test"}),
    (104, "test2", False, None, {"local:snapshotable-disk-1": "test2"}),
    (105, "test", True, None, {}),
    (106, "test", True, None, {"local:snapshotable-disk-1": "test"}),
    (201, "test", False, "volume snapshot delete disabled", {}),
    (202, "test", False, "CT is locked (backup)", {}),
    (203, "test", False, "volume snapshot delete disabled", {"local:snapshotable-disk-1": "test"}),
])
def test_delete(state, mocked, vmid, snap, force, err, deleted):
    env = _setup(state, "delete", vmid)
    _run(lambda: snapshots.snapshot_delete(env, vmid, snap, force), err)
    assert mocked[0]["delete"] == deleted
    _check(state, "delete", vmid)


@pytest.mark.parametrize("vmid,snap,err,rolled", [
    (101, "test", None, {"local:snapshotable-disk-1": "test"}),
    (102, "test2", None, {"local:snapshotable-disk-1": "test2"}),
    (103, "test", None, {"local:snapshotable-disk-1": "test"}),
    (104, "test2", None, {"local:snapshotable-disk-1": "test2"}),
    (105, "test", None, {"local:snapshotable-disk-%d" % i: "test" for i in (1, 2, 3)}),
    (201, "test2", "snapshot 'test2' does not exist", {}),
    (202, "test", "volume_rollback_is_possible failed", {}),
    (203, "test", "unable to rollback to incomplete snapshot (snapstate = delete)", {}),
    (204, "test", "CT is locked (backup)", {}),
    (207, "test", "volume_rollback_is_possible failed", {}),
    (208, "test", "volume snapshot rollback disabled", {"local:snapshotable-disk-1": "test",
                                                        "local:snapshotable-disk-2": "test"}),
])
def test_rollback(state, mocked, vmid, snap, err, rolled):
    env = _setup(state, "rollback", vmid)
    _run(lambda: snapshots.snapshot_rollback(env, vmid, snap), err)
    assert mocked[0]["rollback"] == rolled
    _check(state, "rollback", vmid)


def test_pct_snapshot_roundtrip_on_lvmthin(state, template, monkeypatch):
    """End to end through pct on a snapshot-capable storage (local-lvm), then listsnapshot."""
    assert run_pct(state, "create", 9001, template, "--rootfs", "local-lvm:1").rc == 0
    r = run_pct(state, "snapshot", 9001, "before", "--description", "pre-upgrade")
    assert (r.rc, r.err) == (0, ""), r
    assert run_pct(state, "set", 9001, "--memory", "1024").rc == 0
    r = run_pct(state, "listsnapshot", 9001)
    lines = r.out.splitlines()
    assert lines[0].startswith("`-> before") and lines[0].endswith(" pre-upgrade")
    assert lines[1] == " `-> " + "current".ljust(26) + " " + " " * 23 + " You are here!"
    assert run_pct(state, "rollback", 9001, "before").rc == 0
    conf = run_pct(state, "config", 9001).out
    assert "memory: 512\n" in conf and "parent: before\n" in conf
    r = run_pct(state, "snapshot", 9001, "current")
    assert r.rc != 0 and r.err == "unable to use snapshot name 'current' (reserved name)\n"
    assert run_pct(state, "delsnapshot", 9001, "before").rc == 0
    assert "parent" not in run_pct(state, "config", 9001).out
    r = run_pct(state, "delsnapshot", 9001, "before")
    assert r.rc == 255 and r.err == "snapshot 'before' does not exist\n"


def test_snapshot_not_available_on_dir_storage(state, template):
    cfg = state.storage_config()
    cfg["local"]["content"] = "iso,vztmpl,backup,rootdir"
    state.write_storage_config(cfg)
    assert run_pct(state, "create", 9001, template, "--storage", "local").rc == 0
    r = run_pct(state, "snapshot", 9001, "s1")
    assert (r.rc, r.err) == (255, "snapshot feature is not available\n")
