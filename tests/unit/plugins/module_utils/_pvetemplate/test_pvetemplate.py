# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pve_template: validation, planning and idempotency (fake storage), and both transports' commands and calls."""

from __future__ import annotations

import hashlib
import json
import os
import re

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import model, transport
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.manager import TemplateManager

NAME = "debian-12-standard_12.7-1_amd64.tar.zst"
VOLID = "local:vztmpl/" + NAME


def sha(data, algorithm="sha512"):
    return hashlib.new(algorithm, data).hexdigest()


class FakeTemplates:
    """A storage and a catalogue in memory; files live under ``root`` so checksums can be read when ``readable``."""

    name = "fake"

    def __init__(self, root, files=None, catalogue=None, readable=True, can_update=True, index_after_update=None, lose_download=False):
        self.root = root
        self.node = "pve"
        self.files = dict(files or {})
        self.index = dict(catalogue or {})
        self.readable = readable
        self.can_update_catalogue = can_update
        self.index_after_update = index_after_update
        self.lose_download = lose_download
        self.calls = []
        for name, data in self.files.items():
            (root / name).write_bytes(data)

    def list(self, storage):
        return dict((name, len(data)) for name, data in self.files.items())

    def catalogue(self):
        return dict((name, {"sha512": sha(data)}) for name, data in self.index.items())

    def update_catalogue(self, check=False):
        if not check:
            self.calls.append(("update",))
            self.index.update(self.index_after_update or {})
        return ["pveam", "update"]

    def local_path(self, storage, name):
        return str(self.root / name) if self.readable and name in self.files else None

    def _store(self, name, data):
        self.files[name] = data
        (self.root / name).write_bytes(data)

    def download(self, storage, name, check=False):
        if not check:
            self.calls.append(("download", storage, name))
            if not self.lose_download:
                self._store(name, self.index[name])
        return ["pveam", "download", storage, name]

    def upload(self, storage, name, src, checksum, check=False):
        if not check:
            self.calls.append(("upload", storage, name, src, checksum))
            with open(src, "rb") as stream:
                self._store(name, stream.read())
        return ["upload", src]

    def remove(self, storage, name, check=False):
        if not check:
            self.calls.append(("remove", storage, name))
            self.files.pop(name)
            os.unlink(str(self.root / name))
        return ["pveam", "remove", "%s:vztmpl/%s" % (storage, name)]


def run(fake, check_mode=False, **params):
    params.setdefault("name", NAME)
    params.setdefault("update_catalogue", True)
    return TemplateManager(fake, model.Desired(params), check_mode=check_mode).run()


# -- model -------------------------------------------------------------------------------------------

def test_parse_checksum():
    assert model.parse_checksum("SHA256:" + "A" * 64) == ("sha256", "a" * 64)
    for bad, text in (("sha256", "<algorithm>:<hex>"), ("crc32:1234", "unknown algorithm"), ("sha256:abc", "64 hex digits")):
        with pytest.raises(LxcriError) as err:
            model.parse_checksum(bad)
        assert err.value.error_kind == "invalid_argument" and err.value.details["field"] == "checksum"
        assert text in err.value.msg


@pytest.mark.parametrize("params, field", [
    ({"name": "a/b.tar.gz"}, "name"),
    ({"name": "debian.iso"}, "name"),
    ({"name": "local:iso/x.tar.gz"}, "name"),
    ({"name": "local:vztmpl/x.tar.gz", "storage": "other"}, "storage"),
    ({"name": "x.tar.gz", "storage": "bad storage"}, "storage"),
    ({"name": "x.tar.gz", "checksum": "md5:zz"}, "checksum"),
])
def test_desired_rejects_bad_input(params, field):
    with pytest.raises(LxcriError) as err:
        model.Desired(params)
    assert err.value.error_kind == "invalid_argument"
    assert err.value.details["field"] == field


