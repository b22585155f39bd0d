# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The on-disk ``/etc/pve/lxc/<vmid>.conf`` format (contract section 5), which qemu-server's
``qemu-server/<vmid>.conf`` shares (sections, ``#`` description lines, ``key: value``).

Written only for raw ``lxc.*`` keys, which neither ``pct set`` nor the API can
write: the pct transport edits the main section's raw lines in place and leaves
everything else byte for byte.  Read by the pct/qm transports and the fleet modules
instead of ``pct``/``qm pending``: one file read instead of a Perl start, and the file's
SHA-1 is the ``digest`` writes are checked against (``pending`` never prints it).
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps

_SECTION_RE = re.compile(r"^\[([a-z][a-z0-9_:-]+)\]\s*$", re.IGNORECASE)


# A config line's key: pve-container's parse_pct_config; qemu-server's parse_vm_config also allows '-' (amd-sev, allow-ksm).
CT_KEY_PATTERN = r"[a-z][a-z_]*\d*"
VM_KEY_PATTERN = r"[a-z][a-z_\-]*\d*"


# The config digest sent with a write is shown by name in actions: check mode cannot know the digest of a guest
# it has not made yet (a clone's), and an action must read the same in check mode and in the real run.
DIGEST_SHOWN = "<config digest>"
# How ``qm pending`` prints a cipassword (qemu-server API2/Qemu.pm vm_pending).
MASKED_VALUE = "**********"
_ENV_KEY = "lxc.environment.runtime"


class ConfigFormat:
    """What a CT's and a VM's config files do differently."""

    def __init__(self, directory: str, pending_section: str, key_pattern: str, masked: tuple[str, ...], strip_description: bool) -> None:
        self.directory = directory              # <pve dir>/nodes/<node>/<directory>/<vmid>.conf
        self.pending_section = pending_section  # the section holding the pending changes
        self.key_pattern = key_pattern          # a config line's key
        self.masked = masked                    # keys the reads print masked
        self.strip_description = strip_description  # the parser drops the description's trailing whitespace


# PVE::LXC::Config (pve-container) parse_pct_config / write_pct_config: [pve:pending], the description keeps its last newline.
CT_FORMAT = ConfigFormat("lxc", "pve:pending", CT_KEY_PATTERN, (), False)
# qemu-server PVE/QemuServer.pm parse_vm_config / write_vm_config: [PENDING], and its finish_description strips trailing
# whitespace; API2/Qemu.pm vm_pending masks cipassword.
VM_FORMAT = ConfigFormat("qemu-server", "PENDING", VM_KEY_PATTERN, ("cipassword",), True)


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


def pending_view(text: str, fmt: ConfigFormat = CT_FORMAT) -> tuple[dict, set, str, list]:
    """A config file -> what ``pct pending``/``qm pending`` + ``config`` give: ``(pending view, pending keys, digest, raw lxc list)``.

    As PVE's ``config_with_pending_array`` + ``format_pending``: pending values replace the current
    ones, pending deletions of set keys remove them, ``lxc.environment.runtime`` lines form ``env``,
    the keys ``fmt`` masks show the mask; snapshot and ``[special:…]`` sections are not the config.
    """
    digest = hashlib.sha1(text.encode("utf-8", "surrogateescape"), usedforsecurity=False).hexdigest()  # PVE's config digest is SHA-1
    sections = parse_conf(text, fmt.key_pattern)
    empty = {"raw": {}, "lxc": []}
    main = sections.get("", empty)
    # PVE matches the pending section's header case-insensitively (and forbids a snapshot of that name).
    pending = next((section for name, section in sections.items() if name.lower() == fmt.pending_section.lower()), empty)
    view = dict(main["raw"])
    lxc = []
    for key, value in main["lxc"]:
        if key == _ENV_KEY:
            view["env"] = value if "env" not in view else view["env"] + "\0" + value
        else:
            lxc.append([key, value])
    pending_raw = dict(pending["raw"])
    deletions = [item.lstrip("!") for item in pending_raw.pop("delete", "").replace(";", ",").replace(" ", ",").split(",") if item]
    keys = set()
    for key, value in pending_raw.items():
        view[key] = value
        keys.add(key)
    for key in deletions:
        if key in main["raw"] or (key == "env" and "env" in view):
            view.pop(key, None)
            keys.add(key)
    for key in fmt.masked:
        if key in view:
            view[key] = MASKED_VALUE
    if fmt.strip_description and "description" in view:
        view["description"] = view["description"].rstrip()
    return view, keys, digest, lxc


def read_pending_view(path: str, fmt: ConfigFormat) -> tuple[dict, set, str, list] | None:
    """``pending_view`` of the config file at ``path``; None when there is none (no such guest)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as stream:
            return pending_view(stream.read(), fmt)
    except FileNotFoundError:
        return None


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
