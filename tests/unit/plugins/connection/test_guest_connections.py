# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pct and oci connection plugins: the argv they build, where they run it, and their errors.

A recording stand-in for ``pct`` (a shell script) logs each argv and then does what pct would do
on the host itself, so the plugins run end to end as Ansible loads them. Real containers: the
molecule scenario ``inventory``.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap

import pytest
from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader

from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.commands import GuestUnavailable, OciCommands, PctCommands
from ansible_collections.lxcri.containers.plugins.plugin_utils._guestexec.node import RemoteNode

# A stand-in pct: logs "argv as JSON" per call, then acts on the host (exec runs the command, push/pull copy).
FAKE_PCT = textwrap.dedent("""\
    #!/bin/sh
    python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >> "{log}"
    case "$2" in
      {stopped}) echo "container '$2' not running!" >&2; exit 255 ;;
      {missing}) echo "Configuration file 'nodes/pve/lxc/$2.conf' does not exist" >&2; exit 255 ;;
      {worker_fails}) [ "$1" = exec ] || {{ echo "failed to open $3: No such file or directory" >&2; exit 0; }} ;;
    esac
    cmd=$1; shift 2
    case "$cmd" in
      exec) shift 3; exec "$@" ;;
      push) stat -c %a "$1" >> "{log}.modes"; exec cp "$1" "$2" ;;
      pull) exec cp "$1" "$2" ;;
    esac
    exit 2
    """)


@pytest.fixture
def fake_pct(tmp_path):
    log = tmp_path / "pct.log"
    script = tmp_path / "pct"
    script.write_text(FAKE_PCT.format(log=log, stopped=150, missing=160, worker_fails=170))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def calls(log):
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def pct_connection(options, remote_addr="web1"):
    play_context = PlayContext()
    play_context.remote_addr = remote_addr
    connection = connection_loader.get("lxcri.containers.pct", play_context)
    connection.set_options(var_options=options)
    return connection


# -- argv construction ------------------------------------------------------------------------

def test_pct_argv_keeps_the_command_one_argument_and_the_node_environment_out():
    commands = PctCommands(101, node="pve1")
    cmd = "/bin/sh -c 'echo \"a b\"; exit 3'"
    assert commands.exec_argv(cmd) == ["pct", "exec", "101", "--keep-env", "0", "--", "/bin/sh", "-c", cmd]
    assert commands.push_argv("/tmp/x", "/root/.ansible/tmp/y") == ["pct", "push", "101", "/tmp/x", "/root/.ansible/tmp/y"]
    assert commands.pull_argv("/etc/hostname", "/tmp/h") == ["pct", "pull", "101", "/etc/hostname", "/tmp/h"]


@pytest.mark.parametrize("stderr, says", [
    ("container '101' not running!\n", "CT 101 on node pve1 is not running"),
    ("can only push files to a running CT\n", "CT 101 on node pve1 is not running"),
    ("can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 664.\n", "is not running"),
    ("Configuration file 'nodes/pve1/lxc/101.conf' does not exist\n", "CT 101 on node pve1 does not exist"),
])
def test_pct_refusals_become_guest_unavailable(stderr, says):
    with pytest.raises(GuestUnavailable, match=says):
        PctCommands(101, node="pve1").check(255, stderr)


def test_a_failing_command_inside_is_not_a_connection_error():
    PctCommands(101).check(1, '{"failed": true, "msg": "service web is not running"}\n')
    OciCommands("/usr/sbin/runc", "/run/runc", "app").check(1, "the container is not running\n")


def test_oci_argv_uses_the_root_of_oci_container_and_cat_for_files():
    commands = OciCommands("/usr/sbin/runc", "/run/runc", "app")
    assert commands.exec_argv("id -u") == ["/usr/sbin/runc", "--root", "/run/runc", "exec", "app", "/bin/sh", "-c", "id -u"]
    assert commands.write_argv("/tmp/m.py") == ["/usr/sbin/runc", "--root", "/run/runc", "exec", "app", "/bin/sh", "-c",
                                                'umask 077 && exec cat > "$1"', "sh", "/tmp/m.py"]
    assert commands.read_argv("/etc/os-release") == ["/usr/sbin/runc", "--root", "/run/runc", "exec", "app", "cat", "--",
                                                     "/etc/os-release"]


