# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pvesim: a simulator of one Proxmox VE 9.x node.

See README.md ("Internals") for the package layout.
"""

__version__ = "0.1.0"

# What `GET /version` and `pveversion` report.  pve-manager 9.1.x is the 9.1 GA line the
# contract was checked against.
PVE_RELEASE = "9.1"
PVE_VERSION = "9.1.2"
PVE_REPOID = "b2e7b3fa"
