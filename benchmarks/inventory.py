# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pve inventory of 1,000 guests in one API call, and the per-task cost of the pct connection next to local.

Part 1 (pvesim ``state`` mode, no root needed): a node with ``--guests`` CTs (configuration files
written as ``/etc/pve`` holds them; every tenth name is shared with another guest), its HTTPS API in
a thread, then

* the plugin's ``parse`` in-process, with the API requests counted at the proxmoxer boundary;
* ``ansible-inventory -i pve.yml --list`` as a user runs it;
* the baseline: the same ``GET /cluster/resources`` with proxmoxer alone.

Part 2 (pvesim ``lxc`` mode: root, LXC, a ``vmbr0`` bridge; skipped with ``--no-connection``): one
running busybox CT and one ``ansible-playbook`` run that times ``--tasks`` ``raw`` tasks over
``lxcri.containers.pct`` and the same over ``local``, and prints the per-task times and their
difference. Run it under the machine's container lock (``flock /tmp/lxcri-molecule.lock``).

Nothing is asserted. Run: ``PYTHONPATH=<dir holding ansible_collections> python benchmarks/inventory.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BIN = os.path.dirname(sys.executable)

PCT_PLAYBOOK = """
- name: pct connection vs local, {tasks} raw tasks each
  hosts: ct
  gather_facts: false
  tasks:
    - name: Warm up both connections
      ansible.builtin.raw: "true"
    - name: Warm up local
      ansible.builtin.raw: "true"
      delegate_to: localhost
    - name: Start timing pct
      ansible.builtin.set_fact: {{t0: "{{{{ now().timestamp() }}}}"}}
    - name: Over pct exec
      ansible.builtin.raw: "true"
      loop: "{{{{ range({tasks}) | list }}}}"
    - name: Start timing local
      ansible.builtin.set_fact: {{t1: "{{{{ now().timestamp() }}}}"}}
    - name: Over local
      ansible.builtin.raw: "true"
      delegate_to: localhost
      loop: "{{{{ range({tasks}) | list }}}}"
    - name: Stop timing
      ansible.builtin.set_fact: {{t2: "{{{{ now().timestamp() }}}}"}}
    - name: Figures
      ansible.builtin.debug:
        msg: "BENCH {{{{ {{'pct': (t1 | float) - (t0 | float), 'local': (t2 | float) - (t1 | float)}} | to_json }}}}"
"""


def tool(name):
    path = shutil.which(name, path=BIN + os.pathsep + os.environ.get("PATH", ""))
    if not path:
        sys.exit("needs %s next to %s or on PATH" % (name, sys.executable))
    return path


def ansible_env():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    if not env.get("ANSIBLE_COLLECTIONS_PATH") and env.get("PYTHONPATH"):
        env["ANSIBLE_COLLECTIONS_PATH"] = env["PYTHONPATH"].split(os.pathsep)[0]
    return env


def write_guests(state, node, count):
    """``count`` CT configs as PVE keeps them (``nodes/<node>/lxc/<vmid>.conf``); every tenth name is taken twice."""
    directory = os.path.join(str(state), "nodes", node, "lxc")
    os.makedirs(directory, exist_ok=True)
    for index in range(count):
        vmid = 10000 + index
        name = "ct%d" % (index - 1 if index % 10 == 9 else index)
        with open(os.path.join(directory, "%d.conf" % vmid), "w", encoding="ascii") as fh:
            fh.write("arch: amd64\nhostname: %s\nmemory: 512\nostype: debian\nrootfs: local-lvm:vm-%d-disk-0,size=1G\n"
                     "tags: bench;g%d\n" % (name, vmid, index % 7))


