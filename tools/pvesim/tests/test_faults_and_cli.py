# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection (``pvesim fault``), the ``pvesim`` command, launchers and the safety checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from conftest import run_pct

from pvesim import cli, faults
from pvesim.config import lxc_configs
from pvesim.state import State


def _create(state, template, vmid=9001):
    r = run_pct(state, "create", vmid, template, "--rootfs", "local-lvm:1")
    assert r.rc == 0, r


# ---------------------------------------------------------------- faults

def test_fail_next_n_task_commands(state, template):
    _create(state, template)
    faults.add_fail(state, "start", count=2)
    for _attempt in range(2):
        r = run_pct(state, "start", 9001)
        assert (r.rc, r.err) == (255, "pvesim: injected fault (vzstart)\n")
        assert run_pct(state, "status", 9001).out == "status: stopped\n"
    assert run_pct(state, "start", 9001).rc == 0


def test_fail_sync_operation_with_message(state, template):
    _create(state, template)
    faults.add_fail(state, "set", count=1, message="config write failed")
    r = run_pct(state, "set", 9001, "--memory", "600")
    assert r.rc != 0 and r.err == "config write failed\n"
    assert run_pct(state, "set", 9001, "--memory", "600").rc == 0


def test_warn_next_task_logs_a_warning_and_succeeds(state, template):
    # PVE::RESTEnvironment: $rpcenv->warn prints "WARN: <text>" in the task log; a CLI worker that warned
    # ends with "Task finished with N warning(s)!" and exit 0, the task's exitstatus is "WARNINGS: N".
    _create(state, template)
    faults.add_warn(state, "start", message="Systemd 257 detected. You may need to enable nesting.")
    r = run_pct(state, "start", 9001)
    assert r.rc == 0, r
    assert "WARN: Systemd 257 detected. You may need to enable nesting.\n" in r.out
    assert "Task finished with 1 warning(s)!" in r.out + r.err
    assert run_pct(state, "status", 9001).out == "status: running\n"
    assert run_pct(state, "stop", 9001).rc == 0
    r = run_pct(state, "start", 9001)
    assert r.rc == 0 and "WARN" not in r.out + r.err


def test_fail_local_command(state, template):
    _create(state, template)
    faults.add_fail(state, "status")
    r = run_pct(state, "status", 9001)
    assert r.rc != 0 and r.err == "pvesim: injected fault (status)\n"


def test_slow_tasks(state, template):
    _create(state, template)
    faults.add_slow(state, 1.0, "vzstart")
    t0 = time.monotonic()
    assert run_pct(state, "start", 9001).rc == 0
    slow = time.monotonic() - t0
    t0 = time.monotonic()
    assert run_pct(state, "stop", 9001).rc == 0
    fast = time.monotonic() - t0
    assert slow >= 1.0
    assert fast < slow
    print("start with 1 s slow-down: %.2fs, stop without: %.2fs" % (slow, fast))


def test_fail_create_after_rootfs_allocation_cleans_up(state, template):
    faults.set_fail_create_after_alloc(state, 1)
    r = run_pct(state, "create", 9001, template, "--rootfs", "local-lvm:1")
    assert r.rc == 255
    assert r.err == "unable to create CT 9001 - pvesim: injected fault after rootfs allocation\n"
    assert not lxc_configs(state).path(9001).exists()
    assert list(state.storage_base_path("local-lvm").iterdir()) == []
    _create(state, template)


def test_hold_lock_then_release(state, template):
    _create(state, template)
    faults.hold_lock(state, 9001, 60)
    assert faults.release_lock(state, 9001)
    time.sleep(0.2)
    r = run_pct(state, "set", 9001, "--memory", "600")
    assert (r.rc, r.err) == (0, "")


def test_fault_cli(state):
    env = dict(os.environ, PVESIM_STATE_DIR=str(state.root))
    out = subprocess.run([sys.executable, "-m", "pvesim", "fault", "fail", "destroy", "--count", "3"], env=env,
                         capture_output=True, check=True).stdout.decode()
    assert out == "next 3 'vzdestroy' operation(s) will fail\n"
    assert faults.load(state)["fail"] == [{"kind": "vzdestroy", "remaining": 3, "message": "pvesim: injected fault (vzdestroy)"}]
    subprocess.run([sys.executable, "-m", "pvesim", "fault", "clear"], env=env, check=True)
    assert faults.load(state)["fail"] == []


