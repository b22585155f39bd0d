"""OCI image archives as ``pct create`` templates (contract §8, PVE::LXC::Create).

Detection as ``archive_is_oci_format``: an *uncompressed* ``.tar`` whose ``tar -tf`` listing
holds exactly ``oci-layout``, ``index.json`` and something under ``blobs/``.  The layers of the
first manifest are applied in order with OCI whiteouts; the image config becomes
``entrypoint``/``cmode``/``env``/``lxc.init.*``/``lxc.signal.halt`` as restore_oci_archive does.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

from .handlers import PVEError

_CTRL = re.compile(r"[\x00-\x08\x10-\x1F\x7F]")


def is_oci_archive(path):
    if not str(path).endswith(".tar"):
        return False
    try:
        out = subprocess.run(["tar", "-tf", str(path)], capture_output=True, timeout=300, check=False).stdout.decode(
            "utf-8", "replace").splitlines()
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "oci-layout" in out and "index.json" in out and any(x.startswith("blobs/") for x in out)


class OciImage:
    """An unpacked OCI layout (temporary directory) with its manifest and config."""

    def __init__(self, archive, workdir):
        self.dir = Path(tempfile.mkdtemp(prefix="oci-", dir=str(workdir)))
        proc = subprocess.run(["tar", "-xf", str(archive), "-C", str(self.dir)], capture_output=True, check=False)
        if proc.returncode != 0:
            raise PVEError("failed to unpack OCI archive: %s" % proc.stderr.decode(errors="replace").strip())
        index = self._json(self.dir / "index.json")
        manifests = index.get("manifests") or []
        if not manifests:
            raise PVEError("OCI archive has no manifest")
        desc = manifests[0]
        manifest = self._blob_json(desc["digest"])
        if manifest.get("mediaType", desc.get("mediaType", "")).endswith("image.index.v1+json") or "manifests" in manifest:
            manifest = self._blob_json(manifest["manifests"][0]["digest"])
        self.manifest = manifest
        self.image_config = self._blob_json(manifest["config"]["digest"])
        self.config = self.image_config.get("config") or {}

    def _json(self, path):
        try:
            return json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise PVEError("invalid OCI archive: %s" % exc) from None

    def blob_path(self, digest):
        algo, _sep, hexd = digest.partition(":")
        if not re.match(r"^[a-z0-9]+$", algo) or not re.match(r"^[a-f0-9]+$", hexd):
            raise PVEError("invalid OCI digest '%s'" % digest)
        return self.dir / "blobs" / algo / hexd

    def _blob_json(self, digest):
        return self._json(self.blob_path(digest))

    @property
    def layers(self):
        return [self.blob_path(layer["digest"]) for layer in self.manifest.get("layers") or []]

    def read_file(self, rel):
        """A file out of the image (last layer wins) without unpacking it."""
        for layer in reversed(self.layers):
            for name in ("./" + rel, rel):
                proc = subprocess.run(["tar", "-xOf", str(layer), name], capture_output=True, check=False)
                if proc.returncode == 0:
                    return proc.stdout
        return None

    def cleanup(self):
        shutil.rmtree(str(self.dir), ignore_errors=True)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(str(path), ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def apply_layers(img, rootdir, worker):
    """Unpack the layers in order, honouring ``.wh.<name>`` and ``.wh..wh..opq`` whiteouts."""
    rootdir = Path(rootdir)
    for layer in img.layers:
        listing = subprocess.run(["tar", "-tf", str(layer)], capture_output=True, check=False)
        if listing.returncode != 0:
            raise PVEError("unable to read OCI layer %s" % layer.name)
        whiteouts = []
        for name in listing.stdout.decode("utf-8", "surrogateescape").splitlines():
            rel = name[2:] if name.startswith("./") else name.lstrip("/")
            base = os.path.basename(rel.rstrip("/"))
            parent = os.path.dirname(rel.rstrip("/"))
            if ".." in rel.split("/"):
                continue
            if base == ".wh..wh..opq":
                d = rootdir / parent
                if d.is_dir() and not d.is_symlink():
                    for child in d.iterdir():
                        _remove(child)
                whiteouts.append(rel)
            elif base.startswith(".wh."):
                _remove(rootdir / parent / base[4:])
                whiteouts.append(rel)
        proc = subprocess.run(["tar", "-xf", str(layer), "-C", str(rootdir), "--numeric-owner", "--same-permissions"],
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise PVEError("unable to extract OCI layer: %s" % proc.stderr.decode(errors="replace").strip())
        for rel in whiteouts:
            p = rootdir / rel
            if p.exists() or p.is_symlink():
                p.unlink()


def _checked(value, what):
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if any(_CTRL.search(str(v)) for v in values):
        raise PVEError("OCI config %s for '%s' contains forbidden control characters!" % (
            "array-value" if isinstance(value, list) else "value", what))
    return value


def resolve_user(userstr, read):
    """``User`` -> (uid, gid, groups) like PVE's resolve_oci_user (names looked up in the image)."""
    user, _sep, group = userstr.partition(":")
    passwd = (read("etc/passwd") or b"").decode("utf-8", "replace")
    groupf = (read("etc/group") or b"").decode("utf-8", "replace")
    uid = gid = None
    if re.match(r"^\d+$", user):
        uid = int(user)
    else:
        for line in passwd.splitlines():
            f = line.split(":")
            if len(f) >= 4 and f[0] == user:
                uid, gid = int(f[2]), int(f[3])
                break
        if uid is None:
            raise PVEError("unable to resolve OCI user '%s'" % user)
    if group:
        if re.match(r"^\d+$", group):
            gid = int(group)
        else:
            for line in groupf.splitlines():
                f = line.split(":")
                if len(f) >= 3 and f[0] == group:
                    gid = int(f[2])
                    break
            else:
                raise PVEError("unable to resolve OCI group '%s'" % group)
    return uid, gid, None