def inventory_part(args, work):
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader
    from proxmoxer import ProxmoxAPI

    from pvesim.auth import AuthStore
    from pvesim.http.testing import api_server
    from pvesim.state import State

    state = State(os.path.join(work, "state")).init(node="pve", mode="state")
    token = AuthStore(state.pve_path("")).ensure().add_token("root@pam", "bench", privsep=False)
    write_guests(state.pve_path(""), "pve", args.guests)
    with api_server(state, port=0) as api:
        source = os.path.join(work, "pve.yml")
        with open(source, "w", encoding="ascii") as fh:
            fh.write("plugin: lxcri.containers.pve\napi_host: %s\napi_port: %d\napi_token_id: '%s'\nvalidate_certs: false\n"
                     % (api.host, api.port, token["full-tokenid"]))
        os.environ["PROXMOX_TOKEN_SECRET"] = token["value"]
        requests = []

        def counting_api(host, **kwargs):
            real = ProxmoxAPI(host, **kwargs)

            def resource(path):
                requests.append(path)
                return real(path)
            return resource

        plugin = inventory_loader.get("lxcri.containers.pve")
        plugin.api_factory = counting_api
        inventory = InventoryData()
        started = time.perf_counter()
        plugin.parse(inventory, DataLoader(), source, cache=False)
        parse_time = time.perf_counter() - started

        baseline = ProxmoxAPI(api.hostport, user="root@pam", token_name="bench", token_value=token["value"], verify_ssl=False)
        started = time.perf_counter()
        rows = baseline("cluster/resources").get(type="vm")
        baseline_time = time.perf_counter() - started

        started = time.perf_counter()
        listed = subprocess.run([tool("ansible-inventory"), "-i", source, "--list"], env=ansible_env(), capture_output=True,
                                text=True, check=True)
        cli_time = time.perf_counter() - started
        cli_hosts = len(json.loads(listed.stdout)["_meta"]["hostvars"])
    renamed = sum(1 for name in inventory.hosts if name.endswith("-%d" % inventory.get_host(name).get_vars()["pve_vmid"]))
    print("guests %d, hosts %d (%d named <name>-<vmid>), groups %d, API requests %d (%s)"
          % (len(rows), len(inventory.hosts), renamed, len(inventory.groups), len(requests), ", ".join(sorted(set(requests)))))
    print("plugin parse in-process: %.3f s; GET /cluster/resources alone: %.3f s (parse/baseline %.1fx)"
          % (parse_time, baseline_time, parse_time / baseline_time))
    print("ansible-inventory --list: %.3f s for %d hosts" % (cli_time, cli_hosts))


def connection_part(args, work):
    pvesim = tool("pvesim")
    state = os.path.join(work, "lxc-state")
    bindir = os.path.join(work, "bin")
    env = ansible_env()
    env.update(PVESIM_STATE_DIR=state, PATH=bindir + os.pathsep + env.get("PATH", ""))
    subprocess.run([pvesim, "init", state, "--mode", "lxc"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([pvesim, "bin-dir", bindir, "--state-dir", state], check=True, env=env, stdout=subprocess.DEVNULL)
    tarball = os.path.join(work, "busybox-bench_1.0_amd64.tar.gz")
    subprocess.run([pvesim, "template", "build", "--busybox", "--output", tarball], check=True, env=env, stdout=subprocess.DEVNULL)
    volid = subprocess.run([pvesim, "template", "install", tarball, "--state-dir", state], check=True, env=env,
                           capture_output=True, text=True).stdout.split()[-1]
    vmid = str(args.vmid)
    subprocess.run(["pct", "create", vmid, volid, "--hostname", "bench", "--rootfs", "local-lvm:1", "--memory", "128"],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["pct", "start", vmid], check=True, env=env, stdout=subprocess.DEVNULL)
    try:
        inventory = os.path.join(work, "hosts.ini")
        with open(inventory, "w", encoding="ascii") as fh:
            fh.write("[ct]\nbench ansible_connection=lxcri.containers.pct pve_vmid=%s\n" % vmid)
        playbook = os.path.join(work, "pct.yml")
        with open(playbook, "w", encoding="ascii") as fh:
            fh.write(PCT_PLAYBOOK.format(tasks=args.tasks))
        run = subprocess.run([tool("ansible-playbook"), "-i", inventory, playbook], env=env, capture_output=True, text=True,
                             check=False)
        if run.returncode != 0:
            sys.exit("the playbook failed:\n%s%s" % (run.stdout[-3000:], run.stderr[-3000:]))
        line = next(line for line in run.stdout.splitlines() if "BENCH " in line)
        figures = json.loads(line.split("BENCH ", 1)[1].rstrip('"').replace('\\"', '"'))
        pct_task, local_task = figures["pct"] / args.tasks, figures["local"] / args.tasks
        print("per raw task over %d tasks: pct %.3f s, local %.3f s; pct costs %.3f s more per task (%.1fx local)"
              % (args.tasks, pct_task, local_task, pct_task - local_task, pct_task / local_task))
    finally:
        subprocess.run(["pct", "stop", vmid], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        subprocess.run(["pct", "destroy", vmid], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guests", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--vmid", type=int, default=9490)
    parser.add_argument("--no-connection", action="store_true", help="only the inventory part (no root, LXC or bridge needed)")
    args = parser.parse_args()
    os.environ.update({k: v for k, v in ansible_env().items() if k == "ANSIBLE_COLLECTIONS_PATH"})
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    _AnsibleCollectionFinder(paths=os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep))._install()
    work = tempfile.mkdtemp(prefix="lxcri-bench-inventory-")
    os.chmod(work, 0o755)  # unprivileged containers (lxc mode) must traverse it
    try:
        inventory_part(args, work)
        if not args.no_connection:
            connection_part(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
