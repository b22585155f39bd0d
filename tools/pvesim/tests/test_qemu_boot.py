# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real boot under QEMU: config -> argv -> QEMU -> QMP ``running`` -> ACPI shutdown -> nothing left.

Uses machine-wide resources (a bridge, a tap, QEMU): run it under ``flock /tmp/lxcri-molecule.lock``.
The guest (Debian's cloud kernel + a busybox initramfs) is built once into
``$PVESIM_QEMU_CACHE`` (default ``<repo>/.work/cache/pvesim-qemu``, also from the gates' copy).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pvesim.qemu import cloudinit, runner, runtime
from pvesim.qemu import config as qmconfig
from pvesim.qemu.command import RuntimePaths, config_to_command
from pvesim.qemu.guest_image import BANNER, READY, build_guest_image
from pvesim.qemu.qmp import QMPClient

REPO = Path(__file__).resolve().parents[3]
# the repository's .work, also from the copy the gates run in (.work/src/ansible_collections/...)
WORK = next((p for p in Path(__file__).resolve().parents if p.name == ".work"), REPO / ".work")
CACHE = Path(os.environ.get("PVESIM_QEMU_CACHE", str(WORK / "cache" / "pvesim-qemu")))
VMID = 9130 + os.getpid() % 60  # taps are tap<vmid>i<n>: machine-wide names
BRIDGE = "pvq%d" % (os.getpid() % 100000)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the bridge and the tap device")


@pytest.fixture(scope="module")
def guest():
    return build_guest_image(CACHE)


@pytest.fixture
def bridge():
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
    subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
    yield BRIDGE
    subprocess.run(["ip", "link", "del", BRIDGE], check=False)


def _volumes(tmp_path: Path):
    """A stand-in for the simulated storage: ``local-lvm:NAME`` -> ``<tmp>/images/NAME`` (raw or .qcow2)."""
    def resolve(volid: str) -> tuple[str, str]:
        name = volid.split(":", 1)[1]
        return str(tmp_path / "images" / name), "qcow2" if name.endswith(".qcow2") else "raw"
    return resolve


def test_tcg_boot_console_network_and_acpi_shutdown(tmp_path, guest, bridge):
    raw = ("cores: 1\nmemory: 256\nname: bootvm\nnet0: virtio,bridge=%s\nscsihw: virtio-scsi-single\n"
           "scsi0: local-lvm:vm-%d-disk-0.qcow2,iothread=1,size=64M\nide2: local-lvm:vm-%d-cloudinit,media=cdrom\n"
           "ciuser: admin\ncipassword: s3cret-not-in-argv\nipconfig0: ip=10.213.0.7/24,gw=10.213.0.1\n"
           "nameserver: 10.213.0.1\nsearchdomain: example.test\n" % (BRIDGE, VMID, VMID))
    conf = qmconfig.parse_vm_config(raw, VMID, strict=True)
    qmconfig.add_create_defaults(conf, "7.2.22")
    resolve = _volumes(tmp_path)
    disk_path, _format = resolve("local-lvm:vm-%d-disk-0.qcow2" % VMID)
    Path(disk_path).parent.mkdir(parents=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", disk_path, "64M"], check=True)
    cloudinit.build_nocloud_image(conf, VMID, resolve("local-lvm:vm-%d-cloudinit" % VMID)[0],
                                  host_resolv={"search": None, "dns": []})
    mac = qmconfig.parse_net(conf["net0"])["macaddr"].lower()

    paths = RuntimePaths(tmp_path / "run", VMID)
    command = config_to_command(conf, VMID, paths, resolve, "tcg", guest.kernel, guest.initrd)
    assert not any("s3cret" in arg for arg in command.argv)
    assert runner.status(paths) == "stopped"

    vm = runner.start(VMID, command, paths)
    try:
        assert runner.status(paths) == "running"
        assert Path("/sys/class/net/tap%di0/master" % VMID).resolve().name == BRIDGE
        with pytest.raises(runner.RunnerError, match="VM %d already running" % VMID):
            runner.start(VMID, command, paths)
        assert runner.wait_for_console(paths, READY, 120), paths.console_log.read_text(errors="replace")
        log = paths.console_log.read_text(errors="replace")
        assert BANNER in log
        assert "eth0 %s 10.213.0.7/255.255.255.0" % mac in log
        assert "pvesim-guest: inet 10.213.0.7/24 " in log  # as the guest's own `ip addr` reports it
        assert "hostname bootvm" in log
        runner.shutdown(vm, timeout=60)
    finally:
        runner.stop(vm)
    assert "ACPI power button, powering off" in paths.console_log.read_text(errors="replace")
    assert not runner.pid_alive(vm.pid)
    assert runner.status(paths) == "stopped"
    assert not Path("/sys/class/net/tap%di0" % VMID).exists()
    # qm stop of a stopped VM succeeds (contract §9)
    runner.stop(vm)


def test_start_fails_cleanly_without_the_bridge(tmp_path, guest):
    conf = qmconfig.parse_vm_config("memory: 256\nnet0: virtio=BC:24:11:00:00:01,bridge=pvqmissing0\n", VMID, strict=True)
    paths = RuntimePaths(tmp_path / "run", VMID)
    command = config_to_command(conf, VMID, paths, _volumes(tmp_path), "tcg", guest.kernel, guest.initrd)
    with pytest.raises(runner.RunnerError, match="bridge 'pvqmissing0' does not exist"):
        runner.start(VMID, command, paths)
    assert runner.status(paths) == "stopped"
    assert not Path("/sys/class/net/tap%di0" % VMID).exists()


def test_accelerator_is_probed_and_said(tmp_path, guest):
    accel, why = runner.accelerator(tmp_path / "accel", guest)
    assert accel in ("kvm", "tcg")
    assert why
    # the answer is kept: the second call reads it back instead of probing again
    assert runner.accelerator(tmp_path / "accel", guest) == (accel, why)
    assert (tmp_path / "accel").read_text().split("\n")[0] == accel


def test_shutdown_refusals_and_force_stop(tmp_path, guest):
    """qm shutdown: 'VM is paused - cannot shutdown', 'VM quit/powerdown failed - got timeout', --forceStop."""
    conf = qmconfig.parse_vm_config("memory: 256\n", VMID, strict=True)
    paths = RuntimePaths(tmp_path / "run", VMID)
    vm = runner.start(VMID, config_to_command(conf, VMID, paths, _volumes(tmp_path), "tcg", guest.kernel, guest.initrd), paths)
    try:
        with QMPClient(paths.qmp_socket) as qmp:
            qmp.execute("stop")
        assert runner.status(paths) == "paused"
        with pytest.raises(runner.RunnerError, match="^VM is paused - cannot shutdown$"):
            runner.shutdown(vm, timeout=5)
        with QMPClient(paths.qmp_socket) as qmp:
            qmp.execute("cont")
        # a zero timeout gives the guest no time to act on the power button
        with pytest.raises(runner.RunnerError, match="^VM quit/powerdown failed - got timeout$"):
            runner.shutdown(vm, timeout=0)
        assert runner.status(paths) == "running"
        runner.shutdown(vm, timeout=0, force_stop=True)
    finally:
        runner.stop(vm)
    assert not runner.pid_alive(vm.pid)
    assert runner.status(paths) == "stopped"


def test_qemu_guest_cli_prepares_what_qm_start_uses(tmp_path, monkeypatch, capsys, guest):
    """``pvesim qemu-guest`` builds the guest and probes KVM ahead of the first start, into the cache qm start reads."""
    import json

    from pvesim import cli
    from pvesim.state import State

    st = State(tmp_path / "state").init(node="pve", mode="lxc")
    monkeypatch.setenv("PVESIM_QEMU_CACHE", str(CACHE))
    assert cli.main(["qemu-guest", "--state-dir", str(st.root)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["kernel"], out["initrd"], out["kernel_version"]) == (str(guest.kernel), str(guest.initrd), guest.kernel_version)
    assert out["cache"] == str(CACHE)
    assert (out["accel"], out["accel_reason"]) == runner.accelerator(CACHE / "accelerator", guest)

    monkeypatch.delenv("PVESIM_QEMU_CACHE")
    assert runtime.guest_cache_dir(st) == st.root / ".pvesim" / "qemu-cache"
    assert cli.main(["qemu-guest", "--state-dir", str(tmp_path / "nowhere")]) == 2
    assert "is not a pvesim state directory" in capsys.readouterr().err
