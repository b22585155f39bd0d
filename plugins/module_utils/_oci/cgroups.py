# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which cgroup layout this host (this mount namespace) has, read from mountinfo without running a runtime.

crun refuses "hybrid" hosts (cgroup v1 controllers on a tmpfs at /sys/fs/cgroup plus a
cgroup2 file system at /sys/fs/cgroup/unified): its ``create`` fails with
"cgroups in hybrid mode not supported".  runc copes with every layout.
"""

from __future__ import annotations

import re

UNIFIED = "unified"
HYBRID = "hybrid"
LEGACY = "legacy"
NONE = "none"

CGROUP_ROOT = "/sys/fs/cgroup"
UNIFIED_MOUNT = "/sys/fs/cgroup/unified"

CRUN_REMEDY = (
    "use runtime=runc, run on a host with a unified cgroup v2 hierarchy (systemd.unified_cgroup_hierarchy=1), "
    "or run inside a private mount namespace where /sys/fs/cgroup/unified is unmounted "
    "(unshare -m -- sh -c 'umount /sys/fs/cgroup/unified; exec ...')"
)

_OCTAL = re.compile(r"\\([0-7]{3})")


def _unescape(path):
    """mountinfo writes space, tab, newline and backslash as octal escapes (``\\040``)."""
    return _OCTAL.sub(lambda match: chr(int(match.group(1), 8)), path)


def parse_mountinfo(text):
    """Return ``{mount_point: fstype}``; a later line for the same point wins (it is the visible one)."""
    mounts = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8 or "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        if sep + 1 >= len(fields):
            continue
        mounts[_unescape(fields[4])] = fields[sep + 1]
    return mounts


def cgroup_layout(mountinfo_text):
    """``unified`` (cgroup2 at /sys/fs/cgroup), ``hybrid`` (v1 plus cgroup2 at .../unified), ``legacy`` (v1 only) or ``none``."""
    mounts = parse_mountinfo(mountinfo_text)
    top = mounts.get(CGROUP_ROOT)
    if top == "cgroup2":
        return UNIFIED
    if mounts.get(UNIFIED_MOUNT) == "cgroup2":
        return HYBRID
    below = [fstype for point, fstype in mounts.items() if point.startswith(CGROUP_ROOT + "/")]
    if top == "cgroup" or "cgroup" in below:
        return LEGACY
    return NONE


def crun_supported(layout):
    """crun 1.x creates containers on unified and (deprecated) legacy hosts, never on hybrid ones."""
    return layout != HYBRID


def read_layout(path="/proc/self/mountinfo"):
    """The layout of the mount namespace this process (and the runtimes it starts) lives in."""
    with open(path) as handle:
        return cgroup_layout(handle.read())
