# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of one OCI container: ``oci_container``'s argument spec and each item of ``oci_containers``."""

from __future__ import annotations

REQUIRED_IF = [
    ("state", "present", ["bundle"]),
    ("state", "started", ["bundle"]),
    ("state", "stopped", ["bundle"]),
    ("state", "restarted", ["bundle"]),
]


def container_spec():
    return dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="started", choices=["present", "started", "stopped", "restarted", "absent"]),
        runtime=dict(type="str", default="auto", choices=["auto", "crun", "runc"]),
        executable=dict(type="path"),
        root=dict(type="path"),
        systemd_cgroup=dict(type="bool", default=False),
        bundle=dict(type="path"),
        log_path=dict(type="path"),
        stop_signal=dict(type="str", default="SIGTERM"),
        stop_timeout=dict(type="int", default=10),
        recreate=dict(type="bool", default=True),
        lock_timeout=dict(type="int", default=60),
    )
