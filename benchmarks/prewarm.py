# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Container create time with and without pre-warming, on a throw-away pvesim node.

For each template size, each run times on the same node:

* cold: the template is only in the node's appliance catalogue, so the create path is
  ``pveam download local <t>`` then ``pct create`` (what a create costs when nothing was pre-warmed);
* warm: the template is already in storage ``local`` (pre-warmed), so the create path is ``pct create``;
* prewarm: ``pveam download`` alone (the work pre-warming moves out of the create path).

The CT is destroyed and, for cold runs, the template removed between runs (untimed).
Medians of ``--runs`` runs are printed with the ratio cold / warm; nothing is asserted.
pvesim's "download" copies the file from a local mirror and checks its SHA-512, so the cold figures
hold no network time: on a real node a download from download.proxmox.com adds transfer time on top.

Run: ``python benchmarks/prewarm.py [--runs 5] [--sizes 1,64,256]`` (MiB of incompressible padding
added to a busybox template; 0 = the busybox template alone). Needs pvesim in the running Python.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

VMID = 9490


def padded_template(base, dest, pad_mib):
    """The busybox template plus ``/pad.bin`` of random bytes (gzip cannot shrink it)."""
    with tarfile.open(base, "r:gz") as src, open(dest, "wb") as raw, \
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as out:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        if pad_mib:
            data = os.urandom(pad_mib << 20)
            info = tarfile.TarInfo("./pad.bin")
            info.size = len(data)
            info.mode = 0o644
            out.addfile(info, io.BytesIO(data))


def run(argv, env):
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or "error" in done.stderr.lower():
        raise SystemExit("%s failed (%s): %s %s" % (" ".join(argv), done.returncode, done.stdout[-500:], done.stderr[-500:]))
    return done


def timed(steps, env):
    start = time.perf_counter()
    for argv in steps:
        run(argv, env)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="0,64,256", help="MiB of padding per template, comma separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    pvesim = shutil.which("pvesim", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    if not pvesim:
        sys.exit("needs pvesim next to %s or on PATH" % sys.executable)
    work = tempfile.mkdtemp(prefix="lxcri-bench-prewarm-")
    state = os.path.join(work, "state")
    bindir = os.path.join(work, "bin")
    env = dict(os.environ, PVESIM_STATE_DIR=state, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    try:
        run([pvesim, "init", state, "--mode", "state"], env)
        run([pvesim, "bin-dir", bindir, "--state-dir", state], env)
        base = os.path.join(work, "busybox-base_1.0_amd64.tar.gz")
        run([sys.executable, "-m", "pvesim.templates", "build", "--busybox", "--output", base], env)
        pct, pveam = os.path.join(bindir, "pct"), os.path.join(bindir, "pveam")
        print("prewarm benchmark: pvesim state mode, median of %d runs, Python %s on %s, %d CPUs"
              % (args.runs, platform.python_version(), platform.machine(), os.cpu_count() or 0))
        print("%-10s %10s %14s %14s %14s %12s" % ("template", "size", "cold create", "warm create", "prewarm alone", "cold / warm"))
        for pad in sizes:
            name = "busybox-pad%d_1.0-1_amd64.tar.gz" % pad
            path = os.path.join(work, name)
            padded_template(base, path, pad)
            run([sys.executable, "-m", "pvesim.templates", "add", path, "--state-dir", state], env)
            run([pveam, "update"], env)
            volid = "local:vztmpl/%s" % name
            create = [pct, "create", str(VMID), volid, "--storage", "local-lvm", "--hostname", "bench"]
            destroy = [pct, "destroy", str(VMID)]
            cold, warm, alone = [], [], []
            for _run in range(args.runs):
                cold.append(timed([[pveam, "download", "local", name], create], env))
                run(destroy, env)
                run([pveam, "remove", volid], env)
                alone.append(timed([[pveam, "download", "local", name]], env))
                warm.append(timed([create], env))
                run(destroy, env)
                run([pveam, "remove", volid], env)
            c, w, a = statistics.median(cold), statistics.median(warm), statistics.median(alone)
            print("%-10s %8.1f MiB %12.3f s %12.3f s %12.3f s %11.2fx" % ("pad %d" % pad, os.path.getsize(path) / 1048576.0, c, w, a, c / w))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
