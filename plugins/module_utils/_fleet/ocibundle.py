# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write an OCI bundle whose ``config.json`` was rendered on the controller by the ``oci_bundle`` role's template.

The controller cannot know two values of the document: the spec version the host's runtimes
support and the directory the rootfs is unpacked into (named by the content key of its source).
It renders them as ``VERSION_PLACEHOLDER`` and ``ROOT_PLACEHOLDER``; this module fills them in as
the role's tasks compute them (``runc/crun features`` or ``--version``; ``rootfs-tar-<sha256[:16]>``,
``rootfs-oci-<manifest digest[7:23]>``, or the real directory) and then does what the role's
``write.yml`` does: bundle directory (0700), unpack a new rootfs into a temporary directory and
rename it into place, replace ``config.json`` atomically (0600) only when its content differs,
prune rootfs directories it no longer names.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import NOT_FOUND, RUNTIME_ERROR, LxcriError, invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._common.executor import Executor
from ansible_collections.lxcri.containers.plugins.module_utils._oci import specversion
from ansible_collections.lxcri.containers.plugins.module_utils._oci.bundle import Bundle

VERSION_PLACEHOLDER = "<lxcri:ociVersion>"
ROOT_PLACEHOLDER = "<lxcri:root.path>"
_PRUNED_PREFIXES = ("rootfs-tar-", "rootfs-oci-", ".tmp-rootfs-tar-", ".tmp-rootfs-oci-")
_REF_NAME = "org.opencontainers.image.ref.name"
SPEC_CACHE = ".lxcri-oci-spec-versions.json"


def _identity(binary):
    """What changes when a runtime is upgraded: its real path, size and mtime."""
    if binary is None:
        return None
    real = os.path.realpath(binary)
    stat = os.stat(real)
    return [real, stat.st_size, stat.st_mtime_ns]


def render_text(config: dict) -> str:
    """What ``to_nice_json(indent=2, sort_keys=true, ensure_ascii=false)`` prints."""
    return json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False, separators=(",", ": "))


class HostFacts:
    """What every bundle of the run shares: the runtimes' spec version and the checksums of rootfs sources, each read once.

    The probed versions are also kept in ``<bundle parent>/SPEC_CACHE`` keyed by each runtime binary's path, size and
    mtime, so a run whose runtimes did not change starts no probe (check mode reads the file, never writes it).
    A bundle parent that does not exist yet when the versions are probed (the first create) gets the file from
    ``save_cache`` at the end of the run, once the bundles are written.
    """

    def __init__(self, run_command, check_mode: bool = False) -> None:
        self.run_command = run_command
        self.check_mode = check_mode
        self._versions: dict = {}
        self._digests: dict = {}
        self._lock = threading.Lock()
        self._unsaved: dict[str, str] = {}
        self.probes = 0

    def spec_version(self, runtimes: tuple, fallback: str, cache_dir: str | None = None) -> str:
        with self._lock:
            if runtimes not in self._versions:
                binaries = [(runtime, shutil.which(runtime)) for runtime in runtimes]
                key = json.dumps([[runtime, _identity(binary)] for runtime, binary in binaries])
                cache_path = os.path.join(cache_dir, SPEC_CACHE) if cache_dir else None
                cached = (_read_config(cache_path) or {}) if cache_path else {}
                if key in cached:
                    self._versions[runtimes] = cached[key]
                else:
                    self._versions[runtimes] = specversion.runtime_maxima(self._probe(binaries))
                    if cache_path and not self.check_mode:
                        self._unsaved[cache_path] = json.dumps({key: self._versions[runtimes]}, sort_keys=True)
                        self._save(cache_path)
            return specversion.lowest(self._versions[runtimes], fallback)

    def save_cache(self) -> None:
        """Write the probed versions whose bundle parent exists by now (the bundles of a first create)."""
        with self._lock:
            for cache_path in list(self._unsaved):
                self._save(cache_path)

    def _save(self, cache_path: str) -> None:
        if os.path.isdir(os.path.dirname(cache_path)):
            _write_atomic(cache_path, self._unsaved.pop(cache_path))

    def _probe(self, binaries):
        probes = []
        for runtime, binary in binaries:
            for probe in specversion.PROBES:
                if binary is None:
                    probes.append((runtime, probe, 127, ""))
                    continue
                self.probes += 1
                rc, out, _err = self.run_command([binary, probe])
                probes.append((runtime, probe, rc, out))
        return probes

    def tar_digest(self, path: str) -> str:
        with self._lock:
            stat = os.stat(path)
            key = (path, stat.st_size, stat.st_mtime_ns)
            if key not in self._digests:
                digest = hashlib.sha256()
                with open(path, "rb") as stream:
                    for block in iter(lambda: stream.read(1 << 20), b""):
                        digest.update(block)
                self._digests[key] = digest.hexdigest()
            return self._digests[key]


