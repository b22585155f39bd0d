# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Glue between ``AnsibleModule`` and the exception-raising code in module_utils."""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError


def run_module(module, converge):
    """Call ``converge(module)`` and exit with its result dict.

    An ``LxcriError`` becomes ``fail_json`` with ``msg``, ``error_kind`` and the
    failing command's ``cmd``/``rc``/``stdout``/``stderr``.  Any partial result the
    error carries (``details``) is returned too, so ``actions`` run before the
    failure stay visible.
    """
    failure = None
    try:
        module.exit_json(**converge(module))
    except LxcriError as exc:
        failure = exc.to_result()
    # Outside the except block: ansible-core 2.19 would attach the traceback of an
    # expected, fully explained failure.
    module.fail_json(**failure)
