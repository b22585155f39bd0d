# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Render an OCI bundle's ``config.json`` on the controller with the ``oci_bundle`` role's own files.

The role's argument spec types the variables; its ``templates/input_problems.j2`` (the checks of
``check_inputs.yml``), ``templates/config.json.j2`` and ``templates/document_problems.j2`` (the
checks of ``render.yml``) render with Ansible's templar, so the action and the role say the same.
One templar serves every container of the task and includes the three by name from the role's
``templates`` directory, so Jinja compiles each once per task (its environment caches them)
instead of once per container. Two values only the host knows are rendered as placeholders that
``oci_containers`` fills in: the spec version its runtimes support and the name of the unpacked
rootfs directory.
"""

from __future__ import annotations

import json
import os

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.template import Templar, trust_as_template

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


class BundleRenderer:
    """The ``oci_bundle`` role's defaults, argument spec, assertions and template, loaded once per task."""

    def __init__(self, templar: Templar) -> None:
        self.defaults = _load(_ROLE, "defaults", "main.yml")
        self.options = _load(_ROLE, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
        self._validator = ArgumentSpecValidator(self.options)
        # The task's templar (its loader, its plugins) with the role's templates as the search path.
        self._templar = templar.copy_with_new_env(searchpath=[os.path.join(_ROLE, "templates")])

    def render(self, variables: dict) -> dict:
        """The rendered document (with the two placeholders), or ``BundleError`` with the role's message."""
        try:
            return self._render(variables)
        except AnsibleError as exc:
            # A filter of the role's checks refused a value (oci_bytes on a bad size): the role fails with that message too.
            raise BundleError(" ".join(str(exc.message).split())) from None

    def _render(self, variables: dict) -> dict:
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
        self._check("input_problems.j2", values)
        values.update(_oci_bundle_oci_version=values.get("oci_bundle_oci_version") or VERSION_PLACEHOLDER, _oci_bundle_root_path=ROOT_PLACEHOLDER)
        text = self._include("config.json.j2", values)
        values["_oci_bundle_json"] = text if isinstance(text, str) else json.dumps(text)
        self._check("document_problems.j2", values)
        return json.loads(text) if isinstance(text, str) else text

    def _include(self, name: str, values: dict):
        self._templar.available_variables = values
        return self._templar.template(trust_as_template("{%% include '%s' %%}" % name))

    def _check(self, name: str, values: dict) -> None:
        """The role's first problem with these values, as ``BundleError`` (the role's assertion message)."""
        problems = self._include(name, values)
        problems = json.loads(problems) if isinstance(problems, str) else problems
        if problems:
            message = " ".join(str(problems[0]).split())
            raise BundleError(message, message.split(":", 1)[0] if message.startswith("oci_bundle_") else None)