class BundleSpec:
    """One bundle to write: its path, the rendered document and where its rootfs comes from."""

    def __init__(self, path: str, options: dict) -> None:
        if not path or not os.path.isabs(path):
            raise invalid_argument("bundle", "must be an absolute path, got %r" % (path,))
        self.path = os.path.normpath(path)
        self.config = options["config"]
        if not isinstance(self.config, dict):
            raise invalid_argument("bundle_config.config", "must be the rendered config.json document (a dict)")
        self.source = options.get("rootfs_source") or "dir"
        self.rootfs_dir = options.get("rootfs_dir") or ""
        self.rootfs_tar = options.get("rootfs_tar") or ""
        self.rootfs_image = options.get("rootfs_image") or ""
        self.rootfs_image_tag = options.get("rootfs_image_tag") or "latest"
        self.prune = options.get("rootfs_prune", True)
        self.runtimes = tuple(options.get("runtimes") or ("runc", "crun"))
        self.oci_version_fallback = options.get("oci_version_fallback") or "1.0.2"

    def check_source(self) -> None:
        """The source must be there before anything is touched; ``auto`` becomes ``dir`` or ``tar`` by what the path is."""
        if self.source == "auto":
            if os.path.isdir(self.rootfs_dir):
                self.source = "dir"
            elif os.path.isfile(self.rootfs_dir):
                self.source, self.rootfs_tar, self.rootfs_dir = "tar", self.rootfs_dir, ""
            else:
                raise invalid_argument("bundle_config.rootfs_dir", "%s does not exist (a directory or a tar archive is expected)" % self.rootfs_dir)
        elif self.source == "tar" and not os.path.isfile(self.rootfs_tar):
            raise invalid_argument("bundle_config.rootfs_tar", "%s is not a file" % self.rootfs_tar)
        elif self.source == "oci_layout" and not os.path.isdir(self.rootfs_image):
            raise invalid_argument("bundle_config.rootfs_image", "%s is not a directory (an OCI image layout is expected)" % self.rootfs_image)


class Rootfs:
    """Where the rootfs lives: ``path`` (absolute), ``root_path`` (for ``root.path``), ``new`` (the directory to unpack, or empty)."""

    def __init__(self, path: str, root_path: str, new: str = "", digest: str = "") -> None:
        self.path = path
        self.root_path = root_path
        self.new = new
        self.digest = digest


def locate_rootfs(spec: BundleSpec, facts: HostFacts) -> Rootfs:
    """The role's ``rootfs_<source>.yml``: key the rootfs without unpacking it."""
    if spec.source == "dir":
        wanted = os.path.normpath(spec.rootfs_dir) if spec.rootfs_dir else os.path.join(spec.path, "rootfs")
        real = os.path.realpath(wanted) if os.path.islink(wanted) else wanted
        if not os.path.isdir(real) or os.path.islink(real):
            raise LxcriError("oci_bundle_rootfs_dir: %s is not a directory (for oci_bundle_rootfs_source=dir it must exist; use tar or "
                             "oci_layout to have a rootfs unpacked)" % real, NOT_FOUND, details={"field": "oci_bundle_rootfs_dir"})
        root_path = real[len(spec.path) + 1:] if real.startswith(spec.path + "/") else real
        return Rootfs(real, root_path)
    if spec.source == "tar":
        if not os.path.isfile(spec.rootfs_tar):
            raise LxcriError("oci_bundle_rootfs_tar: %s is not a file" % spec.rootfs_tar, NOT_FOUND, details={"field": "oci_bundle_rootfs_tar"})
        checksum = facts.tar_digest(spec.rootfs_tar)
        name = "rootfs-tar-" + checksum[:16]
        return Rootfs(os.path.join(spec.path, name), name, name, "sha256:" + checksum)
    if spec.source == "oci_layout":
        digest = _manifest_digest(spec.rootfs_image, spec.rootfs_image_tag)
        name = "rootfs-oci-" + digest[7:23]
        return Rootfs(os.path.join(spec.path, name), name, name, digest)
    raise invalid_argument("oci_bundle_rootfs_source", "must be dir, tar or oci_layout, got %r" % spec.source)


def _manifest_digest(layout: str, tag: str) -> str:
    try:
        with open(os.path.join(layout, "index.json"), encoding="utf-8") as stream:
            index = json.load(stream)
    except (OSError, ValueError) as exc:
        raise LxcriError("oci_bundle_rootfs_image: cannot read %s/index.json: %s" % (layout, exc), NOT_FOUND,
                         details={"field": "oci_bundle_rootfs_image"}) from None
    tags = {}
    for manifest in index.get("manifests") or []:
        name = (manifest.get("annotations") or {}).get(_REF_NAME)
        if name is not None:
            tags.setdefault(name, manifest.get("digest") or "")
    digest = tags.get(tag, "")
    if not digest.startswith("sha256:") or len(digest) != 71:
        raise LxcriError("oci_bundle_rootfs_image_tag: %s is not a tag of the image layout %s (its tags: %s)"
                         % (tag, layout, ", ".join(sorted(tags)) or "none"), NOT_FOUND, details={"field": "oci_bundle_rootfs_image_tag"})
    return digest


