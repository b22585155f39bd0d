# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No-op ``pve_vm`` on a running VM vs ``ansible.builtin.command: qm config``, in one playbook run.

Sets up a throw-away pvesim node in state mode (``pvesim`` must be installed in the Python that
runs this script), creates and starts one VM with qm, then runs one playbook that times N no-op
``lxcri.containers.pve_vm`` tasks (transport qm) and N ``qm config`` command tasks, and prints the
per-task wall times, their ratio, and the reads a no-op made.  Nothing is asserted.

Run: ``PYTHONPATH=<dir holding ansible_collections> python benchmarks/pve_vm.py [--runs 10]``
(``ANSIBLE_COLLECTIONS_PATH`` is set from PYTHONPATH's first entry when unset).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys

# The sibling benchmark's harness (throw-away pvesim node, timed playbook, table).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pve_container import PLAYBOOK, report, run_timed_playbook, sim_node

VM = "{vmid: %d, transport: qm, name: bench, memory: 512, cores: 1, tags: [bench], net: [{bridge: vmbr0}], state: started}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--vmid", type=int, default=9390)
    args = parser.parse_args()

    with sim_node("state") as (env, work, bindir):
        qm = os.path.join(bindir, "qm")
        subprocess.run([qm, "create", str(args.vmid), "--name", "bench", "--memory", "512", "--cores", "1", "--tags", "bench",
                        "--net0", "virtio,bridge=vmbr0", "--scsi0", "local-lvm:1"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run([qm, "start", str(args.vmid)], check=True, env=env, stdout=subprocess.DEVNULL)
        try:
            figures = run_timed_playbook(PLAYBOOK.format(bindir=bindir, path=os.environ.get("PATH", ""), state=env["PVESIM_STATE_DIR"],
                                                         runs=args.runs, module="lxcri.containers.pve_vm", warmup=VM % args.vmid,
                                                         noop=VM % args.vmid, command="qm config %d" % args.vmid), env, work)
        finally:
            subprocess.run([qm, "stop", str(args.vmid)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)

    report("pve_vm no-op benchmark: pvesim state mode, %d runs each, one playbook, Python %s on %s"
           % (args.runs, platform.python_version(), platform.machine()), figures, args.runs,
           "ansible.builtin.command: qm config", "lxcri.containers.pve_vm no-op (transport qm)", "qm")


if __name__ == "__main__":
    main()
