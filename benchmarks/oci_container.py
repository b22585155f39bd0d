# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Wall time of oci_container (create+start, no-op) next to raw runc/crun in the same run.

Prints figures and ratios, asserts nothing about time.  The module runs the way Ansible
runs it on a target: a fresh Python process executing the module with an args file.

    sudo python3 benchmarks/oci_container.py [--runtime runc|crun] [--rounds 7]

crun needs a host layout it accepts (see scripts/cgroup-ns.sh).  Needs busybox (static) to
build the rootfs, and the collection importable (ANSIBLE_COLLECTIONS_PATH or an
``ansible_collections/lxcri/containers`` checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.dirname(HERE)
MODULE = "ansible_collections.lxcri.containers.plugins.modules.oci_container"


def collections_path():
    for entry in os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep):
        if entry and os.path.isdir(os.path.join(entry, "ansible_collections", "lxcri", "containers")):
            return entry
    parts = COLLECTION.split(os.sep)
    if len(parts) > 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])
    sys.exit("cannot import the collection: set ANSIBLE_COLLECTIONS_PATH to a dir holding ansible_collections/lxcri/containers")


def build_bundle(base):
    rootfs = os.path.join(base, "bundle", "rootfs")
    for sub in ("bin", "proc", "dev", "tmp"):
        os.makedirs(os.path.join(rootfs, sub))
    busybox = shutil.which("busybox")
    if not busybox:
        sys.exit("busybox is needed for the rootfs (apt-get install busybox-static)")
    shutil.copy2(busybox, os.path.join(rootfs, "bin", "busybox"))
    for applet in ("sh", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    config = {
        "ociVersion": "1.0.2",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/bin/sleep", "3600"], "env": ["PATH=/bin"], "cwd": "/"},
        "root": {"path": "rootfs"},
        "hostname": "bench",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]},
    }
    with open(os.path.join(base, "bundle", "config.json"), "w") as handle:
        json.dump(config, handle)
    return os.path.join(base, "bundle")


def timed(argv, env=None, stdout=subprocess.DEVNULL):
    start = time.perf_counter()
    with open(os.devnull, "rb") as devnull:
        done = subprocess.run(
            argv, stdin=devnull, stdout=stdout, stderr=subprocess.STDOUT if stdout is not subprocess.PIPE else subprocess.PIPE, env=env, check=False
        )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("%s failed (rc %s): %s" % (" ".join(argv), done.returncode, done.stdout or done.stderr))
    return elapsed, done


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", choices=["runc", "crun"], default="runc")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    binary = shutil.which(args.runtime, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if not binary:
        sys.exit("%s is not installed" % args.runtime)
    env = dict(os.environ, PYTHONPATH=collections_path())

    base = tempfile.mkdtemp(prefix="lxcri-bench-oci-", dir="/run" if os.access("/run", os.W_OK) else None)
    try:
        bundle = build_bundle(base)
        raw_root = os.path.join(base, "raw-root")
        mod_root = os.path.join(base, "module-root")
        args_up = os.path.join(base, "up.json")
        args_down = os.path.join(base, "down.json")
        common = {"name": "bench", "runtime": args.runtime, "root": mod_root, "bundle": bundle, "stop_signal": "KILL"}
        with open(args_up, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": dict(common, state="started")}, handle)
        with open(args_down, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": dict(common, state="absent")}, handle)
        raw = [binary, "--root", raw_root]
        log = os.path.join(base, "raw.log")

        figures = {"raw create+start": [], "raw state": [], "python+AnsibleModule import": [], "module create+start": [], "module no-op": []}
        noop_calls = set()
        for _round in range(args.rounds):
            with open(log, "ab") as out:
                t_create = timed(raw + ["create", "--bundle", bundle, "bench"], stdout=out)[0]
            t_start = timed(raw + ["start", "bench"])[0]
            figures["raw create+start"].append(t_create + t_start)
            figures["raw state"].append(timed(raw + ["state", "bench"])[0])
            timed(raw + ["delete", "--force", "bench"])

            figures["python+AnsibleModule import"].append(timed([sys.executable, "-c", "import ansible.module_utils.basic"], env=env)[0])
            elapsed, done = timed([sys.executable, "-m", MODULE, args_up], env=env, stdout=subprocess.PIPE)
            result = json.loads(done.stdout)
            if not result.get("changed") or result.get("failed"):
                sys.exit("module create+start did not create: %s" % result)
            figures["module create+start"].append(elapsed)
            elapsed, done = timed([sys.executable, "-m", MODULE, args_up], env=env, stdout=subprocess.PIPE)
            result = json.loads(done.stdout)
            if result.get("changed") or result.get("failed"):
                sys.exit("module no-op changed something: %s" % result)
            figures["module no-op"].append(elapsed)
            noop_calls.add(len(result["commands"]))
            timed([sys.executable, "-m", MODULE, args_down], env=env, stdout=subprocess.PIPE)

        med = dict((key, statistics.median(values)) for key, values in figures.items())
        print("oci_container benchmark: runtime %s (%s), %d rounds, median wall time" % (args.runtime, binary, args.rounds))
        for key, value in med.items():
            print("  %-30s %8.1f ms" % (key, value * 1000))
        print("ratios (same run):")
        print("  module create+start / raw create+start   %6.2fx" % (med["module create+start"] / med["raw create+start"]))
        print("  module no-op / raw state                 %6.2fx" % (med["module no-op"] / med["raw state"]))
        print("  module no-op / python+AnsibleModule import %4.2fx" % (med["module no-op"] / med["python+AnsibleModule import"]))
        print("  runtime calls made by a no-op run: %s" % ", ".join(str(n) for n in sorted(noop_calls)))
    finally:
        subprocess.run(raw + ["delete", "--force", "bench"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        subprocess.run(
            [binary, "--root", mod_root, "delete", "--force", "bench"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
