# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``qm`` in the real mode: ``qm start`` boots QEMU from the VM's config, ``status`` asks QMP,
``shutdown`` powers the guest off through ACPI, ``stop`` quits QEMU, ``destroy`` leaves nothing.

Uses machine-wide resources (a bridge, a tap, QEMU): run it under ``flock /tmp/lxcri-molecule.lock``.
The guest is built once into ``$PVESIM_QEMU_CACHE`` (see test_qemu_boot.py).
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from conftest import Result
from test_qemu_boot import CACHE

from pvesim import qm
from pvesim.qemu import runner
from pvesim.qemu.command import RuntimePaths
from pvesim.qemu.guest_image import BANNER, READY
from pvesim.qemu.runtime import QemuVmRuntime
from pvesim.state import State

VMID = 9200 + os.getpid() % 60  # taps are tap<vmid>i<n>: machine-wide names
BRIDGE = "pvr%d" % (os.getpid() % 100000)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the bridge and the tap device")


@pytest.fixture
def real_state(tmp_path, monkeypatch):
    monkeypatch.setenv("PVESIM_QEMU_CACHE", str(CACHE))
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
    # a short root: the QMP socket path must fit a unix socket address
    st = State(Path("/tmp") / ("pvq-%d" % os.getpid())).init(node="pve", mode="lxc")
    yield st
    QemuVmRuntime(st).stop(VMID)  # quits a QEMU a failed test left and deletes its taps
    subprocess.run(["ip", "link", "del", BRIDGE], check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", str(st.root)], check=False)


def _qm(state, *args):
    out, err = io.StringIO(), io.StringIO()
    rc = qm.main([str(a) for a in args], stdout=out, stderr=err, state=state)
    return Result(rc, out.getvalue(), err.getvalue())


def test_start_status_shutdown_stop_destroy_under_tcg(real_state):
    st = real_state
    r = _qm(st, "create", VMID, "--name", "realvm", "--memory", 256, "--net0", "virtio,bridge=%s" % BRIDGE,
            "--scsi0", "local-lvm:0.0625", "--ide2", "local-lvm:cloudinit", "--ipconfig0", "ip=10.213.1.7/24",
            "--ciuser", "admin", "--cipassword", "s3cret-not-in-argv")
    assert r.rc == 0, r
    disk = st.storage_base_path("local-lvm") / ("vm-%d-disk-0" % VMID)
    assert disk.is_file() and disk.stat().st_size == 64 * 1024 * 1024
    paths = RuntimePaths(st.host_path("/run/qemu-server"), VMID)

    r = _qm(st, "start", VMID)
    assert r.rc == 0, r
    assert _qm(st, "status", VMID).out == "status: running\n"
    assert runner.wait_for_console(paths, BANNER, 60), paths.console_log.read_text(errors="replace")
    pid = runner.read_pid(paths)
    assert pid is not None
    cmdline = Path("/proc/%s/cmdline" % pid).read_bytes().decode().split("\0")
    assert not any("s3cret" in arg for arg in cmdline)
    assert Path("/sys/class/net/tap%di0/master" % VMID).resolve().name == BRIDGE
    verbose = _qm(st, "status", VMID, "--verbose").out
    assert "pid: %s\n" % pid in verbose and "qmpstatus: running\n" in verbose
    assert ("pvesim-accel: tcg\n" in verbose) or ("pvesim-accel: kvm\n" in verbose)
    r = _qm(st, "start", VMID)
    assert (r.rc, r.err) == (255, "VM %d already running\n" % VMID)

    assert _qm(st, "suspend", VMID).rc == 0
    assert _qm(st, "status", VMID).out == "status: paused\n"
    assert _qm(st, "resume", VMID).rc == 0
    # the guest's acpid must be up to hear the power button (the init prints READY then)
    assert runner.wait_for_console(paths, READY, 60), paths.console_log.read_text(errors="replace")
    r = _qm(st, "shutdown", VMID, "--timeout", 60)
    assert r.rc == 0, r
    assert _qm(st, "status", VMID).out == "status: stopped\n"
    assert not runner.pid_alive(pid)
    assert not Path("/sys/class/net/tap%di0" % VMID).exists()

    # a guest that does not answer the power button (its acpid is not up yet right after start):
    # QemuServer.pm _do_vm_stop's timeout error, then --forceStop stops it (contract section 9)
    assert _qm(st, "start", VMID).rc == 0
    pid = runner.read_pid(paths)
    assert pid is not None
    r = _qm(st, "shutdown", VMID, "--timeout", 1)
    assert (r.rc, r.err) == (255, "VM quit/powerdown failed - got timeout\n")
    assert runner.pid_alive(pid)
    assert _qm(st, "shutdown", VMID, "--timeout", 1, "--forceStop", 1).rc == 0
    assert not runner.pid_alive(pid)

    assert _qm(st, "start", VMID).rc == 0
    pid = runner.read_pid(paths)
    assert pid is not None
    assert _qm(st, "stop", VMID).rc == 0
    assert not runner.pid_alive(pid)
    assert _qm(st, "stop", VMID).rc == 0  # a stopped VM stops without error
    assert _qm(st, "destroy", VMID).rc == 0
    assert not disk.exists() and not (st.storage_base_path("local-lvm") / ("vm-%d-cloudinit" % VMID)).exists()
