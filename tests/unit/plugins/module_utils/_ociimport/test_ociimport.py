# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""OCI bundle -> Proxmox VE container: config.json mapping, content-digest template names, reproducible templates."""

from __future__ import annotations

import copy
import json
import os
import tarfile

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._ociimport import bundle, mapping, template

# `runc spec` of runc 1.1.5 (Debian 12), unchanged.
with open(os.path.join(os.path.dirname(__file__), "runc-spec-1.1.5.json")) as _stream:
    RUNC_SPEC = json.load(_stream)


def umoci_like():
    """The runc default plus what umoci writes from an image config: entrypoint+cmd, env, cwd, user, annotations."""
    config = copy.deepcopy(RUNC_SPEC)
    config["hostname"] = "web"
    config["root"] = {"path": "rootfs", "readonly": False}
    config["process"].update(args=["/bin/httpd", "-f", "-p", "8080", "--title", "my site"], cwd="/srv",
                             env=["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello world"],
                             user={"uid": 1000, "gid": 1000, "additionalGids": [10, 20]})
    config["linux"]["resources"].update(memory={"limit": 256 * 1048576, "swap": 384 * 1048576}, cpu={"quota": 150000, "period": 100000, "shares": 1024})
    config["mounts"].append({"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]})
    config["annotations"] = {"org.opencontainers.image.stopSignal": "SIGQUIT"}
    return config


def test_runc_default_spec_maps_without_noise():
    out = mapping.map_config(RUNC_SPEC)
    assert out.params == {"hostname": "runc", "entrypoint": "sh", "cmode": "console",
                          "env": "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\0TERM=xterm"}
    assert out.lxc == [["lxc.prlimit.nofile", "1024:1024"]]
    # runc's default read-only root and noNewPrivileges are what a Proxmox VE container cannot honour
    assert out.unmapped == ["process.noNewPrivileges: Proxmox VE's container config has no key for it (lxc.no_new_privs is not "
                            "a raw lxc key pve-container accepts)",
                            "root.readonly: a Proxmox VE container's root file system is always writable"]
    assert out.warning().startswith("oci_bundle: 2 setting(s) of config.json have no Proxmox VE equivalent")
    assert any(item.startswith("linux.maskedPaths") for item in out.defaults)
    assert any(item.startswith("mounts[/proc]") for item in out.defaults)


def test_image_settings_map_like_pve_9_1():
    out = mapping.map_config(umoci_like())
    p = out.params
    assert p["hostname"] == "web"
    assert p["memory"] == 256 and p["swap"] == 128
    assert p["cores"] == 2 and p["cpulimit"] == 1.5
    assert p["cpuunits"] == 1 + (1022 * 9999) // 262142
    assert p["entrypoint"] == "/bin/httpd -f -p 8080 --title 'my site'"
    assert p["cmode"] == "console"
    assert p["env"].split("\0") == ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello world"]
    assert p["mp"] == {"mp0": {"mp": "/data", "volume": "/srv/data", "ro": True}}
    assert ["lxc.init.cwd", "/srv"] in out.lxc
    assert ["lxc.init.uid", "1000"] in out.lxc and ["lxc.init.gid", "1000"] in out.lxc
    assert ["lxc.init.groups", "10,20"] in out.lxc
    assert [item.split(":")[0] for item in out.unmapped] == ["process.noNewPrivileges"]


def test_unmappable_settings_are_listed_in_one_warning():
    config = umoci_like()
    config["process"]["capabilities"]["bounding"].append("CAP_SYS_ADMIN")
    config["process"]["apparmorProfile"] = "docker-default"
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO"}
    config["linux"]["sysctl"] = {"net.core.somaxconn": "1024"}
    config["linux"]["namespaces"] = [ns for ns in config["linux"]["namespaces"] if ns["type"] != "network"]
    config["linux"]["resources"]["pids"] = {"limit": 100}
    config["mounts"].append({"destination": "/cache", "type": "tmpfs", "source": "tmpfs"})
    config["root"]["readonly"] = True
    config["hooks"] = {"prestart": [{"path": "/bin/true"}]}
    out = mapping.map_config(config)
    text = out.warning()
    for needle in ("CAP_SYS_ADMIN", "process.apparmorProfile", "linux.seccomp", "linux.sysctl", "no network namespace",
                   "linux.resources.pids", "mounts[/cache]", "root.readonly", "hooks"):
        assert needle in text, needle
    assert text.startswith("oci_bundle: %d setting(s)" % len(out.unmapped))
    # the mapped part is still there
    assert out.params["memory"] == 256


def test_arguments_lxc_cannot_pass_are_reported():
    config = copy.deepcopy(RUNC_SPEC)
    config["process"]["args"] = ["/bin/echo", "it's \"both\""]
    out = mapping.map_config(config)
    assert "entrypoint" not in out.params
    assert any(item.startswith("process.args") for item in out.unmapped)
    assert mapping.quote_arg("a b") == "'a b'" and mapping.quote_arg("it's") == '"it\'s"' and mapping.quote_arg("x\ny") is None


def test_sbin_init_is_a_system_container():
    config = copy.deepcopy(RUNC_SPEC)
    config["process"]["args"] = ["/sbin/init"]
    assert "entrypoint" not in mapping.map_config(config).params


def test_no_os_release_means_unmanaged():
    assert mapping.map_config(RUNC_SPEC, has_os_release=False).params["ostype"] == "unmanaged"
    with pytest.raises(LxcriError) as err:
        mapping.map_config({"ociVersion": "1.0.0"})
    assert err.value.details["field"] == "oci_bundle"


def make_rootfs(base, files):
    os.makedirs(base)
    for rel, data in files.items():
        path = os.path.join(base, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if data.startswith(b"->"):
            os.symlink(data[2:].decode(), path)
        else:
            with open(path, "wb") as stream:
                stream.write(data)
    return base


FILES = {"bin/busybox": b"\x7fELF fake", "bin/sh": b"->busybox", "etc/hostname": b"web\n"}


def test_same_rootfs_same_name_other_content_other_name(tmp_path):
    one = make_rootfs(str(tmp_path / "one"), FILES)
    two = make_rootfs(str(tmp_path / "two"), FILES)
    os.utime(os.path.join(two, "etc/hostname"), (1, 1))
    assert template.rootfs_digest(one) == template.rootfs_digest(two)
    three = make_rootfs(str(tmp_path / "three"), dict(FILES, **{"etc/hostname": b"db\n"}))
    assert template.rootfs_digest(three) != template.rootfs_digest(one)
    os.chmod(os.path.join(two, "etc/hostname"), 0o600)
    assert template.rootfs_digest(two) != template.rootfs_digest(one)
    name = template.template_name(template.rootfs_digest(one))
    assert name.startswith("lxcri-oci-") and name.endswith("_amd64.tar.gz") and len(name) == len("lxcri-oci-_amd64.tar.gz") + 24


def test_template_is_reproducible_reused_and_complete(tmp_path, monkeypatch):
    one = make_rootfs(str(tmp_path / "one"), FILES)
    two = make_rootfs(str(tmp_path / "two"), FILES)
    name1, path1, sha1, created1 = template.build_template(one, str(tmp_path / "cache1"))
    # another process, another directory: the temporary file name must not leak into the gzip header
    monkeypatch.setattr(template.os, "getpid", lambda: 4242)
    name2, path2, sha2, created2 = template.build_template(two, str(tmp_path / "cache2"))
    assert created1 and created2
    assert (name1, sha1) == (name2, sha2)
    again = template.build_template(two, str(tmp_path / "cache1"))
    assert again == (name1, path1, sha1, False)
    assert sorted(os.listdir(str(tmp_path / "cache1"))) == [name1]
    with tarfile.open(path1) as tar:
        names = tar.getnames()
        assert names[0] == "." and "./bin/busybox" in names and "./etc/hostname" in names
        assert tar.getmember("./bin/sh").issym() and tar.getmember("./bin/sh").linkname == "busybox"
        assert tar.extractfile("./etc/hostname").read() == b"web\n"


def test_prepare_from_a_bundle(tmp_path):
    bundle_dir = tmp_path / "bundle"
    make_rootfs(str(bundle_dir / "rootfs"), FILES)
    config = umoci_like()
    config["root"] = {"path": "rootfs"}
    del config["process"]["noNewPrivileges"]  # the one setting of runc's default a CT cannot honour: no warning without it
    (bundle_dir / "config.json").write_text(json.dumps(config))
    result = bundle.prepare(str(bundle_dir), storage="local", cache_dir=str(tmp_path / "cache"), arch="amd64")
    assert result["ostemplate"] == "local:vztmpl/" + result["template_name"]
    assert result["template_built"] is True and len(result["template_sha256"]) == 64
    assert result["params"]["ostype"] == "unmanaged"  # no /etc/os-release in this rootfs
    assert result["params"]["entrypoint"].startswith("/bin/httpd")
    assert result["warning"] is None
    second = bundle.prepare(str(bundle_dir), storage="local", cache_dir=str(tmp_path / "cache"), arch="amd64")
    assert second["template_built"] is False and second["template_name"] == result["template_name"]
    with pytest.raises(LxcriError) as err:
        bundle.prepare(str(tmp_path / "missing"))
    assert err.value.error_kind == "not_found" and err.value.details["field"] == "oci_bundle"
