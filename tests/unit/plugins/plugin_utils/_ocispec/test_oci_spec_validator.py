# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The shipped OCI runtime-spec schema validator.

* It accepts every file of the spec's ``schema/test/config/good/`` and rejects every one of ``bad/``.
  Those fixtures are not shipped: they are read from ``../shared/schemas/oci-runtime-spec-v1.3.0/test``
  next to the repository (or any of its ancestors, so the copy ansible-test runs in finds them too),
  or (plain pytest only; ansible-test drops the variable) from the directory named by ``LXCRI_OCI_SPEC_TESTS``.
  Without them those tests are skipped with the reason.
* It agrees with the ``jsonschema`` library (Draft 4) on the fixtures and on random mutations of them.
"""

from __future__ import annotations

import copy
import glob
import json
import os

# Plain imports: the gates install every test dependency, and a missing one must fail, not skip.
import hypothesis.strategies as st
import jsonschema
import pytest
import referencing
from hypothesis import given, settings
from referencing.jsonschema import DRAFT4

from ansible_collections.lxcri.containers.plugins.plugin_utils._ocispec import validator

SPEC_TESTS_SUFFIX = os.path.join("shared", "schemas", "oci-runtime-spec-v1.3.0", "test")


def _find_spec_tests():
    explicit = os.environ.get("LXCRI_OCI_SPEC_TESTS")
    if explicit:
        return explicit
    here = os.path.dirname(os.path.abspath(__file__))
    for start in (here, os.path.realpath(here)):
        directory = start
        while True:
            candidate = os.path.join(os.path.dirname(directory), SPEC_TESTS_SUFFIX)
            if os.path.isdir(os.path.join(candidate, "config", "good")):
                return candidate
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
    return None


SPEC_TESTS = _find_spec_tests()
needs_fixtures = pytest.mark.skipif(
    SPEC_TESTS is None,
    reason="the runtime-spec test fixtures (../shared/schemas/oci-runtime-spec-v1.3.0/test next to the repository) are absent",
)


def _fixtures(kind):
    if SPEC_TESTS is None:
        return []
    return sorted(glob.glob(os.path.join(SPEC_TESTS, "config", kind, "*.json")))


def _load(path):
    with open(path, "rb") as handle:
        return handle.read().decode("utf-8")


def _reference_validator():
    resources = []
    for path in glob.glob(os.path.join(validator.SCHEMA_DIR, "*.json")):
        with open(path, "rb") as handle:
            contents = json.loads(handle.read().decode("utf-8"))
        resources.append((os.path.basename(path), referencing.Resource.from_contents(contents, default_specification=DRAFT4)))
    registry = referencing.Registry().with_resources(resources)
    return jsonschema.Draft4Validator(validator.load_schema_file(validator.CONFIG_SCHEMA), registry=registry)


REFERENCE = _reference_validator()


def _reference_paths(document):
    return sorted({validator.format_path(list(error.absolute_path)) for error in REFERENCE.iter_errors(document)})


def _our_paths(document):
    return sorted({issue.json_path for issue in validator.config_issues(document)})


@needs_fixtures
def test_fixture_directories_are_not_empty():
    assert len(_fixtures("good")) >= 5
    assert len(_fixtures("bad")) >= 4


@needs_fixtures
@pytest.mark.parametrize("path", _fixtures("good"), ids=os.path.basename)
def test_accepts_every_good_fixture(path):
    assert validator.document_errors(_load(path)) == []


@needs_fixtures
@pytest.mark.parametrize("path", _fixtures("bad"), ids=os.path.basename)
def test_rejects_every_bad_fixture(path):
    errors = validator.document_errors(_load(path))
    assert errors, "accepted %s" % path
    for error in errors:
        assert error.startswith("$"), error
        assert ": " in error


@needs_fixtures
@pytest.mark.parametrize("path", [p for p in _fixtures("good") + _fixtures("bad") if not p.endswith("invalid-json.json")], ids=os.path.basename)
def test_agrees_with_jsonschema_on_fixtures(path):
    document = json.loads(_load(path))
    assert _our_paths(document) == _reference_paths(document)


def test_messages_name_the_path_and_the_problem():
    document = {
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "process": {"cwd": "/", "args": ["sh"], "user": {"uid": "0", "gid": 0}, "env": ["A=1", 2]},
        "mounts": [{"type": "bind"}],
        "linux": {"resources": {"memory": {"limit": "512M"}}, "namespaces": [{"type": "bogus"}]},
        "annotations": {"a.b": 3},
    }
    assert validator.config_errors(document) == [
        "$.annotations[\"a.b\"]: 3 is not of type 'string'",
        "$.linux.namespaces[0]: {'type': 'bogus'} is not valid under any of the given schemas"
        " (closest match: $.linux.namespaces[0].type: 'bogus' is not one of ['mount', 'pid', 'network', 'uts', 'ipc', 'user', 'cgroup', 'time'])",
        "$.linux.resources.memory.limit: '512M' is not of type 'integer'",
        "$.mounts[0]: 'destination' is a required property",
        "$.process.env[1]: 2 is not of type 'string'",
        "$.process.user.uid: '0' is not of type 'integer'",
    ]


def test_required_and_ranges():
    assert validator.config_errors({}) == ["$: 'ociVersion' is a required property"]
    assert validator.config_errors({"ociVersion": "1.0.0", "root": {}}) == ["$.root: 'path' is a required property"]
    too_big = {"ociVersion": "1.0.0", "linux": {"resources": {"pids": {"limit": 2 ** 63}}}}
    assert validator.config_errors(too_big) == ["$.linux.resources.pids.limit: 9223372036854775808 is greater than the maximum of 9223372036854775807"]


def test_booleans_and_floats_are_not_integers():
    doc = {"ociVersion": "1.0.0", "process": {"cwd": "/", "user": {"uid": True, "gid": 1.0}}}
    assert validator.config_errors(doc) == [
        "$.process.user.gid: 1.0 is not of type 'integer'",
        "$.process.user.uid: True is not of type 'integer'",
    ]


def test_long_values_are_cut_short():
    secret = "S" * 500
    errors = validator.config_errors({"ociVersion": "1.0.0", "process": {"cwd": "/", "env": [{"k": secret}]}})
    assert len(errors) == 1
    assert secret not in errors[0]
    assert len(errors[0]) < 200


def test_text_input_and_invalid_json():
    assert validator.document_errors('{"ociVersion": "1.0.0"}') == []
    assert validator.document_errors(b'{"ociVersion": "1.0.0"}') == []
    errors = validator.document_errors("{]")
    assert len(errors) == 1 and errors[0].startswith("$: not valid JSON")
    assert validator.document_errors("[]") == ["$: [] is not of type 'object'"]


def test_refs_cannot_leave_the_schema_directory():
    with pytest.raises(ValueError):
        validator.load_schema_file("../validator.py")


def test_format_path_quotes_odd_keys():
    assert validator.format_path([]) == "$"
    assert validator.format_path(["process", "env", 3]) == "$.process.env[3]"
    assert validator.format_path(["annotations", 'we"ird key']) == '$.annotations["we\\"ird key"]'


# Random mutations of valid documents: both validators must find problems at the same paths.

_BASE = {
    "ociVersion": "1.0.2",
    "root": {"path": "rootfs", "readonly": False},
    "process": {
        "terminal": False, "cwd": "/", "args": ["sh"], "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0, "additionalGids": [1]},
        "capabilities": {"bounding": ["CAP_KILL"]}, "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 2}],
        "noNewPrivileges": True,
    },
    "hostname": "h",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]}],
    "annotations": {"a": "b"},
    "linux": {
        "namespaces": [{"type": "pid"}, {"type": "network", "path": "/x"}],
        "resources": {
            "devices": [{"allow": False, "access": "rwm"}], "memory": {"limit": 1, "swap": -1},
            "cpu": {"shares": 2, "quota": 3, "period": 4}, "pids": {"limit": 5},
            "blockIO": {"weight": 10, "weightDevice": [{"major": 1, "minor": 2, "weight": 3}]},
        },
        "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]},
        "sysctl": {"net.ipv4.ip_forward": "1"},
    },
    "hooks": {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 1}]},
}

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 65), max_value=2 ** 65) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8) | st.sampled_from(["pid", "SCMP_ACT_ALLOW", "rwm", "/abs", "rootfs", "CAP_KILL", "1.0.0", "64kB", "2MB"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["type", "path", "limit", "x", "destination"]), children, max_size=3),
    max_leaves=6,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


_ALL_PATHS = [p for p in _paths(_BASE) if p]


def test_base_document_is_valid():
    assert validator.config_errors(_BASE) == []
    assert _reference_paths(_BASE) == []


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), st.one_of(st.just(KeyError), _json_values)), min_size=1, max_size=3))
def test_agrees_with_jsonschema_on_mutations(mutations):
    document = copy.deepcopy(_BASE)
    for path, value in mutations:
        parent = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            if value is KeyError:
                if isinstance(parent, dict):
                    parent.pop(path[-1], None)
            else:
                parent[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    assert _our_paths(document) == _reference_paths(document)
