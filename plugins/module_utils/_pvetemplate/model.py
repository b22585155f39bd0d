# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The template model: what the user wants (validated before anything runs) and what a storage holds.

A template is ``{"volid", "storage", "name", "present", "size", "checksum"}``; ``checksum`` is
``<algorithm>:<hex>`` in lower case, or ``None`` when it is not known.
"""

from __future__ import annotations

import hashlib
import os
import re

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors

# PVE::Storage VZTMPL_EXT_RE_1 (contract 7)
TEMPLATE_EXT_RE = re.compile(r"\.(tar|tar\.gz|tar\.xz|tar\.zst|tar\.bz2)\Z", re.IGNORECASE)
# what normalize_content_filename keeps unchanged
SAFE_NAME_RE = re.compile(r"[A-Za-z0-9_.+-]+")
STORAGE_RE = re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]", re.IGNORECASE)
ALGORITHMS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}


def parse_checksum(text, field="checksum"):
    """``sha256:<hex>`` -> (algorithm, hex) in lower case; the algorithm must be one PVE accepts."""
    if ":" not in text:
        raise errors.invalid_argument(field, "give it as <algorithm>:<hex>, for example sha256:9f86d0..., with algorithm one of %s"
                                      % ", ".join(sorted(ALGORITHMS)))
    algorithm, digest = text.split(":", 1)
    algorithm = algorithm.strip().lower()
    digest = digest.strip().lower()
    if algorithm not in ALGORITHMS:
        raise errors.invalid_argument(field, "unknown algorithm %r (use one of %s)" % (algorithm, ", ".join(sorted(ALGORITHMS))))
    if not re.fullmatch(r"[0-9a-f]{%d}" % ALGORITHMS[algorithm], digest):
        raise errors.invalid_argument(field, "a %s digest is %d hex digits, got %r" % (algorithm, ALGORITHMS[algorithm], digest))
    return algorithm, digest


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def split_name(name, storage):
    """``name`` may be a file name or a full volume id ``storage:vztmpl/file``; return (storage, file)."""
    if ":" in name:
        volume_storage, rest = name.split(":", 1)
        if not rest.startswith("vztmpl/"):
            raise errors.invalid_argument("name", "%r is not a template volume id (storage:vztmpl/<file>)" % name)
        if storage and storage != volume_storage:
            raise errors.invalid_argument("storage", "is %s but name %s names storage %s" % (storage, name, volume_storage))
        return volume_storage, rest[len("vztmpl/"):]
    return storage or "local", name


class Desired:
    """The validated request."""

    def __init__(self, params):
        storage, name = split_name(params.get("name") or "", params.get("storage"))
        if not name:
            raise errors.invalid_argument("name", "the template file name is required")
        if "/" in name or not SAFE_NAME_RE.fullmatch(name):
            raise errors.invalid_argument("name", "%r is not a plain file name (letters, digits, . _ + -)" % name)
        if not TEMPLATE_EXT_RE.search(name):
            raise errors.invalid_argument("name", "%r must end in .tar, .tar.gz, .tar.xz, .tar.zst or .tar.bz2" % name)
        if not STORAGE_RE.fullmatch(storage):
            raise errors.invalid_argument("storage", "%r is not a storage id" % storage)
        self.storage = storage
        self.name = name
        self.volid = "%s:vztmpl/%s" % (storage, name)
        self.state = params.get("state") or "present"
        self.src = params.get("src")
        self.update_catalogue = params.get("update_catalogue", True)
        self.checksum = None
        if params.get("checksum"):
            self.checksum = parse_checksum(params["checksum"])
        if self.state == "absent":
            return
        if self.src:
            if not os.path.isfile(self.src):
                raise errors.LxcriError("src: %s does not exist or is not a file (it is read on the host that runs the module)" % self.src,
                                        errors.NOT_FOUND, details={"field": "src"})
            self.src_size = os.path.getsize(self.src)
            algorithm = self.checksum[0] if self.checksum else "sha256"
            got = file_digest(self.src, algorithm)
            if self.checksum and got != self.checksum[1]:
                raise errors.invalid_argument("checksum", "src %s has %s %s, not the expected %s" % (self.src, algorithm, got, self.checksum[1]))
            self.checksum = (algorithm, got)
        else:
            self.src_size = None

    @property
    def source(self):
        return "file" if self.src else "catalogue"


def state_of(volid, storage, name, present, size=None, checksum=None):
    return {"volid": volid, "storage": storage, "name": name, "present": bool(present), "size": size, "checksum": checksum}
