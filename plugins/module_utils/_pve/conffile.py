# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The on-disk ``/etc/pve/lxc/<vmid>.conf`` format (contract section 5), which qemu-server's
``qemu-server/<vmid>.conf`` shares (sections, ``#`` description lines, ``key: value``).

Written only for raw ``lxc.*`` keys, which neither ``pct set`` nor the API can
write: the pct transport edits the main section's raw lines in place and leaves
everything else byte for byte.  Read by the fleet modules instead of ``pct``/``qm pending``.
"""

from __future__ import annotations

import re

from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps

_SECTION_RE = re.compile(r"^\[([a-z][a-z0-9_:-]+)\]\s*$", re.IGNORECASE)


# A config line's key: pve-container's parse_pct_config; qemu-server's parse_vm_config also allows '-' (amd-sev, allow-ksm).
CT_KEY_PATTERN = r"[a-z][a-z_]*\d*"
VM_KEY_PATTERN = r"[a-z][a-z_\-]*\d*"


def parse_conf(text, key_pattern=CT_KEY_PATTERN):
    """File text -> {section: {"raw": {key: value}, "lxc": [[k, v]], "description": str|None}}; main section is ``""``."""
    sections = {}
    name = ""
    current = sections.setdefault(name, {"raw": {}, "lxc": [], "description": None})
    for line in text.splitlines():
        match = _SECTION_RE.match(line)
        if match:
            name = match.group(1)
            current = sections.setdefault(name, {"raw": {}, "lxc": [], "description": None})
            continue
        if not line.strip():
            continue
        if line.startswith("#"):
            current["description"] = (current["description"] or "") + ps.decode_text(line[1:]) + "\n"
            continue
        raw_match = re.match(r"^(lxc\.[a-z0-9_.\-]+)\s*[:=]\s*(.*?)\s*$", line, re.IGNORECASE)
        if raw_match:
            current["lxc"].append([raw_match.group(1), raw_match.group(2)])
            continue
        key_match = re.match(r"^(%s):\s*(.*?)\s*$" % key_pattern, line)
        if key_match:
            current["raw"][key_match.group(1)] = key_match.group(2)
    for section in sections.values():
        if section["description"] is not None:
            section["raw"]["description"] = section["description"]
    return sections


def replace_raw_lxc(text, entries):
    """Return ``text`` with the main section's ``lxc.*`` lines replaced by ``entries`` ([[key, value]])."""
    lines = text.splitlines()
    end = len(lines)
    for index, line in enumerate(lines):
        if _SECTION_RE.match(line):
            end = index
            # Drop the blank separator lines that precede the first section.
            while end > 0 and not lines[end - 1].strip():
                end -= 1
            break
    head = [line for line in lines[:end] if not re.match(r"^lxc\.[A-Za-z0-9_.\-]+\s*[:=]", line)]
    head += ["%s: %s" % (key, value) for key, value in entries]
    tail = lines[end:]
    out = head + tail
    return "\n".join(out) + "\n"