def apply_config(img, conf, worker, read, mkdir=None):
    """restore_oci_archive's config derivation."""
    from .lxcschema import NET_DESC, parse_property_string, print_property_string

    cfg = img.config
    volumes = cfg.get("Volumes") or {}
    if volumes:
        _checked(list(volumes), "Volumes")
        for path in volumes:
            worker.log("creating base directory for volume at %s" % path)
            if mkdir is not None:
                mkdir(path)
    init_cmd = list(_checked(cfg.get("Entrypoint"), "Entrypoint") or []) + list(_checked(cfg.get("Cmd"), "Cmd") or [])
    if init_cmd and init_cmd[0] != "/sbin/init":
        conf["entrypoint"] = " ".join(shlex.quote(x) if re.search(r"[^\w@%+=:,./-]", x) or x == "" else x for x in init_cmd)
        conf["cmode"] = "console"
        for opt in sorted(k for k in conf if re.match(r"^net\d+$", k)):
            d = parse_property_string(NET_DESC, conf[opt])
            if d.get("host-managed") is None:
                worker.log("Auto-Enabling host-managed network for network device %s." % opt)
                d["host-managed"] = 1
                conf[opt] = print_property_string(NET_DESC, d)
    lxc = conf.setdefault("lxc", [])
    user = _checked(cfg.get("User"), "User")
    if user:
        uid, gid, groups = resolve_user(user, read)
        if uid is not None:
            lxc.append(["lxc.init.uid", str(uid)])
        if gid is not None:
            lxc.append(["lxc.init.gid", str(gid)])
        if groups is not None:
            lxc.append(["lxc.init.groups", groups])
    wd = _checked(cfg.get("WorkingDir"), "WorkingDir")
    if wd:
        lxc.append(["lxc.init.cwd", wd])
    envs = _checked(cfg.get("Env"), "Env")
    if envs:
        conf["env"] = "\0".join(envs)
    lxc.append(["lxc.signal.halt", _checked(cfg.get("StopSignal"), "StopSignal") or "SIGTERM"])
    return conf
