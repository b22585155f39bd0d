# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``lxc`` execution mode: containers are real LXC containers on the bridge vmbr0.

Needs root, the LXC tools and permission to create a bridge; skipped (with the reason)
otherwise.  vmids 9000-9099.
"""

from __future__ import annotations

import os
import subprocess

from conftest import run_pct

from pvesim.config import lxc_configs


def _lxc_names(st):
    out = subprocess.run(["lxc-ls", "-P", str(st.lxcpath), "-1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=False).stdout.decode().split()
    return out


def _volumes(st):
    base = st.storage_base_path("local-lvm")
    return sorted(p.name for p in base.iterdir()) if base.exists() else []


def test_create_start_exec_hostname_destroy_leaves_nothing(lxc_state):
    st = lxc_state
    r = run_pct(st, "create", 9050, st.test_template, "--hostname", "web50", "--rootfs", "local-lvm:1",
                "--net0", "name=eth0,bridge=vmbr0,ip=dhcp", "--unprivileged", "0")
    assert r.rc == 0, r
    r = run_pct(st, "start", 9050)
    assert (r.rc, r.err) == (0, ""), r
    assert run_pct(st, "status", 9050).out == "status: running\n"
    r = run_pct(st, "exec", 9050, "--", "uname", "-n")
    assert (r.rc, r.out) == (0, "web50\n"), r
    # the veth named like PVE's is on the bridge
    assert os.path.exists("/sys/class/net/vmbr0/brif/veth9050i0")
    r = run_pct(st, "exec", 9050, "--", "sh", "-c", "exit 7")
    assert r.rc == 7
    assert "9050" in _lxc_names(st)
    r = run_pct(st, "destroy", 9050, "--force")
    assert r.rc == 0, r
    assert _lxc_names(st) == []
    assert _volumes(st) == []
    assert not lxc_configs(st).path(9050).exists()
    assert not os.path.exists("/sys/class/net/veth9050i0")


def test_unprivileged_ct_runs_in_user_namespace(lxc_state):
    st = lxc_state
    r = run_pct(st, "create", 9051, st.test_template, "--hostname", "unpriv", "--rootfs", "local-lvm:1")
    assert r.rc == 0, r
    assert "unprivileged: 1\n" in run_pct(st, "config", 9051).out
    assert run_pct(st, "start", 9051).rc == 0
    r = run_pct(st, "exec", 9051, "--", "cat", "/proc/self/uid_map")
    assert r.out.split() == ["0", "100000", "65536"]
    r = run_pct(st, "exec", 9051, "--", "uname", "-n")
    assert r.out == "unpriv\n"
    assert run_pct(st, "stop", 9051).rc == 0
    assert run_pct(st, "status", 9051).out == "status: stopped\n"
    assert run_pct(st, "destroy", 9051).rc == 0
    assert _lxc_names(st) == [] and _volumes(st) == []


def test_push_pull_shutdown_reboot(lxc_state, tmp_path):
    st = lxc_state
    assert run_pct(st, "create", 9052, st.test_template, "--rootfs", "local-lvm:1", "--unprivileged", "0",
                   "--hostname", "files").rc == 0
    assert run_pct(st, "start", 9052).rc == 0
    src = tmp_path / "in.txt"
    src.write_text("payload\n")
    r = run_pct(st, "push", 9052, str(src), "/root/in.txt", "--perms", "600")
    assert (r.rc, r.err) == (0, ""), r
    assert run_pct(st, "exec", 9052, "--", "stat", "-c", "%a %s", "/root/in.txt").out == "600 8\n"
    dst = tmp_path / "out.txt"
    r = run_pct(st, "pull", 9052, "/root/in.txt", str(dst))
    assert (r.rc, r.err) == (0, "")
    assert dst.read_text() == "payload\n"
    # pull has no $upid_exit: a failing worker still exits 0 (contract §0.2)
    r = run_pct(st, "pull", 9052, "/does/not/exist", str(tmp_path / "x"))
    assert r.rc == 0 and r.err == "failed to open /does/not/exist: No such file or directory\n"
    r = run_pct(st, "reboot", 9052)
    assert r.rc == 0, r
    assert run_pct(st, "status", 9052).out == "status: running\n"
    r = run_pct(st, "shutdown", 9052, "--timeout", "20")
    assert r.rc == 0, r
    assert run_pct(st, "status", 9052).out == "status: stopped\n"
    assert run_pct(st, "destroy", 9052).rc == 0


def test_missing_bridge_fails_start(lxc_state):
    st = lxc_state
    assert run_pct(st, "create", 9053, st.test_template, "--rootfs", "local-lvm:1", "--unprivileged", "0",
                   "--net0", "name=eth0,bridge=vmbr9999").rc == 0
    r = run_pct(st, "start", 9053)
    assert r.rc == 255 and r.err == "bridge 'vmbr9999' does not exist\n"
    assert run_pct(st, "destroy", 9053).rc == 0


def test_rootfs_holds_the_unpacked_template(lxc_state):
    st = lxc_state
    assert run_pct(st, "create", 9054, st.test_template, "--rootfs", "local-lvm:1", "--hostname", "tree").rc == 0
    root = st.storage_base_path("local-lvm") / "vm-9054-disk-0"
    assert (root / "bin" / "busybox").is_file()
    assert (root / "etc" / "hostname").read_text() == "tree\n"
    # unprivileged: owners shifted by 100000
    assert os.lstat(root / "bin" / "busybox").st_uid == 100000
    assert run_pct(st, "destroy", 9054).rc == 0
    assert not root.exists()


def test_launcher_exec_replaces_process_and_enter_needs_tty(lxc_state, tmp_path):
    from pvesim.cli import write_launchers

    st = lxc_state
    bindir = tmp_path / "bin"
    write_launchers(bindir, state_dir=st.root)
    pct = str(bindir / "pct")

    def run(*args, **kw):
        return subprocess.run([pct] + [str(a) for a in args], capture_output=True,
                              stdin=subprocess.DEVNULL, check=False, **kw)

    r = run("create", 9055, st.test_template, "--rootfs", "local-lvm:1", "--hostname", "launch", "--unprivileged", "0")
    assert r.returncode == 0, r.stderr
    assert run("start", 9055).returncode == 0
    r = run("exec", 9055, "--", "uname", "-n")
    assert (r.returncode, r.stdout) == (0, b"launch\n")
    r = run("exec", 9055, "--", "sh", "-c", "echo err >&2; exit 42")
    assert (r.returncode, r.stdout, r.stderr) == (42, b"", b"err\n")
    r = run("exec", 9055)
    assert r.returncode != 0 and r.stderr == b"missing command at /usr/share/perl5/PVE/CLI/pct.pm line 246.\n"
    r = run("enter", 9055)
    assert r.returncode != 0 and b"needs an interactive terminal" in r.stderr
    assert run("destroy", 9055, "--force").returncode == 0
    assert _lxc_names(st) == []


def test_interfaces_api_reads_the_ct_netns(lxc_state):
    import io

    from pvesim import handlers
    from pvesim.handlers import Env

    st = lxc_state
    assert run_pct(st, "create", 9056, st.test_template, "--rootfs", "local-lvm:1", "--unprivileged", "0",
                   "--net0", "name=eth0,bridge=vmbr0,ip=10.99.56.2/24,hwaddr=BC:24:11:00:90:56").rc == 0
    assert run_pct(st, "start", 9056).rc == 0
    env = Env(st, stdout=io.StringIO(), stderr=io.StringIO())
    import time

    # the guest setup wrote /etc/network/interfaces; the template's init brings eth0 up with it
    for _attempt in range(50):
        res = {i["name"]: i for i in handlers.call(env, "GET", "/nodes/pve/lxc/9056/interfaces", {})}
        if res["eth0"].get("inet"):
            break
        time.sleep(0.1)
    assert res["eth0"]["inet"] == "10.99.56.2/24"
    assert res["eth0"]["hwaddr"] == "bc:24:11:00:90:56"
    assert res["lo"]["inet"] == "127.0.0.1/8"
    assert run_pct(st, "destroy", 9056, "--force").rc == 0


def test_device_passthrough_and_fuse_feature(lxc_state):
    st = lxc_state
    for dev in ("/dev/net/tun", "/dev/fuse"):
        if not os.path.exists(dev):
            import pytest

            pytest.skip("%s missing on this host" % dev)
    assert run_pct(st, "create", 9057, st.test_template, "--rootfs", "local-lvm:1", "--unprivileged", "0",
                   "--dev0", "/dev/net/tun", "--features", "fuse=1").rc == 0
    r = run_pct(st, "start", 9057)
    assert (r.rc, r.err) == (0, ""), r
    r = run_pct(st, "exec", 9057, "--", "sh", "-c", "ls -l /dev/net/tun /dev/fuse | awk '{print $1, $5, $6, $NF}'")
    assert r.out == "crw------- 10, 229 /dev/fuse\ncrw------- 10, 200 /dev/net/tun\n"
    assert run_pct(st, "destroy", 9057, "--force").rc == 0


def test_memory_and_cpu_are_hot_plugged_into_the_live_cgroup(lxc_state):
    st = lxc_state

    def cgroup(key):
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        key = {"mem": "memory.max" if v2 else "memory.limit_in_bytes", "cpu": "cpu.max" if v2 else "cpu.cfs_quota_us"}[key]
        return subprocess.run(["lxc-cgroup", "-P", str(st.lxcpath), "-n", "9059", key], capture_output=True,
                              check=True).stdout.decode().split()

    assert run_pct(st, "create", 9059, st.test_template, "--rootfs", "local-lvm:1", "--unprivileged", "0",
                   "--memory", "256").rc == 0
    assert run_pct(st, "start", 9059).rc == 0
    assert cgroup("mem") == [str(256 * 1048576)]
    r = run_pct(st, "set", 9059, "--memory", "384", "--cpulimit", "1.5")
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert cgroup("mem") == [str(384 * 1048576)]
    assert cgroup("cpu") in (["150000"], ["150000", "100000"])
    assert run_pct(st, "pending", 9059).out.count("new ") == 0
    assert run_pct(st, "destroy", 9059, "--force").rc == 0


def test_net_hotplug_on_running_ct(lxc_state):
    st = lxc_state
    assert run_pct(st, "create", 9058, st.test_template, "--rootfs", "local-lvm:1", "--unprivileged", "0",
                   "--net0", "name=eth0,bridge=vmbr0,ip=10.99.58.2/24").rc == 0
    assert run_pct(st, "start", 9058).rc == 0
    r = run_pct(st, "set", 9058, "--net1", "name=eth1,bridge=vmbr0,ip=10.99.59.2/24,hwaddr=BC:24:11:00:90:58")
    assert (r.rc, r.err) == (0, ""), r
    assert os.path.exists("/sys/class/net/vmbr0/brif/veth9058i1")
    r = run_pct(st, "exec", 9058, "--", "sh", "-c", "cat /sys/class/net/eth1/address; ip -4 addr show eth1 | grep -o 'inet [^ ]*'")
    assert r.out == "bc:24:11:00:90:58\ninet 10.99.59.2/24\n"
    # changing the address only re-configures the interface inside
    assert run_pct(st, "set", 9058, "--net1", "name=eth1,bridge=vmbr0,ip=10.99.60.2/24,hwaddr=BC:24:11:00:90:58").rc == 0
    r = run_pct(st, "exec", 9058, "--", "sh", "-c", "ip -4 addr show eth1 | grep -o 'inet [^ ]*'")
    assert r.out == "inet 10.99.60.2/24\n"
    assert run_pct(st, "set", 9058, "--delete", "net1").rc == 0
    assert not os.path.exists("/sys/class/net/veth9058i1")
    assert run_pct(st, "pending", 9058).out.count("new ") == 0
    assert run_pct(st, "destroy", 9058, "--force").rc == 0


def test_clone_runs_with_its_own_hostname(lxc_state):
    st = lxc_state
    assert run_pct(st, "create", 9060, st.test_template, "--rootfs", "local-lvm:1", "--hostname", "orig",
                   "--net0", "name=eth0,bridge=vmbr0,ip=dhcp").rc == 0
    r = run_pct(st, "clone", 9060, 9061, "--hostname", "twin")
    assert (r.rc, r.err) == (0, ""), r
    assert run_pct(st, "start", 9061).rc == 0
    assert run_pct(st, "exec", 9061, "--", "uname", "-n").out == "twin\n"
    assert run_pct(st, "exec", 9061, "--", "cat", "/etc/hostname").out == "twin\n"
    assert run_pct(st, "destroy", 9061, "--force").rc == 0
    assert run_pct(st, "destroy", 9060).rc == 0
    assert _lxc_names(st) == [] and _volumes(st) == []