@pytest.mark.parametrize("stderr, says", [
    ('time="2026-01-01T00:00:00Z" level=error msg="exec failed: container does not exist"\n', "does not exist"),
    ("error opening file `/run/crun/app/status`: No such file or directory\n", "does not exist"),
    ('time="2026-01-01T00:00:00Z" level=error msg="exec failed: cannot exec in a stopped container"\n', "is not running"),
])
def test_oci_refusals_become_guest_unavailable(stderr, says):
    with pytest.raises(GuestUnavailable, match="OCI container 'app' \\(root /run/runc\\) " + says):
        OciCommands("/usr/sbin/runc", "/run/runc", "app").check(255, stderr)


# -- the pct plugin end to end (local node, and a node behind another connection plugin) ---------------

def test_pct_plugin_runs_pct_locally_with_stdin_for_pipelining(fake_pct, tmp_path):
    script, log = fake_pct
    connection = pct_connection({"pve_vmid": 101, "pve_node": "pve1", "lxcri_pct_executable": str(script)})
    assert connection.has_pipelining
    rc, out, _err = connection.exec_command("cat; echo done", in_data=b"module source\n")
    assert (rc, out) == (0, b"module source\ndone\n")
    assert calls(log) == [["exec", "101", "--keep-env", "0", "--", "/bin/sh", "-c", "cat; echo done"]]