def test_desired_volid_and_src(tmp_path):
    assert model.Desired({"name": "nfs:vztmpl/a_1_amd64.tar.xz"}).volid == "nfs:vztmpl/a_1_amd64.tar.xz"
    assert model.Desired({"name": "a_1_amd64.tar.xz"}).volid == "local:vztmpl/a_1_amd64.tar.xz"
    with pytest.raises(LxcriError) as err:
        model.Desired({"name": NAME, "src": str(tmp_path / "missing.tar.zst")})
    assert err.value.error_kind == "not_found" and err.value.details["field"] == "src"
    src = tmp_path / "t.tar.zst"
    src.write_bytes(b"template")
    desired = model.Desired({"name": NAME, "src": str(src)})
    assert desired.checksum == ("sha256", sha(b"template", "sha256")) and desired.src_size == 8
    with pytest.raises(LxcriError) as err:
        model.Desired({"name": NAME, "src": str(src), "checksum": "sha256:" + "0" * 64})
    assert err.value.error_kind == "invalid_argument" and "src %s has sha256" % src in err.value.msg


# -- catalogue ---------------------------------------------------------------------------------------

def test_catalogue_download_then_idempotent(tmp_path):
    fake = FakeTemplates(tmp_path, catalogue={NAME: b"debian"})
    first = run(fake)
    assert first["changed"] is True
    assert [a["kind"] for a in first["actions"]] == ["download"]
    assert first["diff"]["before"] == {"present": False, "size": None, "checksum": None}
    assert first["diff"]["after"]["present"] is True
    assert first["template"]["checksum"] == "sha512:" + sha(b"debian")
    assert first["verified"] == "checksum"
    assert fake.calls == [("download", "local", NAME)]
    second = run(fake)
    assert second["changed"] is False and second["actions"] == [] and second["verified"] == "checksum"
    assert second["diff"] == {"before": {}, "after": {}}
    assert fake.calls == [("download", "local", NAME)]


def test_check_mode_predicts_without_downloading(tmp_path):
    fake = FakeTemplates(tmp_path, catalogue={NAME: b"debian"})
    result = run(fake, check_mode=True)
    assert result["changed"] is True and result["actions"][0]["argv"] == ["pveam", "download", "local", NAME]
    assert fake.calls == [] and fake.files == {}


def test_present_with_wrong_checksum_is_replaced(tmp_path):
    fake = FakeTemplates(tmp_path, files={NAME: b"corrupt"}, catalogue={NAME: b"debian"})
    result = run(fake)
    assert [a["kind"] for a in result["actions"]] == ["remove", "download"]
    assert result["diff"]["before"]["checksum"] == "sha512:" + sha(b"corrupt")
    assert result["diff"]["after"]["checksum"] == "sha512:" + sha(b"debian")
    assert fake.files[NAME] == b"debian"


def test_present_but_unreadable_is_compared_by_presence(tmp_path):
    fake = FakeTemplates(tmp_path, files={NAME: b"whatever"}, catalogue={NAME: b"debian"}, readable=False)
    result = run(fake)
    assert result["changed"] is False and result["verified"] == "presence"


def test_user_checksum_beats_the_catalogue(tmp_path):
    fake = FakeTemplates(tmp_path, files={NAME: b"debian"}, catalogue={NAME: b"debian"})
    result = run(fake, checksum="sha256:" + sha(b"debian", "sha256"))
    assert result["changed"] is False and result["template"]["checksum"] == "sha256:" + sha(b"debian", "sha256")


def test_missing_from_index_runs_update_once(tmp_path):
    fake = FakeTemplates(tmp_path, catalogue={}, index_after_update={NAME: b"debian"})
    result = run(fake)
    assert [a["kind"] for a in result["actions"]] == ["update_catalogue", "download"]
    assert fake.calls == [("update",), ("download", "local", NAME)]
    (tmp_path / "empty").mkdir()
    fake2 = FakeTemplates(tmp_path / "empty", catalogue={})
    with pytest.raises(LxcriError) as err:
        run(fake2)
    assert err.value.error_kind == "not_found" and "even after 'pveam update'" in err.value.msg
    fake3 = FakeTemplates(tmp_path, catalogue={}, can_update=False)
    with pytest.raises(LxcriError) as err:
        run(fake3)
    assert "run 'pveam update' on the node" in err.value.msg
    assert fake3.calls == []


def test_check_mode_does_not_refresh_the_index(tmp_path):
    fake = FakeTemplates(tmp_path, catalogue={}, index_after_update={NAME: b"debian"})
    result = run(fake, check_mode=True)
    assert [a["kind"] for a in result["actions"]] == ["update_catalogue", "download"]
    assert fake.calls == []


