# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Desired vs current canonical config -> the keys to write, delete and resize.

Built on ``_common.plan.compare``: both sides are canonical flat configs from
``model``; this module completes the desired side against the current one
(generated hwaddr kept, mounts matched to their volumes, tags merged unless
exclusive) and predicts which changes a running CT keeps pending.
"""

from __future__ import annotations

import copy

from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import compare
from ansible_collections.lxcri.containers.plugins.module_utils._pve import model


class ConfigDelta:
    """What converging the config takes: ``set`` {key: canonical}, ``delete`` [keys], ``resize`` [(disk, size)]."""

    def __init__(self, before, after, changes, resize):
        self.before = before
        self.after = after
        self.changes = changes
        self.set = dict((c.key, c.after) for c in changes if c.after is not None)
        self.delete = [c.key for c in changes if c.after is None]
        self.resize = resize

    @property
    def empty(self):
        return not self.changes and not self.resize

    def pending_keys(self, before=None):
        """Keys a *running* CT would keep in ``[pve:pending]`` after this change (contract 4.5)."""
        before = self.before if before is None else before
        pending = set()
        for key in self.set:
            if key in model.FASTPLUG_KEYS or key in model.HOTPLUG_KEYS or model.is_net(key):
                continue
            if model.is_mp(key) and key not in before:
                continue
            pending.add(key)
        for key in self.delete:
            if key in model.HOT_DELETE_KEYS or model.is_net(key) or key in model.FASTPLUG_KEYS:
                continue
            pending.add(key)
        return pending


EMPTY_MEANS_UNSET = ("description", "tags", "nameserver", "searchdomain", "features", "startup", "hookscript", "timezone")


def complete_desired(current, desired, exclusive=False):
    """Complete ``desired`` against ``current``; returns (completed desired, [(disk, size)] to grow)."""
    current = current or {}
    completed = {}
    resize = []
    for key, value in desired.items():
        if key == "rootfs" or model.is_mp(key):
            mount, grow = model.reconcile_mount(key, value, current.get(key))
            completed[key] = mount
            if grow:
                resize.append((key, grow))
        elif model.is_net(key):
            completed[key] = model.reconcile_net(value, current.get(key))
        elif key == "tags" and not exclusive:
            completed[key] = sorted(set(current.get("tags") or []) | set(value))
        else:
            completed[key] = copy.deepcopy(value)
    if exclusive and "tags" not in completed and current.get("tags"):
        completed["tags"] = None
    return completed, resize


def plan_config(current, desired, exclusive=False):
    """The ``ConfigDelta`` turning ``current`` into ``desired`` (both canonical flat configs)."""
    current = current or {}
    completed, resize = complete_desired(current, desired, exclusive)
    compare_to = {}
    for key, value in completed.items():
        if value is not None and (key == "rootfs" or model.is_mp(key)) and key in current:
            # Sizes change through resize, never through set: compare with the current size.
            value = dict(value)
            if "size" in current[key]:
                value["size"] = current[key]["size"]
            else:
                value.pop("size", None)
        compare_to[key] = value
    removable = []
    if exclusive:
        removable = [key for key in current if (model.is_net(key) or model.is_mp(key)) and key not in completed]
        if completed.get("tags", 0) is None:
            removable.append("tags")
    return build_delta(current, compare_to, removable, resize, EMPTY_MEANS_UNSET)


def build_delta(current, compare_to, removable, resize, empty_means_unset, delta_class=ConfigDelta):
    """The delta from ``current`` to the completed desired side ``compare_to`` (CTs and VMs alike).

    ``removable`` are keys deleted when ``compare_to`` lacks them; ``resize`` the ``(disk, size)``
    growths, which land in ``after`` but never in ``set``.
    """
    removable = list(removable)
    compare_to = dict(compare_to)
    # An empty value ("" description, [] tags/nameservers, {} features) means "not set": Proxmox stores
    # nothing for it, so it is a delete, never a write that would read back as absent forever.
    for key, value in list(compare_to.items()):
        if value in ("", [], {}) and key in empty_means_unset:
            compare_to[key] = None
            removable.append(key)
    changes = compare(current, dict((k, v) for k, v in compare_to.items() if v is not None), removable_keys=removable)
    after = copy.deepcopy(current)
    for change in changes:
        if change.after is None:
            after.pop(change.key, None)
        else:
            after[change.key] = copy.deepcopy(change.after)
    for key, size in resize:
        after[key] = dict(after.get(key) or {}, size=size)
    return delta_class(copy.deepcopy(current), after, changes, resize)


def plan_create(desired):
    """The config a create writes (allocation volumes for mounts), as the diff's ``after``."""
    completed, _dummy = complete_desired({}, desired, exclusive=True)
    return dict((k, v) for k, v in completed.items() if v is not None)


def root_only_changes(changes, deleted, current=None):
    """Keys Proxmox lets only root@pam with a password write over the API (not tokens): (key, reason) pairs.

    pve-container ``PVE::LXC::check_ct_modify_config_perm`` checks the set keys and the deleted ones alike:
    bind and device mount points, feature flags other than nesting (any on a privileged CT), the hookscript
    and device passthrough.
    """
    current = current or {}
    found = []
    for key in sorted(set(changes) | set(deleted)):
        value = changes.get(key)
        if key == "rootfs" or model.is_mp(key):
            volume = str((value or {}).get("volume") or "")
            if volume.startswith("/"):
                found.append((key, "bind and device mount points (%s)" % volume))
        elif key == "features":
            before = current.get("features") or {}
            after = value or {}
            changed = set(k for k in set(before) | set(after) if before.get(k) != after.get(k))
            if changed - {"nesting"} or (changed and not current.get("unprivileged")):
                found.append((key, "feature flags other than nesting (%s)" % ", ".join(sorted(changed - {"nesting"}) or ["privileged CT"])))
        elif key == "hookscript":
            found.append((key, "the hookscript"))
        elif key.startswith("dev"):
            found.append((key, "device passthrough"))
    return found
