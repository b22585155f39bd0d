# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Attacks on the running HTTPS server (loopback only): each test is an exploit that worked
before the matching fix (issue 15, security items 1-4)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest

from pvesim import storage
from pvesim.auth import AuthStore
from pvesim.http import server as http_server
from pvesim.http.testing import api_server, login, raw_request, wait_task
from pvesim.state import State

NAME = "uploaded_1.0-1_amd64.tar.gz"
DATA = b"the bytes the client really sent\n" * 8
SECRET = b"host file the uploader must never reach\n"


@pytest.fixture
def state(tmp_path):
    return State(tmp_path / "state").init(node="pve")


@pytest.fixture
def users(state):
    """root@pam (password ``rootpw``) and alice@pve, who may upload templates to ``local`` only."""
    auth = AuthStore(state.pve_path("")).ensure()
    auth.set_password("root@pam", "rootpw")
    auth.add_user("alice@pve")
    auth.set_password("alice@pve", "alicepw")
    auth.add_acl("/storage/local", "alice@pve", "PVEDatastoreAdmin")
    auth.add_user("bob@pve")
    auth.set_password("bob@pve", "bobpw")
    auth.add_acl("/vms", "bob@pve", "PVEVMAdmin")
    return auth


@pytest.fixture
def victim(tmp_path):
    """A host file outside the state directory."""
    path = tmp_path / "host" / "secret.tar.gz"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def _multipart(fields, file_field="filename", file_name=NAME, data=DATA, boundary="pvesimSEC42"):
    body = b""
    for k, v in fields:
        body += b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (
            boundary.encode(), k.encode(), v.encode())
    body += (b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
             b"Content-Type: application/octet-stream\r\n\r\n" % (boundary.encode(), file_field.encode(), file_name.encode()))
    body += data + b"\r\n--%s--\r\n" % boundary.encode()
    return body, {"Content-Type": "multipart/form-data; boundary=%s" % boundary}


def _spool_dir(state):
    d = state.host_path("/var/tmp")
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def _upload(api, ticket, csrf, body, hdrs, query=""):
    return raw_request(api, "POST", "/nodes/pve/storage/local/upload" + query, ticket=ticket, csrf=csrf, headers=hdrs,
                       raw_body=body)


# ------------------------------------------------------------------------------ 1. tmpfilename

def test_upload_ignores_tmpfilename_in_the_query_string(state, users, victim):
    """Before: the query's tmpfilename overrode the spooled file: the host file was copied into
    template storage and deleted."""
    with api_server(state) as api:
        ticket, csrf = login(api, "alice@pve", "alicepw")
        body, hdrs = _multipart([("content", "vztmpl")])
        r = _upload(api, ticket, csrf, body, hdrs, query="?tmpfilename=" + quote(str(victim), safe=""))
        assert r.status_line == "200 OK"
        assert wait_task(api, "pve", r.json["data"], ticket=ticket)["exitstatus"] == "OK"
    assert victim.read_bytes() == SECRET
    assert (state.template_cache_dir("local") / NAME).read_bytes() == DATA
    assert _spool_dir(state) == []


@pytest.mark.parametrize("how", ["plain field", "file part named tmpfilename"])
def test_upload_ignores_a_tmpfilename_multipart_field(state, users, victim, how):
    """Before: a file part named ``tmpfilename`` set tmpfilename to its (client-chosen) file name."""
    with api_server(state) as api:
        ticket, csrf = login(api, "alice@pve", "alicepw")
        if how == "plain field":
            body, hdrs = _multipart([("content", "vztmpl"), ("tmpfilename", str(victim)), ("filename", NAME)])
        else:
            body, hdrs = _multipart([("content", "vztmpl"), ("filename", NAME)], file_field="tmpfilename",
                                    file_name=str(victim))
        r = _upload(api, ticket, csrf, body, hdrs)
        assert r.status_line == "200 OK"
        assert wait_task(api, "pve", r.json["data"], ticket=ticket)["exitstatus"] == "OK"
    assert victim.read_bytes() == SECRET
    assert (state.template_cache_dir("local") / NAME).read_bytes() == DATA
    assert _spool_dir(state) == []


def test_upload_ignores_tmpfilename_in_a_form_or_json_body(state, users, victim):
    with api_server(state) as api:
        ticket, csrf = login(api, "alice@pve", "alicepw")
        for kw in ({"params": {"content": "vztmpl", "filename": NAME, "tmpfilename": str(victim)}},
                   {"json_body": {"content": "vztmpl", "filename": NAME, "tmpfilename": str(victim)}}):
            r = raw_request(api, "POST", "/nodes/pve/storage/local/upload", ticket=ticket, csrf=csrf, **kw)
            assert r.status_line == "500 missing temporary file name"
    assert victim.read_bytes() == SECRET
    assert not (state.template_cache_dir("local") / NAME).exists()


