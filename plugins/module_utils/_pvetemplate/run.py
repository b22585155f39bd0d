# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module entry: validate first, then pick the transport (``_pve.argspec.make_transport``) and converge."""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import make_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.manager import TemplateManager
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.model import Desired
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate.transport import ApiTemplates, PctTemplates


def templates_for(module, timeout):
    transport = make_transport(module, timeout=timeout)
    if transport.name == "pct":
        return PctTemplates(module, transport, node=module.params.get("node"), timeout=timeout)
    return ApiTemplates(transport, node=module.params.get("node"), timeout=timeout)


def converge(module):
    desired = Desired(module.params)
    if module.params.get("timeout") is not None and module.params["timeout"] <= 0:
        raise invalid_argument("timeout", "must be > 0")
    templates = templates_for(module, module.params.get("timeout") or 600)
    return TemplateManager(templates, desired, check_mode=module.check_mode, warn=module.warn).run()