def fill(config: dict, version: str, root_path: str) -> dict:
    """The document with the two values only the host knows, where the controller left placeholders."""
    config = json.loads(json.dumps(config))
    if config.get("ociVersion") == VERSION_PLACEHOLDER:
        config["ociVersion"] = version
    root = config.get("root")
    if isinstance(root, dict) and root.get("path") == ROOT_PLACEHOLDER:
        root["path"] = root_path
    return config


def _read_config(path: str):
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except (OSError, ValueError):
        return None


def plan_bundle(spec: BundleSpec, facts: HostFacts, executor: Executor, run_command) -> Bundle:
    """Add the steps that bring the bundle to ``spec`` to the executor's plan; the bundle as it will be."""
    rootfs = locate_rootfs(spec, facts)
    version = ""
    if spec.config.get("ociVersion") == VERSION_PLACEHOLDER:
        version = facts.spec_version(spec.runtimes, spec.oci_version_fallback, os.path.dirname(spec.path))
    config = fill(spec.config, version, rootfs.root_path)
    config_path = os.path.join(spec.path, "config.json")
    plan = executor.plan
    if not os.path.isdir(spec.path):
        plan.add("bundle_dir", "create the bundle directory %s" % spec.path, ["mkdir", "-m", "0700", spec.path],
                 run=lambda: os.makedirs(spec.path, mode=0o700, exist_ok=True))
    if rootfs.new and not os.path.isdir(rootfs.path):
        argv, run = _unpack(spec, rootfs, run_command)
        plan.add("unpack", "unpack the rootfs of %s into %s" % (spec.path, rootfs.new), argv, run=run)
    if _read_config(config_path) != config:
        plan.add("config", "write %s" % config_path, ["write", config_path], run=lambda: _write_atomic(config_path, render_text(config)))
    if spec.prune and os.path.isdir(spec.path):
        for entry in sorted(os.listdir(spec.path)):
            old = os.path.join(spec.path, entry)
            if entry.startswith(_PRUNED_PREFIXES) and old != rootfs.path and os.path.isdir(old):
                plan.add("prune", "remove %s, which config.json no longer names" % old, ["rm", "-rf", old],
                         run=lambda old=old: shutil.rmtree(old))
    return Bundle(spec.path, config)


def _unpack(spec: BundleSpec, rootfs: Rootfs, run_command):
    """``(argv shown, run)``: unpack into ``.tmp-<name>``, then rename into place (the role's ``unpack_<source>.yml``)."""
    tmp = os.path.join(spec.path, ".tmp-" + rootfs.new)

    def checked(argv):
        rc, out, err = run_command(argv)
        if rc != 0:
            raise LxcriError("%s failed (rc %s): %s" % (argv[0], rc, (err or out).strip()), RUNTIME_ERROR, cmd=argv, rc=rc, stdout=out, stderr=err)

    if spec.source == "tar":
        argv = ["tar", "--extract", "--same-permissions", "--same-owner", "--numeric-owner", "--file", spec.rootfs_tar, "--directory", tmp]

        def run():
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp, mode=0o755)
            checked(argv)
            os.rename(tmp, rootfs.path)
        return argv, run

    argv = ["umoci", "unpack", "--image", "%s:%s" % (spec.rootfs_image, spec.rootfs_image_tag), tmp]

    def run_umoci():
        shutil.rmtree(tmp, ignore_errors=True)
        checked(argv)
        walk = ((_read_config(os.path.join(tmp, "umoci.json")) or {}).get("from_descriptor_path") or {}).get("descriptor_walk") or []
        unpacked = [item.get("digest") for item in walk]
        if rootfs.digest not in unpacked:
            shutil.rmtree(tmp, ignore_errors=True)
            raise LxcriError("oci_bundle: umoci unpacked %s, not %s; the tag %s changed during the run, run it again"
                             % (" -> ".join(str(item) for item in unpacked), rootfs.digest, spec.rootfs_image_tag), RUNTIME_ERROR)
        os.rename(os.path.join(tmp, "rootfs"), rootfs.path)
        shutil.rmtree(tmp)
    return argv, run_umoci


def _write_atomic(path: str, text: str) -> None:
    handle, tmp = tempfile.mkstemp(prefix=".config.json.", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.rename(tmp, path)
    except OSError:
        os.unlink(tmp)
        raise
