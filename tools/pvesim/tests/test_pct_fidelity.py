# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pct`` where pvesim used to differ from the real one (issue 15, fidelity items), output
compared literally.  Each test names the Proxmox source that decides it (pve-common,
pve-container, pve-storage as of the versions the contract cites)."""

from __future__ import annotations

import io
import sys

import pytest
from test_pct_conformance import create

from pvesim import pct, tasks
from pvesim.config import lxc_configs


def verification_failed(usage, *errors):
    """PVE::Exception for ``raise_param_exc``: the message, one line per parameter, the usage.
    A message that ends in a newline (every format ``die``s with one) leaves a blank line."""
    return "".join(["400 Parameter verification failed.\n"] + ["%s\n" % e for e in errors] + [usage + "\n"])

# ------------------------------------------------------------------ the option parser
# pve-common JSONSchema.pm get_options: '-list' formats become `name=s@` and are joined with ','


def test_repeated_list_options_are_joined(pctx, template):
    create(pctx, template, 9001)
    r = pctx("set", 9001, "--tags", "b", "--tags", "a", "--nameserver", "1.1.1.1", "--nameserver", "8.8.8.8",
             "--searchdomain", "a.example", "--searchdomain", "b.example")
    assert (r.rc, r.out, r.err) == (0, "", "")
    conf = pctx("config", 9001).out
    assert "tags: a;b\n" in conf
    assert "nameserver: 1.1.1.1 8.8.8.8\n" in conf
    assert "searchdomain: a.example b.example\n" in conf


def test_repeated_plain_option_keeps_the_last_value(pctx, template):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--memory", "600", "--memory", "700").rc == 0
    assert "memory: 700\n" in pctx("config", 9001).out


@pytest.mark.parametrize("word", ["maybe", "2"])
def test_bad_boolean_is_taken_then_refused(pctx, template, word):
    # booleans are `name:s`: Getopt takes the next word as the value; then
    # get_options: "unable to parse boolean option"
    create(pctx, template, 9001)
    r = pctx("set", 9001, "--onboot", word)
    assert (r.rc, r.out, r.err) == (255, "", "400 unable to parse boolean option\npct set <vmid> [OPTIONS]\n")


def test_boolean_before_an_option_takes_no_value(pctx, template):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--onboot", "--protection", "0").rc == 0
    conf = pctx("config", 9001).out
    assert "onboot: 1\n" in conf and "protection: 0\n" in conf


def test_unknown_options_are_all_reported(pctx):
    r = pctx("config", 9001, "--foo", "1", "--bar")
    assert (r.rc, r.out, r.err) == (255, "", "Unknown option: foo\nUnknown option: bar\n"
                                             "400 unable to parse option\npct config <vmid> [OPTIONS]\n")


def test_options_abbreviate_to_uniqueness(pctx, template):
    # Getopt::Long's default auto_abbrev (PVE only sets prefix_pattern)
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--memo", "640").rc == 0
    assert "memory: 640\n" in pctx("config", 9001).out
    r = pctx("set", 9001, "--s", "1")
    assert r.rc == 255
    assert r.err.startswith("Option s is ambiguous (searchdomain, ")


# ------------------------------------------------------------------ vmid (pve-vmid before minimum/maximum)
# pve-common JSONSchema.pm pve_verify_vmid (^[1-9][0-9]{2,8}$), check_prop: format before maximum/minimum

@pytest.mark.parametrize("vmid", ["0101", "99", "1000000000"])
def test_vmid_format_is_checked_first(pctx, vmid):
    r = pctx("config", vmid)
    assert (r.rc, r.out, r.err) == (255, "", verification_failed(
        "pct config <vmid> [OPTIONS]", "vmid: invalid format - value does not look like a valid VM ID\n"))


def test_negative_vmid_is_an_unknown_option(pctx):
    r = pctx("config", "-5")
    assert (r.rc, r.out, r.err) == (255, "", "Unknown option: 5\n400 unable to parse option\npct config <vmid> [OPTIONS]\n")


# ------------------------------------------------------------------ tags

def test_invalid_tag(pctx, template):
    # pve-common JSONSchema.pm pve_verify_tag
    create(pctx, template, 9001)
    r = pctx("set", 9001, "--tags", "ok;b@d")
    assert (r.rc, r.out, r.err) == (255, "", verification_failed(
        "pct set <vmid> [OPTIONS]", "tags: invalid format - invalid characters in tag\n"))


# ------------------------------------------------------------------ usage lines
# pve-common RESTHandler.pm getopt_usage ('short'): "$prefix $args", " [OPTIONS]" only with options

@pytest.mark.parametrize("args, usage", [
    (("pending",), "pct pending <vmid>\n"),
    (("unlock",), "pct unlock <vmid>\n"),
    (("listsnapshot",), "pct listsnapshot <vmid>\n"),
    (("list", "x"), "pct list \n"),
])
def test_usage_lines_without_options(pctx, args, usage):
    r = pctx(*args)
    msg = "too many arguments" if len(args) > 1 else "not enough arguments"
    assert (r.rc, r.out, r.err) == (255, "", "400 %s\n%s" % (msg, usage))


FULL_USAGE = """USAGE: pct <COMMAND> [ARGS] [OPTIONS]

       pct clone <vmid> <newid> [OPTIONS]
       pct create <vmid> <ostemplate> [OPTIONS]
       pct destroy <vmid> [OPTIONS]
       pct list\x20
       pct migrate <vmid> <target> [OPTIONS]
       pct move-volume <vmid> <volume> [<storage>] [<target-vmid>] [<target-volume>] [OPTIONS]
       pct pending <vmid>
       pct resize <vmid> <disk> <size> [OPTIONS]
       pct restore <vmid> <ostemplate> [OPTIONS]
       pct template <vmid>

       pct config <vmid> [OPTIONS]
       pct set <vmid> [OPTIONS]

       pct delsnapshot <vmid> <snapname> [OPTIONS]
       pct listsnapshot <vmid>
       pct rollback <vmid> <snapname> [OPTIONS]
       pct snapshot <vmid> <snapname> [OPTIONS]

       pct reboot <vmid> [OPTIONS]
       pct resume <vmid>
       pct shutdown <vmid> [OPTIONS]
       pct start <vmid> [OPTIONS]
       pct stop <vmid> [OPTIONS]
       pct suspend <vmid>

       pct console <vmid> [OPTIONS]
       pct cpusets\x20
       pct df <vmid>
       pct enter <vmid> [OPTIONS]
       pct exec <vmid> [<extra-args>] [OPTIONS]
       pct fsck <vmid> [OPTIONS]
       pct fstrim <vmid> [OPTIONS]
       pct mount <vmid>
       pct pull <vmid> <path> <destination> [OPTIONS]
       pct push <vmid> <file> <destination> [OPTIONS]
       pct remote-migrate <vmid> [<target-vmid>] <target-endpoint> --target-bridge <string> --target-storage <string> [OPTIONS]
       pct rescan  [OPTIONS]
       pct status <vmid> [OPTIONS]
       pct unlock <vmid>
       pct unmount <vmid>

       pct help [<extra-args>] [OPTIONS]
