# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The oci_bytes, oci_runtime_version and oci_spec_errors filters and the oci_spec test."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.lxcri.containers.plugins.filter.oci_bytes import FilterModule as BytesFilters
from ansible_collections.lxcri.containers.plugins.filter.oci_bytes import oci_bytes, parse_size
from ansible_collections.lxcri.containers.plugins.filter.oci_runtime_version import FilterModule as VersionFilters
from ansible_collections.lxcri.containers.plugins.filter.oci_runtime_version import oci_runtime_version, runtime_maxima
from ansible_collections.lxcri.containers.plugins.filter.oci_spec_errors import FilterModule as SpecFilters
from ansible_collections.lxcri.containers.plugins.module_utils._oci.specversion import version_key
from ansible_collections.lxcri.containers.plugins.test.oci_spec import TestModule as SpecTests

# What Debian 12's runtimes print (runc 1.1.5 `features` trimmed; crun 1.8.1 has no `features`).
RUNC_115_FEATURES = json.dumps({"ociVersionMin": "1.0.0", "ociVersionMax": "1.0.2-dev", "hooks": ["prestart"]})
RUNC_115_VERSION = "runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n"
CRUN_181_VERSION = "crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX\n"
CRUN_NEW_FEATURES = json.dumps({"ociVersionMin": "1.0.0", "ociVersionMax": "1.2.1"})


def _probe(runtime, subcommand, rc, stdout):
    return {"item": [runtime, subcommand], "rc": rc, "stdout": stdout}


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, 0), (-1, -1), (536870912, 536870912), ("123", 123), ("-1", -1), (" 42 ", 42),
        ("512M", 536870912), ("512m", 536870912), ("512MB", 536870912), ("512MiB", 536870912), ("512Mi", 536870912),
        ("1G", 1073741824), ("1.5G", 1610612736), ("2k", 2048), ("1T", 1024 ** 4), ("1P", 1024 ** 5), ("1E", 1024 ** 6),
        ("100B", 100), ("0.5K", 512), (64.0, 64),
    ],
)
def test_oci_bytes_accepts_sizes(value, expected):
    result = oci_bytes(value)
    assert result == expected
    assert isinstance(result, int) and not isinstance(result, bool)


@pytest.mark.parametrize("value", ["", "512X", "M", "1.5", "0.1K", "12 34", "1e6", True, None, [1], 1.5, "--1", "1KK"])
def test_oci_bytes_rejects_other_values_naming_them(value):
    with pytest.raises(AnsibleFilterError) as caught:
        oci_bytes(value)
    assert "oci_bytes: %r" % (value,) in str(caught.value)


def test_parse_size_raises_value_error():
    with pytest.raises(ValueError):
        parse_size("lots")


def test_version_key_orders_pre_releases_first():
    ordered = ["1.0.0-rc1", "1.0.0-rc2", "1.0.0", "1.0.2-dev", "1.0.2", "1.1.0-rc.1", "1.1.0", "1.2.1", "1.10.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert version_key("v1.0.0") == version_key("1.0.0")
    assert version_key("1.0") is None
    assert version_key("") is None


def test_debian12_runc_and_crun_give_the_lower_version():
    results = [
        _probe("runc", "features", 0, RUNC_115_FEATURES), _probe("runc", "--version", 0, RUNC_115_VERSION),
        _probe("crun", "features", 1, "unknown command features"), _probe("crun", "--version", 0, CRUN_181_VERSION),
    ]
    assert runtime_maxima(results) == {"runc": "1.0.2-dev", "crun": "1.0.0"}
    assert oci_runtime_version(results) == "1.0.0"


def test_features_wins_over_version_line():
    results = [_probe("crun", "--version", 0, "spec: 1.0.0\n"), _probe("crun", "features", 0, CRUN_NEW_FEATURES)]
    assert oci_runtime_version(results) == "1.2.1"


def test_missing_runtimes_are_ignored_and_fallback_applies():
    missing = [_probe("crun", "features", 2, ""), _probe("crun", "--version", 2, "")]
    assert oci_runtime_version(missing) == "1.0.2"
    assert oci_runtime_version(missing, fallback="1.1.0") == "1.1.0"
    assert oci_runtime_version([]) == "1.0.2"
    assert oci_runtime_version(missing + [_probe("runc", "features", 0, RUNC_115_FEATURES)]) == "1.0.2-dev"


def test_garbage_output_is_ignored():
    results = [_probe("runc", "features", 0, "not json"), _probe("runc", "--version", 0, "spec: banana\n"),
               _probe("runc", "features", 0, json.dumps({"ociVersionMax": 3}))]
    assert oci_runtime_version(results) == "1.0.2"


@pytest.mark.parametrize("bad", [["x"], [{"rc": 0, "stdout": ""}], [{"item": "runc", "rc": 0}]])
def test_malformed_results_fail_clearly(bad):
    with pytest.raises(AnsibleFilterError, match="oci_runtime_version"):
        oci_runtime_version(bad)


def test_plugins_register_their_names():
    assert set(BytesFilters().filters()) == {"oci_bytes"}
    assert set(VersionFilters().filters()) == {"oci_runtime_version"}
    assert set(SpecFilters().filters()) == {"oci_spec_errors"}
    assert set(SpecTests().tests()) == {"oci_spec"}


def test_spec_filter_and_test_agree():
    errors = SpecFilters().filters()["oci_spec_errors"]
    is_valid = SpecTests().tests()["oci_spec"]
    good = {"ociVersion": "1.0.2", "root": {"path": "rootfs"}}
    bad = {"ociVersion": "1.0.2", "root": {"path": 1}}
    assert errors(good) == [] and is_valid(good)
    assert errors(json.dumps(good)) == [] and is_valid(json.dumps(good))
    assert errors(bad) == ["$.root.path: 1 is not of type 'string'"] and not is_valid(bad)
    assert not is_valid("{not json")
