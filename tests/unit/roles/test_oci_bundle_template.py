# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""roles/oci_bundle/templates/config.json.j2 rendered by Ansible's own templar.

The template is rendered exactly as the role does it, through
``lookup('ansible.builtin.template', ...)`` on a real ``Templar`` of the installed ansible-core
(2.19+: data tagging, untrusted variables, native types), and the parsed JSON is compared to the input.
"""

from __future__ import annotations

import copy
import json
import os
import sys

# Plain imports: the gates install every test dependency, and a missing one must fail, not skip.
import hypothesis.strategies as st
import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader
from ansible.template import Templar, trust_as_template
from ansible.utils.collection_loader import AnsibleCollectionConfig
from hypothesis import given, settings

from ansible_collections.lxcri.containers.plugins.plugin_utils._ocispec.validator import SCHEMA_DIR, config_errors

# <root>/plugins/plugin_utils/_ocispec/schema -> <root>
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(SCHEMA_DIR))))
ROLE = os.path.join(COLLECTION_ROOT, "roles", "oci_bundle")
TEMPLATE = os.path.join(ROLE, "templates", "config.json.j2")

if AnsibleCollectionConfig.collection_finder is None:
    # Plain pytest (ansible-test units sets this up itself): the template calls lxcri.containers.oci_bytes, so
    # Ansible's collection loader must load the collection. Modules plain Python imported before it existed are
    # forgotten so that the loader imports them again; objects already imported keep working.
    for _name in [name for name in sys.modules if name == "ansible_collections" or name.startswith("ansible_collections.")]:
        del sys.modules[_name]
    init_plugin_loader([os.path.dirname(os.path.dirname(os.path.dirname(COLLECTION_ROOT)))])


def _defaults():
    with open(os.path.join(ROLE, "defaults", "main.yml"), "rb") as handle:
        return yaml.safe_load(handle.read().decode("utf-8"))


DEFAULTS = _defaults()
HOSTILE = [
    'double "quotes" and \'single\'',
    "back\\slash \\n \\u0041 \\\"",
    "new\nline\r\ttab",
    "unicode ünïcødé ✓ 雪 \U0001F600 \u2028",
    "{{ lookup('ansible.builtin.pipe', 'touch /tmp/oci-bundle-template-pwned') }}",
    "{% for x in range(3) %}{{ x }}{% endfor %}",
    "{# comment #}",
    '{"looks": "like json"}',
    "[1, 2]",
    "123",
    "True",
    "null",
    "",
    " leading and trailing ",
]


def render(**overrides):
    """The document the role would write, parsed back from the rendered text."""
    variables = copy.deepcopy(DEFAULTS)
    variables.update(oci_bundle_path="/srv/bundle", oci_bundle_args=["sh"], _oci_bundle_oci_version="1.0.2", _oci_bundle_root_path="rootfs")
    variables.update(overrides)
    templar = Templar(loader=DataLoader(), variables=variables)
    text = templar.template(trust_as_template("{{ lookup('ansible.builtin.template', %r) }}" % TEMPLATE))
    assert isinstance(text, str)
    return json.loads(text), text


def test_defaults_render_a_valid_document_both_runtimes_accept():
    doc, text = render()
    assert config_errors(doc) == []
    assert doc["ociVersion"] == "1.0.2"
    assert doc["process"]["terminal"] is False
    assert doc["process"]["cwd"] == "/"
    assert doc["process"]["args"] == ["sh"]
    assert doc["process"]["user"] == {"uid": 0, "gid": 0}
    assert doc["root"] == {"path": "rootfs", "readonly": False}
    # crun: linux, root and mounts; runc: cwd, args, mount ns for masked paths
    assert doc["linux"]["namespaces"] == [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")]
    assert [m["destination"] for m in doc["mounts"]] == ["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]
    assert doc["linux"]["resources"] == {"devices": [{"allow": False, "access": "rwm"}]}
    assert "hostname" not in doc and "annotations" not in doc
    # emitted with sorted keys, so the same input always gives the same bytes
    assert text.strip() == json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_come_out_exactly_as_given(value, tmp_path):
    doc, _text = render(
        oci_bundle_args=["/bin/sh", "-c", value, value],
        oci_bundle_env={"VALUE": value, "OTHER": "x"},
        oci_bundle_hostname=value,
        oci_bundle_cwd="/" + value,
        oci_bundle_annotations={value: value, "plain": value},
        oci_bundle_mounts=[{"destination": "/" + value, "type": "bind", "source": value, "options": ["rbind", value]}],
        oci_bundle_cgroups_path=value,
        _oci_bundle_root_path=value or "rootfs",
    )
    assert doc["process"]["args"] == ["/bin/sh", "-c", value, value]
    assert doc["process"]["env"] == ["OTHER=x", "PATH=" + DEFAULTS["oci_bundle_default_env"]["PATH"], "VALUE=" + value]
    assert doc.get("hostname") == (value or None)
    assert doc["process"]["cwd"] == "/" + value
    assert doc["annotations"] == {value: value, "plain": value}
    assert doc["mounts"][-1] == {"destination": "/" + value, "type": "bind", "source": value, "options": ["rbind", value]}
    assert doc["linux"].get("cgroupsPath") == (value or None)
    assert doc["root"]["path"] == (value or "rootfs")
    assert not os.path.exists("/tmp/oci-bundle-template-pwned")


def test_jinja_in_values_is_not_evaluated():
    payload = "{{ 7 * 6 }}"
    doc, text = render(oci_bundle_env={"X": payload}, oci_bundle_args=[payload], oci_bundle_extra={"annotations": {"k": payload}})
    assert doc["process"]["env"][-1] == "X={{ 7 * 6 }}"
    assert doc["process"]["args"] == ["{{ 7 * 6 }}"]
    assert doc["annotations"] == {"k": "{{ 7 * 6 }}"}
    assert "42" not in text


def test_numbers_stay_numbers_and_strings_stay_strings():
    doc, _text = render(
        oci_bundle_user={"uid": "1000", "gid": 1000, "additional_gids": ["5", 6], "umask": 18},
        oci_bundle_memory="512M",
        oci_bundle_cpu_shares=512, oci_bundle_cpu_quota="50000", oci_bundle_cpu_period=100000,
        oci_bundle_pids_limit=64,
        oci_bundle_rlimits=[{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}],
        oci_bundle_env={"NUM": 5, "STR": "5", "FLOAT": 1.5},
        oci_bundle_annotations={"n": "123", "b": "true"},
    )
    assert doc["process"]["user"] == {"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 18}
    assert doc["linux"]["resources"]["memory"] == {"limit": 536870912}
    assert doc["linux"]["resources"]["cpu"] == {"shares": 512, "quota": 50000, "period": 100000}
    assert doc["linux"]["resources"]["pids"] == {"limit": 64}
    assert doc["process"]["rlimits"] == [{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}]
    assert doc["process"]["env"][:3] == ["FLOAT=1.5", "NUM=5", "PATH=" + DEFAULTS["oci_bundle_default_env"]["PATH"]]
    assert doc["annotations"] == {"n": "123", "b": "true"}
    assert config_errors(doc) == []


@pytest.mark.parametrize("memory, expected", [(1073741824, 1073741824), ("1G", 1073741824), (-1, -1), ("", None), (None, None)])
def test_memory_units(memory, expected):
    doc, _text = render(oci_bundle_memory=memory)
    assert doc["linux"]["resources"].get("memory", {}).get("limit") == expected


def test_invalid_memory_names_the_value():
    with pytest.raises(AnsibleError, match="oci_bytes: '512X' is not a size"):
        render(oci_bundle_memory="512X")


def test_extra_is_deep_merged_last():
    doc, _text = render(
        oci_bundle_memory="1M",
        oci_bundle_extra={
            "linux": {"resources": {"memory": {"swap": 2097152}}, "sysctl": {"net.ipv4.ip_forward": "1"}, "namespaces": [{"type": "pid"}]},
            "process": {"args": ["replaced"], "apparmorProfile": "unconfined"},
        },
    )
    assert doc["linux"]["resources"]["memory"] == {"limit": 1048576, "swap": 2097152}
    assert doc["linux"]["resources"]["devices"] == [{"allow": False, "access": "rwm"}]
    assert doc["linux"]["sysctl"] == {"net.ipv4.ip_forward": "1"}
    assert doc["linux"]["namespaces"] == [{"type": "pid"}]
    assert doc["process"]["args"] == ["replaced"]
    assert doc["process"]["apparmorProfile"] == "unconfined"
    assert doc["process"]["cwd"] == "/"
    assert config_errors(doc) == []


def test_own_mount_replaces_the_default_with_the_same_destination():
    doc, _text = render(oci_bundle_mounts=[{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["size=1g"], "extra": None}])
    destinations = [m["destination"] for m in doc["mounts"]]
    assert destinations == ["/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/dev/shm"]
    assert doc["mounts"][-1] == {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["size=1g"]}


def test_namespace_paths_and_readonly_root():
    doc, _text = render(oci_bundle_namespaces=["pid", "network", "mount"], oci_bundle_namespace_paths={"network": "/var/run/netns/blue"},
                        oci_bundle_readonly=True, oci_bundle_terminal=False, oci_bundle_no_new_privileges=False)
    assert doc["linux"]["namespaces"] == [{"type": "pid"}, {"type": "network", "path": "/var/run/netns/blue"}, {"type": "mount"}]
    assert doc["root"]["readonly"] is True
    assert doc["process"]["noNewPrivileges"] is False


def test_schema_catches_what_extra_breaks():
    doc, _text = render(oci_bundle_extra={"linux": {"resources": {"memory": {"limit": "64M"}}}})
    assert config_errors(doc) == ["$.linux.resources.memory.limit: '64M' is not of type 'integer'"]


_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    args=st.lists(_text, min_size=1, max_size=4),
    env=st.dictionaries(_text.filter(lambda s: s and "=" not in s), _text, max_size=4),
    annotations=st.dictionaries(_text, _text, max_size=3),
    hostname=_text,
)
def test_any_text_round_trips(args, env, annotations, hostname):
    doc, _text_out = render(oci_bundle_args=args, oci_bundle_env=env, oci_bundle_annotations=annotations, oci_bundle_hostname=hostname)
    merged = dict(DEFAULTS["oci_bundle_default_env"], **env)
    assert doc["process"]["args"] == args
    assert sorted(doc["process"]["env"]) == sorted("%s=%s" % item for item in merged.items())
    assert doc.get("annotations", {}) == annotations
    assert doc.get("hostname", "") == hostname
    assert config_errors(doc) == []
