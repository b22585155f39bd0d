# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import conffile, model
from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps


def _find_corpus():
    """``../shared/fixtures/...`` next to the repo; also found from the copy the gates make under the repo's .work/."""
    for directory in pathlib.Path(__file__).resolve().parents:
        candidate = directory / "shared" / "fixtures" / "pve-container-snapshot-configs"
        if candidate.is_dir():
            return candidate
    return pathlib.Path("shared-corpus-not-found")


CORPUS = _find_corpus()

# ---------------------------------------------------------------------------
# Strategies producing canonical models of each property string.

_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12).filter(lambda s: s[0].isalnum())
_size = st.builds(lambda n, unit: "%d%s" % (n, unit), st.integers(min_value=1, max_value=4000), st.sampled_from(["K", "M", "G", "T"]))
_mac = st.builds(lambda a, rest: "%s%s:%s" % (a, "2", ":".join(rest)), st.sampled_from("0123456789ABCDEF"),
                 st.lists(st.sampled_from(["00", "1A", "BC", "24", "11", "FF"]), min_size=5, max_size=5))
_volume = st.one_of(
    st.builds(lambda s, n: "%s:vm-%d-disk-0" % (s, n), _word.filter(lambda s: s[0].isalpha()), st.integers(100, 99999)),
    st.builds(lambda p: "/srv/%s" % p, _word),
)
_bool = st.booleans()


def _drop_none(d):
    return dict((k, v) for k, v in d.items() if v is not None)


def _opt(strategy):
    return st.one_of(st.none(), strategy)


mount_models = st.builds(
    lambda volume, mp, size, acl, ro, backup, replicate, mountoptions: _drop_none(dict(
        volume=volume, mp=mp, size=None if size is None else ps.canonical_size(size), acl=acl, ro=ro, backup=backup,
        replicate=replicate, mountoptions=mountoptions)),
    _volume, st.builds(lambda w: "/mnt/" + w, _word), _opt(_size), _opt(_bool), _opt(_bool), _opt(_bool), _opt(_bool),
    _opt(st.lists(st.sampled_from(["discard", "lazytime", "noatime", "nodev", "noexec", "nosuid"]), min_size=1, unique=True).map(sorted)),
)
net_models = st.builds(
    lambda name, bridge, firewall, hwaddr, ip, tag, mtu, rate, trunks, link_down: _drop_none(dict(
        name=name, bridge=bridge, firewall=firewall, hwaddr=hwaddr, ip=ip, tag=tag, mtu=mtu, rate=rate, trunks=trunks,
        link_down=link_down, type="veth")),
    st.sampled_from(["eth0", "eth1", "net_a"]), _opt(st.sampled_from(["vmbr0", "vmbr1"])), _opt(_bool), _opt(_mac),
    _opt(st.sampled_from(["dhcp", "manual", "10.0.0.2/24"])), _opt(st.integers(1, 4094)), _opt(st.integers(64, 65535)),
    _opt(st.one_of(st.integers(0, 1000), st.sampled_from([0.5, 12.25]))),
    _opt(st.lists(st.integers(1, 4094), min_size=1, max_size=4, unique=True).map(sorted)), _opt(_bool),
)
feature_models = st.builds(
    lambda nesting, keyctl, fuse, mknod, mount: _drop_none(dict(nesting=nesting, keyctl=keyctl, fuse=fuse, mknod=mknod, mount=mount)),
    _opt(_bool), _opt(_bool), _opt(_bool), _opt(_bool), _opt(st.lists(st.sampled_from(["nfs", "cifs", "ext4"]), min_size=1, unique=True).map(sorted)),
)
startup_models = st.builds(lambda o, u, d: _drop_none(dict(order=o, up=u, down=d)), _opt(st.integers(0, 99)), _opt(st.integers(0, 600)),
                           _opt(st.integers(0, 600)))


@settings(max_examples=200)
@given(mount_models, st.sampled_from(["rootfs", "mp0", "mp17"]))
def test_mount_format_then_parse_is_identity(mount, key):
    if key == "rootfs":
        mount = dict(mount)
        mount.pop("mp")
    assert ps.parse_propstring(key, ps.format_propstring(key, mount)) == mount


@settings(max_examples=200)
@given(net_models)
def test_net_format_then_parse_is_identity(net):
    text = ps.format_propstring("net3", net)
    assert text.startswith("name=")
    assert ps.parse_propstring("net3", text) == net


@given(feature_models)
def test_features_format_then_parse_is_identity(features):
    assert ps.parse_propstring("features", ps.format_propstring("features", features)) == features


@given(startup_models)
def test_startup_format_then_parse_is_identity(startup):
    assert ps.parse_propstring("startup", ps.format_propstring("startup", startup)) == startup


@given(st.integers(min_value=0, max_value=2 ** 50))
def test_size_format_then_parse_is_identity(size):
    assert ps.parse_size(ps.format_size(size)) == size


@given(st.lists(st.text(alphabet="abcXYZ019_-+.", min_size=1, max_size=8).filter(lambda t: t[0] not in "-+."), max_size=6))
def test_tags_are_lowercased_sorted_unique_and_stable(tags):
    canonical = ps.parse_tags(tags)
    assert canonical == sorted(set(t.lower() for t in tags))
    assert ps.parse_tags(ps.format_tags(canonical)) == canonical


@given(st.text(max_size=60))
def test_description_decode_of_encoded_text_is_identity(text):
    encoded = "".join(c if c.isalnum() or c == " " else "".join("%%%02X" % b for b in c.encode("utf-8")) for c in text)
    assert ps.decode_text(encoded) == text