def test_download_that_leaves_nothing_fails(tmp_path):
    fake = FakeTemplates(tmp_path, catalogue={NAME: b"debian"}, lose_download=True)
    with pytest.raises(LxcriError) as err:
        run(fake)
    assert err.value.error_kind == "task_failed" and "is not in storage local after the download" in err.value.msg


# -- upload ----------------------------------------------------------------------------------------------

def test_upload_then_idempotent_by_checksum_and_by_size(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    src = tmp_path / "mine.tar.zst"
    src.write_bytes(b"my template")
    fake = FakeTemplates(store)
    first = run(fake, src=str(src))
    assert first["changed"] is True and first["source"] == "file"
    assert fake.calls == [("upload", "local", NAME, str(src), ("sha256", sha(b"my template", "sha256")))]
    assert run(fake, src=str(src))["verified"] == "checksum"
    assert run(fake, src=str(src))["changed"] is False
    fake.readable = False
    same = run(fake, src=str(src))
    assert same["changed"] is False and same["verified"] == "size"
    src.write_bytes(b"my template v2")
    changed = run(fake, src=str(src))
    assert changed["changed"] is True and changed["verified"] == "size"
    assert changed["diff"]["before"]["size"] == 11 and changed["diff"]["after"]["size"] == 14


# -- absent ----------------------------------------------------------------------------------------------

def test_absent(tmp_path):
    fake = FakeTemplates(tmp_path, files={NAME: b"x"})
    result = run(fake, state="absent")
    assert result["changed"] is True and fake.calls == [("remove", "local", NAME)]
    assert result["diff"]["before"]["present"] is True and result["diff"]["after"]["present"] is False
    assert run(fake, state="absent")["changed"] is False


# -- pct transport ----------------------------------------------------------------------------------------------

class FakeModule:
    def __init__(self, bins):
        self.bins = bins

    def get_bin_path(self, name, required=False):
        return self.bins.get(name)


class FakePct:
    """Stands in for _pve's PctTransport: only its command runner is used."""

    def __init__(self, outputs):
        self.outputs = outputs
        self.argvs = []

    def _run(self, argv, **kwargs):
        self.argvs.append(list(argv))
        key = " ".join([os.path.basename(argv[0])] + [a for a in argv[1:] if not a.startswith("/var/tmp") and "pveupload" not in a])
        for pattern, result in self.outputs.items():
            if re.match(pattern, key):
                if isinstance(result, Exception):
                    raise result
                return result
        raise AssertionError("unexpected command %s" % key)


BINS = {"pvesh": "/usr/bin/pvesh", "pveam": "/usr/bin/pveam"}
NODES = json.dumps([{"node": "pve", "status": "online"}])


def test_pct_lists_via_pvesh_and_resolves_the_only_node():
    pct = FakePct({r"pvesh get /nodes --output-format json": (NODES, ""),
                   r"pvesh get /nodes/pve/storage/local/content --content vztmpl": (json.dumps([
                       {"volid": VOLID, "size": 120, "content": "vztmpl", "format": "tzst"},
                       {"volid": "local:iso/x.iso", "size": 1, "content": "iso"}]), "")})
    templates = transport.PctTemplates(FakeModule(BINS), pct)
    if os.uname()[1].split(".")[0] != "pve":
        assert templates.node == "pve"
        assert templates.list("local") == {NAME: 120}


def test_pct_download_exit_0_with_error_on_stderr_fails():
    pct = FakePct({r"pveam download": ("downloading http://x/y to /var/lib/vz/template/cache/y\n",
                                       "checksum mismatch: got 'aa' != expect 'bb'\n")})
    templates = transport.PctTemplates(FakeModule(BINS), pct, node="pve")
    with pytest.raises(LxcriError) as err:
        templates.download("local", NAME)
    assert "checksum mismatch" in err.value.msg
    ok = FakePct({r"pveam download": ("calculating checksum...OK, checksum verified\n", "")})
    assert transport.PctTemplates(FakeModule(BINS), ok, node="pve").download("local", NAME) == ["/usr/bin/pveam", "download", "local", NAME]


def test_pct_update_failed_on_stderr_fails():
    pct = FakePct({r"pveam update": ("", "update failed - see /var/log/pveam.log for details\n")})
    with pytest.raises(LxcriError) as err:
        transport.PctTemplates(FakeModule(BINS), pct, node="pve").update_catalogue()
    assert err.value.error_kind == "task_failed"


def test_pct_upload_into_pvesm_path_is_atomic_and_checked(tmp_path):
    cache = tmp_path / "template" / "cache"
    src = tmp_path / "src.tar.zst"
    src.write_bytes(b"abc")
    pct = FakePct({r"pvesm path local:vztmpl/": (str(cache / NAME) + "\n", "")})
    templates = transport.PctTemplates(FakeModule(dict(BINS, pvesm="/usr/sbin/pvesm")), pct, node="pve")
    shown = templates.upload("local", NAME, str(src), ("sha256", sha(b"abc", "sha256")))
    assert shown[0] == "copy" and (cache / NAME).read_bytes() == b"abc"
    assert oct((cache / NAME).stat().st_mode & 0o777) == "0o644"
    assert sorted(os.listdir(str(cache))) == [NAME]
    assert templates.local_path("local", NAME) == str(cache / NAME)
    with pytest.raises(LxcriError) as err:
        templates.upload("local", NAME, str(src), ("sha256", "0" * 64))
    assert "checksum mismatch" in err.value.msg
    assert sorted(os.listdir(str(cache))) == [NAME] and (cache / NAME).read_bytes() == b"abc"


def test_pct_upload_without_pvesm_uses_the_nodes_upload_handler(tmp_path, monkeypatch):
    monkeypatch.setattr(transport, "UPLOAD_TMP_DIR", str(tmp_path))
    src = tmp_path / "src.tar.zst"
    src.write_bytes(b"abc")
    seen = {}

    class Capture(FakePct):
        def _run(self, argv, **kwargs):
            tmpname = argv[argv.index("--tmpfilename") + 1]
            seen["tmp"] = tmpname
            with open(tmpname, "rb") as stream:
                seen["content"] = stream.read()
            return super()._run(argv, **kwargs)

    pct = Capture({r"pvesh create /nodes/pve/storage/local/upload": ("", "")})
    argv = transport.PctTemplates(FakeModule(BINS), pct, node="pve").upload("local", NAME, str(src), ("sha256", sha(b"abc", "sha256")))
    assert argv[:3] == ["/usr/bin/pvesh", "create", "/nodes/pve/storage/local/upload"]
    assert argv[argv.index("--checksum-algorithm") + 1] == "sha256" and argv[argv.index("--filename") + 1] == NAME
    assert re.match(r"^.*/pveupload-[0-9a-f]{16}$", seen["tmp"]) and seen["content"] == b"abc"
    assert not os.path.exists(seen["tmp"])


def test_pct_upload_staging_file_is_private_and_never_follows_a_symlink(tmp_path, monkeypatch):
    monkeypatch.setattr(transport, "UPLOAD_TMP_DIR", str(tmp_path))
    monkeypatch.setattr(transport.os, "urandom", lambda count: b"\x01" * count)
    src = tmp_path / "src.tar.zst"
    src.write_bytes(b"abc")
    modes = []

    class Capture(FakePct):
        def _run(self, argv, **kwargs):
            modes.append(os.stat(argv[argv.index("--tmpfilename") + 1]).st_mode & 0o777)
            return super()._run(argv, **kwargs)

    pct = Capture({r"pvesh create /nodes/pve/storage/local/upload": ("", "")})
    templates = transport.PctTemplates(FakeModule(BINS), pct, node="pve")
    templates.upload("local", NAME, str(src), ("sha256", sha(b"abc", "sha256")))
    assert modes == [0o600]
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / ("pveupload-" + "01" * 8)).symlink_to(victim)
    with pytest.raises(LxcriError) as err:
        templates.upload("local", NAME, str(src), ("sha256", sha(b"abc", "sha256")))
    assert err.value.error_kind == "runtime_error" and victim.read_bytes() == b"keep"


