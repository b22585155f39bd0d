# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An OCI bundle's rootfs -> a Proxmox VE container template named by the rootfs's content digest.

``rootfs_digest`` hashes the tree (paths, types, modes, owners, file contents, link targets; not
times), so two bundles with the same rootfs get the same template name and the template is made
once and reused.  ``build_template`` writes a reproducible ``.tar.gz`` (sorted entries, fixed times,
gzip without a timestamp) under a temporary name and renames it into place; it returns its SHA-256,
the checksum ``pve_template`` uploads it with.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import tarfile

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError

PREFIX = "lxcri-oci-"
DIGEST_CHARS = 24
FIXED_MTIME = 1735689600  # 2025-01-01T00:00:00Z


def _walk(rootfs):
    """(relative path, lstat) of every entry below ``rootfs``, sorted, directories before their contents."""
    entries = []
    for top, dirs, files in os.walk(rootfs, followlinks=False):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(top, name)
            entries.append((os.path.relpath(path, rootfs), os.lstat(path)))
    entries.sort(key=lambda item: item[0].split(os.sep))
    return entries


def rootfs_digest(rootfs):
    """``sha256:<hex>`` of the rootfs tree's content."""
    if not os.path.isdir(rootfs):
        raise errors.invalid_argument("oci_bundle", "the bundle's rootfs %s is not a directory" % rootfs)
    digest = hashlib.sha256()
    for rel, st in _walk(rootfs):
        mode = stat.S_IMODE(st.st_mode)
        head = "%s\0%o\0%o\0%d\0%d\0" % (rel, stat.S_IFMT(st.st_mode), mode, st.st_uid, st.st_gid)
        digest.update(head.encode("utf-8", "surrogateescape"))
        path = os.path.join(rootfs, rel)
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
        elif stat.S_ISLNK(st.st_mode):
            digest.update(os.readlink(path).encode("utf-8", "surrogateescape"))
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            digest.update(("%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))).encode())
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


def template_name(digest, arch="amd64"):
    """``lxcri-oci-<24 hex>_<arch>.tar.gz``: the name depends on the content only."""
    return "%s%s_%s.tar.gz" % (PREFIX, digest.split(":", 1)[1][:DIGEST_CHARS], arch)


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_template(rootfs, directory, arch="amd64"):
    """Write the template of ``rootfs`` into ``directory`` unless it is there; return (name, path, sha256 hex, created)."""
    digest = rootfs_digest(rootfs)
    name = template_name(digest, arch)
    path = os.path.join(directory, name)
    if os.path.isfile(path):
        return name, path, _file_sha256(path), False
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    tmp = path + ".tmp.%d" % os.getpid()
    try:
        with open(tmp, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            root = tar.gettarinfo(rootfs, arcname=".")
            root.mtime = FIXED_MTIME
            tar.addfile(root)
            for rel, _st in _walk(rootfs):
                full = os.path.join(rootfs, rel)
                info = tar.gettarinfo(full, arcname="./" + rel.replace(os.sep, "/"))
                info.mtime = FIXED_MTIME
                info.uname = info.gname = ""
                if info.isreg():
                    with open(full, "rb") as stream:
                        tar.addfile(info, stream)
                else:
                    tar.addfile(info)
        os.rename(tmp, path)
    except (OSError, tarfile.TarError) as exc:
        raise LxcriError("could not write the template %s from %s: %s" % (path, rootfs, exc), errors.RUNTIME_ERROR) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return name, path, _file_sha256(path), True
