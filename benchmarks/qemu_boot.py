# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot and shutdown of a pvesim VM guest under QEMU, printed (never asserted).

Builds (or reuses) the local guest (Debian's cloud kernel + busybox initramfs), then N times:
start QEMU from a VM config (``config_to_command``) and time until QMP says ``running``, until the
guest's init prints its ready line on the console, and an ACPI power-down until QEMU is gone.
The baselines, measured in the same run: QEMU up to QMP ``running`` (no guest work in it) for the
boot, and ``quit`` (a hard stop) for the shutdown.  The NIC has no bridge (QEMU user network), so
no tap or bridge is made; QEMU still runs, so run it under ``flock /tmp/lxcri-molecule.lock``.

Run: ``python benchmarks/qemu_boot.py [--runs 3] [--cache DIR]`` with pvesim importable.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pvesim.qemu import cloudinit, runner
from pvesim.qemu import config as qmconfig
from pvesim.qemu.command import RuntimePaths, config_to_command
from pvesim.qemu.guest_image import READY, build_guest_image

VMID = 9190
CONFIG = ("memory: 256\nname: benchvm\nnet0: virtio\nide2: local:vm-{vmid}-cloudinit,media=cdrom\n"
          "ipconfig0: ip=10.213.9.2/24\nnameserver: 10.213.9.1\n")


def one_cycle(tmp: Path, guest, accel: str) -> dict[str, float]:
    conf = qmconfig.parse_vm_config(CONFIG.format(vmid=VMID), VMID, strict=True)
    qmconfig.add_create_defaults(conf, "7.2")

    def resolve(volid: str) -> tuple[str, str]:
        return str(tmp / volid.split(":", 1)[1]), "raw"

    cloudinit.build_nocloud_image(conf, VMID, resolve("local:vm-%d-cloudinit" % VMID)[0], host_resolv={})
    paths = RuntimePaths(tmp / "run", VMID)
    command = config_to_command(conf, VMID, paths, resolve, accel, guest.kernel, guest.initrd)
    t0 = time.monotonic()
    vm = runner.start(VMID, command, paths)
    t_running = time.monotonic()
    try:
        if not runner.wait_for_console(paths, READY, 180):
            raise SystemExit("the guest did not reach its init: %s" % paths.console_log.read_text(errors="replace"))
        t_ready = time.monotonic()
        runner.shutdown(vm, timeout=60)
        t_gone = time.monotonic()
    finally:
        runner.stop(vm)
    # baseline for the shutdown: a hard stop (QMP quit) of a freshly started QEMU
    vm = runner.start(VMID, command, paths)
    t_quit = time.monotonic()
    runner.stop(vm)
    t_quit_done = time.monotonic()
    return {"qemu to QMP running (baseline)": t_running - t0, "boot to the guest's init ready": t_ready - t0,
            "ACPI shutdown until QEMU is gone": t_gone - t_ready, "quit (hard stop, baseline)": t_quit_done - t_quit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", default=str(Path(__file__).resolve().parents[1] / ".work" / "cache" / "pvesim-qemu"))
    args = parser.parse_args()
    guest = build_guest_image(args.cache)
    accel, why = runner.accelerator(Path(args.cache) / "accelerator", guest)
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    print("qemu boot benchmark: %d runs, %s, accelerator %s (%s), kernel %s, Python %s on %s" % (
        args.runs, qemu, accel, why, guest.kernel_version, platform.python_version(), platform.machine()))
    results: dict[str, list[float]] = {}
    for _run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="pvesim-qemu-bench-") as tmp:
            for name, seconds in one_cycle(Path(tmp), guest, accel).items():
                results.setdefault(name, []).append(seconds)
    base = {"boot": statistics.median(results["qemu to QMP running (baseline)"]),
            "shutdown": statistics.median(results["quit (hard stop, baseline)"])}
    print("%-40s %10s %10s %10s %12s" % ("case", "median s", "min s", "max s", "x baseline"))
    for name, values in results.items():
        ref = base["shutdown"] if ("shutdown" in name or "quit" in name) else base["boot"]
        median = statistics.median(values)
        print("%-40s %10.2f %10.2f %10.2f %12.1f" % (name, median, min(values), max(values), median / ref))


if __name__ == "__main__":
    main()