def test_pct_needs_pvesh_and_pveam():
    with pytest.raises(LxcriError) as err:
        transport.PctTemplates(FakeModule({}), FakePct({}), node="pve")
    assert err.value.error_kind == "runtime_missing"


# -- API transport --------------------------------------------------------------------------------------------------

class FakeApi:
    node = None

    def __init__(self):
        self.calls = []
        self.waited = []

    def _call(self, method, path, what, read=False, **params):
        record = dict(params)
        if "filename" in record and hasattr(record["filename"], "read"):
            stream = record["filename"]
            record["filename"] = (stream.name, stream.read())
        self.calls.append((method, path, record))
        if method == "GET" and path.endswith("/aplinfo"):
            return [{"template": NAME, "sha512sum": "AB" * 64, "location": "http://x/" + NAME}]
        if method == "GET":
            return [{"volid": VOLID, "size": 5, "content": "vztmpl"}]
        return "UPID:pve:00000001:00000002:00000003:imgcopy::root@pam:"

    def _wait(self, upid, what, timeout=None, node=None):
        self.waited.append((upid, node))

    def _shown(self, method, path, params=None):
        return [method, "/api2/json" + path] + ["%s=%s" % (k, v) for k, v in sorted((params or {}).items())]


def test_api_requires_node():
    with pytest.raises(LxcriError) as err:
        transport.ApiTemplates(FakeApi())
    assert err.value.details["field"] == "node"


