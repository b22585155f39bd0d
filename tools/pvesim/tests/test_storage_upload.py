# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pvesm (path, list, status, free), the storage upload endpoint and volume info/delete."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from pvesim import handlers, pvesm, tasks
from pvesim.auth import AuthStore
from pvesim.cli import write_launchers
from pvesim.http.testing import api_server, login, raw_request, wait_task
from pvesim.state import State

NAME = "busybox-upload_1.0-1_amd64.tar.gz"
DATA = b"not really a tarball, but the bytes are what counts\n" * 10


@pytest.fixture
def state(tmp_path, monkeypatch):
    st = State(tmp_path / "state").init(node="pve")
    monkeypatch.setenv("PVESIM_STATE_DIR", str(st.root))
    return st


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = pvesm.run(list(argv), stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


def put_template(state, name=NAME, data=DATA):
    d = state.template_cache_dir("local")
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)
    return d / name


# ------------------------------------------------------------------------------ pvesm

def test_bin_dir_writes_a_pvesm_launcher(tmp_path):
    written = write_launchers(tmp_path / "bin", tmp_path / "state")
    assert [os.path.basename(p) for p in written] == ["pct", "pveam", "pvesh", "pvesm", "qm"]
    assert "run_tool('pvesm')" in (tmp_path / "bin" / "pvesm").read_text()


def test_pvesm_path(state):
    rc, out, err = run("path", "local:vztmpl/" + NAME)
    assert (rc, err) == (0, "")
    assert out == "%s\n" % (state.root / ".host/var/lib/vz/template/cache" / NAME)
    rc, out, err = run("path", "local:iso/x.iso")
    assert out == "%s\n" % (state.root / ".host/var/lib/vz/template/iso/x.iso")


def test_pvesm_path_errors(state):
    assert run("path", "nocolon") == (255, "", "unable to parse volume ID 'nocolon'\n")
    assert run("path", "nosuch:vztmpl/a.tar.gz") == (255, "", "storage 'nosuch' does not exist\n")
    assert run("path") == (255, "", "400 not enough arguments\npvesm path <volume>\n")
    assert run("path", "a:b", "c") == (255, "", "400 too many arguments\npvesm path <volume>\n")


def test_pvesm_unknown_and_missing_command(state):
    assert run()[0] == 255 and run()[2].startswith("ERROR: no command specified\nUSAGE: pvesm <COMMAND> [ARGS] [OPTIONS]\n")
    rc, out, err = run("frobnicate")
    assert (rc, out) == (255, "")
    assert err.startswith("ERROR: unknown command 'pvesm frobnicate'\nUSAGE: pvesm")
    assert run("help") == (0, pvesm.USAGE, "")


def test_pvesm_list_literal(state):
    put_template(state)
    put_template(state, "a-small_1_amd64.tar.zst", b"x" * 7)
    rc, out, err = run("list", "local", "--content", "vztmpl")
    assert (rc, err) == (0, "")
    assert out == ("Volid                                          Format  Type      Size VMID\n"
                   "local:vztmpl/busybox-upload_1.0-1_amd64.tar.gz tgz     vztmpl    520\n"
                   "local:vztmpl/a-small_1_amd64.tar.zst           tzst    vztmpl      7\n")


def test_pvesm_list_guest_volumes_carry_vmid():
    rows = [{"volid": "local:vztmpl/t.tar.gz", "format": "tgz", "content": "vztmpl", "size": 1234},
            {"volid": "local-lvm:vm-100-disk-0", "format": "raw", "content": "rootdir", "size": 8589934592, "vmid": 100}]
    assert pvesm.format_content(rows) == (
        "Volid                   Format  Type            Size VMID\n"
        "local-lvm:vm-100-disk-0 raw     rootdir   8589934592 100\n"
        "local:vztmpl/t.tar.gz   tgz     vztmpl          1234\n")


def test_pvesm_list_empty_and_errors(state):
    assert run("list", "local", "--content", "vztmpl") == (0, "Volid Format  Type      Size VMID\n", "")
    rc, out, err = run("list", "nosuch")
    assert (rc, out, err) == (255, "", "storage 'nosuch' does not exist\n")


