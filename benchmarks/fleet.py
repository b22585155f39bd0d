# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host's fleet in one task vs one task chain per container, all in one run, printed as ratios.

For each size N (half runc, half LXC on a throw-away pvesim node in state mode) it times, inside
the playbook (``now()`` around the work), the create and the no-op of:
  * the bulk path, one ``lxcri.containers.containers`` task;
  * the per-container path: per container the ``oci_bundle`` role + ``oci_container``, or ``pve_container``
    (what the container role ran before it became one task);
  * Ansible's floor, a loop of N ``ansible.builtin.command: true``;
  * containers.podman (when ``podman`` and the collection are installed): a ``podman_container`` loop and one
    ``podman_containers`` task over N busybox containers (an image imported from the same rootfs).
Then it counts the process starts of a bulk no-op (``strace -f -e execve``) and measures the peak memory
and wall time of one ``pve_containers`` module process reading 1,000 containers of a pvesim node.
Nothing is asserted; the targets of issue 11 are printed beside the figures.

Run: ``PYTHONPATH=<dir holding ansible_collections> python benchmarks/fleet.py [--sizes 10 50 100] [--big 1000]
[--podman-collections DIR]`` as root (runc; podman), under ``scripts/cgroup-ns.sh`` on hybrid cgroup hosts.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HEAD = """- hosts: localhost
  gather_facts: false
  environment:
    PATH: "{bindir}:{path}"
    PVESIM_STATE_DIR: "{state}"
  vars:
    specs: {specs}
  tasks:
    - name: Start timing
      ansible.builtin.set_fact: {{t0: "{{{{ now().timestamp() }}}}"}}
"""
TAIL = """    - name: Stop timing
      ansible.builtin.set_fact: {{t1: "{{{{ now().timestamp() }}}}"}}
    - name: Figures
      ansible.builtin.debug:
        msg: "BENCH {{{{ {{'seconds': (t1 | float) - (t0 | float)}} | to_json }}}}"
"""
BULK = """    - name: The whole fleet in one task
      lxcri.containers.containers:
        containers: "{{{{ specs }}}}"
        oci_bundle_dir: "{bundles}"
        oci_roots: {{runc: "{root}"}}
        pve: {{transport: pct}}
        lxc_defaults: {{storage: local-lvm, rootfs: 1G}}
        parallel: 4
"""
PER_CONTAINER = """    - name: One task chain per container
      ansible.builtin.include_tasks: "{work}/one.yml"
      loop: "{{{{ specs }}}}"
      loop_control: {{loop_var: spec}}
"""
ONE = """- name: Bundle of an OCI container
  ansible.builtin.include_role:
    name: lxcri.containers.oci_bundle
  vars:
    oci_bundle_path: "{bundles}/{{{{ spec.name }}}}"
    oci_bundle_args: "{{{{ spec.command }}}}"
    oci_bundle_rootfs_dir: "{{{{ spec.source.rootfs }}}}"
    oci_bundle_hostname: "{{{{ spec.name }}}}"
  when: spec.backend == 'runc'
- name: OCI container
  lxcri.containers.oci_container:
    name: "{{{{ spec.name }}}}"
    runtime: runc
    root: "{root}"
    bundle: "{bundles}/{{{{ spec.name }}}}"
  when: spec.backend == 'runc'
- name: LXC container
  lxcri.containers.pve_container:
    transport: pct
    vmid: "{{{{ spec.lxc.vmid }}}}"
    hostname: "{{{{ spec.name }}}}"
    ostemplate: "{{{{ spec.source.template }}}}"
    storage: local-lvm
    rootfs: 1G
    state: started
  when: spec.backend == 'lxc'
"""
FLOOR = """    - name: Ansible's floor
      ansible.builtin.command: "true"
      changed_when: false
      loop: "{{{{ specs }}}}"
"""
PODMAN_LOOP = """    - name: podman_container loop
      containers.podman.podman_container:
        name: "{{{{ item.name }}}}"
        image: localhost/lxcri-bench-busybox:latest
        command: [/bin/sleep, infinity]
        ulimit: ["nofile=1024:1024", "nproc=1024:1024"]
        state: started
      loop: "{{{{ specs }}}}"
"""
PODMAN_BULK = """    - name: podman_containers
      containers.podman.podman_containers:
        containers: "{{{{ specs | map('combine', {{'image': 'localhost/lxcri-bench-busybox:latest', 'command': ['/bin/sleep', 'infinity'],
                          'ulimit': ['nofile=1024:1024', 'nproc=1024:1024'], 'state': 'started'}}) | list }}}}"
"""


