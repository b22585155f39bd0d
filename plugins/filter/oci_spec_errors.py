# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: oci_spec_errors
short_description: List what makes a document an invalid OCI runtime configuration (config.json)
version_added: 0.1.0
description:
  - "Validates the input against the official OCI runtime-spec v1.3.0 configuration schema
    (C(config-schema.json) and the files it references, shipped with this collection, JSON Schema draft-04)
    and returns every violation as a string C(<json path>: <message>), for example
    C($.linux.resources.memory.limit: '512M' is not of type 'integer')."
  - An empty list means the document is valid.
  - The input is the parsed document (a dict) or its JSON text; text that is not JSON gives one error at C($).
  - Values are shown shortened to 60 characters, so a long secret is not echoed whole.
  - This checks the schema only. Runtimes demand more (runc wants C(process.cwd) and C(process.args),
    crun wants C(linux), C(root) and C(mounts)); the P(lxcri.containers.oci_bundle#role) role renders a document that satisfies both.
options:
  _input:
    description: The OCI runtime configuration, a dict or a JSON string.
    type: raw
    required: true
seealso:
  - plugin: lxcri.containers.oci_spec
    plugin_type: test
"""

EXAMPLES = r"""
- name: Fail with every schema violation of a configuration
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ config | lxcri.containers.oci_spec_errors }}"
"""

RETURN = r"""
_value:
  description: "One string per violation, C(<json path>: <message>), sorted by path; empty when the document is valid."
  type: list
  elements: string
"""

from ansible_collections.lxcri.containers.plugins.plugin_utils._ocispec.validator import document_errors  # noqa: E402


def oci_spec_errors(document):
    """The schema violations of an OCI runtime configuration as ``"$.path: message"`` strings."""
    return document_errors(document)


class FilterModule:
    def filters(self):
        return {"oci_spec_errors": oci_spec_errors}
