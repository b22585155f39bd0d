# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pct`` conformance in ``state`` mode: one test per documented format or error of the
contract (§0.2, §2, §3, §4), output compared literally."""

from __future__ import annotations

import re
import time

import pytest
from conftest import run_pct

from pvesim import faults, handlers, tasks
from pvesim.config import lxc_configs, parse_config
from pvesim.handlers import Env, PVEError

MAC = r"BC:24:11(:[0-9A-F]{2}){3}"


def create(pctx, template, vmid=9001, *extra):
    r = pctx("create", vmid, template, "--rootfs", "local-lvm:8", *extra)
    assert r.rc == 0, r
    return r


# ---------------------------------------------------------------- §2.2 pct list

def test_list_prints_nothing_when_empty(pctx):
    r = pctx("list")
    assert (r.rc, r.out, r.err) == (0, "", "")


def test_list_format_fixed_width_with_trailing_spaces(pctx, template, state):
    create(pctx, template, 9001, "--hostname", "web")
    create(pctx, template, 9010)
    conf = lxc_configs(state).path(9010)
    conf.write_text(conf.read_text() + "lock: backup\n")
    r = pctx("list")
    assert r.out == ("VMID       Status     Lock         Name                \n"
                     "9001       stopped                 web                 \n"
                     "9010       stopped    backup       CT9010              \n")


# ---------------------------------------------------------------- §2.3 pct config + §4.7 normalisation

def test_create_writes_defaults_and_normalises(pctx, template):
    create(pctx, template, 9001, "--hostname", "web", "--net0", "name=eth0,ip=dhcp,bridge=vmbr0",
           "--description", "web server", "--tags", "Web,prod web", "--nameserver", "1.1.1.1,8.8.8.8",
           "--cpuunits", "20000", "--onboot", "yes", "--features", "keyctl=1,nesting=1")
    r = pctx("config", 9001)
    assert r.rc == 0 and r.err == ""
    out = re.sub(MAC, "BC:24:11:XX:XX:XX", r.out)
    assert out == ("arch: amd64\n"
                   "cpuunits: 10000\n"
                   "description: web server%0A\n"
                   "features: keyctl=1,nesting=1\n"
                   "hostname: web\n"
                   "memory: 512\n"
                   "nameserver: 1.1.1.1 8.8.8.8\n"
                   "net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:XX:XX:XX,ip=dhcp,type=veth\n"
                   "onboot: 1\n"
                   "ostype: debian\n"
                   "rootfs: local-lvm:vm-9001-disk-0,size=8G\n"
                   "swap: 512\n"
                   "tags: prod;web\n"
                   "unprivileged: 1\n")


def test_create_without_hostname_writes_ct_vmid(pctx, template):
    create(pctx, template, 9001)
    assert "hostname: CT9001\n" in pctx("config", 9001).out


def test_rootfs_sizes_are_printed_with_format_size(pctx, template, state):
    create(pctx, template, 9001, "--mp0", "local-lvm:0.5,mp=/data,backup=1")
    conf = pctx("config", 9001).out
    assert "mp0: local-lvm:vm-9001-disk-1,mp=/data,backup=1,size=512M\n" in conf
    assert "rootfs: local-lvm:vm-9001-disk-0,size=8G\n" in conf


def test_rootfs_on_dir_storage_gets_vmid_subdir_and_raw_suffix(pctx, template, state):
    cfg = state.storage_config()
    cfg["local"]["content"] = "iso,vztmpl,backup,rootdir,images"
    state.write_storage_config(cfg)
    r = pctx("create", 9001, template, "--storage", "local", "--rootfs", "1.5")
    assert r.rc == 0, r
    assert "rootfs: local:9001/vm-9001-disk-0.raw,size=1536M\n" in pctx("config", 9001).out


def test_default_rootfs_is_4g_on_storage(pctx, template):
    r = pctx("create", 9001, template, "--storage", "local-lvm")
    assert r.rc == 0, r
    assert "rootfs: local-lvm:vm-9001-disk-0,size=4G\n" in pctx("config", 9001).out


def test_config_description_escapes_colon_and_percent(pctx, template):
    create(pctx, template, 9001, "--description", "a: 100%")
    assert "description: a%3A 100%25%0A\n" in pctx("config", 9001).out


def test_config_merges_pending_and_current_shows_applied(pctx, template, state):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    assert pctx("set", 9001, "--features", "nesting=1", "--arch", "arm64").rc == 0
    assert "features: nesting=1\n" in pctx("config", 9001).out
    cur = pctx("config", 9001, "--current").out
    assert "features" not in cur and "arch: amd64\n" in cur


def test_config_of_missing_ct(pctx):
    r = pctx("config", 9099)
    assert r.rc != 0
    assert r.err == "Configuration file 'nodes/pve/lxc/9099.conf' does not exist\n"


def test_config_snapshot_missing(pctx, template):
    create(pctx, template, 9001)
    r = pctx("config", 9001, "--snapshot", "nope")
    assert r.rc != 0 and r.err == "snapshot 'nope' does not exist\n"


# ---------------------------------------------------------------- §2.4 pct pending + §4.5 hotplug

def test_pending_format_on_running_ct(pctx, template):
    create(pctx, template, 9001, "--hostname", "web", "--cores", "1", "--features", "nesting=1")
    assert pctx("start", 9001).rc == 0
    r = pctx("set", 9001, "--cores", "2", "--tags", "prod", "--delete", "swap", "--arch", "arm64")
    assert (r.rc, r.out, r.err) == (0, "", "")
    out = pctx("pending", 9001).out
    # cores and tags are fast-plugged, swap deletion is hot-plugged, arch waits for the restart
    assert out == ("cur arch: amd64\n"
                   "new arch: arm64\n"
                   "cur cores: 2\n"
                   "cur features: nesting=1\n"
                   "cur hostname: web\n"
                   "cur memory: 512\n"
                   "cur ostype: debian\n"
                   "cur rootfs: local-lvm:vm-9001-disk-0,size=8G\n"
                   "cur tags: prod\n"
                   "cur unprivileged: 1\n")


def test_pending_delete_line_and_new_only_keys(pctx, template):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    assert pctx("set", 9001, "--delete", "arch", "--timezone", "UTC").rc == 0
    out = pctx("pending", 9001).out
    assert "del arch: amd64\n" in out
    assert "new timezone: UTC\n" in out


def test_pending_is_written_to_pve_pending_section(pctx, template, state):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    assert pctx("set", 9001, "--arch", "arm64", "--delete", "ostype").rc != 0  # required option
    assert pctx("set", 9001, "--arch", "arm64").rc == 0
    text = lxc_configs(state).path(9001).read_text()
    assert text.endswith("\n[pve:pending]\narch: arm64\n")


def test_stopped_ct_applies_everything_immediately(pctx, template):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--arch", "arm64", "--memory", "1024").rc == 0
    assert pctx("pending", 9001).out.count("new ") == 0


def test_start_applies_pending_changes(pctx, template):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    assert pctx("set", 9001, "--arch", "arm64").rc == 0
    assert pctx("reboot", 9001).rc == 0
    assert "arch: arm64\n" in pctx("config", 9001, "--current").out


def test_set_net_normalisation_and_user_hwaddr_case_kept(pctx, template):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--net1", "ip=10.0.0.5/24,name=eth1,hwaddr=aa:bb:cc:dd:ee:ff,gw=10.0.0.1").rc == 0
    assert "net1: name=eth1,gw=10.0.0.1,hwaddr=aa:bb:cc:dd:ee:ff,ip=10.0.0.5/24,type=veth\n" in pctx("config", 9001).out


# ---------------------------------------------------------------- §2.1 pct status

def test_status_stopped_and_running_exit_0(pctx, template):
    create(pctx, template, 9001)
    r = pctx("status", 9001)
    assert (r.rc, r.out) == (0, "status: stopped\n")
    assert pctx("start", 9001).rc == 0
    assert pctx("status", 9001).out == "status: running\n"


def test_status_verbose_sample(pctx, template, state):
    state.settings["cpus"] = 4
    state.save_settings()
    create(pctx, template, 9001, "--hostname", "web")
    r = pctx("status", 9001, "--verbose")
    assert r.out == ("cpus: 4\ndisk: 0\ndiskread: 0\ndiskwrite: 0\nmaxdisk: 8589934592\nmaxmem: 536870912\n"
                     "maxswap: 536870912\nmem: 0\nname: web\nnetin: 0\nnetout: 0\nstatus: stopped\nswap: 0\n"
                     "type: lxc\nuptime: 0\nvmid: 9001\n")


def test_status_of_missing_ct(pctx):
    r = pctx("status", 9099)
    assert r.rc != 0 and r.err == "Configuration file 'nodes/pve/lxc/9099.conf' does not exist\n"


# ---------------------------------------------------------------- §3.1 existence / running state

def test_create_existing_id(pctx, template):
    create(pctx, template, 9001)
    r = pctx("create", 9001, template, "--rootfs", "local-lvm:1")
    assert r.rc != 0 and r.err == "CT 9001 already exists on node 'pve'\n"


def test_stop_and_shutdown_of_stopped_or_missing_ct(pctx, template):
    create(pctx, template, 9001)
    for cmd in ("stop", "shutdown"):
        for vmid in (9001, 9099):
            r = pctx(cmd, vmid)
            assert r.rc != 0 and r.err == "CT %d not running\n" % vmid and r.out == ""


def test_reboot_of_stopped_ct_says_vm(pctx, template):
    create(pctx, template, 9001)
    r = pctx("reboot", 9001)
    assert r.rc != 0 and r.err == "VM 9001 not running\n"


def test_start_running_ct(pctx, template):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    r = pctx("start", 9001)
    assert r.rc != 0 and r.err == "CT 9001 already running\n"


def test_start_missing_ct_fails_inside_the_task_with_255(pctx):
    r = pctx("start", 9099)
    assert r.rc == 255
    assert r.err == "Configuration file 'nodes/pve/lxc/9099.conf' does not exist\n"


def test_exec_on_stopped_ct(pctx, template):
    create(pctx, template, 9001)
    r = pctx("exec", 9001, "--", "true")
    assert r.rc != 0 and r.err == "container '9001' not running!\n"


def test_push_and_pull_on_stopped_ct(pctx, template, tmp_path):
    create(pctx, template, 9001)
    r = pctx("push", 9001, "/etc/hostname", "/x")
    assert r.rc != 0 and r.err == "can only push files to a running CT\n"
    r = pctx("pull", 9099, "/etc/hostname", str(tmp_path / "x"))
    assert r.rc != 0 and r.err == "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 664.\n"


# ---------------------------------------------------------------- §3.2 locks

def test_locked_ct_refuses_set_destroy_and_start_in_task(pctx, template, state):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--lock", "backup").rc == 0
    for args in (("set", 9001, "--memory", "1024"), ("destroy", 9001)):
        r = pctx(*args)
        assert r.rc != 0 and r.err == "CT is locked (backup)\n", args
    r = pctx("start", 9001)
    assert r.rc == 255 and r.err == "CT is locked (backup)\n"


def test_mounted_lock_does_not_block_start_and_stop(pctx, template):
    create(pctx, template, 9001)
    assert pctx("mount", 9001).out == "mounted CT 9001 in '/var/lib/lxc/9001/rootfs'\n"
    assert "lock: mounted\n" in pctx("config", 9001).out
    assert pctx("start", 9001).rc == 0
    assert pctx("stop", 9001).rc == 0
    assert pctx("shutdown", 9001).rc != 0
    assert pctx("unmount", 9001).rc == 0
    assert "lock" not in pctx("config", 9001).out


def test_unlock(pctx, template):
    create(pctx, template, 9001)
    r = pctx("unlock", 9001)
    assert r.rc != 0 and r.err == "no lock found trying to remove any lock\n"
    assert pctx("set", 9001, "--lock", "snapshot").rc == 0
    r = pctx("unlock", 9001)
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert "lock" not in pctx("config", 9001).out


def test_unmount_with_other_lock(pctx, template):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--lock", "backup").rc == 0
    r = pctx("unmount", 9001)
    assert r.rc != 0 and r.err == "found lock 'backup' trying to remove 'mounted' lock\n"


def test_file_lock_timeout(pctx, template, state):
    create(pctx, template, 9001)
    pid = faults.hold_lock(state, 9001, 30)
    try:
        t0 = time.monotonic()
        r = pctx("set", 9001, "--memory", "1024")
        took = time.monotonic() - t0
    finally:
        faults.release_lock(state, 9001)
    assert pid > 0
    assert r.rc != 0
    assert r.err == "trying to acquire lock...\ncan't lock file '/run/lock/lxc/pve-config-9001.lock' - got timeout\n"
    assert took >= 9.5


# ---------------------------------------------------------------- §3.3 state / protection / template

def test_destroy_running_ct(pctx, template, state):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    r = pctx("destroy", 9001)
    assert r.rc != 0 and r.err == "unable to destroy CT 9001 - container is running\n"
    r = pctx("destroy", 9001, "--force")
    # lvremove's line: pve-storage LvmThinPlugin.pm free_image (run_command without outfunc)
    assert r.rc == 0 and r.out == ('forced to stop CT 9001 before destroying!\n'
                                   '  Logical volume "vm-9001-disk-0" successfully removed.\n')
    assert not lxc_configs(state).path(9001).exists()


def test_destroy_frees_volumes(pctx, template, state):
    create(pctx, template, 9001, "--mp0", "local-lvm:1,mp=/data")
    base = state.storage_base_path("local-lvm")
    assert sorted(p.name for p in base.iterdir() if not p.name.endswith(".pvesim-size")) == ["vm-9001-disk-0", "vm-9001-disk-1"]
    r = pctx("destroy", 9001, "--purge")
    assert r.rc == 0 and r.out == ('  Logical volume "vm-9001-disk-0" successfully removed.\n'
                                   '  Logical volume "vm-9001-disk-1" successfully removed.\n'
                                   "purging CT 9001 from related configurations..\n")
    assert list(base.iterdir()) == []
    assert pctx("list").out == ""


def test_protection(pctx, template):
    create(pctx, template, 9001, "--protection", "1")
    r = pctx("destroy", 9001)
    assert r.rc != 0 and r.err == "can't remove CT 9001 - protection mode enabled\n"
    r = pctx("set", 9001, "--rootfs", "local-lvm:2")
    assert r.rc != 0 and r.err == "can't update CT 9001 drive 'rootfs' - protection mode enabled\n"


def test_template_conversion_rules(pctx, template):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    r = pctx("template", 9001)
    assert r.rc != 0 and r.err == "you can't convert a CT to template if the CT is running\n"
    assert pctx("stop", 9001).rc == 0
    r = pctx("template", 9001)
    assert (r.rc, r.out, r.err) == (0, "", "")
    assert "template: 1\n" in pctx("config", 9001).out
    r = pctx("template", 9001)
    assert r.rc != 0 and r.err == "you can't convert a template to a template\n"
    r = pctx("start", 9001)
    assert r.rc == 255 and r.err == "you can't start a CT if it's a template\n"


def test_set_errors(pctx, template):
    create(pctx, template, 9001)
    cases = [
        (("set", 9001), "no options specified\n"),
        (("set", 9001, "--delete", "memory"), "unable to delete required option 'memory'\n"),
        (("set", 9001, "--delete", "unprivileged"), "unable to delete read-only option: 'unprivileged'\n"),
        (("set", 9001, "--unprivileged", "0"), "unable to modify read-only option: 'unprivileged'\n"),
        (("set", 9001, "--digest", "0" * 40, "--memory", "600"),
         "detected modified configuration - file changed by other user? Try again.\n"),
        (("set", 9001, "--memory", "1024", "--delete", "memory"),
         "400 Parameter verification failed.\ndelete: you can't use '-memory' and -delete memory' at the same time\n"
         "pct set <vmid> [OPTIONS]\n"),
        (("set", 9001, "--delete", "cores", "--revert", "cores"),
         "400 Parameter verification failed.\ndelete: you can't use '-delete cores' and '-revert cores' at the same time\n"
         "pct set <vmid> [OPTIONS]\n"),
        (("set", 9001, "--delete", "foo"), "400 Parameter verification failed.\ndelete: unknown option 'foo'\npct set <vmid> [OPTIONS]\n"),
    ]
    for args, err in cases:
        r = pctx(*args)
        assert r.rc != 0 and (r.out, r.err) == ("", err), args


def test_delete_unset_key_is_only_a_warning(pctx, template):
    create(pctx, template, 9001)
    r = pctx("set", 9001, "--delete", "cores")
    assert (r.rc, r.out, r.err) == (0, "", "cannot delete 'cores' - not set in current configuration!\n")


def test_digest_match_allows_update(pctx, template, state):
    create(pctx, template, 9001)
    digest = parse_config(lxc_configs(state).path(9001).read_text())["digest"]
    assert pctx("set", 9001, "--digest", digest, "--memory", "600").rc == 0


# ---------------------------------------------------------------- §0.2 parameter errors and exit codes

@pytest.mark.parametrize("args,err", [
    (("set", 9001, "--memory", "8"), "memory: value must have a minimum value of 16"),
    (("set", 9001, "--cores", "9000"), "cores: value must have a maximum value of 8192"),
    (("set", 9001, "--cmode", "bogus"), "cmode: value 'bogus' does not have a value in the enumeration 'shell, console, tty'"),
    (("set", 9001, "--memory", "x"), "memory: type check ('integer') failed - got 'x'"),
    (("status", "abc"), "vmid: type check ('integer') failed - got 'abc'"),
    # pve-vmid's format (pve-common JSONSchema.pm pve_verify_vmid) is checked before minimum
    # (a format dies with a newline: PVE::Exception's stringify leaves a blank line)
    (("status", "99"), "vmid: invalid format - value does not look like a valid VM ID\n"),
])
def test_parameter_verification_failed(pctx, template, args, err):
    create(pctx, template, 9001)
    r = pctx(*args)
    assert r.rc != 0
    assert r.err == "400 Parameter verification failed.\n%s\npct %s <vmid> [OPTIONS]\n" % (err, args[0])


def test_parse_errors(pctx):
    r = pctx("status", 9001, 9002)
    assert r.rc != 0 and r.err == "400 too many arguments\npct status <vmid> [OPTIONS]\n"
    r = pctx("status")
    assert r.rc != 0 and r.err == "400 not enough arguments\npct status <vmid> [OPTIONS]\n"
    r = pctx("exec", 9001, "ls", "-la")
    assert r.rc != 0 and r.err.endswith("400 unable to parse option\npct exec <vmid> [<extra-args>] [OPTIONS]\n")


def test_unknown_command(pctx):
    r = pctx("frobnicate", "1")
    assert r.rc == 255
    # CLIHandler resolve_cmd stops at the first unknown word: only that one is named
    assert r.err.startswith("ERROR: unknown command 'pct frobnicate'\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]\n\n")


def test_single_dash_options_and_optional_boolean_values(pctx, template):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "-memory", "700", "--onboot").rc == 0
    assert pctx("set", 9001, "--protection", "off", "-console=no").rc == 0
    out = pctx("config", 9001).out
    assert "memory: 700\n" in out and "onboot: 1\n" in out and "protection: 0\n" in out and "console: 0\n" in out


def test_storage_without_rootdir(pctx, template):
    r = pctx("create", 9001, template)
    assert r.rc != 0
    assert r.err == ("400 Parameter verification failed.\nstorage: storage 'local' does not support container directories\n"
                     "pct create <vmid> <ostemplate> [OPTIONS]\n")


def test_unknown_storage(pctx, template):
    r = pctx("create", 9001, template, "--rootfs", "nope:8")
    assert r.rc != 0 and r.err == "storage 'nope' does not exist\n"


def test_template_of_wrong_content_type(pctx):
    r = pctx("create", 9001, "local:iso/x.iso", "--rootfs", "local-lvm:1")
    assert r.rc != 0 and r.err == "unable to use volume local:iso/x.iso - content type needs to be 'vztmpl'\n"


def test_missing_template_fails_after_allocation_and_frees_volume(pctx, state):
    r = pctx("create", 9001, "local:vztmpl/nope.tar.gz", "--rootfs", "local-lvm:1")
    assert r.rc == 255
    assert r.out == ('  Logical volume "vm-9001-disk-0" created.\n'
                     "volume 'local:vztmpl/nope.tar.gz' does not exist\n"
                     '  Logical volume "vm-9001-disk-0" successfully removed.\n')
    assert r.err == "unable to create CT 9001 - volume 'local:vztmpl/nope.tar.gz' does not exist\n"
    assert not lxc_configs(state).path(9001).exists()
    assert list(state.storage_base_path("local-lvm").iterdir()) == []


def test_mount_points_without_rootfs(pctx, template):
    r = pctx("create", 9001, template, "--storage", "local-lvm", "--mp0", "local-lvm:1,mp=/data")
    assert r.rc != 0 and r.err == "mount points configured, but 'rootfs' not set - aborting\n"


def test_create_task_output_order(pctx, template):
    r = create(pctx, template, 9001)
    # lvcreate's line first: pve-storage LvmThinPlugin.pm alloc_image (run_command without outfunc)
    assert r.out == ('  Logical volume "vm-9001-disk-0" created.\n'
                     "extracting archive '/var/lib/vz/template/cache/%s'\n" % template.split("/", 1)[1]
                     + re.search(r"Total bytes read: [^\n]*\n", r.out).group(0)
                     + "Detected container architecture: amd64\n")
    assert r.err == ""


def test_resize(pctx, template):
    create(pctx, template, 9001)
    r = pctx("resize", 9001, "rootfs", "+2G")
    assert (r.rc, r.err) == (0, "")
    assert "rootfs: local-lvm:vm-9001-disk-0,size=10G\n" in pctx("config", 9001).out
    r = pctx("resize", 9001, "rootfs", "4G")
    assert r.rc != 0 and r.err == "unable to shrink disk size\n"
    r = pctx("resize", 9001, "rootfs", "10G")
    assert r.rc != 0 and r.err == "disk is already at specified size\n"


def test_resize_task_failure_exits_0(pctx, template, state):
    """resize has no $upid_exit: a failed worker prints the error but pct exits 0 (§0.2)."""
    create(pctx, template, 9001)
    faults.add_fail(state, "resize", 1, "resize failed in worker")
    r = pctx("resize", 9001, "rootfs", "+1G")
    assert (r.rc, r.err) == (0, "resize failed in worker\n")


def test_please_run_as_root(pctx, monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    r = pctx("list")
    assert r.rc != 0 and r.err == "please run as root\n"


# ---------------------------------------------------------------- §6.2 tasks

def test_task_upid_log_and_status(pctx, template, state):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    r = pctx("start", 9099)
    assert r.rc == 255
    listed = tasks.list_tasks(state)
    start_ok = [t for t in listed if t["type"] == "vzstart" and t["id"] == "9001"][0]
    start_bad = [t for t in listed if t["type"] == "vzstart" and t["id"] == "9099"][0]
    assert re.match(r"^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:vzstart:9001:root@pam:$", start_ok["upid"])
    assert len(start_ok["upid"].split(":")) == 9
    st_ok = tasks.task_status(state, start_ok["upid"])
    assert (st_ok["status"], st_ok["exitstatus"]) == ("stopped", "OK")
    st_bad = tasks.task_status(state, start_bad["upid"])
    assert st_bad["exitstatus"] == "Configuration file 'nodes/pve/lxc/9099.conf' does not exist"
    log = tasks.task_log_path(state, start_bad["upid"]).read_text()
    assert log.endswith("\nTASK ERROR: Configuration file 'nodes/pve/lxc/9099.conf' does not exist\n")
    assert tasks.task_log_path(state, start_ok["upid"]).read_text().endswith("TASK OK\n")
    assert tasks.task_log_path(state, start_ok["upid"]).parent.name == "%X" % (start_ok["starttime"] & 0xF)


def test_warnings_are_success(pctx, template, state):
    """A task with warnings ends 'WARNINGS: n', pct prints the count on stderr and exits 0 (§3.6)."""
    env = Env(state, stdout=__import__("io").StringIO(), stderr=__import__("io").StringIO())

    def work(worker):
        worker.warn("something odd")

    upid = tasks.fork_worker(env, "vzstart", 9001, work)
    assert env.stdout.getvalue() == "WARN: something odd\n"
    assert env.stderr.getvalue() == "Task finished with 1 warning(s)!\n"
    assert tasks.task_status(state, upid)["exitstatus"] == "WARNINGS: 1"
    assert env.last_task.ok


# ---------------------------------------------------------------- API layer: §6.1, root@pam rules

def _api(state, method, path, params=None, user="root@pam"):
    env = Env(state, user=user, rpc="cli", stdout=__import__("io").StringIO(), stderr=__import__("io").StringIO(),
              permission_checker=lambda env, path, privs, any_of: True)
    return handlers.call(env, method, path, params or {})


def test_nextid_and_vmid_in_use(pctx, template, state):
    assert _api(state, "GET", "/cluster/nextid") == 100
    create(pctx, template, 100)
    assert _api(state, "GET", "/cluster/nextid") == 101
    with pytest.raises(PVEError) as ei:
        _api(state, "GET", "/cluster/nextid", {"vmid": "100"})
    assert (ei.value.status, ei.value.errors) == (400, {"vmid": "VM 100 already exists"})


def test_config_api_has_digest_and_typed_values(pctx, template, state):
    create(pctx, template, 9001, "--description", "x")
    conf = _api(state, "GET", "/nodes/pve/lxc/9001/config")
    assert conf["memory"] == 512 and conf["unprivileged"] == 1
    assert conf["description"] == "x\n"
    assert re.match(r"^[0-9a-f]{40}$", conf["digest"])


def test_status_current_has_ha(pctx, template, state):
    create(pctx, template, 9001)
    d = _api(state, "GET", "/nodes/pve/lxc/9001/status/current")
    assert d["ha"] == {"managed": 0} and d["status"] == "stopped" and d["vmid"] == 9001


def test_cluster_resources_guest_entry(pctx, template, state):
    create(pctx, template, 9001, "--hostname", "web", "--tags", "a")
    res = _api(state, "GET", "/cluster/resources", {"type": "vm"})
    assert res == [{"id": "lxc/9001", "type": "lxc", "vmid": 9001, "node": "pve", "status": "stopped", "name": "web",
                    "maxcpu": state.host_cpus, "cpu": 0, "maxmem": 536870912, "mem": 0, "maxdisk": 8589934592, "disk": 0,
                    "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0, "uptime": 0, "template": 0, "tags": "a"}]


def test_pending_api_array(pctx, template, state):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    assert pctx("set", 9001, "--arch", "arm64", "--delete", "swap").rc == 0
    items = {i["key"]: i for i in _api(state, "GET", "/nodes/pve/lxc/9001/pending")}
    assert items["arch"] == {"key": "arch", "value": "amd64", "pending": "arm64"}
    assert "swap" not in items  # swap deletion is hot-plugged


@pytest.mark.parametrize("key,value,msg", [
    ("mp0", "/srv,mp=/srv", "Permission check failed (mount point type bind is only allowed for root@pam)"),
    ("dev0", "/dev/null", "Permission check failed (configuring device passthrough is only allowed for root@pam)"),
    ("features", "keyctl=1", "Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)"),
    ("hookscript", "local:snippets/x.sh", "Permission check failed (changing the hookscript is only allowed for root@pam)"),
])
def test_root_pam_only_keys_refused_for_root_token(pctx, template, state, key, value, msg):
    create(pctx, template, 9001)
    with pytest.raises(PVEError) as ei:
        _api(state, "PUT", "/nodes/pve/lxc/9001/config", {key: value}, user="root@pam!ci")
    assert (ei.value.status, ei.value.message) == (403, msg)
    assert key not in _api(state, "GET", "/nodes/pve/lxc/9001/config")
    if key == "hookscript":  # GuestHelpers check_hookscript: an executable snippet
        script = state.storage_base_path("local") / "snippets" / "x.sh"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text("#!/bin/sh\n")
        script.chmod(0o755)
    # the real root@pam login may, and the change is made
    _api(state, "PUT", "/nodes/pve/lxc/9001/config", {key: value}, user="root@pam")
    assert _api(state, "GET", "/nodes/pve/lxc/9001/config")[key] == value


def test_nesting_only_needs_vm_allocate(pctx, template, state):
    """A token may toggle nesting on an unprivileged CT, and what it needs for that is VM.Allocate."""
    create(pctx, template, 9001)
    asked = []

    def env_granting(granted):
        def checker(env, path, privs, any_of):
            asked.append((path, tuple(privs)))
            return set(privs) <= granted

        return Env(state, user="alice@pve!ci", rpc="cli", stdout=__import__("io").StringIO(), stderr=__import__("io").StringIO(),
                   permission_checker=checker)

    without_allocate = {"VM.Config.Options", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Disk", "VM.Config.Network"}
    with pytest.raises(PVEError) as ei:
        handlers.call(env_granting(without_allocate), "PUT", "/nodes/pve/lxc/9001/config", {"features": "nesting=1"})
    assert ei.value.status == 403 and ("/vms/9001", ("VM.Allocate",)) in asked
    assert "features" not in _api(state, "GET", "/nodes/pve/lxc/9001/config")
    handlers.call(env_granting(without_allocate | {"VM.Allocate"}), "PUT", "/nodes/pve/lxc/9001/config", {"features": "nesting=1"})
    assert _api(state, "GET", "/nodes/pve/lxc/9001/config")["features"] == "nesting=1"


def test_rest_booleans_are_strict_but_cli_accepts_words(pctx, template, state):
    create(pctx, template, 9001)
    with pytest.raises(PVEError) as ei:
        _api(state, "PUT", "/nodes/pve/lxc/9001/config", {"onboot": "True"})
    assert ei.value.errors == {"onboot": "type check ('boolean') failed - got 'True'"}


def test_rest_start_of_missing_ct_returns_upid_with_failed_task(state):
    env = Env(state, rpc="https", stdout=__import__("io").StringIO(), stderr=__import__("io").StringIO())
    upid = handlers.call(env, "POST", "/nodes/pve/lxc/9099/status/start", {})
    for _attempt in range(100):
        st = tasks.task_status(state, upid)
        if st and st["status"] == "stopped":
            break
        time.sleep(0.05)
    assert st["exitstatus"] == "Configuration file 'nodes/pve/lxc/9099.conf' does not exist"


def test_run_pct_helper_isolated(state):
    assert run_pct(state, "list").rc == 0


# ---------------------------------------------------------------- template volumes, guest setup, systemd warning

def test_template_renames_volumes_to_base(pctx, template, state):
    create(pctx, template, 9001, "--mp0", "local-lvm:1,mp=/data")
    assert pctx("template", 9001).rc == 0
    out = pctx("config", 9001).out
    assert "rootfs: local-lvm:base-9001-disk-0,size=8G\n" in out
    assert "mp0: local-lvm:base-9001-disk-1,mp=/data,size=1G\n" in out
    assert pctx("destroy", 9001).rc == 0
    assert list(state.storage_base_path("local-lvm").iterdir()) == []


def test_guest_setup_files(tmp_path):
    from pvesim.backend import setup_guest

    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")
    conf = {"ostype": "debian", "hostname": "test1", "searchdomain": "proxmox.com",
            "net0": "name=eth0,bridge=vmbr0,ip=1.2.3.4/24,gw=1.2.3.1", "net1": "name=eth1,bridge=vmbr0,ip=10.2.3.4/24",
            "net2": "name=eth2,bridge=vmbr0,ip=manual"}
    setup_guest(conf, 9001, root)
    assert (root / "etc/hostname").read_text() == "test1\n"
    assert (root / "etc/hosts").read_text() == ("# --- BEGIN PVE ---\n127.0.0.1 localhost.localnet localhost\n"
                                                "::1 localhost.localnet localhost\n1.2.3.4 test1.proxmox.com test1\n"
                                                "# --- END PVE ---\n127.0.0.1 localhost\n")
    assert (root / "etc/network/interfaces").read_text() == (
        "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n\taddress 1.2.3.4\n\tnetmask 255.255.255.0\n"
        "\tgateway 1.2.3.1\n\nauto eth1\niface eth1 inet static\n\taddress 10.2.3.4\n\tnetmask 255.255.255.0\n\n"
        "auto eth2\niface eth2 inet manual\n")
    # idempotent: the PVE block is replaced, not duplicated
    setup_guest(conf, 9001, root)
    assert (root / "etc/hosts").read_text().count("# --- BEGIN PVE ---") == 1


def test_systemd_nesting_warning(tmp_path, state):
    import io
    import os

    from pvesim.backend import warn_systemd_nesting

    root = tmp_path / "root"
    (root / "sbin").mkdir(parents=True)
    (root / "usr/lib/systemd").mkdir(parents=True)
    (root / "usr/lib/systemd/libsystemd-shared-252.so").write_text("")
    os.symlink("../lib/systemd/systemd", str(root / "sbin/init"))
    env = Env(state, stdout=io.StringIO(), stderr=io.StringIO())

    def work(worker):
        warn_systemd_nesting(worker, {"features": "keyctl=1"}, root)
        warn_systemd_nesting(worker, {"features": "nesting=1"}, root)

    upid = tasks.fork_worker(env, "vzcreate", 9001, work)
    assert env.stdout.getvalue() == "WARN: Systemd 252 detected. You may need to enable nesting.\n"
    assert env.stderr.getvalue() == "Task finished with 1 warning(s)!\n"
    assert tasks.task_status(state, upid)["exitstatus"] == "WARNINGS: 1"


# ---------------------------------------------------------------- revert, unreferenced disks, version, storage, task log

def test_revert_drops_pending_change(pctx, template):
    create(pctx, template, 9001)
    assert pctx("start", 9001).rc == 0
    assert pctx("set", 9001, "--arch", "arm64", "--timezone", "UTC").rc == 0
    assert pctx("set", 9001, "--revert", "arch").rc == 0
    out = pctx("pending", 9001).out
    assert "new arch" not in out and "new timezone: UTC\n" in out
    r = pctx("set", 9001, "--arch", "i386", "--revert", "arch")
    assert r.err == ("400 Parameter verification failed.\nrevert: you can't use '-arch' and '-revert arch' at the same time\n"
                     "pct set <vmid> [OPTIONS]\n")


def test_destroy_unreferenced_disks(pctx, template, state):
    from pvesim import storage

    create(pctx, template, 9001)
    stray = storage.alloc_disk(state, "local-lvm", 9001, 1024)
    assert stray == "local-lvm:vm-9001-disk-1"
    assert pctx("destroy", 9001).rc == 0
    assert storage.volume_exists(state, stray)  # not referenced, not asked for: kept
    create(pctx, template, 9001)  # re-uses disk-0; disk-1 still lies around
    assert "rootfs: local-lvm:vm-9001-disk-0,size=8G\n" in pctx("config", 9001).out
    assert pctx("destroy", 9001, "--destroy-unreferenced-disks", "1").rc == 0
    assert list(state.storage_base_path("local-lvm").iterdir()) == []


def test_version_and_storage_content(pctx, template, state):
    v = _api(state, "GET", "/version")
    assert v["release"] == "9.1" and v["version"].startswith("9.1")
    create(pctx, template, 9001)
    content = _api(state, "GET", "/nodes/pve/storage/local/content", {"content": "vztmpl"})
    assert [c["volid"] for c in content] == [template]
    assert content[0]["content"] == "vztmpl" and content[0]["format"] == "tgz" and content[0]["size"] > 0
    imgs = _api(state, "GET", "/nodes/pve/storage/local-lvm/content")
    assert [(c["volid"], c["vmid"], c["size"]) for c in imgs] == [("local-lvm:vm-9001-disk-0", 9001, 8 * 1024 ** 3)]
    st = _api(state, "GET", "/nodes/pve/storage/local-lvm/status")
    assert st["type"] == "lvmthin" and st["active"] == 1 and st["total"] > 0
    with pytest.raises(PVEError) as ei:
        _api(state, "GET", "/nodes/pve/storage/nope/status")
    assert ei.value.message == "storage 'nope' does not exist"


def test_task_log_api(pctx, template, state):
    r = pctx("create", 9001, "local:vztmpl/nope.tar.gz", "--rootfs", "local-lvm:1")
    assert r.rc == 255
    upid = [t for t in tasks.list_tasks(state) if t["type"] == "vzcreate"][0]["upid"]
    log = _api(state, "GET", "/nodes/pve/tasks/%s/log" % upid)
    assert log == [{"n": 1, "t": '  Logical volume "vm-9001-disk-0" created.'},
                   {"n": 2, "t": "volume 'local:vztmpl/nope.tar.gz' does not exist"},
                   {"n": 3, "t": '  Logical volume "vm-9001-disk-0" successfully removed.'}, {"n": 4, "t": ""},
                   {"n": 5, "t": "TASK ERROR: unable to create CT 9001 - volume 'local:vztmpl/nope.tar.gz' does not exist"}]
    st = _api(state, "GET", "/nodes/pve/tasks/%s/status" % upid)
    assert st["status"] == "stopped" and st["exitstatus"].startswith("unable to create CT 9001")
    assert st["type"] == "vzcreate" and st["id"] == "9001" and st["user"] == "root@pam" and st["node"] == "pve"


def test_node_mismatch(state):
    with pytest.raises(PVEError) as ei:
        _api(state, "GET", "/nodes/other/lxc")
    assert ei.value.message == "no such cluster node 'other'"


def test_root_password_is_hashed_into_shadow(tmp_path):
    from pvesim.backend import set_root_password

    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\nbin:x:1:1::/:/bin/false\n")
    (root / "etc/shadow").write_text("root:!:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n")
    set_root_password(root, "s3cret-pw")
    line = (root / "etc/shadow").read_text().splitlines()[0]
    m = re.match(r"^root:(\$6\$[a-zA-Z0-9./]{1,16}\$[a-zA-Z0-9./]+):(\d+):0:99999:7:::$", line)
    assert m, line
    import subprocess

    salt = m.group(1).split("$")[2]
    expect = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "s3cret-pw"], stdout=subprocess.PIPE,
                            check=True).stdout.decode().strip()
    assert m.group(1) == expect
    set_root_password(root, "$5$SALT$PASS")
    assert (root / "etc/shadow").read_text().startswith("root:$5$SALT$PASS:")
    assert (root / "etc/passwd").read_text().startswith("root:x:0:0:")


def test_interfaces_api_state_mode(pctx, template, state):
    create(pctx, template, 9001, "--net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,hwaddr=BC:24:11:00:00:01")
    assert _api(state, "GET", "/nodes/pve/lxc/9001/interfaces") is None  # not running
    assert pctx("start", 9001).rc == 0
    res = _api(state, "GET", "/nodes/pve/lxc/9001/interfaces")
    assert res[1] == {"name": "eth0", "inet": "10.0.0.5/24", "hwaddr": "bc:24:11:00:00:01", "hardware-address": "bc:24:11:00:00:01",
                      "ip-addresses": [{"ip-address-type": "inet", "ip-address": "10.0.0.5", "prefix": 24}]}
    assert res[0]["name"] == "lo" and res[0]["inet"] == "127.0.0.1/8"


def test_set_mount_point_allocates_and_rescans(pctx, template, state):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--mp0", "local-lvm:2,mp=/srv,backup=1").rc == 0
    assert "mp0: local-lvm:vm-9001-disk-1,mp=/srv,backup=1,size=2G\n" in pctx("config", 9001).out
    # re-setting an existing volume re-reads its size and re-prints the property string
    assert pctx("set", 9001, "--mp0", "mp=/srv2,volume=local-lvm:vm-9001-disk-1,size=1G").rc == 0
    assert "mp0: local-lvm:vm-9001-disk-1,mp=/srv2,size=2G\n" in pctx("config", 9001).out
    # deleting it on a stopped CT keeps the volume as unusedN
    assert pctx("set", 9001, "--delete", "mp0").rc == 0
    out = pctx("config", 9001).out
    assert "mp0" not in out and "unused0: local-lvm:vm-9001-disk-1\n" in out
    assert pctx("set", 9001, "--delete", "unused0").rc == 0
    assert sorted(p.name for p in state.storage_base_path("local-lvm").iterdir() if "size" not in p.name) == ["vm-9001-disk-0"]


def test_rest_create_in_background_then_pct_sees_it(state, template):
    """Both front ends share one state directory: an https-mode create (background task) is
    visible to pct, with the 'create' lock while it runs."""
    import io

    from pvesim import faults as flt

    flt.add_slow(state, 1.0, "vzcreate")
    env = Env(state, user="root@pam", rpc="https", stdout=io.StringIO(), stderr=io.StringIO())
    upid = handlers.call(env, "POST", "/nodes/pve/lxc", {"vmid": "9002", "ostemplate": template, "rootfs": "local-lvm:1",
                                                         "hostname": "rest", "unprivileged": "1"})
    assert re.match(r"^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:vzcreate:9002:root@pam:$", upid)
    assert tasks.task_status(state, upid)["status"] == "running"
    assert run_pct(state, "list").out.splitlines()[1] == "9002       stopped    create       CT9002              "
    for _attempt in range(200):
        st = tasks.task_status(state, upid)
        if st["status"] == "stopped":
            break
        time.sleep(0.05)
    assert st["exitstatus"] == "OK"
    assert "hostname: rest\n" in run_pct(state, "config", 9002).out


def test_clone(pctx, template, state):
    create(pctx, template, 9001, "--hostname", "src", "--net0", "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01",
           "--mp0", "local-lvm:1,mp=/data")
    r = pctx("clone", 9001, 9002, "--hostname", "copy")
    assert (r.rc, r.err) == (0, ""), r
    assert r.out == ("creating a clone of container 9001 with ID 9002\n"
                     "create full clone of mountpoint rootfs (local-lvm:vm-9001-disk-0)\n"
                     '  Logical volume "vm-9002-disk-0" created.\n'
                     "create full clone of mountpoint mp0 (local-lvm:vm-9001-disk-1)\n"
                     '  Logical volume "vm-9002-disk-1" created.\n')
    out = pctx("config", 9002).out
    assert "hostname: copy\n" in out
    assert "rootfs: local-lvm:vm-9002-disk-0,size=8G\n" in out and "mp0: local-lvm:vm-9002-disk-1,mp=/data,size=1G\n" in out
    assert "hwaddr=BC:24:11:00:00:01" not in out and re.search(r"net0: name=eth0,bridge=vmbr0,hwaddr=" + MAC + ",type=veth\n", out)
    assert "lock" not in pctx("config", 9001).out
    # a running source can only be fully cloned from a snapshot
    assert pctx("start", 9001).rc == 0
    r = pctx("clone", 9001, 9003)
    assert r.rc != 0 and r.err == "Full clone of a running container is only possible from a snapshot\n"
    assert "lock" not in pctx("config", 9001).out and not lxc_configs(state).path(9003).exists()
    r = pctx("clone", 9001, 9002)
    assert r.rc != 0 and r.err == "CT 9002 already exists on node 'pve'\n"
    # templates are linked-cloned by default; a linked clone cannot move storage
    assert pctx("stop", 9001).rc == 0 and pctx("template", 9001).rc == 0
    r = pctx("clone", 9001, 9004, "--storage", "local-lvm")
    assert r.rc != 0 and r.err == "parameter 'storage' not allowed for linked clones\n"
    r = pctx("clone", 9001, 9004)
    assert r.rc == 0 and "create linked clone of mount point rootfs (local-lvm:base-9001-disk-0)\n" in r.out


# ---------------------------------------------------------------- OS detection (PVE::LXC::Setup)

@pytest.mark.parametrize("files,expect,lines", [
    ({"etc/os-release": b'NAME="Debian"\nID=debian\n'}, "debian", []),
    ({"etc/os-release": b'ID="rocky"\n'}, "centos", []),
    ({"etc/os-release": b"ID=weird\n", "etc/debian_version": b"12.7\n"}, "debian",
     ["unknown ID 'weird' in /etc/os-release file, trying fallback detection"]),
    ({"etc/lsb-release": b"DISTRIB_ID=Ubuntu\n"}, "ubuntu",
     []),
    ({}, "unmanaged", ["/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'"]),
])
def test_ostype_detection(files, expect, lines):
    from pvesim.backend import detect_ostype

    got = []
    assert detect_ostype(files.get, got.append) == expect
    assert got == lines


def test_ostype_detection_unknown_with_os_release_fails():
    from pvesim.backend import detect_ostype

    with pytest.raises(PVEError) as ei:
        detect_ostype({"etc/os-release": b"ID=weird\n"}.get, lambda m: None)
    assert ei.value.message == "unable to detect OS distribution"


def test_resolve_in_root_follows_symlinks_inside_the_root(tmp_path):
    import os

    from pvesim.backend import read_in_root

    root = tmp_path / "r"
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "usr/lib/os-release").write_text("ID=debian\n")
    os.symlink("../usr/lib/os-release", str(root / "etc/os-release"))
    os.symlink("usr/bin", str(root / "bin"))
    (root / "usr/bin/dash").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 11 + b"\x3e\x00" + b"\0" * 40)
    os.symlink("dash", str(root / "usr/bin/sh"))
    os.symlink("/etc/shadow", str(root / "etc/evil"))  # absolute: stays inside the root
    assert read_in_root(root, "etc/os-release") == b"ID=debian\n"
    assert read_in_root(root, "etc/evil") is None
    from pvesim.backend import LxcBackend

    assert LxcBackend(None).detect_arch(root) == "amd64"


def test_create_without_os_release_falls_back_to_unmanaged(pctx, state, tmp_path):
    import tarfile

    src = tmp_path / "root"
    (src / "bin").mkdir(parents=True)
    (src / "bin/true").write_text("")
    dest = state.template_cache_dir("local") / "bare_1_amd64.tar.gz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(str(dest), "w:gz") as tar:
        tar.add(str(src), arcname=".")
    r = pctx("create", 9001, "local:vztmpl/bare_1_amd64.tar.gz", "--rootfs", "local-lvm:1")
    assert r.rc == 0, r
    assert "/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'\n" in r.out
    assert "ostype: unmanaged\n" in pctx("config", 9001).out
