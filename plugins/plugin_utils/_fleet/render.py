# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render an OCI bundle's ``config.json`` on the controller with the ``oci_bundle`` role's own files.

The role's argument spec types the variables, the assertions of its ``check_inputs.yml`` and
``render.yml`` are evaluated as they are written there (the same expressions, messages and
filters), and its ``templates/config.json.j2`` renders the document, all with Ansible's templar.
Two values only the host knows are rendered as placeholders that ``oci_containers`` fills in:
the spec version its runtimes support and the name of the unpacked rootfs directory.
"""

from __future__ import annotations

import json
import os

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.template import trust_as_template

from ansible_collections.lxcri.containers.plugins.module_utils._fleet.ocibundle import ROOT_PLACEHOLDER, VERSION_PLACEHOLDER

ROLES_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "roles"))
_ROLE = os.path.join(ROLES_DIR, "oci_bundle")


class BundleError(Exception):
    """The role would fail: ``msg`` is its message, ``field`` the variable it is about when known."""

    def __init__(self, msg: str, field: str | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.field = field


def _load(*parts: str):
    with open(os.path.join(*parts), encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def _asserts(tasks: list) -> list[dict]:
    """The ``ansible.builtin.assert`` tasks of a task file, in order."""
    return [task for task in tasks if "ansible.builtin.assert" in task]


class BundleRenderer:
    """The ``oci_bundle`` role's defaults, argument spec, assertions and template, loaded once per task."""

    def __init__(self) -> None:
        self.defaults = _load(_ROLE, "defaults", "main.yml")
        self.options = _load(_ROLE, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
        self.input_checks = _asserts(_load(_ROLE, "tasks", "check_inputs.yml"))
        self.document_checks = _asserts(_load(_ROLE, "tasks", "render.yml"))
        with open(os.path.join(_ROLE, "templates", "config.json.j2"), encoding="utf-8") as stream:
            self.template = stream.read()
        self._validator = ArgumentSpecValidator(self.options)

    def render(self, templar, variables: dict) -> dict:
        """The rendered document (with the two placeholders), or ``BundleError`` with the role's message."""
        try:
            return self._render(templar, variables)
        except AnsibleError as exc:
            # A filter of the role's checks refused a value (oci_bytes on a bad size): the role fails with that message too.
            raise BundleError(" ".join(str(exc.message).split())) from None

    def _render(self, templar, variables: dict) -> dict:
        own = dict((key, value) for key, value in variables.items() if key in self.options)
        # The role knows dir/tar/oci_layout; 'auto' (the host decides between a directory and a tar archive) is checked as a dir path.
        auto = own.get("oci_bundle_rootfs_source") == "auto"
        if auto:
            own["oci_bundle_rootfs_source"] = "dir"
        checked = self._validator.validate(own)
        if checked.error_messages:
            raise BundleError("; ".join(checked.error_messages))
        # As a role's argument spec validation: it checks, it does not change the variables.
        values = dict(variables, **own)
        self._check(templar, self.input_checks, values)
        values.update(_oci_bundle_oci_version=values.get("oci_bundle_oci_version") or VERSION_PLACEHOLDER, _oci_bundle_root_path=ROOT_PLACEHOLDER)
        text = templar.copy_with_new_env(available_variables=values).template(trust_as_template(self.template))
        values["_oci_bundle_json"] = text
        self._check(templar, self.document_checks, values)
        return text if isinstance(text, dict) else json.loads(text)

    @staticmethod
    def _check(templar, tasks: list[dict], values: dict) -> None:
        for task in tasks:
            scope = dict(values)
            env = templar.copy_with_new_env(available_variables=scope)
            for name, expression in (task.get("vars") or {}).items():
                scope[name] = env.template(trust_as_template(expression)) if isinstance(expression, str) else expression
                env = templar.copy_with_new_env(available_variables=scope)
            spec = task["ansible.builtin.assert"]
            conditions = spec["that"] if isinstance(spec["that"], list) else [spec["that"]]
            for condition in conditions:
                if not env.evaluate_conditional(trust_as_template(condition)):
                    message = env.template(trust_as_template(spec.get("fail_msg") or "assertion failed: %s" % condition))
                    field = message.split(":", 1)[0] if message.startswith("oci_bundle_") else None
                    raise BundleError(" ".join(str(message).split()), field)
