# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inventory host names for guests: one name per guest, never one host for two guests."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ansible_collections.lxcri.containers.plugins.plugin_utils._pveinventory.guests import Guest


class NamingError(ValueError):
    """Two guests would still share a host name after the vmid was added."""


def assign_names(guests: Iterable[Guest], render: Callable[[Guest], str]) -> dict[str, Guest]:
    """Host name -> guest.

    ``render`` gives the wanted name (the ``host_name`` template); an empty result falls back to
    the vmid. Every guest whose wanted name is shared with another guest is named
    ``<name>-<vmid>`` instead, so none of them silently takes the plain name by list order.
    """
    wanted: list[tuple[Guest, str]] = []
    for guest in guests:
        name = (render(guest) or "").strip()
        wanted.append((guest, name or str(guest.vmid)))
    counts: dict[str, int] = {}
    for _guest, name in wanted:
        counts[name] = counts.get(name, 0) + 1
    named: dict[str, Guest] = {}
    for guest, name in wanted:
        final = name if counts[name] == 1 else "%s-%d" % (name, guest.vmid)
        if final in named:
            other = named[final]
            raise NamingError("host name %r would be used by both %s %d and %s %d; change host_name so that it "
                              "gives unique names" % (final, other.type, other.vmid, guest.type, guest.vmid))
        named[final] = guest
    return named
