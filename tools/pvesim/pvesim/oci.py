# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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

from .backend import resolve_in_root
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


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(str(path), ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _in_rootfs(rootdir: Path, rel: str) -> Path | None:
    """The host path of ``rel`` in the rootfs: every directory component is resolved inside
    the rootfs as a chroot would (a symlink an earlier layer placed cannot lead out of it); the
    last component itself is not followed."""
    rel = rel.strip("/")
    parent = resolve_in_root(rootdir, os.path.dirname(rel))
    if parent is None:
        return None
    return parent / os.path.basename(rel)


def _apply_whiteouts(rootdir: Path, names: list[str]) -> None:
    """``.wh.<name>`` removes a path of the layers below, ``.wh..wh..opq`` empties a directory."""
    for rel in names:
        base = os.path.basename(rel)
        if base == ".wh..wh..opq":
            d = resolve_in_root(rootdir, os.path.dirname(rel))
            if d is not None and d.is_dir() and not d.is_symlink():
                for child in d.iterdir():
                    _remove(child)
        elif base.startswith(".wh."):
            target = _in_rootfs(rootdir, os.path.join(os.path.dirname(rel), base[4:]))
            if target is not None:
                _remove(target)


def _merge_layer(stage: Path, rootdir: Path, entries: set[str]) -> None:
    """Move an unpacked layer over the rootfs, each path resolved inside the rootfs.

    ``entries`` are the layer's own members: such an entry replaces what is there (a directory
    merges into a directory).  A directory tar only created as the parent of a member is looked
    up through the rootfs instead, following its symlinks inside the rootfs, as a chroot would."""
    for dirpath, dirnames, filenames in os.walk(str(stage)):
        rel_dir = os.path.relpath(dirpath, str(stage))
        for name in list(dirnames) + filenames:
            src = Path(dirpath) / name
            rel = name if rel_dir == "." else os.path.join(rel_dir, name)
            is_dir = src.is_dir() and not src.is_symlink()
            if is_dir and rel not in entries:
                dest = resolve_in_root(rootdir, rel)
                if dest is not None and not (dest.is_dir() and not dest.is_symlink()):
                    _remove(dest)
                    dest.mkdir(parents=True)
                continue
            dest = _in_rootfs(rootdir, rel)
            if dest is None:
                continue
            if is_dir and dest.is_dir() and not dest.is_symlink():
                st = src.lstat()
                os.chown(str(dest), st.st_uid, st.st_gid, follow_symlinks=False)
                os.chmod(str(dest), st.st_mode & 0o7777)
                continue  # merge into the existing directory: walk on into it
            _remove(dest)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.rename(str(src), str(dest))
        # what was moved as a whole is not walked into
        dirnames[:] = [d for d in dirnames if (Path(dirpath) / d).is_dir()]


def apply_layers(img, rootdir, worker):
    """Unpack the layers in order, honouring ``.wh.<name>`` and ``.wh..wh..opq`` whiteouts.

    Each layer is unpacked into a staging directory beside the rootfs first (tar itself would
    follow a symlink of an earlier layer out of the rootfs), then its whiteouts are applied and
    its entries moved into place, every path resolved inside the rootfs."""
    rootdir = Path(rootdir)
    for layer in img.layers:
        listing = subprocess.run(["tar", "-tf", str(layer)], capture_output=True, check=False)
        if listing.returncode != 0:
            raise PVEError("unable to read OCI layer %s" % layer.name)
        whiteouts = []
        entries = set()
        for name in listing.stdout.decode("utf-8", "surrogateescape").splitlines():
            rel = (name[2:] if name.startswith("./") else name.lstrip("/")).rstrip("/")
            if ".." in rel.split("/") or rel in ("", "."):
                continue
            entries.add(rel)
            if os.path.basename(rel).startswith(".wh."):
                whiteouts.append(rel)
        stage = Path(tempfile.mkdtemp(prefix=".oci-layer-", dir=str(rootdir.parent)))
        try:
            proc = subprocess.run(["tar", "-xf", str(layer), "-C", str(stage), "--numeric-owner", "--same-permissions"],
                                  capture_output=True, check=False)
            if proc.returncode != 0:
                raise PVEError("unable to extract OCI layer: %s" % proc.stderr.decode(errors="replace").strip())
            _apply_whiteouts(rootdir, whiteouts)
            for rel in whiteouts:  # the markers themselves never reach the rootfs
                marker = _in_rootfs(stage, rel)
                if marker is not None:
                    _remove(marker)
            _merge_layer(stage, rootdir, entries)
        finally:
            shutil.rmtree(str(stage), ignore_errors=True)


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
