# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsers for what the tools print, each into a plain dict (tested against real outputs)."""

from __future__ import annotations

import json
import re

from ansible_collections.lxcri.containers.plugins.module_utils._oci.cgroups import parse_mountinfo

__all__ = ["parse_mountinfo"]


def _key_lines(text):
    """``key: value`` lines -> dict (first occurrence wins)."""
    out = {}
    for line in (text or "").splitlines():
        match = re.match(r"^\s*([A-Za-z][A-Za-z0-9 _-]*?)\s*:\s*(.*?)\s*$", line)
        if match and match.group(1).lower() not in out:
            out[match.group(1).lower()] = match.group(2)
    return out


def parse_runc_version(text):
    """``runc --version``::

        runc version 1.1.5+ds1
        commit: 1.1.5+ds1-1+deb12u1
        spec: 1.0.2-dev
        go: go1.19.8
        libseccomp: 2.5.4
    """
    match = re.search(r"^runc version (\S+)", text or "", re.MULTILINE)
    if not match:
        return None
    keys = _key_lines(text)
    return {"version": match.group(1), "commit": keys.get("commit"), "spec": keys.get("spec"),
            "go": keys.get("go"), "libseccomp": keys.get("libseccomp")}


def parse_crun_version(text):
    """``crun --version``::

        crun version 1.8.1
        commit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30
        rundir: /run/crun
        spec: 1.0.0
        +SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL
    """
    match = re.search(r"^crun version (\S+)", text or "", re.MULTILINE)
    if not match:
        return None
    keys = _key_lines(text)
    flags = []
    for line in text.splitlines():
        if line.startswith(("+", "-")):
            flags.extend(token for token in line.split() if token[:1] in "+-")
    return {"version": match.group(1), "commit": keys.get("commit"), "spec": keys.get("spec"),
            "rundir": keys.get("rundir"), "build_flags": flags}


def parse_simple_version(text, tool):
    """``umoci version 0.4.7+ds-3+b7`` / ``skopeo version 1.9.3`` / ``skopeo version 1.13.3 commit: …`` -> the version."""
    match = re.search(r"^%s version (\S+)" % re.escape(tool), text or "", re.MULTILINE | re.IGNORECASE)
    return match.group(1) if match else None


def parse_features(text):
    """``runc features`` / ``crun features`` JSON -> the few keys the checks use, or ``None`` when not JSON.

    runc 1.1 has the command (marked experimental); crun before 1.9 answers ``unknown command features``.
    """
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    linux = data.get("linux") or {}
    cgroup = linux.get("cgroup") or {}
    return {
        "oci_version_min": data.get("ociVersionMin"),
        "oci_version_max": data.get("ociVersionMax"),
        "namespaces": list(linux.get("namespaces") or []),
        "cgroup_v1": cgroup.get("v1"),
        "cgroup_v2": cgroup.get("v2"),
        "seccomp": bool((linux.get("seccomp") or {}).get("enabled")),
    }


def parse_pve_version(text):
    """``pvesh get /version --output-format json`` -> ``{version, release, repoid}``."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(data, dict) or "version" not in data:
        return None
    return {"version": str(data.get("version")), "release": str(data.get("release", "")), "repoid": data.get("repoid")}


def parse_pveam_list(text):
    """``pveam list <storage>`` -> ``{volid: size_text}``.

    Header ``NAME  SIZE``, rows ``%-60s %-4.2fMB`` with the volume id (contract 7).
    """
    rows = {}
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) < 1 or fields[0] == "NAME" or ":" not in fields[0]:
            continue
        rows[fields[0]] = fields[1] if len(fields) > 1 else None
    return rows


def parse_storage_status(text):
    """``pvesh get /nodes/<node>/storage --output-format json`` -> ``{storage: {...}}``."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    out = {}
    for row in data:
        if not isinstance(row, dict) or not row.get("storage"):
            continue
        content = row.get("content") or ""
        out[row["storage"]] = {
            "type": row.get("type"),
            "content": sorted(item.strip() for item in str(content).split(",") if item.strip()),
            "active": _truthy(row.get("active")),
            "enabled": _truthy(row.get("enabled", 1)),
            "avail": _int_or_none(row.get("avail")),
            "total": _int_or_none(row.get("total")),
        }
    return out


def parse_nodes(text):
    """``pvesh get /nodes --output-format json`` -> list of node names."""
    try:
        data = json.loads(text or "")
    except ValueError:
        return []
    return [row.get("node") for row in data if isinstance(row, dict) and row.get("node")] if isinstance(data, list) else []


def parse_subid(text, user):
    """``/etc/subuid`` or ``/etc/subgid`` -> the ``(start, count)`` ranges of ``user``."""
    ranges = []
    for line in (text or "").splitlines():
        fields = line.strip().split(":")
        if len(fields) != 3 or fields[0] != user:
            continue
        try:
            ranges.append((int(fields[1]), int(fields[2])))
        except ValueError:
            continue
    return ranges


def version_tuple(text):
    """``1.1.5+ds1`` -> (1, 1, 5); ``1.0.2-dev`` -> (1, 0, 2); unknown -> ()."""
    match = re.match(r"^\D*(\d+(?:\.\d+)*)", str(text or ""))
    if not match:
        return ()
    return tuple(int(part) for part in match.group(1).split("."))


def _truthy(value):
    if isinstance(value, bool):
        return value
    try:
        return int(value) != 0
    except (TypeError, ValueError):
        return str(value).lower() in ("true", "yes")


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
