# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pveam (contract §7) over the local catalogue, the aplinfo REST endpoints and the template builder."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import time

import pytest

from pvesim import pveam
from pvesim.auth import AuthStore
from pvesim.http.testing import api_server, login, raw_request, wait_task
from pvesim.state import State
from pvesim.templates import (
    _is_static_elf,
    add_to_catalogue,
    build_busybox_template,
    install_template,
    mirror_dir,
    parse_template_name,
)

NAME = "debian-12-busybox_1.0-1_amd64.tar.gz"
URL = "http://download.proxmox.com/images/system/" + NAME
DEST = "/var/lib/vz/template/cache/" + NAME


@pytest.fixture(scope="module")
def template_file(tmp_path_factory):
    return build_busybox_template(str(tmp_path_factory.mktemp("t") / NAME))


@pytest.fixture
def state(tmp_path, monkeypatch):
    st = State(tmp_path / "state").init(node="pve")
    monkeypatch.setenv("PVESIM_STATE_DIR", str(st.root))
    return st


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    rc = pveam.run(list(argv), stdout=out, stderr=err)
    return rc, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------ template builder

def test_busybox_template_contents(template_file):
    with tarfile.open(str(template_file)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert all(n == "." or n.startswith("./") for n in members)
        bb = members["./bin/busybox"]
        assert bb.isfile() and bb.mode & 0o111 and bb.uid == 0 and bb.gid == 0
        assert members["./bin/sh"].issym() and members["./bin/sh"].linkname == "busybox"
        assert members["./usr/bin/awk"].linkname == "../../bin/busybox"
        assert members["./sbin/init"].isfile() and members["./sbin/init"].mode & 0o111
        assert members["./tmp"].mode == 0o1777
        osrel = tar.extractfile("./etc/os-release").read().decode()
        assert re.search(r"^ID=debian$", osrel, re.M)
        assert tar.extractfile("./etc/debian_version").read() == b"12.0\n"
        assert tar.extractfile("./etc/hostname").read() == b"pvesim\n"
        init = tar.extractfile("./sbin/init").read().decode()
        assert "trap shutdown_now PWR TERM INT USR1 USR2 HUP" in init


def test_busybox_template_is_reproducible(tmp_path, template_file):
    # built again by another process (other pid, other directory, through the CLI): same bytes
    out = tmp_path / "again" / NAME
    proc = subprocess.run([sys.executable, "-m", "pvesim", "template", "build", "--busybox", "--output", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "%s\n" % out
    assert hashlib.sha256(out.read_bytes()).hexdigest() == hashlib.sha256(template_file.read_bytes()).hexdigest()


@pytest.mark.parametrize("ext", [".tar", ".tar.xz", ".tar.zst", ".tar.bz2"])
def test_compression_by_extension(tmp_path, ext):
    if ext == ".tar.zst" and not shutil.which("zstd"):
        pytest.skip("zstd not installed")
    p = build_busybox_template(str(tmp_path / ("debian-12-busybox_1.0-1_amd64" + ext)))
    listing = subprocess.run(["tar", "taf", str(p)], capture_output=True, text=True, check=True).stdout.split()
    assert "./bin/busybox" in listing and "./sbin/init" in listing
    assert not [f for f in os.listdir(str(tmp_path)) if ".tmp" in f]


def test_alpine_flavour_and_busybox_init(tmp_path):
    p = build_busybox_template(str(tmp_path / "alpine-3.20-busybox_1.0-1_amd64.tar.xz"), ostype="alpine", init="busybox")
    with tarfile.open(str(p)) as tar:
        names = set(tar.getnames())
        assert "./etc/alpine-release" in names and "./etc/debian_version" not in names
        assert tar.getmember("./sbin/init").issym()
        assert b"::sysinit:" in tar.extractfile("./etc/inittab").read()


def test_template_name_parsing():
    assert parse_template_name("debian-12-standard_12.7-1_amd64.tar.zst") == {
        "os": "debian-12", "package": "debian-12-standard", "version": "12.7-1", "architecture": "amd64"}


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1)")
def test_init_keeps_running_and_stops_on_sigpwr(tmp_path, template_file):
    root = tmp_path / "rootfs"
    root.mkdir()
    with tarfile.open(str(template_file)) as tar:
        tar.extractall(str(root))
    assert _is_static_elf(str(root / "bin" / "busybox"))
    proc = subprocess.Popen(["unshare", "--fork", "--pid", "--mount-proc=%s" % (root / "proc"), "chroot", str(root), "/sbin/init"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        init_pid = None
        while time.monotonic() < deadline and init_pid is None:
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    try:
                        with open("/proc/%s/stat" % pid) as fh:
                            fields = fh.read().rsplit(")", 1)[1].split()
                        with open("/proc/%s/cmdline" % pid, "rb") as fh:
                            cmd = fh.read()
                    except OSError:
                        continue
                    if int(fields[1]) == proc.pid and b"/sbin/init" in cmd:
                        init_pid = int(pid)
            time.sleep(0.05)
        assert init_pid, "init did not start"
        time.sleep(0.5)
        assert proc.poll() is None, "init exited on its own"
        assert (root / "var/log/init.log").read_text() == "pvesim init: up\n"
        os.kill(init_pid, signal.SIGPWR)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["umount", str(root / "proc")], check=False, capture_output=True)


# ------------------------------------------------------------------------------ pveam

def test_update_without_index_fails_but_exits_zero(state):
    assert run("update") == (0, "", "update failed - see /var/log/pveam.log for details\n")
    log = state.host_path("/var/log/pveam.log").read_text()
    assert "update failed - no data file 'http://download.proxmox.com/images/aplinfo-pve-9.dat.gz'" in log


def test_available_before_update_warns(state):
    rc, out, err = run("available")
    assert (rc, out) == (0, "")
    assert err == "unable to open file '/var/lib/pve-manager/apl-info/download.proxmox.com' - No such file or directory\n"


def test_update_available_download_list_remove(state, template_file):
    add_to_catalogue(state, template_file)
    assert run("update") == (0, "update successful\n", "")
    assert run("available") == (0, "system          %-60s amd64\n" % NAME, "")
    assert run("available", "--section", "mail") == (0, "", "")
    rc, out, err = run("download", "local", NAME)
    assert (rc, err) == (0, "")
    assert out == ("downloading %s to %s\n" % (URL, DEST)
                   + "calculating checksum...OK, checksum verified\n"
                   + "download of '%s' to '%s' finished\n" % (URL, DEST))
    assert run("download", "local", NAME) == (0, "downloading %s to %s\ncalculating checksum of existing file...OK, got correct "
                                                 "file already, no need to download\n" % (URL, DEST), "")
    size = os.path.getsize(str(template_file))
    listing = "%-60s %-6s\n%-60s %-4.2fMB\n" % ("NAME", "SIZE", "local:vztmpl/" + NAME, size / 1048576.0)
    assert run("list", "local") == (0, listing, "")
    assert run("remove", "local:vztmpl/" + NAME) == (0, "", "")
    assert run("list", "local") == (0, "%-60s %-6s\n" % ("NAME", "SIZE"), "")


def test_download_checksum_mismatch_is_task_error_exit_zero(state, template_file):
    add_to_catalogue(state, template_file)
    run("update")
    mirrored = mirror_dir(state) / "system" / NAME
    mirrored.chmod(stat.S_IRUSR | stat.S_IWUSR)
    with open(mirrored, "ab") as fh:
        fh.write(b"corruption")
    rc, out, err = run("download", "local", NAME)
    assert rc == 0  # no $upid_exit for pveam download
    assert out.endswith("calculating checksum...\n")
    assert re.match(r"^checksum mismatch: got '[0-9a-f]{128}' != expect '[0-9a-f]{128}'\n$", err)
    assert not (state.template_cache_dir("local") / NAME).exists()


def test_download_errors(state):
    assert run("download", "local", "nope.tar.gz") == (
        255, "", "400 Parameter verification failed.\ntemplate: no such template\npveam download <storage> <template>\n")
    assert run("download", "local") == (255, "", "400 not enough arguments\npveam download <storage> <template>\n")


def test_download_to_storage_without_templates(state, template_file):
    add_to_catalogue(state, template_file)
    run("update")
    assert run("download", "local-lvm", NAME) == (255, "", "storage 'local-lvm' does not support templates\n")
    assert run("download", "nosuch", NAME) == (255, "", "storage 'nosuch' does not exist\n")


def test_list_errors(state):
    assert run("list", "local-lvm") == (255, "", "Storage does not support templates!\n")
    assert run("list", "nosuch") == (255, "", "storage 'nosuch' does not exist\n")


def test_unknown_command(state):
    rc, out, err = run("explode")
    assert (rc, out) == (255, "")
    assert err.startswith("ERROR: unknown command 'pveam explode'\nUSAGE: pveam <COMMAND> [ARGS] [OPTIONS]\n")


def test_install_template_shortcut(state, template_file):
    assert install_template(state, template_file) == "local:vztmpl/" + NAME
    assert (state.template_cache_dir("local") / NAME).is_file()


def test_aplinfo_rest_endpoints(state, template_file):
    add_to_catalogue(state, template_file)
    run("update")
    auth = AuthStore(state.pve_path("")).ensure()
    auth.set_password("root@pam", "pw")
    with api_server(state) as api:
        ticket, csrf = login(api, "root@pam", "pw")
        r = raw_request(api, "GET", "/nodes/pve/aplinfo", ticket=ticket)
        assert r.status_line == "200 OK"
        (item,) = r.json["data"]
        assert item["template"] == NAME and item["location"] == URL and item["section"] == "system"
        assert item["type"] == "lxc" and item["os"] == "debian-12" and item["architecture"] == "amd64"
        r = raw_request(api, "POST", "/nodes/pve/aplinfo", {"storage": "local", "template": NAME}, ticket=ticket, csrf=csrf)
        assert r.status_line == "200 OK"
        upid = r.json["data"]
        assert ":download:%s:root@pam:" % NAME in upid
        assert wait_task(api, "pve", upid, ticket=ticket)["exitstatus"] == "OK"
        r = raw_request(api, "POST", "/nodes/pve/aplinfo", {"storage": "local", "template": "x.tar.gz"}, ticket=ticket, csrf=csrf)
        assert r.status_line == "400 Parameter verification failed."
        assert r.json["errors"] == {"template": "no such template"}
    assert (state.template_cache_dir("local") / NAME).is_file()


@pytest.mark.skipif(os.environ.get("PVESIM_TEST_DEBOOTSTRAP") != "1",
                    reason="set PVESIM_TEST_DEBOOTSTRAP=1 to build a Debian template with debootstrap (needs root and a Debian mirror, 1-5 min)")
def test_debootstrap_template(tmp_path):
    from pvesim.templates import build_debootstrap_template

    out = build_debootstrap_template(str(tmp_path / "debian-12-minbase_12.0-1_amd64.tar.zst"))
    with tarfile.open(str(out)) if not str(out).endswith(".zst") else _zst_tar(out) as tar:
        names = set(tar.getnames())
        assert "./etc/debian_version" in names
        # Debian 12 has merged /usr: /sbin -> usr/sbin
        init_name = "./usr/sbin/init" if "./usr/sbin/init" in names else "./sbin/init"
        init = tar.extractfile(init_name).read().decode()
        assert init.startswith("#!/bin/sh") and "trap shutdown_now PWR" in init
        assert tar.extractfile("./etc/hostname").read() == b"debian\n"


def _zst_tar(path):
    data = subprocess.run(["zstd", "-d", "-c", str(path)], capture_output=True, check=True).stdout
    return tarfile.open(fileobj=io.BytesIO(data))
