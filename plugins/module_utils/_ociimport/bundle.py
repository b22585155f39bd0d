# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read an OCI bundle and turn it into what ``pve_container`` needs: a template and settings.

``prepare(bundle, storage, cache_dir)`` is the hook ``pve_container`` calls for ``oci_bundle``:
it returns ``ostemplate`` (``<storage>:vztmpl/lxcri-oci-<digest>_<arch>.tar.gz``), the local template
file and its SHA-256 (for ``pve_template``'s upload), the mapped ``params`` and raw ``lxc`` entries,
and the warning listing what could not be mapped.
"""

from __future__ import annotations

import json
import os

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._ociimport import mapping, template

ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386", "riscv64": "riscv64"}


def read_bundle(bundle):
    """(config dict, absolute rootfs path) of the bundle directory."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path) as stream:
            config = json.load(stream)
    except OSError as exc:
        raise errors.LxcriError("oci_bundle: cannot read %s: %s" % (path, exc), errors.NOT_FOUND, details={"field": "oci_bundle"}) from None
    except ValueError as exc:
        raise errors.invalid_argument("oci_bundle", "%s is not JSON: %s" % (path, exc)) from None
    root = (config.get("root") or {}).get("path") if isinstance(config, dict) else None
    if not root:
        raise errors.invalid_argument("oci_bundle", "%s has no root.path" % path)
    rootfs = root if os.path.isabs(root) else os.path.join(bundle, root)
    return config, os.path.realpath(rootfs)


def prepare(bundle, storage="local", cache_dir=None, arch=None):
    config, rootfs = read_bundle(bundle)
    has_os_release = os.path.exists(os.path.join(rootfs, "etc", "os-release")) or os.path.islink(os.path.join(rootfs, "etc", "os-release"))
    mapped = mapping.map_config(config, has_os_release=has_os_release)
    arch = arch or ARCHES.get(os.uname()[4], os.uname()[4])
    name, path, sha256, created = template.build_template(rootfs, cache_dir or os.path.join(bundle, ".lxcri-templates"), arch)
    return {
        "ostemplate": "%s:vztmpl/%s" % (storage, name),
        "template_name": name,
        "template_file": path,
        "template_sha256": sha256,
        "template_built": created,
        "params": mapped.params,
        "lxc": mapped.lxc,
        "unmapped": mapped.unmapped,
        "defaults": mapped.defaults,
        "warning": mapped.warning(),
    }
