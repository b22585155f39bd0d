# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Masks for secret values shown in ``diff``, ``actions`` and ``config`` (environment variables).

A mask is an HMAC under a key drawn once per process: within one run equal values give equal
masks (so a diff still shows *that* a value changed), while a mask cannot be looked up in a
table of hashes of likely values, as an unsalted digest prefix could.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_RUN_KEY = secrets.token_bytes(32)


def mask(value: str) -> str:
    """``<masked:0123456789ab>``: the same for equal values within this run, meaningless outside it."""
    return "<masked:%s>" % hmac.new(_RUN_KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()[:12]


def mask_assignment(item: str) -> str:
    """``NAME=value`` -> ``NAME=<masked:...>``; a bare ``NAME`` (inherited) stays as it is."""
    name, sep, value = str(item).partition("=")
    return "%s=%s" % (name, mask(value)) if sep else name