def test_api_calls(tmp_path):
    api = FakeApi()
    templates = transport.ApiTemplates(api, node="pve")
    assert templates.list("local") == {NAME: 5}
    assert templates.catalogue()[NAME]["sha512"] == "ab" * 64
    templates.download("local", NAME)
    assert api.calls[-1] == ("POST", "/nodes/pve/aplinfo", {"storage": "local", "template": NAME})
    src = tmp_path / "other-name.bin"
    src.write_bytes(b"payload")
    templates.upload("local", NAME, str(src), ("sha512", "cd" * 64))
    method, path, body = api.calls[-1]
    assert (method, path) == ("POST", "/nodes/pve/storage/local/upload")
    assert body == {"content": "vztmpl", "checksum": "cd" * 64, "checksum-algorithm": "sha512", "filename": (NAME, b"payload")}
    templates.remove("local", NAME)
    assert api.calls[-1][:2] == ("DELETE", "/nodes/pve/storage/local/content/" + VOLID)
    assert len(api.waited) == 3 and all(node == "pve" for _upid, node in api.waited)
    with pytest.raises(LxcriError) as err:
        templates.update_catalogue()
    assert "pveam update" in err.value.msg


# -- oci_bundle parameters (run.from_oci_bundle) ------------------------------------------------------------------

def test_oci_bundle_excludes_name_src_checksum_and_absent(tmp_path):
    from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import run as runmod
    base = {"oci_bundle": str(tmp_path / "b"), "storage": None, "state": "present", "oci_cache_dir": str(tmp_path / "c")}
    for extra, field in (({"src": "/x.tar.gz"}, "src"), ({"name": "x.tar.gz"}, "name"), ({"checksum": "sha256:" + "0" * 64}, "checksum"),
                         ({"state": "absent"}, "oci_bundle")):
        with pytest.raises(LxcriError) as err:
            runmod.from_oci_bundle(dict(base, **extra), False, None)
        assert err.value.details["field"] == field


def test_oci_bundle_becomes_an_upload_of_the_built_template(tmp_path):
    from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import run as runmod
    bundle = tmp_path / "b"
    (bundle / "rootfs" / "bin").mkdir(parents=True)
    (bundle / "rootfs" / "bin" / "true").write_bytes(b"x")
    (bundle / "config.json").write_text(json.dumps({"root": {"path": "rootfs"}, "process": {"args": ["/bin/true"], "cwd": "/"}}))
    params, imported = runmod.from_oci_bundle({"oci_bundle": str(bundle), "storage": "local", "state": "present",
                                               "oci_cache_dir": str(tmp_path / "cache")}, False, None)
    assert params["name"] == imported["template_name"] and params["src"] == imported["template_file"]
    assert params["checksum"] == "sha256:" + imported["template_sha256"]
    assert os.path.dirname(params["src"]) == str(tmp_path / "cache")
    desired = model.Desired(dict(params, update_catalogue=True))
    assert desired.source == "file" and desired.checksum == ("sha256", imported["template_sha256"])
    # check mode builds into the scratch directory instead of the cache
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    params2, _imported2 = runmod.from_oci_bundle({"oci_bundle": str(bundle), "storage": "local", "state": "present",
                                                  "oci_cache_dir": str(tmp_path / "cache2")}, True, str(scratch))
    assert os.path.dirname(params2["src"]) == str(scratch) and not (tmp_path / "cache2").exists()
    assert params2["name"] == params["name"] and params2["checksum"] == params["checksum"]


