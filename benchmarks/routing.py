# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""10,000 routing decisions: time per decision, printed (never asserted).

Run with the directory holding ``ansible_collections`` on PYTHONPATH (or with the
collection installed).  Figures are printed next to a baseline measured in the
same run (a dict lookup of a precomputed answer), so they compare across machines.

    python benchmarks/routing.py [--decisions 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

from ansible_collections.lxcri.containers.plugins.module_utils._routing.decide import RoutingTable

# A realistic table: 20 rules, globs and regexes, some on hosts and groups, the last a catch-all.
RULES = [
    {"name": "kube-network", "containers": ["kube-ovn-*", "re:cilium-[a-z]+(-[0-9]+)?"], "backend": "crun"},
    {"name": "edge-db", "containers": "re:db-[0-9]+", "hosts": "edge-*", "backend": "runc"},
    {"name": "gpu", "groups": ["gpu", "re:cuda-.*"], "backend": "runc"},
    {"name": "legacy-vms", "containers": "win-*", "backend": "vm"},
    {"name": "bsd", "containers": "re:(free|open)bsd-.*", "backend": "jail"},
] + [
    {"name": "team-%02d" % team, "containers": ["team%02d-*" % team, "re:t%02d-[a-z]+-[0-9]{1,3}" % team], "backend": ("crun", "runc", "lxc")[team % 3]}
    for team in range(14)
] + [
    {"name": "everything-else", "containers": "re:.*", "backend": "lxc"},
]

HOSTS = [("pve-%d" % n, ["pve", "cluster-a"]) for n in range(1, 6)] + [("edge-%d" % n, ["edge", "gpu" if n % 2 else "cpu"]) for n in range(1, 6)]
PREFIXES = ["kube-ovn-%d", "cilium-agent-%d", "db-%d", "web-%d", "win-%d", "freebsd-%d", "team07-svc%d", "t11-api-%d", "misc%d"]


def workload(count):
    items = []
    for i in range(count):
        name = PREFIXES[i % len(PREFIXES)] % i
        host, groups = HOSTS[(i // len(PREFIXES)) % len(HOSTS)]
        items.append((name, host, tuple(groups)))
    return items


def best_of(repeat, func):
    timings = []
    for _run in range(repeat):
        start = time.perf_counter()
        func()
        timings.append(time.perf_counter() - start)
    return min(timings)


def lookup_plugin():
    """The lookup as ansible-core loads it; None when ansible-core is not importable."""
    try:
        from ansible.parsing.dataloader import DataLoader
        from ansible.plugins.loader import init_plugin_loader, lookup_loader
        from ansible.template import Templar
    except ImportError:
        return None
    import os

    import ansible_collections.lxcri.containers as coll

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(list(coll.__path__)[0]))))
    for name in ("ansible_collections", "ansible_collections.lxcri", "ansible_collections.lxcri.containers"):
        sys.modules.pop(name, None)
    init_plugin_loader([root])
    loader = DataLoader()
    return lookup_loader.get("lxcri.containers.backend", loader=loader, templar=Templar(loader=loader))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    items = workload(args.decisions)
    table = RoutingTable(RULES, "lxc")
    answers = {(name, host): table.route(name, host=host, groups=groups).backend for name, host, groups in items}
    counts = {}
    for backend in answers.values():
        counts[backend] = counts.get(backend, 0) + 1

    def baseline():
        get = answers.get
        for name, host, _groups in items:
            get((name, host))

    def decide():
        route = table.route
        for name, host, groups in items:
            route(name, host=host, groups=groups)

    def build_and_decide():
        # what one lookup call pays: validate and compile the whole table, then decide
        for name, host, groups in items:
            RoutingTable(RULES, "lxc").route(name, host=host, groups=groups)

    results = [
        ("baseline: dict lookup of a precomputed answer", best_of(args.repeat, baseline)),
        ("RoutingTable.route (table compiled once)", best_of(args.repeat, decide)),
        ("RoutingTable(rules) + route (table compiled per decision)", best_of(args.repeat, build_and_decide)),
    ]

    plugin = lookup_plugin()
    if plugin is not None:
        by_host = {}
        for name, host, groups in items:
            by_host.setdefault((host, groups), []).append(name)

        def lookup_batched():
            for (host, groups), names in by_host.items():
                variables = {"inventory_hostname": host, "group_names": list(groups), "lxcri_routing": RULES}
                plugin.run(names, variables=variables)

        def lookup_per_term():
            for name, host, groups in items:
                plugin.run([name], variables={"inventory_hostname": host, "group_names": list(groups), "lxcri_routing": RULES})

        results.append(("lookup plugin run(), one call per host (%d calls)" % len(by_host), best_of(args.repeat, lookup_batched)))
        results.append(("lookup plugin run(), one call per container", best_of(args.repeat, lookup_per_term)))

    base = results[0][1]
    print("routing benchmark: %d decisions, %d rules, best of %d runs, Python %s on %s" % (
        args.decisions, len(RULES), args.repeat, platform.python_version(), platform.machine()))
    print("decisions per backend: %s" % ", ".join("%s=%d" % item for item in sorted(counts.items())))
    print("%-62s %12s %14s %10s" % ("case", "total (ms)", "per decision", "x baseline"))
    for label, seconds in results:
        per = seconds / args.decisions
        print("%-62s %12.2f %11.2f us %10.1f" % (label, seconds * 1000, per * 1e6, seconds / base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
