# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pvesh: commands, option parsing, exit codes and the CLIFormatter output formats (literal)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from pvesim import pvesh
from pvesim.state import State
from pvesim.templates import build_busybox_template, install_template


@pytest.fixture(scope="module")
def template_file(tmp_path_factory):
    return build_busybox_template(str(tmp_path_factory.mktemp("t") / "debian-12-busybox_1.0-1_amd64.tar.gz"))


@pytest.fixture
def state(tmp_path, monkeypatch, template_file):
    st = State(tmp_path / "state").init(node="pve")
    monkeypatch.setenv("PVESIM_STATE_DIR", str(st.root))
    install_template(st, template_file)
    return st


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = pvesh.run(list(argv), stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


TMPL = "local:vztmpl/debian-12-busybox_1.0-1_amd64.tar.gz"


def _create(vmid):
    rc, out, err = run("create", "/nodes/pve/lxc", "--vmid", str(vmid), "--ostemplate", TMPL, "--rootfs", "local-lvm:1",
                       "--hostname", "web%d" % vmid)
    assert rc == 0, err
    return out


# ------------------------------------------------------------------------------ formatter (literal)

ROWS = [{"vmid": 100, "name": "web"}, {"vmid": 101, "name": "db"}]


def _fmt(data, returns, props=None, options=None, utf8=True):
    out = io.StringIO()
    pvesh.print_api_result(out, data, returns, props, options or {}, term={"utf8": utf8, "columns": None})
    return out.getvalue()


def test_table_ascii_borders():
    assert _fmt(ROWS, {"type": "array", "items": {"type": "object"}}, utf8=False) == (
        "+------+------+\n"
        "| name | vmid |\n"
        "+======+======+\n"
        "| db   | 101  |\n"
        "+------+------+\n"
        "| web  | 100  |\n"
        "+------+------+\n")


def test_table_utf8_borders():
    assert _fmt(ROWS, {"type": "array", "items": {"type": "object"}}) == (
        "┌──────┬──────┐\n"
        "│ name │ vmid │\n"
        "╞══════╪══════╡\n"
        "│ db   │ 101  │\n"
        "├──────┼──────┤\n"
        "│ web  │ 100  │\n"
        "└──────┴──────┘\n")


def test_table_noborder_and_numeric_columns():
    returns = {"type": "array", "items": {"type": "object", "properties": {"vmid": {"type": "integer"}, "name": {"type": "string"}}}}
    assert _fmt(ROWS, returns, ["vmid", "name"], {"noborder": 1}) == (
        "vmid name\n"
        " 100 web\n"
        " 101 db\n")
    assert _fmt(ROWS, returns, ["vmid", "name"], {"noborder": 1, "noheader": 1}) == " 100 web\n 101 db\n"


def test_scalar_list_is_a_headerless_single_column():
    assert _fmt(["b", "a"], {"type": "array", "items": {"type": "string"}}, utf8=False) == (
        "+-------+\n"
        "| a     |\n"
        "+-------+\n"
        "| b     |\n"
        "+-------+\n")


def test_object_as_key_value_table():
    assert _fmt({"b": 2, "a": "x", "n": None}, None, options={"noborder": 1}) == "key value\na   x\nb   2\n"


def test_json_formats():
    data = {"b": [1, {"y": None, "x": True}], "a": "é"}
    assert _fmt(data, None, options={"output-format": "json"}) == '{"a":"é","b":[1,{"x":true,"y":null}]}\n'
    assert _fmt(data, None, options={"output-format": "json-pretty"}) == (
        '{\n'
        '   "a" : "é",\n'
        '   "b" : [\n'
        '      1,\n'
        '      {\n'
        '         "x" : true,\n'
        '         "y" : null\n'
        '      }\n'
        '   ]\n'
        '}\n')


def test_yaml_format():
    data = [{"vmid": 100, "name": "web", "tags": "1"}]
    assert _fmt(data, None, options={"output-format": "yaml"}) == "---\n- name: web\n  tags: '1'\n  vmid: 100\n"


def test_null_and_scalar_results():
    assert _fmt(None, {"type": "null"}) == ""
    assert _fmt("UPID:pve:1:", {"type": "string"}) == "UPID:pve:1:\n"
    assert _fmt([], {"type": "array", "items": {"type": "object"}}) == ""


# ------------------------------------------------------------------------------ commands

def test_get_json_and_set(state):
    _create(9160)
    rc, out, err = run("get", "/nodes/pve/lxc/9160/config", "--output-format", "json")
    assert rc == 0, err
    cfg = json.loads(out)
    assert cfg["hostname"] == "web9160"
    assert out == json.dumps(cfg, sort_keys=True, separators=(",", ":")) + "\n"
    rc, out, err = run("set", "/nodes/pve/lxc/9160/config", "-memory", "1024", "--onboot", "--description", "hello")
    assert (rc, out, err) == (0, "", "")
    rc, out, _err = run("get", "/nodes/pve/lxc/9160/config", "--output-format", "json")
    cfg = json.loads(out)
    assert (cfg["memory"], cfg["onboot"], cfg["description"]) == (1024, 1, "hello\n")


def test_create_prints_task_output_then_upid(state):
    out = _create(9161)
    lines = out.splitlines()
    assert lines[:2] == ['  Logical volume "vm-9161-disk-0" created.',
                         "extracting archive '/var/lib/vz/template/cache/debian-12-busybox_1.0-1_amd64.tar.gz'"]
    assert lines[-1].startswith("UPID:pve:") and lines[-1].endswith(":vzcreate:9161:root@pam:")


def test_failed_task_exits_zero_with_error_on_stderr(state):
    rc, out, err = run("create", "/nodes/pve/lxc/9162/status/start")
    assert rc == 0
    assert err == "Configuration file 'nodes/pve/lxc/9162.conf' does not exist\n"
    assert out.startswith("UPID:pve:") and ":vzstart:9162:" in out


def test_no_handler(state):
    assert run("get", "/nodes/pve/nosuch") == (1, "", "No 'get' handler defined for '/nodes/pve/nosuch'\n")
    assert run("delete", "/version") == (1, "", "No 'delete' handler defined for '/version'\n")


def test_parameter_errors(state):
    _create(9163)
    rc, out, err = run("set", "/nodes/pve/lxc/9163/config", "--memory", "8")
    assert (rc, out) == (255, "")
    assert err == "400 Parameter verification failed.\nmemory: value must have a minimum value of 16\npvesh set <api_path> [OPTIONS]\n"
    rc, out, err = run("set", "/nodes/pve/lxc/9163/config", "--bogus", "1")
    assert rc == 255
    assert err == "Unknown option: bogus\n400 unable to parse option\npvesh set <api_path> [OPTIONS]\n"
    rc, _out, err = run("get", "/version", "extra")
    assert rc == 255 and err == "400 too many arguments\npvesh get <api_path> [OPTIONS]\n"


def test_plain_error(state):
    _create(9164)
    assert run("create", "/nodes/pve/lxc/9164/status/stop") == (255, "", "CT 9164 not running\n")


def test_unknown_command(state):
    rc, out, err = run("frobnicate")
    assert rc == 255 and out == ""
    assert err.startswith("ERROR: unknown command 'pvesh frobnicate'\nUSAGE: pvesh <COMMAND> [ARGS] [OPTIONS]\n")


def test_ls(state):
    _create(9165)
    rc, out, err = run("ls", "/nodes/pve/lxc")
    assert rc == 0, err
    assert out == "Dr--d        9165\n"
    rc, out, _err = run("ls", "/nodes/pve/lxc/9165")
    assert "-rw--        config\n" in out
    assert "Dr---        status\n" in out
    rc, out, _err = run("ls", "/")
    assert "Dr---        nodes\n" in out and "-r---        version\n" in out
    assert run("ls", "/nodes/pve/lxc/9165/config") == (255, "", "resource '/nodes/pve/lxc/9165/config' does not define child links\n")


def test_usage(state):
    rc, out, _err = run("usage", "/nodes/pve/lxc", "--command", "create")
    assert rc == 0
    assert out.startswith("USAGE: pvesh create /nodes/pve/lxc --ostemplate <string> --vmid <integer> [OPTIONS]")
    assert run("usage", "/nosuch") == (255, "", "no such resource '/nosuch'\n")


def test_quiet_and_nooutput(state):
    rc, out, _err = run("get", "/version", "--quiet")
    assert (rc, out) == (0, "")
    rc, out, _err = run("--nooutput", "get", "/version")
    assert (rc, out) == (0, "")


def test_pvesh_as_a_process(state):
    """Through the ``pvesim run pvesh`` entry point: exit codes as a shell sees them."""
    proc = subprocess.run([sys.executable, "-m", "pvesim", "run", "pvesh", "get", "/cluster/nextid"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.strip().isdigit(), proc.stderr
    proc = subprocess.run([sys.executable, "-m", "pvesim", "run", "pvesh", "get", "/nodes/pve/lxc/9999/config"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 255
    assert proc.stderr == "Configuration file 'nodes/pve/lxc/9999.conf' does not exist\n"
