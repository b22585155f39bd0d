# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Bundle checks and digest, sidecar record, lock, argv rendering, the subprocess driver, early validation."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._oci import manager, procwatch
from ansible_collections.lxcri.containers.plugins.module_utils._oci.bundle import config_digest, load_bundle
from ansible_collections.lxcri.containers.plugins.module_utils._oci.info import list_containers
from ansible_collections.lxcri.containers.plugins.module_utils._oci.lock import ContainerLock
from ansible_collections.lxcri.containers.plugins.module_utils._oci.record import RecordPaths, make_record, read_record, write_record
from ansible_collections.lxcri.containers.plugins.module_utils._oci.runtime import Runtime, find_executable, read_log_messages

CONFIG = {"ociVersion": "1.0.2", "process": {"terminal": False, "args": ["sh"], "cwd": "/"}, "root": {"path": "rootfs"}, "linux": {}, "mounts": []}


def make_bundle(tmp_path, config=None, rootfs=True):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    if rootfs:
        (bundle / "rootfs").mkdir()
    if config is not False:
        (bundle / "config.json").write_text(config if isinstance(config, str) else json.dumps(config or CONFIG))
    return str(bundle)


def test_digest_ignores_key_order_and_whitespace():
    reordered = json.loads(json.dumps(CONFIG, sort_keys=True, indent=4))
    assert config_digest(reordered) == config_digest(CONFIG)
    assert config_digest(dict(CONFIG, hostname="x")) != config_digest(CONFIG)
    assert config_digest(CONFIG).startswith("sha256:") and len(config_digest(CONFIG)) == 71


def test_load_bundle_ok(tmp_path):
    bundle = load_bundle(make_bundle(tmp_path) + "/")
    assert bundle.path == str(tmp_path / "bundle")
    assert bundle.digest == config_digest(CONFIG)


@pytest.mark.parametrize(
    "config, rootfs, kind, fragment",
    [
        (False, True, "not_found", "has no config.json"),
        ("{oops", True, "invalid_argument", "is not valid JSON"),
        ("[1, 2]", True, "invalid_argument", "must hold a JSON object"),
        ({"root": {"path": "rootfs"}}, True, "invalid_argument", "no ociVersion"),
        ({"ociVersion": "1.0.2"}, True, "invalid_argument", "no root.path"),
        (CONFIG, False, "not_found", "is not a directory"),
        (dict(CONFIG, process={"terminal": True, "args": ["sh"], "cwd": "/"}), True, "invalid_argument", "process.terminal"),
    ],
)
def test_bad_bundles(tmp_path, config, rootfs, kind, fragment):
    path = make_bundle(tmp_path, config, rootfs)
    with pytest.raises(LxcriError) as info:
        load_bundle(path)
    assert info.value.error_kind == kind
    assert info.value.msg.startswith("bundle: ")
    assert fragment in info.value.msg


def test_missing_or_relative_bundle_dir(tmp_path):
    with pytest.raises(LxcriError) as info:
        load_bundle(str(tmp_path / "nope"))
    assert info.value.error_kind == "not_found"
    with pytest.raises(LxcriError) as info:
        load_bundle("relative/bundle")
    assert info.value.error_kind == "invalid_argument"


def test_record_paths_are_keyed_by_root_and_id(tmp_path):
    one = RecordPaths(str(tmp_path / "a" / "runc"), "web")
    two = RecordPaths(str(tmp_path / "b" / "runc"), "web")
    assert one.directory.startswith(str(tmp_path / "a" / "lxcri-oci" / "runc-"))
    assert one.record.endswith("/web.json") and one.lock.endswith("/web.lock") and one.runtime_log.endswith("/web.runtime.log")
    assert os.path.basename(one.directory) != os.path.basename(two.directory)


def test_record_round_trip_is_private(tmp_path):
    paths = RecordPaths(str(tmp_path / "runc"), "web")
    paths.ensure_directory()
    bundle = load_bundle(make_bundle(tmp_path))
    record = make_record("runc", paths.root, "web", bundle, "2026-01-01T00:00:00Z")
    write_record(paths.record, record)
    assert read_record(paths.record) == json.loads(json.dumps(record))
    assert stat.S_IMODE(os.stat(paths.record).st_mode) == 0o600
    assert os.listdir(paths.directory) == ["web.json"]


