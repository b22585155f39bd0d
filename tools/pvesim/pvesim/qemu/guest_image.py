# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The simulated VM guest: Debian's cloud kernel plus a busybox initramfs, built locally.

Nothing is downloaded except Debian's ``linux-image-cloud-amd64`` package through ``apt-get
download``; it is unpacked with ``dpkg-deb -x`` (never installed).  The initramfs holds the static
busybox of ``busybox-static``, the few kernel modules the guest needs (virtio NIC, IDE CD-ROM for
the cloud-init drive, ACPI power button) and an ``/init`` that

* prints :data:`BANNER` on the serial console,
* mounts the NoCloud drive (label ``cidata``) and configures each NIC whose MAC appears in its
  ``network-config`` (static IPv4 addresses and gateways; ``dhcp4`` through ``udhcpc``),
* starts busybox ``acpid``, whose power-button action powers the guest off, so that QMP
  ``system_powerdown`` shuts it down as it would a real guest.

The result is cached per kernel version in ``cache_dir``; a second build is a no-op.
"""

from __future__ import annotations

import dataclasses
import fcntl
import gzip
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

from . import hostcmd

KERNEL_META_PACKAGE = "linux-image-cloud-amd64"
BUSYBOX = "/bin/busybox"
BANNER = "pvesim-guest: init started"
READY = "pvesim-guest: ready"
# Kernel modules the init loads (their dependencies are added, in load order); evdev + button
# give acpid the power button as /dev/input/event*.
WANTED_MODULES = ("virtio_pci", "virtio_net", "ata_piix", "sr_mod", "isofs", "evdev", "button")
# Bumped whenever the initramfs layout or /init changes, so cached images are rebuilt.
IMAGE_REVISION = "5"

_INIT_SCRIPT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "@BANNER@ (kernel $(uname -r))" > /dev/ttyS0
for m in $(cat /etc/modules); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
ip link set lo up
mkdir -p /mnt/cidata
sleep 0.2
for dev in /dev/sr0 /dev/sr1 /dev/vdb /dev/vdc; do
  [ -b "$dev" ] || continue
  mount -t iso9660 -o ro "$dev" /mnt/cidata 2>/dev/null || continue
  [ -f /mnt/cidata/network-config ] && break
  umount /mnt/cidata
done
if [ -f /mnt/cidata/network-config ]; then
  awk -f /etc/netcfg.awk /mnt/cidata/network-config > /tmp/netcfg.sh
  . /tmp/netcfg.sh
  ip -4 addr show | sed -n 's/^ *\(inet .*\)/pvesim-guest: \1/p' | grep -v ' lo$' > /dev/ttyS0
  host=$(sed -n 's/^hostname: *//p' /mnt/cidata/user-data)
  [ -n "$host" ] && hostname "$host"
  echo "pvesim-guest: cloud-init drive found, hostname $(hostname)" > /dev/ttyS0
else
  echo "pvesim-guest: no cloud-init drive" > /dev/ttyS0
fi
mkdir -p /etc/acpi
acpid -f -c /etc/acpi -a /etc/acpid.conf -l /tmp/acpid.log &
# "ready" only once acpid holds the power button's event device, so a power-down is never lost
for i in $(seq 50); do ls -l /proc/$!/fd 2>/dev/null | grep -q /dev/input/event && break; sleep 0.1; done
echo "@READY@" > /dev/ttyS0
while true; do sleep 3600; done
"""

