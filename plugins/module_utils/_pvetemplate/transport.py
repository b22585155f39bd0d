# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Template operations over the two transports of ``_pve`` (reused, not copied).

``PctTemplates`` runs ``pvesh``/``pveam``/``pvesm`` on the node through ``PctTransport``'s
command runner; ``ApiTemplates`` calls the REST API through ``ApiTransport``'s request and
UPID-waiting code.  Both offer the same methods: ``list``, ``catalogue``, ``update_catalogue``,
``download``, ``upload``, ``remove``, ``local_path``.  Each mutating method returns the command or
API call it runs (as a list) and runs nothing when ``check`` is true.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import messages
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import model

UPLOAD_TMP_DIR = "/var/tmp"  # noqa: S108 - the directory PVE's upload API takes files from; files in it are created O_EXCL


def _copy_into(src: str, handle: int) -> None:
    """Copy ``src`` into the already opened (and exclusively created) file ``handle``, then close it."""
    with os.fdopen(handle, "wb") as out, open(src, "rb") as stream:
        shutil.copyfileobj(stream, out)


def parse_content(rows, storage):
    """``GET …/storage/<storage>/content`` rows -> ``{file name: size}`` of the storage's templates."""
    out = {}
    prefix = "%s:vztmpl/" % storage
    for row in rows or []:
        volid = str((row or {}).get("volid") or "")
        if volid.startswith(prefix) and (row.get("content") in (None, "vztmpl")):
            try:
                size = int(row.get("size"))
            except (TypeError, ValueError):
                size = None
            out[volid[len(prefix):]] = size
    return out


def parse_aplinfo(rows):
    """``GET /nodes/<node>/aplinfo`` -> ``{template: {"sha512": hex or None, "location": url, "section": s}}``."""
    out = {}
    for row in rows or []:
        name = (row or {}).get("template")
        if name:
            sha = row.get("sha512sum")
            out[name] = {"sha512": sha.lower() if sha else None, "location": row.get("location"), "section": row.get("section")}
    return out


class _NamedReader(io.BufferedReader):
    """A file opened for upload whose ``name`` is the template's file name (proxmoxer sends ``basename(name)``)."""

    def __init__(self, path, upload_name):
        super().__init__(io.FileIO(path, "r"))
        self._upload_name = upload_name

    @property
    def name(self):
        return self._upload_name


