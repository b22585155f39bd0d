# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: oci_bytes
short_description: Convert a size such as C(512M) into a number of bytes
version_added: 0.1.0
description:
  - Returns an integer number of bytes, as the OCI runtime configuration wants for memory limits.
  - An integer (or a string of digits, optionally negative, such as V(-1) for unlimited) is returned unchanged.
  - A number followed by a unit is multiplied by a power of 1024, like C(docker --memory) and C(runc update --memory) do.
    The units are V(K), V(M), V(G), V(T), V(P) and V(E), in either case, optionally followed by V(i), V(B) or V(iB)
    (V(512M), V(512m), V(512MB), V(512MiB) are all 536870912). V(B) alone means bytes.
    A fraction is allowed when the result is a whole number of bytes (V(1.5G)).
  - Anything else (an empty string, a boolean, V(512X), V(0.1K)) fails with a message naming the value.
options:
  _input:
    description: The size.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Memory limit in bytes
  ansible.builtin.debug:
    msg: "{{ '512M' | lxcri.containers.oci_bytes }}"  # 536870912
"""

RETURN = r"""
_value:
  description: The size in bytes.
  type: integer
"""

import re  # noqa: E402
from decimal import Decimal, InvalidOperation  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402

_UNITS = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6}
_SIZE = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(?:([KMGTPE])(?:iB|i|B)?|B)?\s*$", re.IGNORECASE)


def parse_size(value):
    """``'512M'`` -> 536870912; raises ``ValueError`` naming the value when it is not a size."""
    if isinstance(value, bool):
        raise ValueError("%r is a boolean, not a size" % (value,))
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise ValueError("%r is not a whole number of bytes" % (value,))
    if not isinstance(value, str):
        raise ValueError("%r is not a size" % (value,)) from None
    match = _SIZE.match(value)
    if not match:
        raise ValueError("%r is not a size; use a number of bytes or a number with a unit K, M, G, T, P or E (powers of 1024), such as 512M" % (value,))
    try:
        number = Decimal(match.group(1))
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        raise ValueError("%r is not a size" % (value,)) from None
    unit = (match.group(2) or "").upper()
    result = number * (Decimal(1024) ** _UNITS[unit])
    if result != result.to_integral_value():
        raise ValueError("%r is not a whole number of bytes" % (value,))
    return int(result)


def oci_bytes(value):
    """The Jinja filter: :func:`parse_size` with an Ansible error."""
    try:
        return parse_size(value)
    except ValueError as exc:
        raise AnsibleFilterError("oci_bytes: %s" % (exc,)) from None


class FilterModule:
    def filters(self):
        return {"oci_bytes": oci_bytes}
