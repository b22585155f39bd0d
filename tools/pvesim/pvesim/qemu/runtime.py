# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a VM runs: the run state ``qm`` and ``/nodes/{node}/qemu`` ask and change.

:func:`vm_runtime` picks the driver from the node's execution mode, as ``pvesim.backend`` does
for containers: ``state`` keeps a status file per running VM (nothing executes); ``lxc`` (the
real mode) starts QEMU through :mod:`pvesim.qemu.runner` with the argv of
:func:`pvesim.qemu.command.config_to_command`, disks as the files of the simulated storage, the
cloud-init drive written from the config at start, virtio NICs on tap devices on the bridge and a
QMP socket that ``status``, ``shutdown``, ``suspend`` and ``resume`` talk to.

Both drivers answer with qemu-server's words (``PVE/QemuServer.pm`` ``vm_start``,
``_do_vm_stop``, ``vm_is_paused``; ``PVE/QemuServer/RunState.pm`` ``vm_suspend``/``vm_resume``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Callable

from ..handlers import PVEError
from ..state import State

ENV_QEMU_CACHE = "PVESIM_QEMU_CACHE"


class VmRuntime:
    """The run state of the VMs of one node; ``mode`` names the driver (``state`` or ``qemu``)."""

    mode = "abstract"

    def __init__(self, state: State) -> None:
        self.state = state

    def status(self, vmid: int) -> str:
        """``qmpstatus``: ``running``, ``paused``, ... or ``stopped``."""
        raise NotImplementedError

    def is_running(self, vmid: int) -> bool:
        return self.status(vmid) != "stopped"

    def info(self, vmid: int) -> dict:
        """``pid``, ``uptime`` and, when running, ``accel`` (``kvm``/``tcg``) of a VM."""
        raise NotImplementedError

    def start(self, log: Callable[[str], None], conf: dict, vmid: int) -> None:
        raise NotImplementedError

    def stop(self, vmid: int, timeout: float | None = None) -> None:
        """Stop at once (``quit``); stopping a stopped VM succeeds."""
        raise NotImplementedError

    def shutdown(self, vmid: int, timeout: float, force_stop: bool) -> None:
        """ACPI power-down and wait; ``VM quit/powerdown failed - got timeout`` unless ``force_stop``."""
        raise NotImplementedError

    def pause(self, vmid: int) -> None:
        raise NotImplementedError

    def resume(self, vmid: int) -> None:
        raise NotImplementedError


class StateVmRuntime(VmRuntime):
    """State mode: a running VM is a status file ``/run/pvesim/qemu/<vmid>.json``."""

    mode = "state"

    def _file(self, vmid: int) -> Path:
        return self.state.host_path("/run/pvesim/qemu/%d.json" % int(vmid))

    def _read(self, vmid: int) -> dict | None:
        try:
            return json.loads(self._file(vmid).read_text())
        except (OSError, ValueError):
            return None

    def _write(self, vmid: int, data: dict) -> None:
        path = self._file(vmid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))

    def status(self, vmid: int) -> str:
        data = self._read(vmid)
        return data.get("status", "running") if data else "stopped"

    def info(self, vmid: int) -> dict:
        data = self._read(vmid)
        if not data:
            return {}
        return {"pid": data["pid"], "uptime": max(0, int(time.time() - data["started"])), "accel": "tcg"}

    def start(self, log: Callable[[str], None], conf: dict, vmid: int) -> None:
        self._write(vmid, {"started": time.time(), "pid": 200000 + int(vmid), "status": "running"})

    def stop(self, vmid: int, timeout: float | None = None) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._file(vmid).unlink()

    def shutdown(self, vmid: int, timeout: float, force_stop: bool) -> None:
        if self.status(vmid) == "paused":
            raise PVEError("VM is paused - cannot shutdown")
        self.stop(vmid)

    def _set(self, vmid: int, status: str) -> None:
        data = self._read(vmid)
        if data is None:
            raise PVEError("VM %d not running" % vmid)
        data["status"] = status
        self._write(vmid, data)

    def pause(self, vmid: int) -> None:
        self._set(vmid, "paused")

    def resume(self, vmid: int) -> None:
        self._set(vmid, "running")