class PctTemplates:
    """On the node: ``pvesh`` (the API, locally) and ``pveam``; ``pvesm path`` when present for file access."""

    name = "pct"
    can_update_catalogue = True

    def __init__(self, module, pct, node=None, timeout=600):
        self.module = module
        self.pct = pct
        self.timeout = timeout
        self.pvesh = module.get_bin_path("pvesh", required=False)
        self.pveam = module.get_bin_path("pveam", required=False)
        self.pvesm = module.get_bin_path("pvesm", required=False)
        if not self.pvesh or not self.pveam:
            raise LxcriError("transport 'pct' needs pvesh and pveam on the target (a Proxmox VE node); "
                             "use transport: api to manage templates from elsewhere", errors.RUNTIME_MISSING)
        self.node = node or self._local_node()

    def _run(self, argv, **kwargs):
        return self.pct._run(argv, **kwargs)

    def _get(self, path, **params):
        argv = [self.pvesh, "get", path]
        for key in sorted(params):
            argv += ["--%s" % key, str(params[key])]
        out, _err = self._run(argv + ["--output-format", "json"], read=True)
        try:
            return json.loads(out or "null")
        except ValueError:
            raise LxcriError("could not parse the output of 'pvesh get %s': %r" % (path, (out or "")[:300]), errors.RUNTIME_ERROR) from None

    def _local_node(self):
        nodes = [row.get("node") for row in (self._get("/nodes") or []) if isinstance(row, dict)]
        short = os.uname()[1].split(".")[0]
        if short in nodes or len(nodes) != 1:
            return short
        return nodes[0]

    def list(self, storage):
        return parse_content(self._get("/nodes/%s/storage/%s/content" % (self.node, storage), content="vztmpl"), storage)

    def catalogue(self):
        return parse_aplinfo(self._get("/nodes/%s/aplinfo" % self.node))

    def update_catalogue(self, check=False):
        argv = [self.pveam, "update"]
        if not check:
            out, err = self._run(argv, timeout=self.timeout)
            # pveam update exits 0 even when it fails and says so on stderr (contract 7)
            if "update failed" in (err or "") or "update failed" in (out or ""):
                raise LxcriError("'pveam update' failed: %s" % (messages.first_error(err) or out).strip(), errors.TASK_FAILED,
                                 cmd=argv, stdout=out, stderr=err)
        return argv

    def download(self, storage, name, check=False):
        argv = [self.pveam, "download", storage, name]
        if not check:
            out, err = self._run(argv, timeout=self.timeout, task=True)
            # pveam download exits 0 even when its task fails: read stderr (contract 7)
            bad = [line for line in messages.error_lines(err) if "downloading" not in line]
            if bad:
                raise LxcriError("'pveam download %s %s' failed: %s" % (storage, name, bad[-1]), messages.classify(err, errors.TASK_FAILED),
                                 cmd=argv, stdout=out, stderr=err)
        return argv

    def local_path(self, storage, name):
        """The template's file on this node (``pvesm path``), or ``None`` when it cannot be known or does not exist."""
        if not self.pvesm:
            return None
        try:
            out, _err = self._run([self.pvesm, "path", "%s:vztmpl/%s" % (storage, name)], read=True)
        except LxcriError:
            return None
        path = (out or "").strip().splitlines()[-1] if (out or "").strip() else ""
        return path if path.startswith("/") else None

    def template_dir(self, storage, name):
        if not self.pvesm:
            return None
        out, _err = self._run([self.pvesm, "path", "%s:vztmpl/%s" % (storage, name)], read=True)
        path = (out or "").strip().splitlines()[-1] if (out or "").strip() else ""
        return os.path.dirname(path) if path.startswith("/") else None

    def upload(self, storage, name, src, checksum, check=False):
        """Copy ``src`` into the storage: into ``pvesm path``'s directory (atomic rename) when pvesm exists,
        otherwise through the API handler ``pvesh create …/upload --tmpfilename`` as the web upload does."""
        algorithm, digest = checksum
        directory = self.template_dir(storage, name) if self.pvesm else None
        if directory:
            dest = os.path.join(directory, name)
            shown = ["copy", src, dest, "%s:%s" % (algorithm, digest)]
            if check:
                return shown
            try:
                if not os.path.isdir(directory):
                    os.makedirs(directory)
                handle, tmp = tempfile.mkstemp(prefix=".%s.lxcri-" % name, dir=directory)
                try:
                    _copy_into(src, handle)
                    got = model.file_digest(tmp, algorithm)
                    if got != digest:
                        raise LxcriError("checksum mismatch after copying %s to %s: got %s %s, expected %s" % (src, dest, algorithm, got, digest),
                                         errors.TASK_FAILED)
                    os.chmod(tmp, 0o644)
                    os.rename(tmp, dest)
                finally:
                    if os.path.exists(tmp):
                        os.unlink(tmp)
            except OSError as exc:
                raise LxcriError("could not copy %s into %s: %s" % (src, directory, exc), errors.RUNTIME_ERROR) from None
            return shown
        # PVE's upload handler only takes /var/tmp/pveupload-<hex>, so no mkstemp name: the file is
        # created exclusively (O_EXCL, never through a symlink planted at that name), mode 0600.
        tmpname = os.path.join(UPLOAD_TMP_DIR, "pveupload-%s" % os.urandom(8).hex())
        argv = [self.pvesh, "create", "/nodes/%s/storage/%s/upload" % (self.node, storage), "--content", "vztmpl", "--filename", name,
                "--tmpfilename", tmpname, "--checksum", digest, "--checksum-algorithm", algorithm]
        if check:
            return argv
        try:
            try:
                _copy_into(src, os.open(tmpname, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
            except OSError as exc:
                raise LxcriError("could not stage %s for the upload at %s: %s" % (src, tmpname, exc.strerror), errors.RUNTIME_ERROR) from None
            self._run(argv, timeout=self.timeout, task=True)
        finally:
            if os.path.exists(tmpname):
                os.unlink(tmpname)
        return argv

    def remove(self, storage, name, check=False):
        argv = [self.pveam, "remove", "%s:vztmpl/%s" % (storage, name)]
        if not check:
            self._run(argv, timeout=self.timeout)
        return argv


class ApiTemplates:
    """Through the REST API (proxmoxer); the node must be given."""

    name = "api"
    can_update_catalogue = False

    def __init__(self, api, node=None, timeout=600):
        self.api = api
        self.timeout = timeout
        self.node = node or api.node
        if not self.node:
            raise errors.invalid_argument("node", "required with transport 'api' (the node whose storage holds the template)")

    def _call(self, method, path, what, read=False, **params):
        return self.api._call(method, path, what, read=read, **params)

    def _task(self, method, path, what, **params):
        upid = self._call(method, path, what, **params)
        self.api._wait(upid, what, timeout=self.timeout, node=self.node)

    def list(self, storage):
        rows = self._call("GET", "/nodes/%s/storage/%s/content" % (self.node, storage), "listing the templates of storage %s" % storage,
                          read=True, content="vztmpl")
        return parse_content(rows, storage)

    def catalogue(self):
        return parse_aplinfo(self._call("GET", "/nodes/%s/aplinfo" % self.node, "reading the appliance catalogue", read=True))

    def update_catalogue(self, check=False):
        raise LxcriError("the REST API cannot refresh the appliance catalogue; run 'pveam update' on node %s (or use transport: pct)" % self.node,
                         errors.NOT_FOUND)

    def download(self, storage, name, check=False):
        path = "/nodes/%s/aplinfo" % self.node
        if not check:
            self._task("POST", path, "downloading %s to storage %s" % (name, storage), storage=storage, template=name)
        return self.api._shown("POST", path, {"storage": storage, "template": name})

    def local_path(self, storage, name):
        return None

    def upload(self, storage, name, src, checksum, check=False):
        algorithm, digest = checksum
        path = "/nodes/%s/storage/%s/upload" % (self.node, storage)
        body = {"content": "vztmpl", "checksum": digest, "checksum-algorithm": algorithm}
        if not check:
            with _NamedReader(src, name) as stream:
                self._task("POST", path, "uploading %s to storage %s" % (name, storage), filename=stream, **body)
        return self.api._shown("POST", path, dict(body, filename="@%s" % src))

    def remove(self, storage, name, check=False):
        volid = "%s:vztmpl/%s" % (storage, name)
        path = "/nodes/%s/storage/%s/content/%s" % (self.node, storage, volid)
        if not check:
            result = self._call("DELETE", path, "removing %s" % volid)
            if result and str(result).startswith("UPID:"):
                self.api._wait(result, "removing %s" % volid, timeout=self.timeout, node=self.node)
        return self.api._shown("DELETE", path)
