# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The OCI runtime-spec version runtimes support, from ``<runtime> features`` or ``<runtime> --version``.

Shared by the ``oci_runtime_version`` filter (the ``oci_bundle`` role) and ``oci_containers``.
"""

from __future__ import annotations

import json
import re

PROBES = ("features", "--version")

_SEMVER = re.compile(r"^v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_SPEC_LINE = re.compile(r"^\s*spec:\s*(\S+)\s*$", re.MULTILINE)


def version_key(version):
    """A sort key for a SemVer string (a pre-release sorts below its release); None when it is not SemVer."""
    match = _SEMVER.match(version or "")
    if not match:
        return None
    release = tuple(int(match.group(index)) for index in (1, 2, 3))
    if match.group(4) is None:
        return release + ((1,),)
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in match.group(4).split("."))
    return release + ((0,) + parts,)


def _from_features(stdout):
    try:
        data = json.loads(stdout)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("ociVersionMax"), str) and version_key(data["ociVersionMax"]):
        return data["ociVersionMax"]
    return None


def _from_version(stdout):
    match = _SPEC_LINE.search(stdout or "")
    if match and version_key(match.group(1)):
        return match.group(1)
    return None


def runtime_maxima(probes):
    """``{runtime: highest supported spec version}`` from ``(runtime, subcommand, rc, stdout)`` probes that told one."""
    by_runtime = {}
    for runtime, subcommand, rc, stdout in probes:
        if rc != 0:
            continue
        found = _from_features(stdout) if subcommand == "features" else _from_version(stdout)
        if found:
            by_runtime.setdefault(runtime, {})[subcommand] = found
    return {runtime: found.get("features") or found.get("--version") for runtime, found in by_runtime.items()}


def lowest(maxima, fallback):
    """The lowest of the runtimes' maximum versions (every one accepts it), or ``fallback``."""
    return min(maxima.values(), key=version_key) if maxima else fallback
