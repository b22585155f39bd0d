# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``cipassword`` hashed on our side, so the clear text never has to leave the module process.

Proxmox hashes a ``cipassword`` itself with ``PVE::Tools::encrypt_pw`` (SHA-256 crypt, ``$5$``)
unless it already looks like a crypt hash (API2/Qemu.pm update_vm_api: ``/^\\$(?:[156]|2[ay])(\\$.+){2}/``),
which it stores as given.  Sending the hash instead of the password gives the same config and keeps the
clear text out of a ``qm set`` argv.  Windows guests are the exception: Proxmox stores their password in
clear text (cloudbase-init reads it), so it cannot be hashed.

``sha256_crypt`` is Ulrich Drepper's SHA-crypt (the ``$5$`` scheme of glibc ``crypt``), written out
because Python's ``crypt`` module is gone since 3.13.
"""

from __future__ import annotations

import hashlib
import re
import secrets

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# The byte triples SHA-256 crypt encodes, in order; the last group is two bytes.
_ORDER = ((0, 10, 20), (21, 1, 11), (12, 22, 2), (3, 13, 23), (24, 4, 14), (15, 25, 5), (6, 16, 26), (27, 7, 17),
          (18, 28, 8), (9, 19, 29))
_CRYPT_HASH_RE = re.compile(r"\$(?:[156]|2[ay])(\$.+){2}")
ROUNDS = 5000


def _repeat(digest: bytes, length: int) -> bytes:
    return (digest * (length // len(digest) + 1))[:length]


def _b64(value: int, count: int) -> str:
    out = []
    for _index in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return "".join(out)


def sha256_crypt(password: str, salt: str) -> str:
    """``$5$<salt>$<hash>`` for ``password`` (salt: at most 16 characters of ``[./0-9A-Za-z]``, default rounds)."""
    key = password.encode("utf-8")
    salt_bytes = salt[:16].encode("ascii")
    alternate = hashlib.sha256(key + salt_bytes + key).digest()
    digest_a = hashlib.sha256(key + salt_bytes)
    digest_a.update(_repeat(alternate, len(key)))
    length = len(key)
    while length:
        digest_a.update(alternate if length & 1 else key)
        length >>= 1
    current = digest_a.digest()
    p_bytes = _repeat(hashlib.sha256(key * len(key)).digest(), len(key))
    s_bytes = _repeat(hashlib.sha256(salt_bytes * (16 + current[0])).digest(), len(salt_bytes))
    for index in range(ROUNDS):
        step = hashlib.sha256(p_bytes if index & 1 else current)
        if index % 3:
            step.update(s_bytes)
        if index % 7:
            step.update(p_bytes)
        step.update(current if index & 1 else p_bytes)
        current = step.digest()
    encoded = "".join(_b64((current[a] << 16) | (current[b] << 8) | current[c], 4) for a, b, c in _ORDER)
    encoded += _b64((current[31] << 8) | current[30], 3)
    return "$5$%s$%s" % (salt[:16], encoded)


def is_crypt_hash(value: str) -> bool:
    """Whether Proxmox takes ``value`` as an already hashed cipassword (and stores it as given)."""
    return bool(_CRYPT_HASH_RE.match(value))


def stores_cleartext(ostype: str | None) -> bool:
    """Proxmox keeps a Windows guest's cipassword in clear text (QemuServer/Helpers.pm windows_version)."""
    return bool(ostype) and (ostype in ("wxp", "w2k", "w2k3", "w2k8", "wvista") or bool(re.fullmatch(r"win\d+", ostype)))


def for_config(password: str) -> str:
    """The value to send for a Linux guest: the password hashed with a fresh salt (a given hash as is)."""
    if is_crypt_hash(password):
        return password
    salt = "".join(secrets.choice(_ITOA64) for _index in range(16))
    return sha256_crypt(password, salt)