def test_pvesm_status_literal():
    rows = [{"storage": "local-lvm", "type": "lvmthin", "active": 1, "enabled": 1, "total": 10737418240, "used": 1073741824,
             "avail": 9663676416},
            {"storage": "local", "type": "dir", "active": 1, "enabled": 1, "total": 2048, "used": 1024, "avail": 1024},
            {"storage": "nfs1", "type": "nfs", "active": 0, "enabled": 0, "total": 0, "used": 0, "avail": 0}]
    assert pvesm.format_status(rows) == (
        "Name             Type     Status           Total            Used       Available        %\n"
        "local             dir     active               2               1               1   50.00%\n"
        "local-lvm     lvmthin     active        10485760         1048576         9437184   10.00%\n"
        "nfs1              nfs   disabled               0               0               0      N/A\n")


def test_pvesm_status_runs(state):
    rc, out, err = run("status")
    assert (rc, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Name             Type     Status           Total            Used       Available        %"
    assert [ln.split()[:3] for ln in lines[1:]] == [["local", "dir", "active"], ["local-lvm", "lvmthin", "active"]]


def test_pvesm_free(state):
    path = put_template(state)
    rc, out, err = run("free", "local:vztmpl/" + NAME)
    assert (rc, err) == (0, "")
    assert not path.exists()


# ------------------------------------------------------------------------------ upload handler (CLI, pvesh create --tmpfilename)

def _env(state):
    out, err = io.StringIO(), io.StringIO()
    return handlers.Env(state, rpc="cli", stdout=out, stderr=err), out


def test_upload_with_tmpfilename_copies_and_verifies(state, tmp_path):
    tmp = tmp_path / "pveupload-0123abcd"
    tmp.write_bytes(DATA)
    env, out = _env(state)
    digest = hashlib.sha256(DATA).hexdigest()
    upid = handlers.call(env, "POST", "/nodes/pve/storage/local/upload",
                         {"content": "vztmpl", "filename": NAME, "tmpfilename": str(tmp), "checksum": digest,
                          "checksum-algorithm": "sha256"}, cli=True)
    assert tasks.upid_decode(upid)["type"] == "imgcopy"
    assert out.getvalue() == (
        "starting file import from: %s\n"
        "calculating checksum...OK, checksum verified\n"
        "target node: pve\n"
        "target file: /var/lib/vz/template/cache/%s\n"
        "file size is: 520\n"
        "command: cp -- %s /var/lib/vz/template/cache/%s\n"
        "finished file import successfully\n") % (tmp, NAME, tmp, NAME)
    assert (state.template_cache_dir("local") / NAME).read_bytes() == DATA
    assert not tmp.exists()


def test_upload_checksum_mismatch_fails_the_task(state, tmp_path):
    tmp = tmp_path / "pveupload-0123abce"
    tmp.write_bytes(DATA)
    env, out = _env(state)
    handlers.call(env, "POST", "/nodes/pve/storage/local/upload",
                  {"content": "vztmpl", "filename": NAME, "tmpfilename": str(tmp), "checksum": "00",
                   "checksum-algorithm": "md5"}, cli=True)
    assert out.getvalue() == "starting file import from: %s\ncalculating checksum...\n" % tmp
    assert env.stderr.getvalue() == "checksum mismatch: got '%s' != expect '00'\n" % hashlib.md5(DATA).hexdigest()
    assert not (state.template_cache_dir("local") / NAME).exists()


def test_upload_rejects_bad_input(state, tmp_path):
    env, _out = _env(state)
    tmp = tmp_path / "pveupload-1"
    tmp.write_bytes(DATA)
    with pytest.raises(handlers.PVEError) as exc:
        handlers.call(env, "POST", "/nodes/pve/storage/local/upload",
                      {"content": "vztmpl", "filename": "x.txt", "tmpfilename": str(tmp)}, cli=True)
    assert handlers.format_cli_error(exc.value) == "400 Parameter verification failed.\nfilename: wrong file extension\n"
    with pytest.raises(handlers.PVEError) as exc:
        handlers.call(env, "POST", "/nodes/pve/storage/local-lvm/upload",
                      {"content": "vztmpl", "filename": NAME, "tmpfilename": str(tmp)}, cli=True)
    assert str(exc.value) == "storage 'local-lvm' does not support 'vztmpl' content"
    with pytest.raises(handlers.PVEError) as exc:
        handlers.call(env, "POST", "/nodes/pve/storage/local/upload", {"content": "vztmpl", "filename": NAME}, cli=True)
    assert str(exc.value) == "missing temporary file name"


# ------------------------------------------------------------------------------ REST: multipart upload, content info/delete

def _multipart(fields, filename, data, boundary="pvesimBOUNDARY42"):
    body = b""
    for k, v in fields.items():
        body += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (boundary.encode(), k.encode(), v.encode())
    body += (b"--%s\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"%s\"\r\n"
             b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(), filename.encode()))
    body += data + b"\r\n--%s--\r\n" % boundary.encode()
    return body, {"Content-Type": "multipart/form-data; boundary=%s" % boundary}