# ------------------------------------------------------------------------------ 2. volume ids

def test_volume_id_cannot_name_a_host_file(state, users, victim):
    """Before: ``local:vztmpl/%2F...`` resolved to the absolute host path."""
    with api_server(state) as api:
        ticket, _csrf = login(api, "alice@pve", "alicepw")
        volid = "local:vztmpl/" + quote(str(victim), safe="")
        r = raw_request(api, "GET", "/nodes/pve/storage/local/content/" + volid, ticket=ticket)
        assert r.status_line == "500 unable to parse directory volume name 'vztmpl/%s'" % victim
        assert str(victim) not in r.body.decode().replace("vztmpl/%s" % victim, "")


def test_volume_id_with_dot_dot_cannot_delete_host_directories(state, users, tmp_path):
    """Before: DELETE on ``local:vztmpl/../../...`` removed the host directory."""
    target = tmp_path / "host-dir"
    (target / "sub").mkdir(parents=True)
    (target / "sub" / "keep").write_text("x")
    cache = state.template_cache_dir("local")
    cache.mkdir(parents=True, exist_ok=True)
    rel = os.path.relpath(str(target), str(cache))
    with api_server(state) as api:
        ticket, csrf = login(api, "alice@pve", "alicepw")
        r = raw_request(api, "DELETE", "/nodes/pve/storage/local/content/local:vztmpl/" + rel, ticket=ticket, csrf=csrf)
        assert r.status_line == "500 unable to parse directory volume name 'vztmpl/%s'" % rel
    assert (target / "sub" / "keep").read_text() == "x"


@pytest.mark.parametrize("volname, message", [
    ("local:vztmpl/../../../../etc", "unable to parse directory volume name 'vztmpl/../../../../etc'"),
    ("local:100/../../../../etc.raw", "unable to parse volume filename '../../../../etc.raw'"),
    ("local-lvm:vm-100-disk-0/../../../etc", "lvm name 'vm-100-disk-0/../../../etc' contains illegal characters"),
])
def test_rootfs_volume_cannot_name_a_host_path(state, users, volname, message):
    """Before: a crafted volume id in rootfs gave a non-root user a host directory as rootfs,
    around "Only root can pass arbitrary filesystem paths"."""
    users.add_acl("/storage", "bob@pve", "PVEDatastoreAdmin")
    cfg = state.pve_path("storage.cfg")
    cfg.write_text(cfg.read_text().replace("content iso,vztmpl,backup", "content iso,vztmpl,backup,rootdir"))
    with api_server(state) as api:
        ticket, csrf = login(api, "bob@pve", "bobpw")
        r = raw_request(api, "POST", "/nodes/pve/lxc", {"vmid": "150", "ostemplate": "local:vztmpl/x.tar.gz",
                                                        "rootfs": volname}, ticket=ticket, csrf=csrf)
        assert r.status_line == "200 OK"
        assert wait_task(api, "pve", r.json["data"], ticket=ticket)["exitstatus"] == "unable to create CT 150 - " + message
    assert not state.pve_path("nodes/pve/lxc/150.conf").exists()


# ------------------------------------------------------------------------------ 3. OCI whiteouts

def _tar_layer(path, entries):
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, value in entries:
            info = tarfile.TarInfo(name)
            if kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = value
                tar.addfile(info)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(value)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(value))