# Turns PVE's NoCloud network-config v1 (Cloudinit.pm nocloud_network) into ip commands.
_NETCFG_AWK = r"""
function q(s) { gsub(/'/, "", s); return s }
function flush() {
  if (ifname != "") {
    print "if=$(for d in /sys/class/net/*; do [ \"$(cat $d/address)\" = \"" mac "\" ] && basename $d; done)"
    print "if [ -n \"$if\" ]; then ip link set \"$if\" up"
    if (addr != "") {
      print "  ip addr add " addr "/" mask " dev \"$if\""
      if (gw != "") print "  ip route add default via " gw
      print "  echo \"pvesim-guest: $if " mac " " addr "/" mask "\" > /dev/ttyS0"
    }
    if (dhcp) print "  udhcpc -b -q -i \"$if\" -s /etc/udhcpc.sh >/dev/null 2>&1"
    print "fi"
  }
  ifname = ""; mac = ""; addr = ""; mask = ""; gw = ""; dhcp = 0
}
/^    - type: physical/ { flush(); ifname = "?" }
/^    - type: nameserver/ { flush() }
/^      name: / { ifname = $2 }
/^      mac_address: / { mac = q($2) }
/^      - type: dhcp4/ { dhcp = 1 }
/^        address: / { if (addr == "") addr = q($2) }
/^        netmask: / { mask = q($2) }
/^        gateway: / { if (gw == "") gw = q($2) }
END { flush() }
"""

_UDHCPC_SCRIPT = """#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr add "$ip/${mask:-24}" dev "$interface"
[ -n "$router" ] && ip route add default via ${router%% *}
echo "pvesim-guest: $interface dhcp $ip" > /dev/ttyS0
"""

_POWER_ACTION = """#!/bin/sh
echo "pvesim-guest: ACPI power button, powering off" > /dev/ttyS0
sync
poweroff -f
"""


@dataclasses.dataclass(frozen=True)
class GuestImage:
    """A built guest: ``kernel`` and ``initrd`` paths and the kernel's version."""

    kernel: Path
    initrd: Path
    kernel_version: str


class GuestImageError(RuntimeError):
    """The guest image could not be built; the message says which step failed and what to do."""


def _run(argv: list[str], cwd: Path | None = None) -> str:
    return hostcmd.run(argv, GuestImageError, cwd)


def _download(package: str, directory: Path) -> Path:
    """``apt-get download`` one package into ``directory``; returns the .deb."""
    before = set(directory.glob("*.deb"))
    _run(["apt-get", "download", "-q", package], cwd=directory)
    new = sorted(set(directory.glob("*.deb")) - before) or sorted(directory.glob(package + "_*.deb"))
    if not new:
        raise GuestImageError("apt-get download %s produced no .deb" % package)
    return new[-1]


def _kernel_package(meta_deb: Path) -> str:
    """The versioned ``linux-image-<abi>-cloud-amd64`` the meta package depends on."""
    depends = _run(["dpkg-deb", "-f", str(meta_deb), "Depends"])
    m = re.search(r"(linux-image-[0-9][^\s,(]*-cloud-amd64)", depends)
    if not m:
        raise GuestImageError("%s depends on no cloud kernel: %r" % (meta_deb.name, depends))
    return m.group(1)


def _module_files(modroot: Path) -> dict[str, Path]:
    return {p.name[:-3].replace("-", "_"): p for p in modroot.rglob("*.ko")}


def _module_depends(path: Path) -> list[str]:
    """The ``depends=`` entry of a module's ``.modinfo`` section (what ``modinfo -F depends`` prints)."""
    m = re.search(rb"\0depends=([^\0]*)\0", path.read_bytes())
    return [d for d in m.group(1).decode().split(",") if d] if m else []


def _module_load_order(modroot: Path, wanted: tuple[str, ...]) -> list[Path]:
    """``wanted`` with their dependencies, dependencies first."""
    files = _module_files(modroot)
    order: list[Path] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        path = files.get(name)
        if path is None:
            return  # built into the kernel
        for dep in _module_depends(path):
            visit(dep.replace("-", "_"))
        order.append(path)

    for name in wanted:
        visit(name)
    return order


