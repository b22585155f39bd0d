# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The hook ``pve_container`` needs for ``oci_bundle: <path>`` (instead of ``ostemplate``).

``apply_oci_bundle(module, transport, params)``:

1. builds the bundle's template (``_ociimport``; named by the rootfs content digest, reproducible);
2. makes sure it is in the storage with ``pve_template``'s manager over the *same* transport
   (upload with its SHA-256; nothing happens when it is already there, so bundles sharing a rootfs
   share the template);
3. returns the ``pve_container`` parameters with ``ostemplate`` set and the mapped settings filled in
   wherever the user did not declare a value (declared values win), the raw ``lxc`` entries appended,
   and the bundle's env as raw ``lxc.environment`` entries (pve_container has no ``env`` option yet);
   settings with no Proxmox VE equivalent go to ``warn`` in one message.

In check mode the template is built in a temporary directory and nothing is uploaded.
"""

from __future__ import annotations

import shutil
import tempfile

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._ociimport import bundle as ocibundle
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.manager import TemplateManager
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.model import Desired
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.transport import ApiTemplates, PctTemplates

DEFAULT_CACHE = "/var/lib/lxcri/oci-templates"
# mapped keys that need a raw-lxc capable transport (pct)
RAW_ENV_KEY = "lxc.environment"


def templates_over(module, transport, timeout=600):
    if transport.name == "pct":
        return PctTemplates(module, transport, node=module.params.get("node"), timeout=timeout)
    return ApiTemplates(transport, node=module.params.get("node"), timeout=timeout)


def merge(params, imported, raw_lxc=True):
    """The pve_container parameters: declared values win over mapped ones.

    Without ``raw_lxc`` (the API transport cannot write raw ``lxc.*`` keys) the raw entries are
    returned as unmapped instead, so they end up in the warning.
    """
    merged = dict(params)
    merged["ostemplate"] = imported["ostemplate"]
    for key, value in imported["params"].items():
        if key == "env":
            continue
        if merged.get(key) is None:
            merged[key] = value
    env = [item for item in (imported["params"].get("env") or "").split("\0") if item]
    raw = [list(item) for item in imported["lxc"]] + [[RAW_ENV_KEY, item] for item in env]
    if raw and not raw_lxc:
        imported["unmapped"] = list(imported["unmapped"]) + [
            "%s=%s: a raw LXC key, which only transport pct can write" % (key, value) for key, value in raw]
        return merged
    if raw:
        declared = [list(item) for item in (merged.get("lxc") or [])]
        declared_keys = set(item[0] for item in declared if item)
        merged["lxc"] = declared + [item for item in raw if item[0] not in declared_keys or item[0] == RAW_ENV_KEY]
    return merged


def apply_oci_bundle(module, transport, params=None, check_mode=None, warn=None, templates=None):
    """Return (pve_container params, the pve_template result for the bundle's template)."""
    params = dict(module.params if params is None else params)
    check_mode = module.check_mode if check_mode is None else check_mode
    warn = warn or module.warn
    if params.get("ostemplate"):
        raise invalid_argument("ostemplate", "give ostemplate or oci_bundle, not both")
    storage = params.get("oci_storage") or "local"
    scratch = tempfile.mkdtemp(prefix="lxcri-oci-template-") if check_mode else None
    try:
        imported = ocibundle.prepare(params["oci_bundle"], storage=storage, cache_dir=scratch or params.get("oci_cache_dir") or DEFAULT_CACHE)
        desired = Desired({"name": imported["template_name"], "storage": storage, "src": imported["template_file"],
                           "checksum": "sha256:" + imported["template_sha256"], "state": "present"})
        templates = templates or templates_over(module, transport)
        result = TemplateManager(templates, desired, check_mode=check_mode, warn=warn).run()
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    merged = merge(params, imported, raw_lxc=getattr(transport, "supports_raw_lxc", True))
    if imported["unmapped"]:
        warn("oci_bundle: %d setting(s) of config.json are not applied: %s" % (len(imported["unmapped"]), "; ".join(imported["unmapped"])))
    for key in ("oci_bundle", "oci_storage", "oci_cache_dir"):
        merged.pop(key, None)
    result["unmapped"] = imported["unmapped"]
    return merged, result
