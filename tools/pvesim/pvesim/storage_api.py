# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Storage upload and volume handlers (pve-manager ``PVE/API2/Storage/Status.pm`` ``upload``,
``PVE/API2/Storage/Content.pm`` ``info``/``delete``).

``POST /nodes/{node}/storage/{storage}/upload`` takes ``tmpfilename``, the file the HTTP server
spooled a multipart upload into (or, on the CLI, ``pvesh create ... --tmpfilename``), and copies
it into the storage's template directory in an ``imgcopy`` task that verifies the checksum first.
"""

from __future__ import annotations

import os
import re
import shutil

from . import storage
from .handlers import Perm, PVEError, api, param_error
from .schema import NODE, Param
from .tasks import fork_worker
from .templates import file_hash

UPLOAD_CONTENT = ("iso", "vztmpl", "import")
CHECKSUM_ALGORITHMS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")
ISO_EXT_RE = re.compile(r"\.(iso|img)$", re.I)
STORAGE_P = Param("string", optional=False, description="The storage identifier.")


def _content_dir(state, storeid, content):
    base = state.storage_base_path(storeid)
    if base is None:
        raise PVEError("storage '%s' does not have a path" % storeid)
    if content == "import":
        return base / "import"
    return base / "template" / ("cache" if content == "vztmpl" else "iso")


@api("POST", "/nodes/{node}/storage/{storage}/upload", perm=Perm("/storage/{storage}", ("Datastore.AllocateTemplate",)),
     name="upload", protected=True, upload=True,
     params={"node": NODE, "storage": STORAGE_P,
             "content": Param("string", optional=False, enum=list(UPLOAD_CONTENT)),
             "filename": Param("string", optional=False, max_length=255),
             "checksum": Param("string"),
             "checksum-algorithm": Param("string", enum=list(CHECKSUM_ALGORITHMS)),
             "tmpfilename": Param("string", description="The source file name (set by the upload handler).")})
def upload(env, p):
    state = env.state
    storeid, content = p["storage"], p["content"]
    env.check_perm("/storage/%s" % storeid, ["Datastore.AllocateTemplate"])
    scfg = storage.storage_check_enabled(state, storeid)
    if content not in storage.content_set(scfg):
        raise PVEError("storage '%s' does not support '%s' content" % (storeid, content))
    tmpfilename = p.get("tmpfilename")
    if not tmpfilename:
        raise PVEError("missing temporary file name")
    if env.rpc != "cli" and not _is_spooled_upload(state, tmpfilename):
        # PVE's schema pattern '/var/tmp/pveupload-[0-9a-f]+': over HTTPS only the server's spool
        raise param_error({"tmpfilename": "value does not match the regex pattern"})
    filename = re.sub(r"^.*[/\\]", "", p["filename"])
    filename = re.sub(r"[^-a-zA-Z0-9_.]", "_", filename)
    if content == "vztmpl" and not storage.TEMPLATE_EXT_RE.search(filename):
        raise param_error({"filename": "wrong file extension"})
    if content == "iso" and not ISO_EXT_RE.search(filename):
        raise param_error({"filename": "wrong file extension"})
    if bool(p.get("checksum")) != bool(p.get("checksum-algorithm")):
        raise param_error({"checksum": "checksum and checksum-algorithm must be given together"})
    dest_dir = _content_dir(state, storeid, content)
    dest = dest_dir / filename
    if not os.path.isfile(tmpfilename):
        raise PVEError("unable to open temporary file '%s' - No such file or directory" % tmpfilename)
    shown = "%s/%s" % (str(dest_dir).replace(str(state.root / ".host"), "", 1), filename)

    def worker(w):
        try:
            w.write("starting file import from: %s\n" % tmpfilename)
            if p.get("checksum"):
                w.write("calculating checksum...")
                got = file_hash(tmpfilename, p["checksum-algorithm"])
                if got.lower() != p["checksum"].lower():
                    w.write("\n")
                    raise PVEError("checksum mismatch: got '%s' != expect '%s'" % (got, p["checksum"]))
                w.write("OK, checksum verified\n")
            w.write("target node: %s\n" % state.node)
            w.write("target file: %s\n" % shown)
            w.write("file size is: %d\n" % os.path.getsize(tmpfilename))
            w.write("command: cp -- %s %s\n" % (tmpfilename, shown))
            dest_dir.mkdir(parents=True, exist_ok=True)
            tmp = dest_dir / (".%s.tmp_upload.%d" % (filename, os.getpid()))
            try:
                shutil.copyfile(tmpfilename, str(tmp))
                os.chmod(str(tmp), 0o644)
                os.replace(str(tmp), str(dest))
            finally:
                if tmp.exists():
                    tmp.unlink()
            w.write("finished file import successfully\n")
        finally:
            try:
                os.unlink(tmpfilename)
            except OSError:
                pass

    return fork_worker(env, "imgcopy", None, worker)


def _is_spooled_upload(state, tmpfilename: str) -> bool:
    spool_dir = state.host_path("/var/tmp")
    return os.path.dirname(tmpfilename) == str(spool_dir) and bool(
        re.fullmatch(r"pveupload-[0-9a-f]+", os.path.basename(tmpfilename)))


def _volid(storeid, volume):
    return volume if ":" in volume else "%s:%s" % (storeid, volume)


@api("GET", "/nodes/{node}/storage/{storage}/content/{volume*}", name="content_info",
     params={"node": NODE, "storage": Param("string"), "volume": Param("string", optional=False)})
def content_info(env, p):
    volid = _volid(p.get("storage"), p["volume"])
    storeid, _volname = storage.parse_volume_id(volid)
    env.check_perm("/storage/%s" % storeid, ["Datastore.Audit", "Datastore.AllocateSpace"], any_of=True)
    storage.storage_check_enabled(env.state, storeid)
    path, vtype = storage.volume_path(env.state, volid)
    if not path.exists():
        raise PVEError("volume '%s' does not exist" % volid)
    size = storage.volume_size(env.state, volid) or 0
    fmt = "iso" if vtype == "iso" else storage._tmpl_format(path.name) if vtype == "vztmpl" else (
        "subvol" if "subvol-" in path.name else "raw")
    return {"path": str(path), "size": size, "used": size if path.is_file() else 0, "format": fmt}


@api("DELETE", "/nodes/{node}/storage/{storage}/content/{volume*}", name="content_delete", protected=True,
     params={"node": NODE, "storage": Param("string"), "volume": Param("string", optional=False),
             "delay": Param("integer", minimum=1, maximum=30)})
def content_delete(env, p):
    volid = _volid(p.get("storage"), p["volume"])
    storeid, _volname = storage.parse_volume_id(volid)
    storage.storage_check_enabled(env.state, storeid)
    path, vtype = storage.volume_path(env.state, volid)
    owner = storage.volume_owner(volid)
    if vtype in ("vztmpl", "iso"):
        env.check_perm("/storage/%s" % storeid, ["Datastore.AllocateTemplate"])
    else:
        env.check_perm("/storage/%s" % storeid, ["Datastore.Allocate"])
    if owner is not None and env.state.vmlist().get(owner) is not None:
        raise PVEError("unable to delete volume '%s' - volume is still in use by VM/CT %d" % (volid, owner))

    def worker(w):
        if not path.exists():
            raise PVEError("volume '%s' does not exist" % volid)
        storage.free_volume(env.state, volid, log=w.log)

    return fork_worker(env, "imgdel", None, worker)
