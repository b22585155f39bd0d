# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SHA-256 crypt of cipassword against the published SHA-crypt vectors and OpenSSL's own implementation."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import cryptpw


@pytest.mark.parametrize(("password", "salt", "expected"), [
    # Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors with the default 5000 rounds
    # (the second one's 17-character salt is cut to 16); glibc crypt(3) prints the same.
    ("Hello world!", "saltstring", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"),
    ("This is just a test", "toolongsaltstring", "$5$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"),
])
def test_published_vectors(password, salt, expected):
    assert cryptpw.sha256_crypt(password, salt) == expected


@pytest.mark.parametrize("password", ["x", "s3cret pässword", "a" * 33, "a" * 64 + "b" * 40, "tab\tin it"])
def test_same_as_openssl(password):
    salt = "Ab./09zZyY12"
    reference = subprocess.run(["openssl", "passwd", "-5", "-salt", salt, "-stdin"], input=password + "\n",
                               capture_output=True, text=True, check=True).stdout.strip()
    assert cryptpw.sha256_crypt(password, salt) == reference


def test_config_value_is_a_hash_proxmox_keeps():
    """API2/Qemu.pm update_vm_api stores a value matching /^\\$(?:[156]|2[ay])(\\$.+){2}/ as given."""
    value = cryptpw.for_config("s3cret")
    assert value.startswith("$5$") and cryptpw.is_crypt_hash(value) and "s3cret" not in value
    assert value != cryptpw.for_config("s3cret")  # a fresh salt each time
    salt = value.split("$")[2]
    assert cryptpw.sha256_crypt("s3cret", salt) == value
    given = "$6$abc$def"
    assert cryptpw.for_config(given) == given
    assert not cryptpw.is_crypt_hash("$5$only-one-part")


@pytest.mark.parametrize(("ostype", "cleartext"), [
    ("l26", False), (None, False), ("other", False), ("win11", True), ("win7", True), ("w2k8", True), ("wxp", True), ("solaris", False)])
def test_windows_guests_keep_the_clear_text(ostype, cleartext):
    """QemuServer/Helpers.pm windows_version: wxp/w2k/w2k3 (5), w2k8/wvista (6), winN."""
    assert cryptpw.stores_cleartext(ostype) is cleartext