class Bench:
    def __init__(self, args):
        self.args = args
        here = os.path.dirname(sys.executable)
        search = here + os.pathsep + os.environ.get("PATH", "")
        self.pvesim = shutil.which("pvesim", path=search)
        self.playbook = shutil.which("ansible-playbook", path=search)
        if not self.pvesim or not self.playbook:
            sys.exit("needs pvesim and ansible-playbook next to %s or on PATH" % sys.executable)
        self.work = tempfile.mkdtemp(prefix="lxcri-bench-fleet-")
        os.chmod(self.work, 0o755)
        self.state = os.path.join(self.work, "pve")
        self.bindir = os.path.join(self.work, "bin")
        self.rootfs = os.path.join(self.work, "rootfs")
        # runc's --root; the module keeps its records beside it, in <run_dir>/lxcri-oci
        self.run_dir = tempfile.mkdtemp(prefix="lxcri-bench-fleet-", dir="/run")
        self.run_root = os.path.join(self.run_dir, "runc")
        self.env = dict(os.environ, PVESIM_STATE_DIR=self.state, PATH=self.bindir + os.pathsep + os.environ.get("PATH", ""))
        paths = [p for p in [self.env.get("ANSIBLE_COLLECTIONS_PATH") or (self.env.get("PYTHONPATH") or "").split(os.pathsep)[0],
                             args.podman_collections] if p]
        self.env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join(paths)
        self.podman = not args.lxc_only and bool(shutil.which("podman")) and bool(args.podman_collections) and \
            os.path.isdir(os.path.join(args.podman_collections, "ansible_collections", "containers", "podman"))
        self.volid = None

    def sh(self, argv, **kwargs):
        return subprocess.run(argv, check=True, env=self.env, stdout=subprocess.PIPE, text=True, **kwargs).stdout

    def setup(self):
        self.sh([self.pvesim, "init", self.state, "--mode", "state", "--node", "pve"])
        self.sh([self.pvesim, "bin-dir", self.bindir, "--state-dir", self.state])
        tarball = os.path.join(self.work, "busybox-bench_1.0_amd64.tar.gz")
        self.sh([sys.executable, "-m", "pvesim.templates", "build", "--busybox", "--output", tarball])
        self.volid = self.sh([sys.executable, "-m", "pvesim.templates", "install", tarball, "--state-dir", self.state]).strip().splitlines()[-1]
        os.makedirs(os.path.join(self.rootfs, "bin"))
        shutil.copy("/bin/busybox", os.path.join(self.rootfs, "bin", "busybox"))
        for applet in ("sh", "sleep"):
            os.symlink("busybox", os.path.join(self.rootfs, "bin", applet))
        if self.podman:
            tar = os.path.join(self.work, "rootfs.tar")
            self.sh(["tar", "-C", self.rootfs, "-cf", tar, "."])
            self.sh(["podman", "import", tar, "localhost/lxcri-bench-busybox:latest"])

    def specs(self, size):
        half = 0 if self.args.lxc_only else size // 2
        runc = [{"name": "bf-r-%d" % i, "backend": "runc", "source": {"rootfs": self.rootfs}, "command": ["/bin/sleep", "infinity"]}
                for i in range(half)]
        lxc = [{"name": "bf-l-%d" % i, "backend": "lxc", "source": {"template": self.volid}, "network": {"mode": "none"},
                "lxc": {"vmid": 20000 + i}} for i in range(size - half)]
        return runc + lxc

    def play(self, body, specs, tag, strace=None):
        path = os.path.join(self.work, "%s.yml" % tag)
        with open(path, "w") as stream:
            stream.write(HEAD.format(bindir=self.bindir, path=os.environ.get("PATH", ""), state=self.state, specs=json.dumps(specs))
                         + body + TAIL.format())
        argv = [self.playbook, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable, path]
        if strace:
            argv = ["strace", "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", strace] + argv
        result = subprocess.run(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        for line in result.stdout.splitlines():
            if "BENCH " in line and result.returncode == 0:
                return json.loads(line.split("BENCH ", 1)[1].rstrip('"').replace('\\"', '"'))["seconds"]
        raise RuntimeError("benchmark playbook %s failed (rc %s):\n%s" % (tag, result.returncode, result.stdout[-3000:]))

    def clean(self, specs):
        podman = [spec["name"] for spec in specs if spec.get("backend") is None]
        if podman:
            # --time 0: sleep as PID 1 ignores SIGTERM, so podman's default 10 s stop timeout would pass for each
            subprocess.run(["podman", "rm", "--force", "--time", "0"] + podman, capture_output=True, check=False)
        for spec in specs:
            if spec.get("backend") == "lxc":
                subprocess.run(["pct", "stop", str(spec["lxc"]["vmid"])], env=self.env, capture_output=True, check=False)
                subprocess.run(["pct", "destroy", str(spec["lxc"]["vmid"])], env=self.env, capture_output=True, check=False)
            elif spec.get("backend") == "runc":
                subprocess.run(["runc", "--root", self.run_root, "delete", "--force", spec["name"]], capture_output=True, check=False)
        shutil.rmtree(os.path.join(self.work, "bundles"), ignore_errors=True)
        shutil.rmtree(os.path.join(self.run_dir, "lxcri-oci"), ignore_errors=True)

    def timed_pair(self, body, specs, tag):
        create = self.play(body, specs, tag + "-create")
        noop = self.play(body, specs, tag + "-noop")
        self.clean(specs)
        return create, noop

    def size(self, size):
        specs = self.specs(size)
        bundles = os.path.join(self.work, "bundles")
        with open(os.path.join(self.work, "one.yml"), "w") as stream:
            stream.write(ONE.format(bundles=bundles, root=self.run_root))
        rows = {"floor": (self.play(FLOOR.format(), specs, "floor"), None)}
        rows["bulk"] = self.timed_pair(BULK.format(bundles=bundles, root=self.run_root), specs, "bulk")
        if size <= self.args.per_container_max:
            rows["per-container"] = self.timed_pair(PER_CONTAINER.format(work=self.work), specs, "per")
        if self.podman:
            names = [{"name": "bf-p-%d" % i} for i in range(size)]
            for label, body, tag in (("podman_container loop", PODMAN_LOOP, "podman-loop"), ("podman_containers", PODMAN_BULK, "podman-bulk")):
                try:
                    rows[label] = self.timed_pair(body.format(), names, tag)
                except RuntimeError as exc:
                    self.clean(names)
                    print("%s failed, left out: %s" % (label, exc))
        return rows

    def process_starts(self, size):
        """execve() calls of a bulk no-op, by program."""
        specs = self.specs(size)
        bundles = os.path.join(self.work, "bundles")
        body = BULK.format(bundles=bundles, root=self.run_root)
        self.play(body, specs, "strace-create")
        trace = os.path.join(self.work, "execve.trace")
        self.play(body, specs, "strace-noop", strace=trace)
        self.clean(specs)
        counts = collections.Counter()
        with open(trace) as stream:
            for line in stream:
                if "execve(" in line and "= 0" in line:
                    program = os.path.basename(line.split('execve("', 1)[1].split('"', 1)[0])
                    if "AnsiballZ" in line:
                        program = "module (python AnsiballZ)"
                    counts[program] += 1
        return counts

    def big_read(self, count):
        """Peak RSS and wall time of one pve_containers process (check mode) over ``count`` CTs of the node."""
        lxc_dir = os.path.join(self.state, "nodes", "pve", "lxc")
        for index in range(count):
            vmid = 30000 + index
            with open(os.path.join(lxc_dir, "%d.conf" % vmid), "w") as stream:
                stream.write("arch: amd64\nhostname: big-%d\nmemory: 256\nostype: debian\nrootfs: local-lvm:vm-%d-disk-0,size=1G\n"
                             "swap: 512\nunprivileged: 1\n" % (index, vmid))
        items = [{"vmid": 30000 + index, "hostname": "big-%d" % index, "memory": 256} for index in range(count)]
        args = {"ANSIBLE_MODULE_ARGS": {"transport": "pct", "containers": items, "_ansible_check_mode": True}}
        code = "from ansible_collections.lxcri.containers.plugins.modules.pve_containers import main; main()"
        env = dict(self.env, PYTHONPATH=self.env["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        proc.stdin.write(json.dumps(args))
        proc.stdin.close()
        out = proc.stdout.read()
        # wait4, not communicate: its rusage is this one process's (ru_maxrss = peak RSS in KiB)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        wall = time.monotonic() - started
        result = json.loads(out)
        for index in range(count):
            os.unlink(os.path.join(lxc_dir, "%d.conf" % (30000 + index)))
        return wall, usage, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--big", type=int, default=1000)
    parser.add_argument("--strace-size", type=int, default=10)
    parser.add_argument("--per-container-max", type=int, default=1000000, help="time the per-container path only up to this N (it is slow)")
    parser.add_argument("--podman-collections", default=os.environ.get("LXCRI_PODMAN_COLLECTIONS"),
                        help="a directory holding ansible_collections/containers/podman (default: $LXCRI_PODMAN_COLLECTIONS, "
                             "which make bench sets)")
    parser.add_argument("--lxc-only", action="store_true", help="only LXC containers on pvesim state mode: starts no container, so it "
                        "needs no lock on a shared machine (and no podman comparison)")
    args = parser.parse_args()
    bench = Bench(args)
    failure = None
    try:
        bench.setup()
        print("fleet benchmark: pvesim state mode, %s, one host, ansible-core via %s, Python %s on %s"
              % ("LXC only" if args.lxc_only else "half runc half LXC", bench.playbook, platform.python_version(), platform.machine()))
        if not bench.podman:
            print("podman comparison skipped: needs podman and --podman-collections (containers.podman)")
        for size in args.sizes:
            rows = bench.size(size)
            floor = rows["floor"][0]
            bulk_noop = rows["bulk"][1]
            print("\nN = %d containers (seconds inside the play; x floor = / the command loop; x bulk = / the bulk path; "
                  "load average %.1f)" % (size, os.getloadavg()[0]))
            print("%-28s %9s %9s %9s %11s" % ("path", "create", "no-op", "x floor", "no-op x bulk"))
            for name, (create, noop) in rows.items():
                if noop is None:
                    print("%-28s %9s %9.2f %9.2f %11.2f" % ("command: true loop (floor)", "-", create, 1.0, create / bulk_noop))
                else:
                    print("%-28s %9.2f %9.2f %9.2f %11.2f" % (name, create, noop, noop / floor, noop / bulk_noop))
            print("targets: bulk no-op <= 3 s at N=100; per-container no-op >= 20x bulk; podman_container loop no-op >= 10x bulk")
        counts = bench.process_starts(args.strace_size)
        print("\nprocess starts (execve) of a bulk no-op playbook run, N = %d, by program:" % args.strace_size)
        for program, number in counts.most_common():
            print("  %-32s %d" % (program, number))
        print("target: one module process per backend plus one pct list per host")
        if args.big:
            wall, usage, result = bench.big_read(args.big)
            print("\npve_containers over %d CTs (pvesim state mode, check mode, one process): %.2f s wall, peak RSS %s MiB, "
                  "changed %s, reads %s, config files read %s"
                  % (args.big, wall, "%.1f" % (usage.ru_maxrss / 1024.0), result.get("changed"), result.get("reads"),
                     result.get("config_files_read")))
            print("target: under 100 MB")
    except RuntimeError as exc:
        failure = str(exc)
    finally:
        shutil.rmtree(bench.work, ignore_errors=True)
        shutil.rmtree(bench.run_dir, ignore_errors=True)
        if bench.podman:
            subprocess.run(["podman", "rmi", "--force", "localhost/lxcri-bench-busybox:latest"], capture_output=True, check=False)
    if failure:
        sys.exit(failure)


if __name__ == "__main__":
    main()
