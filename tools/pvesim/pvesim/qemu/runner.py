# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Start, query, shut down and stop a QEMU process built by :func:`config_to_command`.

The life cycle follows qemu-server (``PVE/QemuServer.pm`` ``vm_start_nolock``, ``_do_vm_stop``,
``vm_stop``; ``qmeventd``): QEMU runs daemonized with ``-no-shutdown``; a shutdown sends
``system_powerdown`` (ACPI) and waits until the guest has powered off (QMP status ``shutdown``),
then ``quit``s QEMU as qmeventd does; after the timeout it fails with ``VM quit/powerdown failed -
got timeout`` unless ``force_stop``; ``stop`` sends ``quit`` and kills the process if it stays.

:func:`probe_accelerator` decides once per host whether KVM is usable: ``/dev/kvm`` exists on
machines where KVM still stops with an emulation failure, so only a probe boot that reaches the
guest's init counts (here KVM hangs without a word, so the probe ends at its timeout).
:func:`accelerator` keeps the answer in a file, so a host is probed once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from . import hostcmd
from .command import QEMU_BINARY, RuntimePaths, Tap, VmCommand
from .guest_image import BANNER, GuestImage
from .qmp import QMPClient, QMPError


class RunnerError(RuntimeError):
    """A start, shutdown or stop failed; the message is qemu-server's where it has one."""


@dataclasses.dataclass
class RunningVm:
    vmid: int
    pid: int
    paths: RuntimePaths
    taps: list[Tap]


def _ip(*args: str) -> None:
    hostcmd.run(["ip", *args], RunnerError)


def create_taps(taps: list[Tap]) -> None:
    """What qemu-server's ``pve-bridge`` script does for each tap: create, enslave, set MTU and VLAN."""
    made: list[Tap] = []
    try:
        for tap in taps:
            if not Path("/sys/class/net", tap.bridge, "bridge").is_dir():
                raise RunnerError("bridge '%s' does not exist" % tap.bridge)
            _ip("tuntap", "add", "dev", tap.ifname, "mode", "tap")
            made.append(tap)
            if tap.mtu:
                _ip("link", "set", tap.ifname, "mtu", str(tap.mtu))
            _ip("link", "set", tap.ifname, "master", tap.bridge, "up")
            if tap.tag:  # needs a VLAN-aware bridge, as PVE's vlan-aware vmbr
                hostcmd.run(["bridge", "vlan", "add", "dev", tap.ifname, "vid", str(tap.tag), "pvid", "untagged"],
                            RunnerError)
    except RunnerError:
        delete_taps(made)
        raise


def delete_taps(taps: list[Tap]) -> None:
    for tap in taps:
        if Path("/sys/class/net", tap.ifname).exists():
            subprocess.run(["ip", "link", "del", tap.ifname], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); /proc tells
    with contextlib.suppress(OSError):
        return Path("/proc/%d/stat" % pid).read_text().split(") ", 1)[1][0] != "Z"
    return False


def read_pid(paths: RuntimePaths) -> int | None:
    try:
        pid = int(paths.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def start(vmid: int, command: VmCommand, paths: RuntimePaths, timeout: float = 30.0) -> RunningVm:
    """Create the taps, start QEMU (daemonized) and wait until QMP reports ``running``."""
    if read_pid(paths) is not None:
        raise RunnerError("VM %d already running" % vmid)
    paths.run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (paths.qmp_socket, paths.pidfile, paths.console_log):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    create_taps(command.taps)
    try:
        hostcmd.run(command.argv, RunnerError)  # returns once QEMU has daemonized
        pid = read_pid(paths)
        if pid is None:
            raise RunnerError("start failed: QEMU wrote no pid file")
        vm = RunningVm(vmid, pid, paths, command.taps)
        deadline = time.monotonic() + timeout
        with QMPClient(paths.qmp_socket) as qmp:
            if not qmp.wait_for_status("running", max(0.0, deadline - time.monotonic())):
                raise RunnerError("start failed: VM %d did not reach 'running'" % vmid)
    except BaseException:
        kill(paths)
        delete_taps(command.taps)
        raise
    return vm


def status(paths: RuntimePaths) -> str:
    """``qm status``: the QMP status of a running VM, else ``stopped``."""
    if read_pid(paths) is None:
        return "stopped"
    try:
        with QMPClient(paths.qmp_socket, timeout=3) as qmp:
            return qmp.status()
    except QMPError:
        return "running"  # the process lives but QMP is busy: PVE reports 'running' then too


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def kill(paths: RuntimePaths) -> None:
    pid = read_pid(paths)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, 10)


