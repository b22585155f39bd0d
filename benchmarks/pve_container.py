# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No-op ``pve_container`` on a running CT vs ``ansible.builtin.command: pct config``, in one playbook run.

Sets up a throw-away pvesim node (``pvesim`` must be installed in the Python that runs this
script), creates and starts one CT with pct, then runs one playbook that times N no-op
``lxcri.containers.pve_container`` tasks (transport pct) and N ``pct config`` command tasks,
and prints the per-task wall times and their ratio.  Nothing is asserted.

Run: ``PYTHONPATH=<dir holding ansible_collections> python benchmarks/pve_container.py [--runs 10] [--mode state|lxc]``
(``ANSIBLE_COLLECTIONS_PATH`` is set from PYTHONPATH's first entry when unset).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  environment:
    PATH: "{bindir}:{path}"
    PVESIM_STATE_DIR: "{state}"
  tasks:
    - name: Warm up (module cache, first call)
      {module}: {warmup}
    - name: Start timing the module
      ansible.builtin.set_fact: {{t0: "{{{{ now().timestamp() }}}}"}}
    - name: No-op module run on the running guest
      {module}: {noop}
      loop: "{{{{ range({runs}) | list }}}}"
      register: noop
    - name: Start timing the command
      ansible.builtin.set_fact: {{t1: "{{{{ now().timestamp() }}}}"}}
    - name: Baseline command
      ansible.builtin.command: {command}
      changed_when: false
      loop: "{{{{ range({runs}) | list }}}}"
    - name: Stop timing
      ansible.builtin.set_fact: {{t2: "{{{{ now().timestamp() }}}}"}}
    - name: Figures
      ansible.builtin.debug:
        msg: "BENCH {{{{ {{'module': (t1 | float) - (t0 | float), 'command': (t2 | float) - (t1 | float),
                'changed': noop.results | selectattr('changed') | list | length,
                'reads': noop.results[0].reads | length}} | to_json }}}}"
"""


def tools():
    """pvesim and ansible-playbook of the Python that runs the benchmark."""
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    pvesim, playbook_bin = shutil.which("pvesim", path=path), shutil.which("ansible-playbook", path=path)
    if not pvesim or not playbook_bin:
        sys.exit("needs pvesim and ansible-playbook next to %s or on PATH" % sys.executable)
    return pvesim, playbook_bin


@contextlib.contextmanager
def sim_node(mode):
    """A throw-away pvesim node with its launchers (pct, qm, pvesh): yields (env, work dir, bin dir)."""
    pvesim, _playbook = tools()
    env = dict(os.environ)
    if not env.get("ANSIBLE_COLLECTIONS_PATH") and env.get("PYTHONPATH"):
        env["ANSIBLE_COLLECTIONS_PATH"] = env["PYTHONPATH"].split(os.pathsep)[0]
    work = tempfile.mkdtemp(prefix="lxcri-bench-pve-")
    os.chmod(work, 0o755)  # unprivileged containers (lxc mode) must traverse it
    state = os.path.join(work, "state")
    bindir = os.path.join(work, "bin")
    env["PVESIM_STATE_DIR"] = state
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    try:
        subprocess.run([pvesim, "init", state, "--mode", mode], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run([pvesim, "bin-dir", bindir, "--state-dir", state], check=True, env=env, stdout=subprocess.DEVNULL)
        yield env, work, bindir
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_timed_playbook(text, env, work):
    """Run the benchmark playbook; returns the figures its ``BENCH`` line prints."""
    _pvesim, playbook_bin = tools()
    playbook = os.path.join(work, "bench.yml")
    with open(playbook, "w") as stream:
        stream.write(text)
    result = subprocess.run([playbook_bin, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable, playbook],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    for line in result.stdout.splitlines():
        if "BENCH " in line and result.returncode == 0:
            return json.loads(line.split("BENCH ", 1)[1].rstrip('"').replace('\\"', '"'))
    sys.stdout.write(result.stdout)
    sys.exit("benchmark playbook failed (rc %s)" % result.returncode)


def report(title, figures, runs, baseline, module, tool):
    module_ms = figures["module"] * 1000.0 / runs
    command_ms = figures["command"] * 1000.0 / runs
    print(title)
    print("%-58s %12s %10s" % ("task", "per run (ms)", "x baseline"))
    print("%-58s %12.1f %10.2f" % ("baseline: " + baseline, command_ms, 1.0))
    print("%-58s %12.1f %10.2f" % (module, module_ms, module_ms / command_ms))
    print("no-op runs reporting changed: %d of %d; %s read calls per no-op run: %d" % (figures["changed"], runs, tool, figures["reads"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--mode", choices=["state", "lxc"], default="state")
    parser.add_argument("--vmid", type=int, default=9290)
    args = parser.parse_args()

    with sim_node(args.mode) as (env, work, bindir):
        state = env["PVESIM_STATE_DIR"]
        tarball = os.path.join(work, "busybox-bench_1.0_amd64.tar.gz")
        subprocess.run([sys.executable, "-m", "pvesim.templates", "build", "--busybox", "--output", tarball], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        out = subprocess.run([sys.executable, "-m", "pvesim.templates", "install", tarball, "--state-dir", state], check=True, env=env,
                             stdout=subprocess.PIPE, text=True).stdout
        volid = out.strip().splitlines()[-1]
        pct = os.path.join(bindir, "pct")
        subprocess.run([pct, "create", str(args.vmid), volid, "--storage", "local-lvm", "--rootfs", "local-lvm:1", "--memory", "256",
                        "--cores", "1", "--tags", "bench"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run([pct, "start", str(args.vmid)], check=True, env=env, stdout=subprocess.DEVNULL)
        try:
            ct = "{vmid: %d, transport: pct, memory: 256%s, state: started}"
            figures = run_timed_playbook(PLAYBOOK.format(bindir=bindir, path=os.environ.get("PATH", ""), state=state, runs=args.runs,
                                                         module="lxcri.containers.pve_container", warmup=ct % (args.vmid, ""),
                                                         noop=ct % (args.vmid, ", cores: 1, tags: [bench]"), command="pct config %d" % args.vmid),
                                         env, work)
        finally:
            subprocess.run([pct, "stop", str(args.vmid)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    report("pve_container no-op benchmark: pvesim %s mode, %d runs each, one playbook, Python %s on %s"
           % (args.mode, args.runs, platform.python_version(), platform.machine()), figures, args.runs,
           "ansible.builtin.command: pct config", "lxcri.containers.pve_container no-op (transport pct)", "pct")


if __name__ == "__main__":
    main()