def test_rest_upload_info_delete(state):
    auth = AuthStore(state.pve_path("")).ensure()
    auth.set_password("root@pam", "pw")
    digest = hashlib.sha512(DATA).hexdigest()
    with api_server(state) as api:
        ticket, csrf = login(api, "root@pam", "pw")
        body, hdrs = _multipart({"content": "vztmpl", "checksum": digest, "checksum-algorithm": "sha512"}, NAME, DATA)
        r = raw_request(api, "POST", "/nodes/pve/storage/local/upload", ticket=ticket, csrf=csrf, headers=hdrs, raw_body=body)
        assert r.status_line == "200 OK"
        upid = r.json["data"]
        assert ":imgcopy::root@pam:" in upid
        assert wait_task(api, "pve", upid, ticket=ticket)["exitstatus"] == "OK"
        assert (state.template_cache_dir("local") / NAME).read_bytes() == DATA
        assert [p.name for p in state.host_path("/var/tmp").iterdir()] == []

        r = raw_request(api, "GET", "/nodes/pve/storage/local/content/local:vztmpl/" + NAME, ticket=ticket)
        assert r.status_line == "200 OK"
        assert r.json["data"] == {"format": "tgz", "path": str(state.template_cache_dir("local") / NAME), "size": 520, "used": 520}

        body, hdrs = _multipart({"content": "vztmpl", "checksum": "bad", "checksum-algorithm": "sha512"}, "other.tar.gz", DATA)
        r = raw_request(api, "POST", "/nodes/pve/storage/local/upload", ticket=ticket, csrf=csrf, headers=hdrs, raw_body=body)
        st = wait_task(api, "pve", r.json["data"], ticket=ticket)
        assert st["exitstatus"] == "checksum mismatch: got '%s' != expect 'bad'" % digest
        assert not (state.template_cache_dir("local") / "other.tar.gz").exists()

        r = raw_request(api, "POST", "/nodes/pve/storage/local/upload",
                        {"content": "vztmpl", "filename": NAME, "tmpfilename": "/etc/passwd"}, ticket=ticket, csrf=csrf)
        assert r.status_line == "500 missing temporary file name"

        r = raw_request(api, "DELETE", "/nodes/pve/storage/local/content/local:vztmpl/" + NAME, ticket=ticket, csrf=csrf)
        assert r.status_line == "200 OK"
        assert ":imgdel::root@pam:" in r.json["data"]
        assert wait_task(api, "pve", r.json["data"], ticket=ticket)["exitstatus"] == "OK"
        assert not (state.template_cache_dir("local") / NAME).exists()

        r = raw_request(api, "GET", "/nodes/pve/storage/local/content/local:vztmpl/" + NAME, ticket=ticket)
        assert r.status_line == "500 volume 'local:vztmpl/%s' does not exist" % NAME