"""


def test_no_command_usage_is_grouped_as_clihandler_prints_it(pctx):
    # pve-common CLIHandler.pm print_usage_short: blank line after USAGE:, commands sorted by
    # class (pct.pm $cmddef) then name, a blank line between classes, `help` (PVE::CLIHandler) last
    r = pctx()
    assert (r.rc, r.out, r.err) == (255, "", "ERROR: no command specified\n" + FULL_USAGE)
    assert pct.short_usage() == FULL_USAGE


def test_unknown_command_names_only_the_unknown_word(pctx):
    # CLIHandler.pm resolve_cmd stops at the first word that is no command
    r = pctx("frobnicate", "1", "2")
    assert (r.rc, r.out, r.err) == (255, "", "ERROR: unknown command 'pct frobnicate'\n" + FULL_USAGE)


def test_unique_command_prefix_expands(pctx):
    # CLIHandler.pm expand_command_name with enforce_exact
    r = pctx("pend", 9001)
    assert (r.rc, r.err) == (255, "Configuration file 'nodes/pve/lxc/9001.conf' does not exist\n")
    r = pctx("li")
    assert r.err.startswith("ERROR: unknown command 'pct li'\n")


# ------------------------------------------------------------------ LVM tool output (contract 2.6)
# pve-storage LvmThinPlugin.pm alloc_image/free_image run lvcreate/lvremove through run_command
# without an output handler: their lines reach the caller's STDOUT (the task log in a task)

def test_lvm_lines_outside_a_task(pctx, template):
    create(pctx, template, 9001)
    r = pctx("set", 9001, "--mp0", "local-lvm:1,mp=/data")
    assert (r.rc, r.out, r.err) == (0, '  Logical volume "vm-9001-disk-1" created.\n', "")
    assert pctx("set", 9001, "--delete", "mp0").rc == 0
    r = pctx("set", 9001, "--delete", "unused0")
    assert (r.rc, r.out, r.err) == (0, '  Logical volume "vm-9001-disk-1" successfully removed.\n', "")


# Thick LVM (pve-storage 9.1.0..9.1.7, LVMPlugin.pm free_image -> free_lvm_volumes_locked, named
# free_lvm_volumes in 9.1.0, same body): without `saferemove` (the storage.cfg default, unset
# here) each volume gets `lvremove -f <vg>/<name>` through run_command with only `errmsg`, so
# LVM2's "Logical volume ... successfully removed." (lib/metadata/lv_manip.c lv_remove_single,
# log_print level -> stdout) reaches STDOUT, and no cleanup worker is returned: Storage.pm
# vdisk_free forks no `imgdel` task, the line stays in the caller's task (here vzdestroy).
# With `saferemove 1` the task would print lvrename's `Renamed ...` line and fork an `imgdel`
# task whose zero-out output depends on the block device; pvesim does not model that.

@pytest.fixture
def thick_lvm(state):
    """A thick LVM storage `thick` (storage.cfg defaults: no saferemove)."""
    cfg = state.storage_config()
    cfg["thick"] = {"type": "lvm", "vgname": "vmdata", "content": "rootdir,images"}
    state.write_storage_config(cfg)


@pytest.mark.usefixtures("thick_lvm")
def test_thick_lvm_destroy_prints_lvremove_in_the_destroy_task(pctx, template, state):
    r = pctx("create", 9001, template, "--rootfs", "thick:1")
    assert r.rc == 0 and r.out.startswith('  Logical volume "vm-9001-disk-0" created.\n'), r
    r = pctx("destroy", 9001)
    assert (r.rc, r.out, r.err) == (0, '  Logical volume "vm-9001-disk-0" successfully removed.\n', "")
    freeing = [t for t in tasks.list_tasks(state) if t["type"] in ("vzdestroy", "imgdel")]
    assert [t["type"] for t in freeing] == ["vzdestroy"]
    _total, log = tasks.read_task_log(state, freeing[0]["upid"], limit=0)
    assert [e["t"] for e in log] == ['  Logical volume "vm-9001-disk-0" successfully removed.', "TASK OK"]


@pytest.mark.usefixtures("thick_lvm")
def test_thick_lvm_volume_removed_by_pct_set(pctx, template):
    create(pctx, template, 9001)
    # disk numbers are per storage (LVMPlugin.pm find_free_diskname): VG "vmdata" has no disk-0 yet
    assert pctx("set", 9001, "--mp0", "thick:1,mp=/data").rc == 0
    assert pctx("set", 9001, "--delete", "mp0").rc == 0
    r = pctx("set", 9001, "--delete", "unused0")
    assert (r.rc, r.out, r.err) == (0, '  Logical volume "vm-9001-disk-0" successfully removed.\n', "")


# ------------------------------------------------------------------ create

def test_create_keeps_a_lock_given_by_the_caller(pctx, template, state):
    # pve-container API2/LXC.pm create_vm: the final write_config($vmid, $conf) writes the
    # caller's `lock`; only the file held the `create` lock
    create(pctx, template, 9001, "--lock", "backup")
    assert "lock: backup\n" in lxc_configs(state).path(9001).read_text()
    assert pctx("start", 9001).err == "CT is locked (backup)\n"


@pytest.mark.usefixtures("thick_lvm")
@pytest.mark.parametrize("storeid", ["local-lvm", "thick"])
def test_missing_absolute_template_fails_inside_the_task(pctx, state, storeid):
    # pve-storage Storage.pm abs_filesystem_path, called by LXC/Create.pm archive_is_oci_format
    # (warns) and restore_archive (dies) inside the create task; its cleanup (API2/LXC.pm
    # create_vm -> PVE::LXC::destroy_disks -> vdisk_free) prints lvremove's line on both LVM types
    r = pctx("create", 9001, "/nonexistent/t.tar.gz", "--rootfs", "%s:1" % storeid)
    assert (r.rc, r.out, r.err) == (255, '  Logical volume "vm-9001-disk-0" created.\n'
                                         "can't find file '/nonexistent/t.tar.gz'\n"
                                         '  Logical volume "vm-9001-disk-0" successfully removed.\n',
                                    "unable to create CT 9001 - can't find file '/nonexistent/t.tar.gz'\n")
    assert not lxc_configs(state).path(9001).exists()


# ------------------------------------------------------------------ pct config

def test_config_snapshot_with_current(pctx, template):
    # pve-container API2/LXC/Config.pm vm_config: raise_param_exc on both keys
    create(pctx, template, 9001)
    r = pctx("config", 9001, "--current", "--snapshot", "snap1")
    assert (r.rc, r.out, r.err) == (255, "", verification_failed(
        "pct config <vmid> [OPTIONS]", "current: cannot use 'snapshot' parameter with 'current'",
        "snapshot: cannot use 'snapshot' parameter with 'current'"))


def test_config_bad_snapshot_name(pctx, template):
    # pve-snapshot-name is format pve-configid (pve-common JSONSchema.pm pve_verify_configid)
    create(pctx, template, 9001)
    r = pctx("config", 9001, "--snapshot", "1x")
    assert (r.rc, r.out, r.err) == (255, "", verification_failed(
        "pct config <vmid> [OPTIONS]", "snapshot: invalid format - invalid configuration ID '1x'\n"))


# ------------------------------------------------------------------ errors inside property strings
# pve-common JSONSchema.pm parse_property_string: list errors die at once; value errors are
# collected by check_object under "<param>.<key>" and raised as `format error`; check_prop adds
# "invalid format - " + PVE::Exception's text; every format dies with "\n", so blank lines follow

@pytest.mark.parametrize("option, value, errors", [
    ("--net0", "name=eth0,ip=bogus",
     ["net0: invalid format - format error\n"
      "net0.ip: invalid format - value does not look like a valid IPv4 network configuration\n\n"]),
    ("--net0", "bridge=vmbr0", ["net0: invalid format - format error\nnet0.name: property is missing and it is not optional\n"]),
    ("--net0", "name=eth0,foo=1", ["net0: invalid format - invalid key in comma-separated list property: foo\n"]),
    ("--features", "nesting=maybe", ["features: invalid format - format error\n"
                                     "features.nesting: type check ('boolean') failed - got 'maybe'\n"]),
    ("--rootfs", "local-lvm:vm-9001-disk-0,size=zz",
     ["rootfs: invalid format - format error\n"
      "rootfs.size: invalid format - value does not look like a valid disk size: zz\n\n"]),
    ("--dev0", "/dev/null,mode=999x", ["dev0: invalid format - format error\ndev0.mode: value does not match the regex pattern\n"]),
    # pve-startup-order is a plain format (pve_verify_startup_order), not a property string
    ("--startup", "bogus", ["startup: invalid format - unable to parse startup options\n"]),
])
def test_property_string_errors(pctx, template, option, value, errors):
    create(pctx, template, 9001)
    r = pctx("set", 9001, option, value)
    assert (r.rc, r.out, r.err) == (255, "", verification_failed("pct set <vmid> [OPTIONS]", *errors))


def test_startup_order_values_pass(pctx, template):
    create(pctx, template, 9001)
    assert pctx("set", 9001, "--startup", "order=1,up=2,down=3").rc == 0
    assert "startup: order=1,up=2,down=3\n" in pctx("config", 9001).out


# ------------------------------------------------------------------ hookscript, pool, restore

def test_hookscript_must_be_an_executable_snippet(pctx, template, state):
    # pve-guest-common GuestHelpers.pm check_hookscript (LXC/Config.pm update_pct_config)
    create(pctx, template, 9001)
    r = pctx("set", 9001, "--hookscript", "local:snippets/hook.sh")
    assert (r.rc, r.out, r.err) == (255, "", "script 'local:snippets/hook.sh' does not exist\n")
    script = state.storage_base_path("local") / "snippets" / "hook.sh"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    r = pctx("set", 9001, "--hookscript", "local:snippets/hook.sh")
    assert (r.rc, r.out, r.err) == (255, "", "script 'local:snippets/hook.sh' is not executable\n")
    r = pctx("set", 9001, "--hookscript", "local:vztmpl/x.tar.gz")
    assert (r.rc, r.out, r.err) == (255, "", "'local:vztmpl/x.tar.gz' is not in the snippets directory\n")
    script.chmod(0o755)
    assert pctx("set", 9001, "--hookscript", "local:snippets/hook.sh").rc == 0


def test_create_in_a_missing_pool(pctx, template, state):
    # pve-container API2/LXC.pm create_vm: $rpcenv->check_pool_exist($pool) (raise_perm_exc)
    r = pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--pool", "nope")
    assert (r.rc, r.out, r.err) == (255, "", "403 Permission check failed (pool 'nope' does not exist)\n")
    from pvesim.auth import AuthStore

    auth = AuthStore(state.pve_path("")).ensure()
    auth.add_pool("web")
    create(pctx, template, 9001, "--pool", "web")
    assert auth.load()["pools"]["web"]["vms"] == ["9001"]  # AccessControl add_vm_to_pool


def test_restore_wants_a_backup_volume(pctx, template):
    # pve-storage Storage.pm check_volume_access with content type 'backup' (create_vm, restore)
    r = pctx("create", 9001, template, "--rootfs", "local-lvm:1", "--restore", "1")
    assert (r.rc, r.out, r.err) == (255, "", "unable to use volume %s - content type needs to be 'backup'\n" % template)


# ------------------------------------------------------------------ SSH host keys at create
# pve-container LXC/Setup.pm rewrite_ssh_host_keys: only when the rootfs has /etc/ssh; one key
# per type of Setup/Base.pm ssh_host_key_types_to_generate, `ssh-keygen -E sha256 -C root@<host>`

@pytest.fixture
def template_with_etc_ssh(state, template_file):
    import tarfile

    name = "debian-12-sshd_1.0-1_amd64.tar.gz"
    dest = state.template_cache_dir("local") / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(template_file) as src, tarfile.open(str(dest), "w:gz") as out:
        for member in src.getmembers():
            out.addfile(member, src.extractfile(member) if member.isfile() else None)
        ssh = tarfile.TarInfo("./etc/ssh")
        ssh.type = tarfile.DIRTYPE
        ssh.mode = 0o755
        out.addfile(ssh)
    return "local:vztmpl/" + name


def test_ssh_host_keys_when_the_template_has_etc_ssh(pctx, template_with_etc_ssh):
    import re

    r = pctx("create", 9001, template_with_etc_ssh, "--rootfs", "local-lvm:1", "--hostname", "web.example.com")
    assert (r.rc, r.err) == (0, ""), r
    keys = re.findall(r"Creating SSH host key '(ssh_host_\w+_key)' - this may take some time \.\.\.\n"
                      r"done: SHA256:[0-9A-Za-z+/]{43} root@web\n", r.out)
    assert keys == ["ssh_host_rsa_key", "ssh_host_ecdsa_key", "ssh_host_ed25519_key"]
    assert r.out.endswith("Detected container architecture: amd64\n" + "".join(
        re.findall(r"Creating SSH host key [^\n]*\ndone: [^\n]*\n", r.out)))


def test_no_ssh_host_keys_without_etc_ssh(pctx, template):
    r = create(pctx, template, 9001)
    assert "SSH host key" not in r.out


# ------------------------------------------------------------------ config file parsing
# pve-container LXC/Config.pm parse_pct_config and is_valid_lxc_conf_key, pve-guest-common
# AbstractConfig.pm check_type: warnings on STDERR; bad values kept, unparsable lines dropped

def test_config_file_warnings_and_what_is_kept(pctx, template, state):
    create(pctx, template, 9001)
    path = lxc_configs(state).path(9001)
    path.write_text(path.read_text() + "".join((
        "memory: lots\n",
        "foo: bar\n",
        "cores:\n",
        "delete: swap\n",
        "lxc.rootfs.path: /srv/elsewhere\n",
        "lxc.foo.bar: 1\n",
        "lxc.utsname: old\n",
        "lxc.cgroup.cpu.shares: 512\n",
        "lxc.cgroup2.cpu.weight: 100\n",
    )))
    r = pctx("config", 9001)
    assert r.rc == 0
    assert r.err == ("vm 9001 - unable to parse value of 'memory' - type check ('integer') failed - got 'lots'\n"
                     "vm 9001 - unable to parse value of 'foo' - unknown setting 'foo'\n"
                     "vm 9001 - unable to parse config: cores:\n"
                     "vm 9001 - property 'delete' is only allowed in [pve:pending]\n"
                     "vm 9001 - lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs\n"
                     "vm 9001 - unable to parse config: lxc.foo.bar: 1\n"
                     "vm 9001 - lxc.utsname is deprecated and was renamed to lxc.uts.name\n"
                     "vm 9001 - lxc.cgroup.cpu.shares is deprecated, this will be a hard error in the future!\n")
    assert "memory: lots\n" in r.out and "foo: bar\n" in r.out
    assert "cores" not in r.out and "delete" not in r.out and "rootfs.path" not in r.out and "lxc.foo" not in r.out
    assert r.out.endswith("lxc.utsname: old\nlxc.cgroup.cpu.shares: 512\nlxc.cgroup2.cpu.weight: 100\n")


# ------------------------------------------------------------------ create --password without a value
# pve-container PVE/CLI/pct.pm param_mapping create_vm: the 'pve-password' standard mapping of
# pve-common CLIHandler.pm (interactive); its func calls PVE::PTY::get_confirmed_password, which
# reads twice through read_password: on a non-terminal stdin, one line each (pve-common src/PVE/PTY.pm).


class _Stdin(io.StringIO):
    def isatty(self):
        return False


def test_bare_password_reads_two_lines_from_a_non_terminal_stdin(pctx, template, state, monkeypatch):
    monkeypatch.setattr(sys, "stdin", _Stdin("s3cret\ns3cret\n"))
    r = pctx("create", 9001, template, "--rootfs", "local-lvm:8", "--password")
    assert r.rc == 0, r
    assert "s3cret" not in r.out + r.err
    assert "9001" in pctx("list").out


@pytest.mark.parametrize("stdin, message", [("a\nb\n", "passwords do not match"), ("a\n", "EOF while reading password"),
                                            ("", "EOF while reading password")])
def test_bare_password_refused_when_the_two_lines_differ_or_stdin_ends(pctx, template, monkeypatch, stdin, message):
    monkeypatch.setattr(sys, "stdin", _Stdin(stdin))
    r = pctx("create", 9001, template, "--rootfs", "local-lvm:8", "--password")
    assert r.rc != 0 and message in r.err, r
    assert pctx("list").out == ""


# Getopt::Long with ignore_case (pve-common JSONSchema.pm get_options): camelCase API parameters such as
# shutdown's forceStop (pve-container src/PVE/API2/LXC/Status.pm vm_shutdown) match in any case, and abbreviate.
@pytest.mark.parametrize("option", ["--forceStop", "--forcestop", "--FORCESTOP", "--force"])
def test_camel_case_options_match_ignoring_case(pctx, template, option):
    create(pctx, template, 9001)
    r = pctx("shutdown", 9001, option, "1", "--timeout", "5")
    assert "Unknown option" not in r.err and "unable to parse option" not in r.err, r