@settings(max_examples=200)
@given(net_models, st.randoms(use_true_random=False), st.sampled_from([("1", "0"), ("yes", "no"), ("on", "off"), ("true", "false")]))
def test_parse_then_format_is_stable_whatever_order_and_boolean_spelling(net, rnd, spelling):
    """Proxmox stores features/startup verbatim and old configs keep any sub-key order: all parse to one canonical form."""
    canonical = ps.format_propstring("net0", net)
    parts = canonical.split(",")
    rnd.shuffle(parts)
    respelled = []
    for part in parts:
        name, value = part.split("=", 1)
        if ps.SCHEMAS["net"]["keys"].get(name) == "bool":
            value = spelling[0] if value == "1" else spelling[1]
        respelled.append("%s=%s" % (name, value))
    parsed = ps.parse_propstring("net0", ",".join(respelled))
    assert parsed == net
    assert ps.format_propstring("net0", parsed) == canonical


# ---------------------------------------------------------------------------
# What the contract says Proxmox writes.

@pytest.mark.parametrize("key,text,expected", [
    ("rootfs", "local-lvm:vm-101-disk-0,size=8G", {"volume": "local-lvm:vm-101-disk-0", "size": "8G"}),
    ("mp0", "local-lvm:vm-101-disk-1,mp=/data,backup=1,size=8G", {"volume": "local-lvm:vm-101-disk-1", "mp": "/data", "backup": True, "size": "8G"}),
    ("net0", "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:5E:7D:2C,ip=dhcp,type=veth",
     {"name": "eth0", "bridge": "vmbr0", "hwaddr": "BC:24:11:5E:7D:2C", "ip": "dhcp", "type": "veth"}),
    ("features", "keyctl=1,nesting=1", {"keyctl": True, "nesting": True}),
    ("features", "nesting=1,keyctl=1", {"keyctl": True, "nesting": True}),
    ("startup", "order=1,up=30", {"order": 1, "up": 30}),
    ("startup", "2,down=10", {"order": 2, "down": 10}),
    ("rootfs", "local:101/vm-101-disk-0.raw,size=1536M", {"volume": "local:101/vm-101-disk-0.raw", "size": "1536M"}),
])
def test_contract_samples_parse_and_reformat_canonically(key, text, expected):
    parsed = ps.parse_propstring(key, text)
    assert parsed == expected
    again = ps.format_propstring(key, parsed)
    assert ps.parse_propstring(key, again) == parsed
    if key not in ("features",) and text != "2,down=10":
        assert again == text  # Proxmox's own print order


def test_size_forms():
    assert ps.canonical_size("8") == "8G"
    assert ps.canonical_size("8192M") == "8G"
    assert ps.canonical_size("0.5") == "512M"
    assert ps.canonical_size("8GiB") == "8G"
    assert ps.format_size(0) == "0T"
    with pytest.raises(LxcriError) as err:
        ps.canonical_size("eight", "rootfs.size")
    assert err.value.error_kind == "invalid_argument" and "rootfs.size" in err.value.msg


def test_booleans_accept_cli_spellings():
    for text in ("1", "yes", "On", "TRUE", True):
        assert ps.parse_bool(text) is True
    for text in ("0", "no", "off", "False", False):
        assert ps.parse_bool(text) is False
    with pytest.raises(LxcriError):
        ps.parse_bool("maybe", "onboot")


def test_unknown_subkeys_survive_a_round_trip():
    parsed = ps.parse_propstring("net0", "name=eth0,future-key=abc,type=veth")
    assert parsed["future-key"] == "abc"
    assert ps.parse_propstring("net0", ps.format_propstring("net0", parsed)) == parsed


def test_duplicate_subkey_is_an_error():
    with pytest.raises(LxcriError):
        ps.parse_propstring("net0", "name=eth0,name=eth1")


# ---------------------------------------------------------------------------
# Real configs written by Proxmox (pve-container test corpus), read in place.

def _corpus_files():
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.rglob("*.conf"))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared pve-container config corpus not present next to the repo")
def test_corpus_is_present_and_non_trivial():
    assert len(_corpus_files()) > 50


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared pve-container config corpus not present next to the repo")
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: str(p.relative_to(CORPUS)) if CORPUS.is_dir() else str(p))
def test_corpus_parse_then_format_is_stable(path):
    sections = conffile.parse_conf(path.read_text())
    checked = 0
    for section in sections.values():
        for key, value in section["raw"].items():
            canonical = model.value_from_raw(key, value)
            if canonical is None:
                continue
            text = model.value_to_raw(key, canonical)
            again = model.value_from_raw(key, text)
            assert again == canonical, (key, value, text)
            assert model.value_to_raw(key, again) == text
            checked += 1
        config = model.from_raw(section["raw"])
        assert model.from_raw(dict((k, model.value_to_raw(k, v)) for k, v in config.items())) == config
    assert checked > 0


def test_replace_raw_lxc_keeps_everything_else():
    text = "#desc\narch: amd64\nlxc.apparmor.profile: unconfined\nmemory: 512\n\n[pve:pending]\ncores: 2\n"
    out = conffile.replace_raw_lxc(text, [["lxc.cgroup2.devices.allow", "c 10:200 rwm"]])
    assert out == "#desc\narch: amd64\nmemory: 512\nlxc.cgroup2.devices.allow: c 10:200 rwm\n\n[pve:pending]\ncores: 2\n"
    parsed = conffile.parse_conf(out)
    assert parsed[""]["lxc"] == [["lxc.cgroup2.devices.allow", "c 10:200 rwm"]]
    assert parsed["pve:pending"]["raw"] == {"cores": "2"}