def _oci_archive(dest, layers):
    blobs = {}

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return {"digest": "sha256:" + d, "size": len(data)}

    layer_descs = [dict(blob(Path(p).read_bytes()), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
                   for p in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json"),
                           "layers": layer_descs}).encode()
    manifest_desc = dict(blob(manifest), mediaType="application/vnd.oci.image.manifest.v1+json")
    index = json.dumps({"schemaVersion": 2, "manifests": [manifest_desc]})
    with tarfile.open(dest, "w") as tar:
        for name, data in [("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", index.encode())] + [
                ("blobs/sha256/" + d, data) for d, data in blobs.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def lxc_mode_state():
    if os.geteuid() != 0:
        pytest.skip("lxc mode (OCI layers are unpacked) needs root")
    top = tempfile.mkdtemp(prefix="pvesim-sec-")
    os.chmod(top, 0o711)
    yield Path(top), State(os.path.join(top, "pve")).init(node="pve", mode="lxc")
    shutil.rmtree(top, ignore_errors=True)


def test_oci_whiteouts_and_layers_stay_inside_the_rootfs(lxc_mode_state):
    """Before: a whiteout under a symlink an earlier layer placed deleted a host file, and tar
    wrote the next layer's files through that symlink onto the host."""
    top, state = lxc_mode_state
    users = AuthStore(state.pve_path("")).ensure()
    users.set_password("root@pam", "rootpw")
    outside = top / "outside"
    outside.mkdir()
    (outside / "victim").write_text("keep me")
    (outside / "dir").mkdir()
    (outside / "dir" / "child").write_text("keep me too")
    _tar_layer(top / "l1.tgz", [("etc", "dir", None), ("etc/os-release", "file", b"ID=debian\n"),
                                ("esc", "symlink", str(outside)), ("rel", "symlink", "../../../../../../../../" + str(outside))])
    _tar_layer(top / "l2.tgz", [("esc/.wh.victim", "file", b""), ("rel/dir/.wh..wh..opq", "file", b""),
                                ("esc/planted", "file", b"owned"), ("rel/planted2", "file", b"owned")])
    cache = state.template_cache_dir("local")
    cache.mkdir(parents=True, exist_ok=True)
    _oci_archive(cache / "evil.tar", [top / "l1.tgz", top / "l2.tgz"])
    with api_server(state) as api:
        ticket, csrf = login(api, "root@pam", "rootpw")
        r = raw_request(api, "POST", "/nodes/pve/lxc", {"vmid": "9180", "ostemplate": "local:vztmpl/evil.tar",
                                                        "rootfs": "local-lvm:1", "unprivileged": "0"}, ticket=ticket, csrf=csrf)
        assert r.status_line == "200 OK", r.body
        assert wait_task(api, "pve", r.json["data"], ticket=ticket)["exitstatus"] == "OK"
    assert (outside / "victim").read_text() == "keep me"
    assert (outside / "dir" / "child").read_text() == "keep me too"
    assert sorted(p.name for p in outside.iterdir()) == ["dir", "victim"]
    # inside the rootfs the links resolve as in a chroot: the files landed there
    rootfs, _vtype = storage.volume_path(state, "local-lvm:vm-9180-disk-0")
    landed = rootfs / str(outside).lstrip("/")
    assert (landed / "planted").read_bytes() == b"owned"
    assert (landed / "planted2").read_bytes() == b"owned"


# ------------------------------------------------------------------------------ 4. spooling, secrets, modes

def test_upload_permission_is_checked_before_the_body_is_spooled(state, users, monkeypatch):
    spooled = []
    real = http_server.spool_multipart
    monkeypatch.setattr(http_server, "spool_multipart", lambda *a: spooled.append(a) or real(*a))
    with api_server(state) as api:
        ticket, csrf = login(api, "bob@pve", "bobpw")
        body, hdrs = _multipart([("content", "vztmpl")], data=b"x" * 200000)
        r = _upload(api, ticket, csrf, body, hdrs)
        assert r.status_line == "403 Permission check failed (/storage/local, Datastore.AllocateTemplate)"
    assert spooled == []
    assert _spool_dir(state) == []


@pytest.mark.parametrize("fields, status", [
    ([("content", "vztmpl"), ("filename", "x.txt")], "400 Parameter verification failed."),
    ([("content", "iso")], "400 Parameter verification failed."),
    ([("content", "vztmpl"), ("checksum", "ab")], "400 Parameter verification failed."),
])
def test_spooled_upload_is_removed_when_the_handler_fails(state, users, fields, status):
    with api_server(state) as api:
        ticket, csrf = login(api, "root@pam", "rootpw")
        body, hdrs = _multipart(fields)
        r = _upload(api, ticket, csrf, body, hdrs)
        assert r.status_line == status
    assert _spool_dir(state) == []


@pytest.mark.parametrize("header", [
    {"Authorization": "PVEAPIToken=root@pam!ci=s\u00e9cret"},
    {"Cookie": "PVEAuthCookie=PVE:root@pam:00000000::sign\u00e9ture"},
])
def test_non_ascii_secret_is_a_401_not_a_500(state, users, header):
    users.add_token("root@pam", "ci", secret="plain-ascii-secret")
    with api_server(state) as api:
        r = raw_request(api, "GET", "/version", headers=header)
        assert r.status_line == "401 Authentication failed!"


def test_secret_files_are_private_from_creation(tmp_path, monkeypatch):
    """Under umask 0 and with every later chmod suppressed, the secrets are still 0600 and the
    priv directories 0700: they were never created readable by others."""
    old = os.umask(0)
    monkeypatch.setattr(os, "chmod", lambda *a, **kw: None)
    try:
        state = State(tmp_path / "state").init(node="pve")
        with api_server(state):
            auth = AuthStore(state.pve_path(""))
            auth.set_password("root@pam", "pw")
            auth.add_token("root@pam", "ci")
    finally:
        os.umask(old)
    for rel in ("priv", "nodes/pve/priv"):
        assert stat.S_IMODE(state.pve_path(rel).stat().st_mode) == 0o700, rel
    for rel in ("priv/token.cfg", "priv/shadow.cfg", "priv/pvesim-authkey"):
        assert stat.S_IMODE(state.pve_path(rel).stat().st_mode) == 0o600, rel
