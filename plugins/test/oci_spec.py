# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: oci_spec
short_description: Is a document a valid OCI runtime configuration (config.json)?
version_added: 0.1.0
description:
  - True when the input validates against the official OCI runtime-spec v1.3.0 configuration schema
    (C(config-schema.json) and the files it references, shipped with this collection).
  - The input is the parsed document (a dict) or its JSON text.
  - Use the P(lxcri.containers.oci_spec_errors#filter) filter to learn what is wrong with a document.
  - This checks the schema only. Runtimes demand more (runc wants C(process.cwd) and C(process.args),
    crun wants C(linux), C(root) and C(mounts)); the P(lxcri.containers.oci_bundle#role) role renders a document that satisfies both.
options:
  _input:
    description: The OCI runtime configuration, a dict or a JSON string.
    type: raw
    required: true
seealso:
  - plugin: lxcri.containers.oci_spec_errors
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check a rendered configuration
  ansible.builtin.assert:
    that: config is lxcri.containers.oci_spec
  vars:
    config:
      ociVersion: 1.0.2
      root:
        path: rootfs
"""

RETURN = r"""
_value:
  description: Whether the document is valid.
  type: boolean
"""

from ansible_collections.lxcri.containers.plugins.plugin_utils._ocispec.validator import document_errors  # noqa: E402


def oci_spec(document):
    """True when ``document`` validates against the OCI runtime-spec configuration schema."""
    return not document_errors(document)


class TestModule:
    def tests(self):
        return {"oci_spec": oci_spec}