def test_unreadable_or_foreign_record_is_none(tmp_path):
    path = tmp_path / "r.json"
    assert read_record(str(path)) is None
    path.write_text("{broken")
    assert read_record(str(path)) is None
    path.write_text('{"version": 99}')
    assert read_record(str(path)) is None


HOLD_LOCK = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "time.sleep(30)\n"
)


def test_lock_blocks_a_second_process_until_timeout(tmp_path):
    path = str(tmp_path / "c.lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, path],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"locked"
        start = time.monotonic()
        with pytest.raises(LxcriError) as info:
            ContainerLock(path, 0.5).acquire()
        assert info.value.error_kind == "locked"
        assert time.monotonic() - start >= 0.5
    finally:
        holder.kill()
        holder.wait()
    with ContainerLock(path, 1) as lock:
        assert lock.fd is not None


def test_lock_waiter_follows_a_removed_lock_file(tmp_path):
    path = str(tmp_path / "c.lock")
    first = ContainerLock(path, 1).acquire()
    first.remove()  # the holder deleted the container and its lock file
    second = ContainerLock(path, 1).acquire()  # creates a new file, not blocked by the unlinked one
    assert os.path.exists(path)
    second.release()
    first.release()


def test_global_flags_are_identical_on_every_argv():
    runc = Runtime("runc", "/usr/sbin/runc", "/run/x", systemd_cgroup=True, log_file="/run/l.log")
    crun = Runtime("crun", "/usr/bin/crun", "/run/y", log_file="/run/l.log")
    for argv in (runc.create_argv("w", "/b"), runc.start_argv("w"), runc.kill_argv("w", "TERM"), runc.delete_argv("w"), runc.state_argv("w")):
        assert argv[:8] == ["/usr/sbin/runc", "--root", "/run/x", "--systemd-cgroup", "--log", "/run/l.log", "--log-format", "json"]
    assert crun.state_argv("w") == ["/usr/bin/crun", "--root", "/run/y", "--log", "file:/run/l.log", "--log-format", "json", "state", "w"]
    assert runc.create_argv("w", "/b")[8:] == ["create", "--bundle", "/b", "w"]
    assert runc.delete_argv("w", force=True)[-2:] == ["--force", "w"]
    assert Runtime("runc", "/r", "/run/x").state_argv("w") == ["/r", "--root", "/run/x", "state", "w"]


def test_read_log_messages_keeps_errors_written_after_offset(tmp_path):
    log = tmp_path / "l.log"
    log.write_text('{"level":"error","msg":"old","time":"t"}\n')
    offset = log.stat().st_size
    with log.open("a") as handle:
        handle.write('{"level":"warning","msg":"meh"}\n{"msg":"container does not exist","level":"error"}\nplain text\n')
    assert read_log_messages(str(log), offset) == ["container does not exist", "plain text"]
    assert read_log_messages(str(tmp_path / "none"), 0) == []


FAKE_RUNTIME = """\
#!/bin/sh
# a stand-in runtime: records its argv, writes a JSON error to --log, fails "create"
log=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) shift ;;
    --log) shift; log="${1#file:}" ;;
    --log-format) shift ;;
    create) echo "to-container-stdout"; [ -n "$log" ] && echo '{"level":"error","msg":"boom from the runtime"}' >> "$log"; exit 1 ;;
    state) echo '{"id":"'"$2"'","pid":0,"status":"stopped","bundle":"/b","created":"t"}'; exit 0 ;;
    list) echo null; exit 0 ;;
    *) ;;
  esac
  shift
done
exit 0
"""


def run_command(args, expand_user_and_vars=True):
    """``AnsibleModule.run_command``'s contract, enough for the driver."""
    assert expand_user_and_vars is False, "bundle paths must reach the runtime unexpanded"
    done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def fake_runtime(tmp_path):
    path = tmp_path / "fake-runc"
    path.write_text(FAKE_RUNTIME)
    path.chmod(0o755)
    return str(path)


def test_run_sends_create_stdio_to_the_log_file_and_reports_log_errors(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    out = tmp_path / "container.log"
    runtime = Runtime("runc", fake_runtime(tmp_path), str(root), log_file=str(tmp_path / "rt.log"), run_command=run_command)
    with pytest.raises(LxcriError) as info:
        runtime.run(runtime.create_argv("w", "/b"), output_path=str(out))
    assert info.value.error_kind == "runtime_error"
    assert info.value.msg == "runc create failed (rc 1): boom from the runtime"
    assert info.value.cmd == runtime.calls[0]
    assert out.read_text() == "to-container-stdout\n"
    assert runtime.state("w")["status"] == "stopped"
    assert runtime.list() == []


def test_state_of_a_missing_root_runs_nothing(tmp_path):
    runtime = Runtime("runc", fake_runtime(tmp_path), str(tmp_path / "missing"), run_command=run_command)
    assert runtime.state("w") is None
    assert runtime.list() == []
    assert runtime.calls == []
    assert not (tmp_path / "missing").exists()


def test_find_executable(tmp_path):
    assert os.path.isabs(find_executable("sh"))
    with pytest.raises(LxcriError) as info:
        find_executable("runc", str(tmp_path / "no-such-runc"))
    assert info.value.error_kind == "runtime_missing"
    with pytest.raises(LxcriError) as info:
        find_executable("lxcri-no-such-runtime")
    assert info.value.error_kind == "runtime_missing"


def test_procwatch_sees_a_live_process_exit():
    child = subprocess.Popen(["sleep", "30"])
    try:
        state, start = procwatch.process_identity(child.pid)
        assert procwatch.is_alive(child.pid, start)
        assert not procwatch.is_alive(child.pid, "0")  # a different start time means pid reuse
        assert procwatch.wait_exit(child.pid, start, 0.2) is False
        child.kill()
        child.wait()
        assert procwatch.wait_exit(child.pid, start, 2) is True
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert procwatch.process_identity(0) is None


def params(**kwargs):
    base = {
        "name": "web",
        "state": "started",
        "runtime": "runc",
        "bundle": None,
        "stop_signal": "SIGTERM",
        "stop_timeout": 10,
        "lock_timeout": 60,
        "recreate": True,
        "systemd_cgroup": False,
        "root": None,
        "executable": None,
        "log_path": None,
    }
    base.update(kwargs)
    return base


def hybrid():
    return "hybrid"


def unified():
    return "unified"


@pytest.mark.parametrize(
    "overrides, kind, field",
    [
        ({"name": "../x"}, "invalid_argument", "name"),
        ({"bundle": None}, "invalid_argument", "bundle"),
        ({"stop_signal": "SIGNOPE"}, "invalid_argument", "stop_signal"),
        ({"stop_timeout": -1}, "invalid_argument", "stop_timeout"),
        ({"root": "relative"}, "invalid_argument", "root"),
        ({"log_path": "/no/such/dir/x.log"}, "invalid_argument", "log_path"),
        ({"runtime": "auto", "executable": "/usr/sbin/runc"}, "invalid_argument", "executable"),
        ({"executable": "/no/such/runc"}, "runtime_missing", "executable"),
    ],
)
def test_request_fails_before_anything_runs(tmp_path, overrides, kind, field):
    bundle = make_bundle(tmp_path)
    values = params(bundle=bundle, executable=fake_runtime(tmp_path))
    values.update(overrides)
    with pytest.raises(LxcriError) as info:
        manager.Request(values, layout_reader=unified)
    assert info.value.error_kind == kind
    assert info.value.details["field"] == field
    assert sorted(os.listdir(tmp_path)) == ["bundle", "fake-runc"]


def test_crun_on_a_hybrid_host_is_unsupported_host_with_the_remedy(tmp_path):
    values = params(runtime="crun", bundle=make_bundle(tmp_path), executable=fake_runtime(tmp_path))
    with pytest.raises(LxcriError) as info:
        manager.Request(values, layout_reader=hybrid)
    assert info.value.error_kind == "unsupported_host"
    assert "runtime=runc" in info.value.msg and "/sys/fs/cgroup/unified" in info.value.msg
    # deleting a crun container stays possible on such a host
    assert manager.Request(params(runtime="crun", state="absent", executable=fake_runtime(tmp_path)), layout_reader=hybrid).runtime == "crun"


def test_auto_picks_runc_on_hybrid_and_crun_elsewhere(monkeypatch):
    monkeypatch.setattr(manager, "find_executable", lambda name, executable=None: "/bin/" + name)
    assert manager.resolve_runtime("auto", None, hybrid)[:2] == ("runc", "/bin/runc")
    assert manager.resolve_runtime("auto", None, unified)[:2] == ("crun", "/bin/crun")
    assert manager.resolve_runtime("auto", None, lambda: "legacy")[0] == "crun"


def test_auto_falls_back_to_runc_when_crun_is_missing(monkeypatch):
    def only_runc(name, executable=None):
        if name == "crun":
            raise LxcriError("no crun", "runtime_missing")
        return "/bin/runc"

    monkeypatch.setattr(manager, "find_executable", only_runc)
    assert manager.resolve_runtime("auto", None, unified)[0] == "runc"


def test_default_log_path_is_beside_the_bundle(tmp_path):
    request = manager.Request(params(bundle=make_bundle(tmp_path), executable=fake_runtime(tmp_path)), layout_reader=unified)
    assert request.log_path == str(tmp_path / "web.log")
    assert request.root == "/run/runc"


def test_compare_config():
    bundle = type("B", (), {"path": "/b", "digest": "sha256:1"})()
    current = {"created": "t1", "bundle": "/b"}
    record = {"created": "t1", "runtime": "runc", "root": "/r", "bundle": "/b", "config_digest": "sha256:1"}
    assert manager.compare_config(current, record, bundle, "runc", "/r") == "same"
    assert manager.compare_config(current, dict(record, config_digest="sha256:2"), bundle, "runc", "/r") == "changed"
    assert manager.compare_config(dict(current, bundle="/other"), record, bundle, "runc", "/r") == "changed"
    assert manager.compare_config(dict(current, created="t2"), record, bundle, "runc", "/r") == "unknown"
    assert manager.compare_config(current, None, bundle, "runc", "/r") == "unknown"
    assert manager.compare_config(None, record, bundle, "runc", "/r") is None


def test_check_mode_converge_runs_one_state_and_writes_nothing(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    values = params(bundle=make_bundle(tmp_path), executable=fake_runtime(tmp_path), root=str(root))
    before = sorted(str(path) for path in tmp_path.rglob("*"))
    result = manager.converge(values, run_command, check_mode=True, layout_reader=unified)
    assert sorted(str(path) for path in tmp_path.rglob("*")) == before
    assert result["changed"] is True
    assert [action["kind"] for action in result["actions"]] == ["delete", "create", "start"]  # the fake reports "stopped"
    assert [argv[-2] for argv in result["commands"]] == ["state"]
    # planned argv carry the --log a real run would pass, though check mode could not pass it
    assert "--log" in result["actions"][1]["argv"] and "--log" not in result["commands"][0]
    assert result["container"]["status"] == "stopped" and result["container"]["managed"] is False


def test_info_lists_an_existing_root_through_the_runtime(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    result = list_containers({"runtime": "runc", "root": [str(root)], "executable": fake_runtime(tmp_path), "name": None}, run_command)
    assert result["containers"] == [] and result["missing_runtimes"] == []
    assert [argv[-3:] for argv in result["commands"]] == [["list", "--format", "json"]]
    with pytest.raises(LxcriError) as info:
        list_containers({"runtime": "all", "root": None, "executable": "/bin/true", "name": None}, run_command)
    assert info.value.details["field"] == "executable"
    with pytest.raises(LxcriError) as info:
        list_containers({"runtime": "runc", "root": None, "executable": None, "name": ["bad/name"]}, run_command)
    assert info.value.details["field"] == "name"
