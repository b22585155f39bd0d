# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module entry: validate first, then pick the transport (``_pve.argspec.make_transport``) and converge.

With ``oci_bundle`` the template is first built from the bundle's rootfs (``_ociimport``), named by the
rootfs's content digest, then uploaded like a ``src`` file; the mapped container settings are returned
as ``container``.  In check mode the template is built in a temporary directory (to know its name and
checksum) and removed again.
"""

from __future__ import annotations

import shutil
import tempfile

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._ociimport import bundle as ocibundle
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import make_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.manager import TemplateManager
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.model import Desired
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.transport import ApiTemplates, PctTemplates


def templates_for(module, timeout):
    transport = make_transport(module, timeout=timeout)
    if transport.name == "pct":
        return PctTemplates(module, transport, node=module.params.get("node"), timeout=timeout)
    return ApiTemplates(transport, node=module.params.get("node"), timeout=timeout)


def from_oci_bundle(params, check_mode, scratch):
    """Build the bundle's template; return (params for Desired, the import result)."""
    if params.get("src"):
        raise invalid_argument("src", "give src or oci_bundle, not both")
    if params.get("name"):
        raise invalid_argument("name", "is derived from the rootfs digest of oci_bundle; leave it out")
    if params.get("checksum"):
        raise invalid_argument("checksum", "is computed from the template built from oci_bundle; leave it out")
    if params.get("state") == "absent":
        raise invalid_argument("oci_bundle", "state=absent needs name (the template's volume id)")
    cache = scratch if check_mode else params.get("oci_cache_dir")
    imported = ocibundle.prepare(params["oci_bundle"], storage=params.get("storage") or "local", cache_dir=cache)
    params = dict(params, name=imported["template_name"], src=imported["template_file"], checksum="sha256:" + imported["template_sha256"])
    return params, imported


def converge(module):
    params = dict(module.params)
    if params.get("timeout") is not None and params["timeout"] <= 0:
        raise invalid_argument("timeout", "must be > 0")
    scratch = tempfile.mkdtemp(prefix="lxcri-oci-template-") if (params.get("oci_bundle") and module.check_mode) else None
    try:
        imported = None
        if params.get("oci_bundle"):
            params, imported = from_oci_bundle(params, module.check_mode, scratch)
        elif not params.get("name"):
            raise invalid_argument("name", "required (or oci_bundle)")
        desired = Desired(params)
        templates = templates_for(module, params.get("timeout") or 600)
        result = TemplateManager(templates, desired, check_mode=module.check_mode, warn=module.warn).run()
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    if imported is not None:
        container = dict(imported["params"])
        container["ostemplate"] = result["volid"]
        env = [item for item in (container.get("env") or "").split("\0") if item]
        result["container"] = {"params": container, "env": env, "lxc": imported["lxc"], "unmapped": imported["unmapped"],
                               "template_file": None if module.check_mode else imported["template_file"]}
        if imported["warning"]:
            module.warn(imported["warning"])
    return result