# ---------------------------------------------------------------- launchers and safety

def test_bin_dir_writes_launchers_that_work(tmp_path, state):
    bindir = tmp_path / "bin"
    written = cli.write_launchers(bindir, state_dir=state.root)
    assert sorted(os.path.basename(p) for p in written) == ["pct", "pveam", "pvesh", "pvesm", "qm"]
    r = subprocess.run([str(bindir / "pct"), "list"], capture_output=True, check=False,
                       env={k: v for k, v in os.environ.items() if k != "PVESIM_STATE_DIR"})
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    r = subprocess.run([str(bindir / "pct"), "status", "9099"], capture_output=True, check=False)
    assert r.returncode == 255
    assert r.stderr == b"Configuration file 'nodes/pve/lxc/9099.conf' does not exist\n"
    # rewriting our own launchers is fine
    cli.write_launchers(bindir, state_dir=state.root)


def test_bin_dir_refuses_foreign_files_and_system_dirs(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "pct").write_text("#!/bin/sh\necho real pct\n")
    with pytest.raises(Exception) as ei:
        cli.write_launchers(bindir)
    assert "refusing to overwrite" in str(ei.value)
    assert (bindir / "pct").read_text() == "#!/bin/sh\necho real pct\n"
    with pytest.raises(Exception) as ei:
        cli.write_launchers("/usr/bin")
    assert "system directory" in str(ei.value)


def test_refuses_to_run_on_a_real_proxmox_host(tmp_path):
    fake = tmp_path / "root"
    (fake / "usr/share/perl5/PVE").mkdir(parents=True)
    (fake / "proc").mkdir()
    (fake / "proc/mounts").write_text("/dev/fuse /etc/pve fuse rw 0 0\n")
    assert cli.real_pve_markers(str(fake)) == ["/usr/share/perl5/PVE", "a fuse mount at /etc/pve (pmxcfs)"]
    import io

    err = io.StringIO()
    assert cli.refuse_on_real_pve(err, root=str(fake)) is True
    assert err.getvalue().startswith("pvesim: refusing to run on a real Proxmox VE host")
    assert cli.real_pve_markers("/") == []


def test_missing_state_dir_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PVESIM_STATE_DIR"}
    r = subprocess.run([sys.executable, "-m", "pvesim", "run", "pct", "list"], env=env, capture_output=True,
                       check=False)
    assert r.returncode == 2
    assert r.stderr.decode().startswith("pvesim: no state directory: pass --state-dir DIR or set PVESIM_STATE_DIR")


def test_init_layout(tmp_path):
    st = State(tmp_path / "s").init(node="node1", mode="state")
    assert os.readlink(st.root / "lxc") == "nodes/node1/lxc"
    assert os.readlink(st.root / "local") == "nodes/node1"
    assert (st.root / "storage.cfg").read_text().startswith("dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n")
    assert st.template_cache_dir("local") == st.root / ".host/var/lib/vz/template/cache"


def test_a_finished_task_never_drops_out_of_the_task_list(state):
    # a worker moves from the active file to the index when it ends (PVE::RPCEnvironment::active_workers);
    # a reader between the two writes must still see it, else a client that told tasks apart by the list
    # before and after its own call takes an old one for its own
    import threading

    from pvesim import tasks

    started = []
    stop = threading.Event()

    def churn():
        for n in range(400):
            upid = tasks.upid_encode("pve", 1000 + n, 1, int(time.time()), "vztemplate", "120", "root@pam")
            tasks._active_add(state, upid)
            started.append(upid)
            tasks._active_done(state, upid, "OK")
        stop.set()

    worker = threading.Thread(target=churn)
    worker.start()
    missing = set()
    while not stop.is_set():
        known = list(started)
        listed = {t["upid"] for t in tasks.list_tasks(state)}
        missing.update(u for u in known if u not in listed)
    worker.join()
    assert not missing
