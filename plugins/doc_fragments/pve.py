# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Options of the Proxmox VE modules and plugins.

    DOCUMENTATION: how the CT modules reach Proxmox (pct on the node or the API); QM: the same for the
    VM modules (qm on the node or the API); they also extend API. API: the REST API options alone, also
    used by the API-only plugins (the inventory).
    """

    DOCUMENTATION = r"""
options:
  transport:
    description:
      - How to talk to Proxmox VE.
      - V(pct) runs C(pct) (and C(pvesh) for the next free vmid) on the target host through the normal
        Ansible connection; the target must be the Proxmox node and the module runs as root.
      - V(api) uses the REST API through the Python library C(proxmoxer) (>= 2.0) from wherever the module runs,
        usually the controller with C(delegate_to=localhost).
      - V(auto) uses V(pct) when the target has a C(pct) command, otherwise V(api).
      - Some changes are allowed only to C(root@pam) logged in with a password (bind and device mount points,
        feature flags other than C(nesting), C(hookscript)); API tokens, even C(root@pam)'s, are refused.
        Over V(api) such changes fail before anything is changed, with C(error_kind=permission);
        use V(pct) for them.
    type: str
    choices: [auto, pct, api]
    default: auto
  node:
    description:
      - Name of the Proxmox node that holds the container.
      - With V(pct) the local node; with V(api) it is found from C(/cluster/resources) for an existing container
        and is required to create one.
    type: str
requirements:
  - "With O(transport=api): the Python library proxmoxer >= 2.0 and requests on the host that runs the module."
  - "With O(transport=pct): a Proxmox VE node (C(pct), C(pvesh)) as the target, and root."
"""

    QM = r"""
options:
  transport:
    description:
      - How to talk to Proxmox VE.
      - V(qm) runs C(qm) (and C(pvesh) for the next free vmid) on the target host; the target must be the Proxmox node.
      - V(api) uses the REST API through the Python library C(proxmoxer) (>= 2.0), usually from the controller.
      - V(auto) uses V(qm) when the target has a C(qm) command, otherwise V(api).
    type: str
    choices: [auto, qm, api]
    default: auto
  node:
    description:
      - Name of the Proxmox node that holds the VM.
      - With V(qm) the local node; with V(api) it is found from C(/cluster/resources) for an existing VM
        and is required to create one.
    type: str
requirements:
  - "With O(transport=api): the Python library proxmoxer >= 2.0 and requests on the host that runs the module."
  - "With O(transport=qm): a Proxmox VE node (C(qm), C(pvesh)) as the target, and root."
"""

    API = r"""
options:
  api_host:
    description:
      - Host name or address of the Proxmox API (any cluster node). Required whenever the API is used.
      - If not set, the value of the E(PROXMOX_HOST) environment variable is used.
    type: str
  api_port:
    description:
      - Port of the Proxmox API.
      - If not set, the value of the E(PROXMOX_PORT) environment variable is used, else V(8006).
    type: int
  api_user:
    description:
      - User as C(user@realm), for O(api_password), or for a token given only by its id in O(api_token_id).
      - Never assumed; there is no silent fallback to C(root@pam).
      - If not set, the value of the E(PROXMOX_USER) environment variable is used.
    type: str
  api_token_id:
    description:
      - API token, either the full C(user@realm!tokenid) or only C(tokenid) together with O(api_user).
      - If not set, the value of the E(PROXMOX_TOKEN_ID) environment variable is used.
    type: str
  api_token_secret:
    description:
      - Secret (UUID) of the API token.
      - If not set, the value of the E(PROXMOX_TOKEN_SECRET) environment variable is used.
    type: str
  api_password:
    description:
      - Password of O(api_user) (ticket authentication). Only a password login of C(root@pam) may change the
        root-only container keys (bind and device mount points, most feature flags, C(hookscript)).
      - If not set, the value of the E(PROXMOX_PASSWORD) environment variable is used.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificate of the API. Set to V(false) for the self-signed certificate of a fresh node.
      - If not set, the value of the E(PROXMOX_VALIDATE_CERTS) environment variable is used, else V(true).
    type: bool
  api_timeout:
    description:
      - Timeout in seconds of each HTTP request to the API (not of the Proxmox tasks it starts).
      - If not set, the value of the E(PROXMOX_API_TIMEOUT) environment variable is used, else V(30).
    type: int
"""
