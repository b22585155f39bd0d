# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: oci_runtime_version
short_description: The highest OCI runtime-spec version every probed runtime supports
version_added: 0.1.0
description:
  - Reads the registered results of probing OCI runtimes and returns the spec version to write into C(ociVersion).
  - "For each runtime, the output of C(<runtime> features) (JSON with C(ociVersionMax); runc 1.1 and later, crun 1.9 and later)
    is preferred; otherwise the C(spec:) line of C(<runtime> --version) is used
    (Debian 12 has runc 1.1.5, whose C(features) says V(1.0.2-dev), and crun 1.8.1, which has no C(features) and prints C(spec: 1.0.0))."
  - The result is the lowest of those maxima (compared as semantic versions, V(1.0.2-dev) is lower than V(1.0.2)),
    so every probed runtime that is installed accepts the document.
  - Runtimes that are not installed (the probe failed and printed nothing usable) are ignored.
    When no runtime reports a version, O(fallback) is returned.
options:
  _input:
    description:
      - The C(results) of a looped C(ansible.builtin.command) task. Each result has C(rc), C(stdout)
        and C(item), a two-element list C([runtime, subcommand]) where subcommand is V(features) or V(--version).
    type: list
    elements: dict
    required: true
  fallback:
    description: The version returned when no runtime reports one.
    type: string
    default: 1.0.2
"""

EXAMPLES = r"""
- name: Probe the runtimes
  ansible.builtin.command:
    argv: ["{{ item[0] }}", "{{ item[1] }}"]
  loop: "{{ ['runc', 'crun'] | product(['features', '--version']) | list }}"
  register: probe
  changed_when: false
  failed_when: false

- name: The version to write
  ansible.builtin.debug:
    msg: "{{ probe.results | lxcri.containers.oci_runtime_version }}"
"""

RETURN = r"""
_value:
  description: The spec version, for example V(1.0.0) when both Debian 12 runtimes are installed.
  type: string
"""

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.lxcri.containers.plugins.module_utils._oci import specversion  # noqa: E402


def runtime_maxima(results):
    """``{runtime: highest supported spec version}`` for every runtime whose probes told one."""
    probes = []
    for result in results or []:
        if not isinstance(result, dict):
            raise AnsibleFilterError("oci_runtime_version: each result must be a dict, got %r" % (result,))
        item = result.get("item")
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise AnsibleFilterError("oci_runtime_version: each result needs an item [runtime, subcommand], got %r" % (item,))
        probes.append((str(item[0]), str(item[1]), result.get("rc"), result.get("stdout") or ""))
    return specversion.runtime_maxima(probes)


def oci_runtime_version(results, fallback="1.0.2"):
    """The lowest of the probed runtimes' maximum spec versions, or ``fallback``."""
    return specversion.lowest(runtime_maxima(results), fallback)


class FilterModule:
    def filters(self):
        return {"oci_runtime_version": oci_runtime_version}