def _newc_entry(name: str, mode: int, data: bytes = b"", ino: int = 0) -> bytes:
    """One entry of a ``newc`` cpio archive (the initramfs format)."""
    namez = name.encode() + b"\0"
    header = "070701" + "".join("%08X" % v for v in (
        ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(namez), 0))
    out = header.encode() + namez
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def _initramfs(files: dict[str, tuple[int, bytes]]) -> bytes:
    """A gzip'd newc archive of ``{path: (mode, data)}``; directories have ``data`` ``b""``."""
    raw = io.BytesIO()
    for ino, name in enumerate(sorted(files), start=1):
        mode, data = files[name]
        raw.write(_newc_entry(name, mode, data, ino))
    raw.write(_newc_entry("TRAILER!!!", 0))
    return gzip.compress(raw.getvalue(), mtime=0)


def _initramfs_files(modules: list[Path]) -> dict[str, tuple[int, bytes]]:
    dirs = ["bin", "dev", "etc", "etc/acpi", "lib", "lib/modules", "mnt", "proc", "sys", "tmp"]
    files: dict[str, tuple[int, bytes]] = {d: (0o040755, b"") for d in dirs}
    files["bin/busybox"] = (0o100755, Path(BUSYBOX).read_bytes())
    init = _INIT_SCRIPT.replace("@BANNER@", BANNER).replace("@READY@", READY)
    files["init"] = (0o100755, init.encode())
    files["etc/netcfg.awk"] = (0o100644, _NETCFG_AWK.encode())
    files["etc/udhcpc.sh"] = (0o100755, _UDHCPC_SCRIPT.encode())
    # busybox acpid maps the power button (PWRF/PWRB) to an action run from its config dir.
    files["etc/acpid.conf"] = (0o100644, b"PWRF power\nPWRB power\n")
    files["etc/acpi/power"] = (0o100755, _POWER_ACTION.encode())
    files["etc/modules"] = (0o100644, "".join(p.name[:-3] + "\n" for p in modules).encode())
    for path in modules:
        files["lib/modules/" + path.name] = (0o100644, path.read_bytes())
    return files


def build_guest_image(cache_dir: Path | str) -> GuestImage:
    """Build (or reuse) the guest kernel and initramfs under ``cache_dir``."""
    if not os.path.exists(BUSYBOX):
        raise GuestImageError("%s is missing: install Debian's busybox-static" % BUSYBOX)
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time per cache
        return _build_locked(cache)


def _build_locked(cache: Path) -> GuestImage:
    current = cache / "current"
    if current.is_file():
        version = current.read_text().strip()
        kernel_version, _plus, revision = version.partition("+r")
        image = GuestImage(cache / version / "vmlinuz", cache / version / "initrd.img", kernel_version)
        if revision == IMAGE_REVISION and image.kernel.is_file() and image.initrd.is_file():
            return image
    with tempfile.TemporaryDirectory(dir=cache, prefix=".build-") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)  # noqa: S103 - apt-get download runs as _apt, which must write here
        meta = _download(KERNEL_META_PACKAGE, work)
        kernel_deb = _download(_kernel_package(meta), work)
        root = work / "root"
        _run(["dpkg-deb", "-x", str(kernel_deb), str(root)])
        vmlinuz = sorted((root / "boot").glob("vmlinuz-*"))
        if not vmlinuz:
            raise GuestImageError("%s holds no /boot/vmlinuz-*" % kernel_deb.name)
        kernel_version = vmlinuz[-1].name[len("vmlinuz-"):]
        modroot = root / "lib" / "modules" / kernel_version
        modules = _module_load_order(modroot, WANTED_MODULES)
        version = "%s+r%s" % (kernel_version, IMAGE_REVISION)
        final = cache / version
        staging = work / "out"
        staging.mkdir()
        shutil.copyfile(vmlinuz[-1], staging / "vmlinuz")
        (staging / "initrd.img").write_bytes(_initramfs(_initramfs_files(modules)))
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    current.write_text(version + "\n")
    return GuestImage(final / "vmlinuz", final / "initrd.img", kernel_version)