class QemuVmRuntime(VmRuntime):
    """Real mode: one QEMU process per running VM under ``/run/qemu-server`` of the state root."""

    mode = "qemu"

    def _paths(self, vmid: int):
        from .command import RuntimePaths

        return RuntimePaths(self.state.host_path("/run/qemu-server"), int(vmid))

    def _taps(self, vmid: int) -> list:
        from .command import Tap

        try:
            data = json.loads((self._paths(vmid).run_dir / ("%d.taps.json" % int(vmid))).read_text())
        except (OSError, ValueError):
            return []
        return [Tap(**t) for t in data]

    def _running_vm(self, vmid: int):
        from . import runner

        pid = runner.read_pid(self._paths(vmid))
        return runner.RunningVm(int(vmid), pid or 0, self._paths(vmid), self._taps(vmid))

    def status(self, vmid: int) -> str:
        from . import runner

        return runner.status(self._paths(vmid))

    def info(self, vmid: int) -> dict:
        from . import runner

        paths = self._paths(vmid)
        pid = runner.read_pid(paths)
        if pid is None:
            return {}
        try:
            started = paths.pidfile.stat().st_mtime
        except OSError:
            started = time.time()
        accel = "tcg"
        with contextlib.suppress(OSError):
            accel = (paths.run_dir / ("%d.accel" % int(vmid))).read_text().strip()
        return {"pid": pid, "uptime": max(0, int(time.time() - started)), "accel": accel}

    def start(self, log: Callable[[str], None], conf: dict, vmid: int) -> None:
        from .. import storage
        from . import cloudinit, runner
        from . import config as qmconfig
        from .command import CommandError, config_to_command
        from .guest_image import GuestImageError

        def resolve(volid: str) -> tuple[str, str]:
            path, _vtype = storage.volume_path(self.state, volid)
            fmt = "qcow2" if str(path).endswith(".qcow2") else "raw"
            return str(path), fmt

        try:
            guest, accel, why = prepare_guest(self.state)
            cikey = qmconfig.has_cloudinit(conf)
            if cikey is not None:
                path, fmt = resolve(qmconfig.parse_drive(cikey, conf[cikey])["file"])
                cloudinit.build_nocloud_image(conf, vmid, path, fmt)
            paths = self._paths(vmid)
            command = config_to_command(conf, int(vmid), paths, resolve, accel, guest.kernel, guest.initrd)
            paths.run_dir.mkdir(parents=True, exist_ok=True)
            (paths.run_dir / ("%d.accel" % int(vmid))).write_text(accel + "\n")
            (paths.run_dir / ("%d.taps.json" % int(vmid))).write_text(
                json.dumps([{"ifname": t.ifname, "bridge": t.bridge, "mtu": t.mtu, "tag": t.tag} for t in command.taps]))
            log("pvesim: starting QEMU with %s (%s)" % (accel.upper(), why))
            runner.start(int(vmid), command, paths)
        except (runner.RunnerError, CommandError, GuestImageError, ValueError, RuntimeError) as exc:
            raise PVEError("start failed: %s" % exc) from None

    def stop(self, vmid: int, timeout: float | None = None) -> None:
        from . import runner

        runner.stop(self._running_vm(vmid), timeout if timeout is not None else 10.0)

    def shutdown(self, vmid: int, timeout: float, force_stop: bool) -> None:
        from . import runner

        try:
            runner.shutdown(self._running_vm(vmid), timeout, force_stop)
        except runner.RunnerError as exc:
            raise PVEError(str(exc)) from None

    def _qmp(self, vmid: int, command: str) -> None:
        from .qmp import QMPClient, QMPError

        try:
            with QMPClient(self._paths(vmid).qmp_socket, timeout=5) as qmp:
                qmp.execute(command)
        except (QMPError, OSError) as exc:
            raise PVEError("VM %d qmp command '%s' failed - %s" % (vmid, command, exc)) from None

    def pause(self, vmid: int) -> None:
        self._qmp(vmid, "stop")

    def resume(self, vmid: int) -> None:
        self._qmp(vmid, "cont")


def guest_cache_dir(state: State) -> Path:
    """Where the guest image and the accelerator probe's answer are kept: ``$PVESIM_QEMU_CACHE``, else
    ``<state>/.pvesim/qemu-cache`` (a shared cache saves the kernel download and the probe per state)."""
    return Path(os.environ.get(ENV_QEMU_CACHE) or str(state.root / ".pvesim" / "qemu-cache"))


def prepare_guest(state: State):
    """``(guest image, accelerator, why)``: the guest built (or reused) and KVM probed once, what a first
    ``qm start`` does; ``pvesim qemu-guest`` runs it ahead, so that no start pays for it."""
    from . import runner
    from .guest_image import build_guest_image

    cache = guest_cache_dir(state)
    guest = build_guest_image(cache)
    accel, why = runner.accelerator(cache / "accelerator", guest)
    return guest, accel, why


def vm_runtime(state: State) -> VmRuntime:
    """The driver of ``state``'s execution mode (``lxc`` = real: QEMU)."""
    return QemuVmRuntime(state) if state.mode == "lxc" else StateVmRuntime(state)