def stop(vm: RunningVm, timeout: float = 10.0) -> None:
    """``qm stop``: ``quit`` QEMU, SIGKILL if it stays; stopping a stopped VM succeeds."""
    pid = read_pid(vm.paths)
    if pid is not None:
        with contextlib.suppress(QMPError), QMPClient(vm.paths.qmp_socket, timeout=3) as qmp:
            qmp.execute("quit")
        if not _wait_gone(pid, timeout):
            kill(vm.paths)
    delete_taps(vm.taps)
    for path in (vm.paths.qmp_socket, vm.paths.pidfile):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def shutdown(vm: RunningVm, timeout: float = 60.0, force_stop: bool = False) -> None:
    """``qm shutdown``: ACPI power-down, wait for the guest to power off, then quit QEMU."""
    pid = read_pid(vm.paths)
    if pid is None:
        delete_taps(vm.taps)
        return
    with QMPClient(vm.paths.qmp_socket) as qmp:
        if qmp.status() == "paused":
            raise RunnerError("VM is paused - cannot shutdown")
        qmp.execute("system_powerdown")
        if qmp.wait_for_status("shutdown", timeout):
            # -no-shutdown keeps QEMU alive after the guest powered off; qmeventd quits it
            with contextlib.suppress(QMPError):
                qmp.execute("quit")
        elif not force_stop:
            raise RunnerError("VM quit/powerdown failed - got timeout")
    stop(vm)


def wait_for_console(paths: RuntimePaths, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(FileNotFoundError):
            if text in paths.console_log.read_text(errors="replace"):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def probe_accelerator(guest: GuestImage, timeout: float = 10.0, qemu_binary: str = QEMU_BINARY) -> tuple[str, str]:
    """``("kvm", why)`` when a KVM probe boot reaches the guest's init, else ``("tcg", why)``."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg", "/dev/kvm is not usable"
    with tempfile.TemporaryDirectory(prefix="pvesim-kvm-probe-") as tmp:
        log = Path(tmp) / "console.log"
        argv = [qemu_binary, "-machine", "type=pc,accel=kvm", "-nodefaults", "-display", "none", "-no-reboot",
                "-m", "256", "-cpu", "host", "-chardev", "file,id=console,path=%s" % log,
                "-device", "isa-serial,chardev=console", "-kernel", str(guest.kernel), "-initrd", str(guest.initrd),
                "-append", "console=ttyS0 quiet panic=-1"]
        errlog = Path(tmp) / "stderr.log"
        with errlog.open("wb") as err:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if log.exists() and BANNER in log.read_text(errors="replace"):
                    return "kvm", "a KVM probe boot reached the guest's init"
                if "KVM internal error" in errlog.read_text(errors="replace"):
                    break  # QEMU pauses the guest on an emulation failure instead of exiting
                time.sleep(0.1)
        finally:
            proc.kill()
            proc.wait()
        lines = errlog.read_text(errors="replace").strip().splitlines()
        why = next((ln for ln in lines if "KVM" in ln), lines[-1] if lines else "no init within %gs" % timeout)
        return "tcg", "the KVM probe boot failed: %s" % why.strip()


def accelerator(cache_file: Path | str, guest: GuestImage) -> tuple[str, str]:
    """The probed accelerator and why, probed once and then read from ``cache_file``."""
    cache = Path(cache_file)
    with contextlib.suppress(OSError, ValueError):
        accel, why = cache.read_text().split("\n", 1)
        if accel in ("kvm", "tcg"):
            return accel, why.strip()
    accel, why = probe_accelerator(guest)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("%s\n%s\n" % (accel, why))
    return accel, why
