# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OCI image archives as templates (contract §8): detection, config derivation, and in lxc mode a
running application container.  The archive is built here from the busybox template as a
single-layer OCI image (no registry access needed)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile

import pytest
from conftest import run_pct

from pvesim.config import lxc_configs


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def build_oci_archive(dest, layer_tgz, config, arch="amd64", dot_prefix=False):
    """An oci-archive (uncompressed tar) with one gzip layer and the given image ``config``."""
    with open(layer_tgz, "rb") as fh:
        layer = fh.read()
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    blobs = {}

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        blobs[d] = data
        return {"digest": "sha256:" + d, "size": len(data)}

    layer_desc = dict(blob(layer), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
    cfg = json.dumps({"architecture": arch, "os": "linux", "config": config,
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cfg_desc = dict(blob(cfg), mediaType="application/vnd.oci.image.config.v1+json")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": cfg_desc, "layers": [layer_desc]}).encode()
    man_desc = dict(blob(manifest), mediaType="application/vnd.oci.image.manifest.v1+json",
                    annotations={"org.opencontainers.image.ref.name": "latest"})
    index = json.dumps({"schemaVersion": 2, "manifests": [man_desc]}).encode()
    prefix = "./" if dot_prefix else ""
    with tarfile.open(dest, "w") as tar:
        _add_bytes(tar, prefix + "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        _add_bytes(tar, prefix + "index.json", index)
        for d, data in blobs.items():
            _add_bytes(tar, prefix + "blobs/sha256/" + d, data)
    return dest


CONFIG = {"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo up > /tmp/up; exec sleep 3600"],
          "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "APP_MODE=test"], "WorkingDir": "/root",
          "Volumes": {"/data": {}}, "StopSignal": "SIGKILL"}


@pytest.fixture
def oci_template(state, template_file, tmp_path):
    dest = state.template_cache_dir("local") / "app_latest.tar"
    dest.parent.mkdir(parents=True, exist_ok=True)
    build_oci_archive(str(dest), template_file, CONFIG)
    return "local:vztmpl/app_latest.tar"


def test_oci_create_state_mode(state, oci_template):
    r = run_pct(state, "create", 9070, oci_template, "--rootfs", "local-lvm:1", "--net0", "name=eth0,bridge=vmbr0,ip=dhcp")
    assert r.rc == 0, r
    assert r.out == ('  Logical volume "vm-9070-disk-0" created.\n'
                     "Detected OCI archive\n"
                     "creating base directory for volume at /data\n"
                     "Auto-Enabling host-managed network for network device net0.\n"
                     "Detected container architecture: amd64\n")
    conf = run_pct(state, "config", 9070).out
    assert "cmode: console\n" in conf
    assert "entrypoint: /bin/sh -c 'echo up > /tmp/up; exec sleep 3600'\n" in conf
    assert "ostype: debian\n" in conf
    assert "host-managed=1" in conf
    assert conf.endswith("lxc.init.cwd: /root\nlxc.signal.halt: SIGKILL\n")
    raw = lxc_configs(state).path(9070).read_text()
    assert "lxc.environment.runtime: PATH=/usr/sbin:/usr/bin:/sbin:/bin\nlxc.environment.runtime: APP_MODE=test\n" in raw


def test_dot_prefixed_oci_layout_is_not_detected(state, template_file):
    dest = state.template_cache_dir("local") / "dotted.tar"
    dest.parent.mkdir(parents=True, exist_ok=True)
    build_oci_archive(str(dest), template_file, CONFIG, dot_prefix=True)
    from pvesim.oci import is_oci_archive

    assert not is_oci_archive(dest)
    assert is_oci_archive(build_oci_archive(str(dest.parent / "plain.tar"), template_file, CONFIG))


def test_oci_app_container_runs_in_lxc_mode(lxc_state, template_file):
    st = lxc_state
    dest = st.template_cache_dir("local") / "app_latest.tar"
    build_oci_archive(str(dest), template_file, CONFIG)
    r = run_pct(st, "create", 9071, "local:vztmpl/app_latest.tar", "--rootfs", "local-lvm:1", "--hostname", "app")
    assert r.rc == 0, r
    root = st.storage_base_path("local-lvm") / "vm-9071-disk-0"
    assert (root / "data").is_dir() and os.lstat(root / "data").st_uid == 100000
    r = run_pct(st, "start", 9071)
    assert (r.rc, r.err) == (0, ""), r
    r = run_pct(st, "exec", 9071, "--", "cat", "/tmp/up")
    assert (r.rc, r.out) == (0, "up\n")
    # the quoted entrypoint reached sh as one argument: it wrote /tmp/up and exec'd sleep as PID 1
    r = run_pct(st, "exec", 9071, "--", "sh", "-c",
                "cat /proc/1/environ | tr '\\0' '\\n' | grep APP_MODE; cat /proc/1/cmdline | tr '\\0' ' '; echo; readlink /proc/1/cwd")
    assert r.out == "APP_MODE=test\nsleep 3600 \n/root\n"
    assert run_pct(st, "stop", 9071).rc == 0
    assert run_pct(st, "destroy", 9071).rc == 0
    assert not root.exists()


def test_busybox_layer_fixture_is_a_real_gzip(template_file):
    with open(template_file, "rb") as fh:
        assert fh.read(2) == b"\x1f\x8b"
    assert shutil.which("tar")
