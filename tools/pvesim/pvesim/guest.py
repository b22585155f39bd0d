# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The guest layer: what pve-guest-common's ``PVE::AbstractConfig`` does for every guest type.

A :class:`GuestType` says where a type keeps its configs and locks and how it names itself in
messages, and carries its config parser and writer.  :class:`GuestConfigs` is the config store
of one guest type on one node: paths, existence, load/write, the config lock and the lock check.
The pending logic (``pvesim.pending``) works on the parsed dicts of any type.

LXC registers :data:`LXC` (``pvesim.lxc_api``).  A QEMU module registers its own type, e.g.::

    QEMU = register_guest_type(GuestType(
        name="qemu", conf_dir="qemu-server", label="VM", lock_dir="/var/lock/qemu-server",
        lock_name="lock-{vmid}.conf", parse=parse_qemu_config, render=write_qemu_config))
    configs = GuestConfigs(env.state, QEMU)
    with configs.lock(vmid, stderr=env.stderr):
        conf = configs.load(vmid)
        QEMU.check_lock(conf)
        ...
        configs.write(vmid, conf)

``State.vmlist()`` finds the guests of every registered type.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TextIO

from .handlers import PVEError
from .state import LockTimeout, State, lock_file


@dataclass(frozen=True)
class GuestType:
    """One kind of guest as PVE lays it out.

    ``name``: the API path segment and ``.vmlist`` type (``lxc``, ``qemu``); ``conf_dir``: the
    directory under ``nodes/<node>/`` (``lxc``, ``qemu-server``); ``label``: how messages name
    it (``CT``, ``VM``); ``lock_dir``/``lock_name``: PVE's config lock file (``{vmid}`` in the
    name); ``parse(raw, vmid, warn)`` and ``render(conf)``: the config file format."""

    name: str
    conf_dir: str
    label: str
    lock_dir: str
    lock_name: str
    parse: Callable[..., dict]
    render: Callable[[dict], str]

    def check_lock(self, conf: dict) -> None:
        """``check_lock``: ``<CT|VM> is locked (<lock>)``."""
        if conf.get("lock"):
            raise PVEError("%s is locked (%s)" % (self.label, conf["lock"]))


_GUEST_TYPES: dict[str, GuestType] = {}


def register_guest_type(gtype: GuestType) -> GuestType:
    """Make a guest type known (``vmlist``, lookups by name); returns it."""
    _GUEST_TYPES[gtype.name] = gtype
    return gtype


def guest_types() -> list[GuestType]:
    return list(_GUEST_TYPES.values())


def guest_type(name: str) -> GuestType:
    return _GUEST_TYPES[name]


class GuestConfigs:
    """The configs of one guest type on one node (``PVE::AbstractConfig`` for that type)."""

    def __init__(self, state: State, gtype: GuestType, node: str | None = None):
        self.state = state
        self.gtype = gtype
        self.node = node or state.node

    # ---- files ------------------------------------------------------------------------------
    def rel(self, vmid) -> str:
        """The path inside /etc/pve, as PVE's messages show it."""
        return "nodes/%s/%s/%s.conf" % (self.node, self.gtype.conf_dir, vmid)

    def path(self, vmid) -> Path:
        return self.state.pve_path(self.rel(vmid))

    def directory(self) -> Path:
        return self.state.pve_path("nodes/%s/%s" % (self.node, self.gtype.conf_dir))

    def exists(self, vmid) -> bool:
        return self.path(vmid).exists()

    def load(self, vmid, warn: Callable[[str], None] | None = None) -> dict:
        """``load_config``: the parsed config, or ``Configuration file '<rel>' does not exist``."""
        rel = self.rel(vmid)
        raw = self.state.read_pve_file(rel)
        if raw is None:
            raise PVEError("Configuration file '%s' does not exist" % rel)
        return self.gtype.parse(raw, vmid=vmid, warn=warn)

    def write(self, vmid, conf: dict) -> None:
        self.state.write_pve_file(self.rel(vmid), self.gtype.render(conf))

    def remove(self, vmid) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(vmid).unlink()

    # ---- locks ------------------------------------------------------------------------------
    def lock_pve_path(self, vmid) -> str:
        """The config lock as PVE names it (in messages)."""
        return "%s/%s" % (self.gtype.lock_dir, self.gtype.lock_name.format(vmid=vmid))

    def lock_host_path(self, vmid) -> Path:
        return self.state.host_path(self.lock_pve_path(vmid))

    @contextlib.contextmanager
    def lock(self, vmid, timeout: float = 10, stderr: TextIO | None = None) -> Iterator[None]:
        """``lock_config``: flock the config lock; ``can't lock file '<path>' - got timeout``."""
        try:
            with lock_file(self.lock_host_path(vmid), timeout, self.lock_pve_path(vmid),
                           stderr=stderr if stderr is not None else io.StringIO()):
                yield
        except LockTimeout as exc:
            raise PVEError(str(exc)) from None