def test_pct_plugin_moves_files_with_push_and_pull(fake_pct, tmp_path):
    script, log = fake_pct
    connection = pct_connection({"pve_vmid": 101, "lxcri_pct_executable": str(script)})
    source = tmp_path / "in.txt"
    source.write_text("hello\n")
    connection.put_file(str(source), str(tmp_path / "in-ct.txt"))
    connection.fetch_file(str(tmp_path / "in-ct.txt"), str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "hello\n"
    assert calls(log) == [["push", "101", str(source), str(tmp_path / "in-ct.txt")],
                          ["pull", "101", str(tmp_path / "in-ct.txt"), str(tmp_path / "back.txt")]]


def test_pct_plugin_takes_the_vmid_from_ansible_host(fake_pct):
    script, log = fake_pct
    connection = pct_connection({"lxcri_pct_executable": str(script)}, remote_addr="123")
    connection.exec_command("true")
    assert calls(log)[0][:2] == ["exec", "123"]


def test_pct_plugin_without_a_vmid_says_how_to_give_one():
    with pytest.raises(AnsibleConnectionFailure, match="no vmid for host web1; set pve_vmid"):
        pct_connection({}).exec_command("true")


@pytest.mark.parametrize("vmid, says", [(150, "CT 150 on node pve1 is not running"), (160, "CT 160 on node pve1 does not exist")])
def test_pct_plugin_stopped_or_missing_ct_is_unreachable(fake_pct, vmid, says):
    script, _log = fake_pct
    connection = pct_connection({"pve_vmid": vmid, "pve_node": "pve1", "lxcri_pct_executable": str(script)})
    with pytest.raises(AnsibleConnectionFailure, match=says):
        connection.exec_command("true")


def test_pct_plugin_on_a_controller_without_pct_says_to_set_node_host(tmp_path):
    connection = pct_connection({"pve_vmid": 101, "lxcri_pct_executable": str(tmp_path / "no-pct")})
    with pytest.raises(AnsibleConnectionFailure, match="set node_host"):
        connection.exec_command("true")


def test_pct_plugin_through_another_connection_stages_files_in_a_private_directory(fake_pct, tmp_path):
    script, log = fake_pct
    # ansible.builtin.local stands in for the node's SSH connection: same plugin interface.
    connection = pct_connection({"pve_vmid": 101, "lxcri_pct_executable": str(script), "lxcri_pct_node_host": "localhost",
                                 "lxcri_pct_node_connection": "ansible.builtin.local"})
    rc, out, _err = connection.exec_command("printf '%s' \"$0\"")
    assert (rc, out) == (0, b"/bin/sh")
    source = tmp_path / "in.txt"
    source.write_text("staged\n")
    connection.put_file(str(source), str(tmp_path / "dest.txt"))
    connection.fetch_file(str(tmp_path / "dest.txt"), str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "staged\n"
    push, pull = calls(log)[1:]
    staged_in, staged_out = push[2], pull[3]
    assert push[0] == "push" and staged_in.startswith("/tmp/lxcri-pct.") and push[3] == str(tmp_path / "dest.txt")
    assert pull[0] == "pull" and staged_out.startswith("/tmp/lxcri-pct.") and pull[2] == str(tmp_path / "dest.txt")
    # the staging directories are gone again
    assert not os.path.exists(os.path.dirname(staged_in)) and not os.path.exists(os.path.dirname(staged_out))
    # the staged file was private before pct pushed it
    assert (tmp_path / "pct.log.modes").read_text() == "600\n"


def local_node(connection=None):
    """A RemoteNode behind ansible.builtin.local (or ``connection``): the node's shell is the controller's."""
    if connection is None:
        connection = connection_loader.get("ansible.builtin.local", PlayContext())
        connection.set_options(var_options={})
    return RemoteNode(connection, "node localhost through ansible.builtin.local", "check node_host")


def test_remote_node_keeps_argv_exit_status_and_output_exact_through_the_node_shell():
    argv = ["printf", "%s|", "it's", 'a "b" c', "$HOME;`id`", "-- x"]
    assert local_node().run(argv) == (0, b"it's|a \"b\" c|$HOME;`id`|-- x|", b"")
    # 255 (pct's own refusals, or a module's exit) is the command's status, not the node connection's failure
    assert local_node().run(["sh", "-c", "printf 'out\\n'; echo err >&2; exit 255"]) == (255, b"out\n", b"err\n")
    assert local_node().run(["cat"], in_data=b"module source") == (0, b"module source", b"")


class UnreachableNode:
    """A node connection that fails as ansible.builtin.ssh does when the node refuses the connection."""

    def exec_command(self, cmd, in_data=None, sudoable=True):
        raise AnsibleConnectionFailure("Failed to connect to the host via ssh: ssh: connect to host pve1 port 22: Connection refused")

    def close(self):
        pass


def test_pct_plugin_names_the_node_options_when_the_node_cannot_be_reached(monkeypatch):
    connection = pct_connection({"pve_vmid": 101, "lxcri_pct_node_host": "pve1", "lxcri_pct_node_port": 2222})
    monkeypatch.setattr(connection, "_node_connection", lambda node_host: UnreachableNode())
    with pytest.raises(AnsibleConnectionFailure, match=r"^lxcri\.containers\.pct: cannot reach node pve1 port 2222 as root through "
                                                       r"ansible\.builtin\.ssh: Failed to connect .*Connection refused; "
                                                       r"check node_host \(lxcri_pct_node_host\), node_port"):
        connection.exec_command("true")


class TransferFailsNode:
    """The node's shell, but every file transfer fails as a broken SSH connection does; remembers the staged path."""

    def __init__(self):
        self.shell = connection_loader.get("ansible.builtin.local", PlayContext())
        self.shell.set_options(var_options={})
        self.staged = None

    def exec_command(self, cmd, in_data=None, sudoable=True):
        return self.shell.exec_command(cmd, in_data=in_data, sudoable=sudoable)

    def put_file(self, in_path, out_path):
        self.staged = out_path
        raise AnsibleConnectionFailure("Failed to connect to the host via ssh: Connection closed")


def test_remote_node_removes_the_staging_directory_when_the_transfer_fails(tmp_path):
    node_connection = TransferFailsNode()
    source = tmp_path / "module.py"
    source.write_text("x")
    with pytest.raises(AnsibleConnectionFailure, match="cannot reach node localhost .*Connection closed; check node_host"):
        local_node(node_connection).push(str(source), lambda node_path: ["true"])
    assert node_connection.staged.startswith("/tmp/lxcri-pct.")
    assert not os.path.exists(os.path.dirname(node_connection.staged))


def test_pct_plugin_push_failure_names_the_files(fake_pct, tmp_path):
    script, _log = fake_pct
    connection = pct_connection({"pve_vmid": 101, "lxcri_pct_executable": str(script)})
    source = tmp_path / "in.txt"
    source.write_text("x")
    with pytest.raises(AnsibleError, match="pct push of .*in.txt to /nonexistent/dir/f failed"):
        connection.put_file(str(source), "/nonexistent/dir/f")


@pytest.mark.parametrize("transfer", ["put_file", "fetch_file"])
def test_pct_plugin_sees_a_failed_push_or_pull_that_exits_0(fake_pct, tmp_path, transfer):
    # pct.pm gives push and pull no $upid_exit: a failed worker exits 0 with the error on stderr only (contract 0.3, 12.2)
    script, _log = fake_pct
    connection = pct_connection({"pve_vmid": 170, "lxcri_pct_executable": str(script)})
    source = tmp_path / "in.txt"
    source.write_text("x")
    with pytest.raises(AnsibleError, match="pct p(ush|ull) of .* failed: failed to open .*: No such file or directory"):
        getattr(connection, transfer)(str(source), str(tmp_path / "out.txt"))
