# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The on-disk ``<vmid>.conf`` format (contract §5): parser and writer."""

from __future__ import annotations

import difflib
import re

import pytest
from conftest import CORPUS

from pvesim.config import decode_text, encode_text, parse_config, write_config
from pvesim.pending import load_current_config


def _corpus_files():
    if not CORPUS.is_dir():
        return []
    return sorted(CORPUS.glob("snapshot-*/*/lxc/*.conf"))


@pytest.mark.parametrize("path", _corpus_files() or [None], ids=lambda p: "/".join(p.parts[-4:]) if p else "corpus-missing")
def test_corpus_round_trip(path, corpus):
    """Every real PVE config of the pve-container test corpus parses and is written back byte for byte."""
    if path is None:
        pytest.skip("corpus empty")
    raw = path.read_text()
    warnings = []
    conf = parse_config(raw, vmid=path.stem, warn=warnings.append)
    out = write_config(conf)
    assert out == raw, "".join(difflib.unified_diff(raw.splitlines(True), out.splitlines(True)))
    # PVE itself warns about keys LXC does not know (the corpus has a QEMU-only 'vmstate')
    for w in warnings:
        assert re.match(r"^vm \d+ - unable to parse value of '(\w+)' - unknown setting '\1'$", w), w


def test_corpus_is_not_trivial(corpus):
    files = _corpus_files()
    assert len(files) >= 80
    with_snapshots = [f for f in files if "\n[" in f.read_text()]
    with_description = [f for f in files if "\n#" in "\n" + f.read_text()]
    assert with_snapshots and with_description


def test_snapshot_sections_and_parent(corpus):
    conf = parse_config((corpus / "snapshot-expected/create/lxc/101.conf").read_text(), vmid=101)
    assert conf["parent"] == "test"
    assert sorted(conf["snapshots"]) == ["test"]
    snap = conf["snapshots"]["test"]
    assert snap["description"] == "test comment\n"
    assert snap["snaptime"] == "1234567890"
    assert "description" not in conf


def test_description_comment_lines_are_decoded_and_reencoded():
    raw = "#line one%3A 100%25\n#\n#second\narch: amd64\nmemory: 512\n"
    conf = parse_config(raw, vmid=100)
    assert conf["description"] == "line one: 100%\n\nsecond\n"
    assert write_config(conf) == raw


def test_encode_text_matches_pve():
    assert encode_text("web server\n") == "web server%0A"
    assert encode_text("a:b%c") == "a%3Ab%25c"
    assert encode_text("caf\u00e9") == "caf%C3%A9"
    assert decode_text("caf%C3%A9%0A") == "caf\u00e9\n"


def test_description_key_line_is_accepted():
    conf = parse_config("description: hello%3A world\narch: amd64\n", vmid=100)
    assert conf["description"] == "hello: world"
    assert write_config(conf) == "#hello%3A world\narch: amd64\n"


def test_values_are_type_normalised_on_parse():
    conf = parse_config("onboot: yes\nmemory: 0512\nprotection: off\n", vmid=100)
    assert (conf["onboot"], conf["memory"], conf["protection"]) == ("1", "512", "0")
    assert write_config(conf) == "memory: 512\nonboot: 1\nprotection: 0\n"


def test_keys_are_written_in_perl_string_order():
    conf = parse_config("net2: name=eth2\nnet10: name=eth10\nmp2: local:x,mp=/a\nmp10: local:y,mp=/b\narch: amd64\n", vmid=100)
    keys = [ln.split(":")[0] for ln in write_config(conf).splitlines()]
    assert keys == ["arch", "mp10", "mp2", "net10", "net2"]


def test_raw_lxc_keys_keep_order_and_accept_equals():
    raw = "arch: amd64\nlxc.cgroup2.devices.allow = c 10:200 rwm\nlxc.apparmor.profile: unconfined\n"
    conf = parse_config(raw, vmid=100)
    assert conf["lxc"] == [["lxc.cgroup2.devices.allow", "c 10:200 rwm"], ["lxc.apparmor.profile", "unconfined"]]
    assert write_config(conf) == "arch: amd64\nlxc.cgroup2.devices.allow: c 10:200 rwm\nlxc.apparmor.profile: unconfined\n"


def test_env_is_stored_as_lxc_environment_runtime():
    conf = parse_config("arch: amd64\nlxc.environment.runtime: A=1\nlxc.environment.runtime: B=2\n", vmid=100)
    assert conf["env"] == "A=1\0B=2"
    assert write_config(conf) == "arch: amd64\nlxc.environment.runtime: A=1\nlxc.environment.runtime: B=2\n"


def test_pending_section_and_delete():
    raw = "cores: 1\nmemory: 512\n\n[pve:pending]\ncores: 2\ndelete: swap,!onboot\n"
    conf = parse_config(raw, vmid=100)
    assert conf["pending"] == {"cores": "2", "delete": "swap,!onboot"}
    assert write_config(conf) == raw
    merged = load_current_config(conf)
    assert merged["cores"] == "2"
    assert load_current_config(conf, current=True)["cores"] == "1"


def test_bad_lines_only_warn():
    warnings = []
    conf = parse_config("arch: amd64\nthis is junk\ndelete: swap\nmemory: lots\n", vmid=100, warn=warnings.append)
    assert warnings == [
        "vm 100 - unable to parse config: this is junk",
        "vm 100 - property 'delete' is only allowed in [pve:pending]",
        "vm 100 - unable to parse value of 'memory' - type check ('integer') failed - got 'lots'",
    ]
    assert conf["arch"] == "amd64" and conf["memory"] == "lots"


def test_rootfs_path_raw_key_is_rejected():
    warnings = []
    conf = parse_config("arch: amd64\nlxc.rootfs.path: /x\n", vmid=100, warn=warnings.append)
    assert "lxc" not in conf
    assert warnings and warnings[0].startswith("vm 100 - lxc.rootfs.path:")


def test_unused_volume_still_in_use_is_dropped_on_write():
    conf = parse_config("rootfs: local:100/vm-100-disk-0.raw,size=8G\nunused0: local:100/vm-100-disk-0.raw\nunused1: local:x\n", vmid=100)
    assert write_config(conf) == "rootfs: local:100/vm-100-disk-0.raw,size=8G\nunused1: local:x\n"


def test_digest_is_sha1_of_raw_text():
    import hashlib

    raw = "arch: amd64\n"
    assert parse_config(raw, vmid=100)["digest"] == hashlib.sha1(raw.encode()).hexdigest()
