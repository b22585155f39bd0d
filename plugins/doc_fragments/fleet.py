# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """What the modules that converge many containers in one run share."""

    DOCUMENTATION = r"""
options:
  parallel:
    description:
      - How many containers are converged at the same time (worker threads of the one module process).
      - Each container's own steps always run in order.
    type: int
    default: 4
notes:
  - Every item is validated first; a bad item fails the task naming the item and the field before anything is read or changed.
  - One container's failure does not stop the others. The task fails at the end when any container failed, naming each failed
    container and its error; RV(containers) holds the result of every container.
"""