# -- the pve_container hook (ocihook) -----------------------------------------------------------------------------

class HookModule:
    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, msg):
        self.warnings.append(msg)


def _bundle(tmp_path, name, hostname, sysctl=False):
    bundle = tmp_path / name
    (bundle / "rootfs" / "bin").mkdir(parents=True)
    (bundle / "rootfs" / "bin" / "app").write_bytes(b"same rootfs")
    config = {"root": {"path": "rootfs"}, "hostname": hostname,
              "process": {"args": ["/bin/app", "--serve"], "cwd": "/srv", "env": ["A=1", "B=two words"]},
              "linux": {"namespaces": [{"type": "network"}], "resources": {"memory": {"limit": 128 << 20}}}}
    if sysctl:
        config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    (bundle / "config.json").write_text(json.dumps(config))
    return str(bundle)


def test_hook_uploads_once_and_merges_settings(tmp_path):
    from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import ocihook
    store = tmp_path / "store"
    store.mkdir()
    fake = FakeTemplates(store)
    base = {"vmid": 9420, "oci_cache_dir": str(tmp_path / "cache"), "memory": 512, "lxc": [["lxc.init.cwd", "/override"]]}
    module = HookModule(dict(base, oci_bundle=_bundle(tmp_path, "a", "app-a", sysctl=True)))
    params, result = ocihook.apply_oci_bundle(module, None, templates=fake)
    assert result["changed"] is True and [c[0] for c in fake.calls] == ["upload"]
    assert params["ostemplate"] == result["volid"] and params["ostemplate"].startswith("local:vztmpl/lxcri-oci-")
    assert params["memory"] == 512                      # declared wins over the bundle's 128
    assert params["hostname"] == "app-a" and params["entrypoint"] == "/bin/app --serve" and params["cmode"] == "console"
    assert ["lxc.init.cwd", "/override"] in params["lxc"] and ["lxc.init.cwd", "/srv"] not in params["lxc"]
    assert ["lxc.environment", "A=1"] in params["lxc"] and ["lxc.environment", "B=two words"] in params["lxc"]
    assert "oci_bundle" not in params and "env" not in params
    assert len(module.warnings) == 1 and "linux.sysctl" in module.warnings[0]
    # a second bundle with the same rootfs reuses the template
    module_b = HookModule(dict(base, oci_bundle=_bundle(tmp_path, "b", "app-b")))
    params_b, result_b = ocihook.apply_oci_bundle(module_b, None, templates=fake)
    assert result_b["changed"] is False and params_b["ostemplate"] == params["ostemplate"]
    assert [c[0] for c in fake.calls] == ["upload"] and module_b.warnings == []
    with pytest.raises(LxcriError) as err:
        ocihook.apply_oci_bundle(HookModule(dict(base, oci_bundle="/x", ostemplate="local:vztmpl/a.tar.gz")), None, templates=fake)
    assert err.value.details["field"] == "ostemplate"


def test_hook_in_check_mode_uploads_nothing(tmp_path):
    from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import ocihook
    store = tmp_path / "store"
    store.mkdir()
    fake = FakeTemplates(store)
    module = HookModule({"vmid": 9421, "oci_cache_dir": str(tmp_path / "cache"), "oci_bundle": _bundle(tmp_path, "a", "x")}, check_mode=True)
    params, result = ocihook.apply_oci_bundle(module, None, templates=fake)
    assert result["changed"] is True and fake.calls == [] and not (tmp_path / "cache").exists()
    assert params["ostemplate"].startswith("local:vztmpl/lxcri-oci-")


def test_hook_over_the_api_reports_raw_lxc_keys_instead_of_passing_them(tmp_path):
    from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import ocihook

    class ApiLike:
        supports_raw_lxc = False

    store = tmp_path / "store"
    store.mkdir()
    module = HookModule({"vmid": 9422, "oci_cache_dir": str(tmp_path / "cache"), "oci_bundle": _bundle(tmp_path, "a", "x")})
    params, result = ocihook.apply_oci_bundle(module, ApiLike(), templates=FakeTemplates(store))
    assert "lxc" not in params
    assert params["entrypoint"] == "/bin/app --serve"
    assert "lxc.environment=A=1: a raw LXC key, which only transport pct can write" in result["unmapped"]
    assert len(module.warnings) == 1 and "lxc.init.cwd=/srv" in module.warnings[0]
