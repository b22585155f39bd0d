# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Desired vs current canonical VM config -> the keys to write and delete, the disks to grow, what stays pending.

The VM counterpart of ``_pve.plan`` and built on its ``build_delta``: this module completes the
desired side against the current one (the pending view, which is what ``qm config`` and
``GET .../config`` print), so that only declared, differing keys are written:

* a NIC keeps the MAC and model Proxmox has when none is declared, and a NIC or disk keeps the
  current sub-options not declared (unless ``exclusive``: then the declared dict is the whole device;
  a flag is turned off by declaring it false either way);
* a disk declared by ``storage`` + ``size`` is a new ``<storage>:<GiB>`` allocation, or, when it
  exists, keeps its volume; a bigger size is a resize, a smaller one an error naming the field;
  ``format``/``import-from`` only count for a new disk (Proxmox drops them after allocating);
* with ``exclusive``, NICs, ipconfigs and disks not declared are deleted (a deleted disk is
  detached to ``unusedN`` by Proxmox, never destroyed: the module never passes ``force``), and
  tags are replaced instead of merged;
* ``cipassword`` cannot be read back (Proxmox stores a salted hash and prints ``**********``): it is
  written on create, when the VM has none, and with ``rewrite_secrets`` (``update_password: always``); it is masked as
  ``<hidden>`` wherever a value is shown, as Proxmox's own task log does (API2/Qemu.pm update_vm_api).

``VmConfigDelta.pending_keys`` predicts which changes a running VM keeps in ``[PENDING]``
(qemu-server 9.2.6 ``PVE/QemuServer.pm`` ``vmconfig_hotplug_pending``), which is the module's
``restart_required``.
"""

from __future__ import annotations

import copy

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError, invalid_argument
from ansible_collections.lxcri.containers.plugins.module_utils._pve import inputcheck
from ansible_collections.lxcri.containers.plugins.module_utils._pve import propstring as ps
from ansible_collections.lxcri.containers.plugins.module_utils._pve.plan import ConfigDelta, build_delta
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model

HIDDEN_TEXT = "<hidden>"
EMPTY_MEANS_UNSET = ("description", "tags", "nameserver", "searchdomain", "startup", "hookscript", "sshkeys", "ciuser",
                     "cipassword", "boot")
CREATE_ONLY_DISK_KEYS = ("format", "import-from")

# QemuServer.pm $fast_plug_option plus every $confdesc_cloudinit key: written at once on a running VM.
FASTPLUG_KEYS = ("description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name", "onboot", "protection",
                 "shares", "startup", "tags", "vmstatestorage", "citype", "ciuser", "cipassword", "ciupgrade", "cicustom",
                 "searchdomain", "nameserver", "sshkeys")
# The cloud-init keys: in the config at once, but the guest sees them only when the cloud-init drive is
# regenerated (at the next start, or `qm cloudinit update`); netN changes touch the drive too.
CLOUDINIT_KEYS = ("citype", "ciuser", "cipassword", "ciupgrade", "cicustom", "searchdomain", "nameserver", "sshkeys")
# $confdesc hotplug default ('1' means the same).
DEFAULT_HOTPLUG = ("network", "disk", "usb")
# vmconfig_update_disk: an existing disk whose volume stays can change these only at the next start.
DISK_COLD_OPTIONS = ("aio", "discard", "iothread", "queues", "product", "cache", "ssd", "vendor", "ro")
# vmconfig_update_net: these need the NIC unplugged and plugged again (hotplug 'network').
NET_REPLUG_OPTIONS = ("model", "macaddr", "queues", "mtu")


def hotplug_features(value):
    """``hotplug`` as stored (absent, ``1``, ``0`` or a list) -> the set of features (parse_hotplug_features)."""
    text = "1" if value is None else str(value)
    if text == "0":
        return set()
    if text == "1":
        return set(DEFAULT_HOTPLUG)
    return set(ps.parse_list(text, r"[,;\s]+"))


def _balloon_enabled(value):
    return value is None or value != 0


def hot_applied(key, before, after, features):
    """Whether a running VM applies ``before`` -> ``after`` of ``key`` at once (``after`` None: a delete).

    Mirrors vmconfig_hotplug_pending; anything it skips stays in ``[PENDING]``.
    """
    if key in FASTPLUG_KEYS or model.is_ipconfig(key):
        return True
    if key in ("cpuunits", "cpulimit"):
        return True
    if key == "balloon":
        # Enabling or disabling the balloon device is not hotpluggable; a delete resets to memory.
        return _balloon_enabled(before) == _balloon_enabled(after) if after is not None else before != 0
    if key == "memory":
        return "memory" in features
    if key == "vcpus":
        return "cpu" in features
    if key == "tablet":
        return "usb" in features
    if key == "agent":
        if after is None or not (before or {}).get("enabled"):
            return False
        changed = set(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return changed <= {"fstrim_cloned_disks"}
    if model.is_net(key):
        if after is None or before is None:
            return "network" in features
        replug = any(before.get(k) != after.get(k) for k in NET_REPLUG_OPTIONS) or not (before.get("bridge") and after.get("bridge"))
        return not replug or "network" in features
    if model.is_disk(key):
        return _disk_hot_applied(key, before, after, features)
    return False


def _disk_hot_applied(key, before, after, features):
    """vmconfig_update_disk; a cloud-init drive goes the same way, only after the other keys."""
    bus = key.rstrip("0123456789")
    if key in ("efidisk0", "tpmstate0"):
        return False
    if after is None:
        return "disk" in features and bus not in ("ide", "sata")
    if before is None:
        return "disk" in features and bus not in ("ide", "sata")
    if model.is_cdrom(before):
        return True  # change_medium
    if after.get("file") != before.get("file"):
        # The old volume is unplugged, the new one plugged as a new disk: ide and sata "skip".
        return "disk" in features and bus not in ("ide", "sata")
    return not any(before.get(k) != after.get(k) for k in DISK_COLD_OPTIONS)


class VmConfigDelta(ConfigDelta):
    """``ConfigDelta`` with the VM's hotplug rules and its secret-safe renderings."""

    def pending_keys(self, before=None):
        """Keys a *running* VM would keep in ``[PENDING]`` after this change."""
        before = self.before if before is None else before
        features = hotplug_features(before.get("hotplug"))
        pending = set(key for key in self.set if not hot_applied(key, before.get(key), self.set[key], features))
        pending |= set(key for key in self.delete if not hot_applied(key, before.get(key), None, features))
        return pending

    def pending_after(self, existing, running):
        """The keys in ``[PENDING]`` once this delta is written (the module's ``restart_required`` is this
        being non-empty on a running VM).  update_vm_api hot-plugs only the keys of the call on a running
        VM (``$modified``), so what was pending stays; on a stopped VM every write applies all pending."""
        if not running:
            return set() if (self.set or self.delete) else set(existing)
        return set(existing) | self.pending_keys()

    @property
    def cloudinit_keys(self):
        """Changed keys a running guest sees only once its cloud-init drive is regenerated (next start)."""
        return sorted(key for key in list(self.set) + self.delete if key in CLOUDINIT_KEYS or model.is_ipconfig(key) or model.is_net(key))

    def write_values(self):
        """``{key: raw}`` to send (``qm set``/``PUT config``): the secret included, for a transport that keeps it out of
        argv (the API body, or a bare ``--cipassword`` read from stdin as qm.pm's ``param_mapping`` does)."""
        return dict((key, model.value_to_raw(key, value)) for key, value in self.set.items())

    def shown_values(self):
        """The same with secrets as ``<hidden>``: what ``actions`` and messages may show."""
        return mask_values(self.write_values())

    def diff_views(self):
        """``(before, after)`` in the module's shape for ``_common.plan.Plan``; ``cipassword`` included, for
        the diff to mask through ``hidden_keys=model.SECRET_KEYS``."""
        return model.public(self.before, with_secrets=True)[0], model.public(self.after, with_secrets=True)[0]

    def summary(self):
        """Key names only (``cipassword, cores, -tags``): the ``set`` action's description."""
        return ", ".join(sorted(list(self.set) + ["-" + key for key in self.delete]))


def mask_values(values):
    return dict((key, HIDDEN_TEXT if key in model.SECRET_KEYS else value) for key, value in values.items())


def _keep_undeclared(desired, current, exclusive):
    """Sub-options not declared keep their current value, unless ``exclusive`` (then the dict is the whole device)."""
    if exclusive:
        return desired
    merged = dict(current)
    merged.update(desired)
    return merged


def reconcile_net(desired, current, exclusive=False):
    """Keep the MAC Proxmox generated and the model when none is declared (``virtio`` for a new NIC),
    and, unless ``exclusive``, the other current sub-options not declared."""
    current = current or {}
    desired = _keep_undeclared(dict(desired), current, exclusive)
    if desired.get("model") is None:
        desired["model"] = current.get("model") or "virtio"
    if desired.get("macaddr") is None and current.get("macaddr"):
        desired["macaddr"] = current["macaddr"]
    return desired


def reconcile_disk(key, desired, current, exclusive=False):
    """The disk as it should be written and the size to grow to: ``(disk, resize_to or None)``.

    A new disk is an allocation ``<storage>:<GiB>`` (or the declared ``file``); an existing one keeps
    its volume and its current size (growth is a resize, never part of a write; shrinking is refused)
    and, unless ``exclusive``, the current options not declared.
    """
    field = "disks.%s" % key
    desired = dict(desired)
    storage = desired.pop("storage", None)
    size = desired.pop("size", None)
    if current is None:
        if desired.get("file") is None:
            # API2/Qemu.pm: 'import-from' takes "<storage>:0"; an EFI or TPM state volume has a fixed size
            # (the number of "<storage>:1" is only syntax, $NEW_DISK_RE needs one).
            sized_by_pve = desired.get("import-from") is not None or key in ("efidisk0", "tpmstate0")
            if not storage or not (size or sized_by_pve):
                raise invalid_argument(field, "a new disk needs storage and size (or a file)")
            if size and desired.get("import-from") is not None:
                raise invalid_argument(field + ".size", "a disk imported with import-from gets the size of its source")
            gib = pve_size_gib(size) if size else ("0" if desired.get("import-from") is not None else "1")
            desired["file"] = "%s:%s" % (storage, gib)
        elif size is not None:
            raise invalid_argument(field + ".size", "a size applies to a new volume on a storage, not to the given file %s" % desired["file"])
        return desired, None
    for create_only in CREATE_ONLY_DISK_KEYS:
        desired.pop(create_only, None)
    file = desired.get("file")
    if file is not None and model.is_cloudinit(current.get("file")) and file == "%s:cloudinit" % model.volume_storage(current["file"]):
        file = None  # '<storage>:cloudinit' is how the existing cloud-init drive was asked for
    if file is None:
        have_storage = model.volume_storage(current.get("file"))
        if storage and have_storage and storage != have_storage:
            raise invalid_argument(field + ".storage", "the disk is on %s; moving a disk to %s is not supported" % (have_storage, storage))
        desired["file"] = current.get("file")
    same_volume = desired["file"] == current.get("file")
    if same_volume:
        desired = _keep_undeclared(desired, dict((k, v) for k, v in current.items() if k != "size"), exclusive)
        if current.get("size") is not None:
            desired["size"] = current["size"]
    resize_to = None
    if size is not None:
        if model.is_cdrom(current):
            raise invalid_argument(field + ".size", "%s is a CD-ROM drive; it has no size to set" % key)
        if not same_volume:
            raise invalid_argument(field + ".size", "a size applies to the current volume or a new allocation, not to the given file")
        have = ps.parse_size(current.get("size") or "0")
        want = ps.parse_size(size)
        if want < have:
            raise invalid_argument(field + ".size", "%s is smaller than the current %s; disks never shrink (Proxmox refuses: "
                                   "'shrinking disks is not supported')" % (size, current.get("size")))
        if want > have:
            resize_to = size
    return desired, resize_to


def pve_size_gib(size):
    """``8G`` -> ``8``, ``512M`` -> ``0.5``: the GiB number of the ``<storage>:<GiB>`` allocation form."""
    return ps.format_number(round(ps.parse_size(size) / float(1024 ** 3), 6))


def _password_write(current, creating, rewrite_secrets):
    return creating or current.get("cipassword") is None or rewrite_secrets


def complete_desired(current, desired, exclusive=False, rewrite_secrets=False):
    """Complete ``desired`` against ``current``; returns (completed desired, [(disk, size)] to grow).

    ``rewrite_secrets`` (the module's ``update_password: always``) writes a declared ``cipassword``
    even when one is set; otherwise only a create or a VM without one gets it.
    """
    creating = current is None
    current = current or {}
    completed = {}
    resize = []
    for key, value in desired.items():
        if model.is_disk(key):
            disk, grow = reconcile_disk(key, value, current.get(key), exclusive)
            completed[key] = disk
            if grow:
                resize.append((key, grow))
        elif model.is_net(key):
            completed[key] = reconcile_net(value, current.get(key), exclusive)
        elif key == "tags" and not exclusive:
            completed[key] = sorted(set(current.get("tags") or []) | set(value))
        elif key == "cipassword":
            if value == "" or _password_write(current, creating, rewrite_secrets):
                completed[key] = value
        else:
            completed[key] = copy.deepcopy(value)
    return completed, resize


def plan_config(current, desired, exclusive=False, rewrite_secrets=False):
    """The ``VmConfigDelta`` turning ``current`` (the pending view) into ``desired`` (both canonical flat configs)."""
    current = current or {}
    completed, resize = complete_desired(current, desired, exclusive, rewrite_secrets)
    removable = []
    if exclusive:
        removable = [key for key in current if (model.is_net(key) or model.is_ipconfig(key) or model.is_disk(key)) and key not in completed]
        if "tags" not in completed and current.get("tags"):
            removable.append("tags")
    delta = build_delta(current, completed, removable, resize, EMPTY_MEANS_UNSET, delta_class=VmConfigDelta)
    if "boot" in delta.set:
        check_boot_order(delta.set["boot"], delta.after)
    return delta


def check_boot_order(devices, config):
    """Every boot device is in the config as it will be (update_vm_api: "invalid bootorder: device '<dev>' does not exist")."""
    for device in devices:
        if device not in config:
            raise invalid_argument("boot", "%s is not a device of this VM (declare it under disks or net, or drop it from boot)" % device)


def root_only_changes(changes, deleted, current=None):
    """The (field, reason) pairs of a VM write that Proxmox allows over the API only to root@pam logged in with a
    password, never to an API token (qemu-server ``PVE/API2/Qemu.pm``):

    * ``hookscript``, set or deleted: ``$check_vm_modify_config_perm`` knows it in none of its option groups, so it
      dies "only root can set 'hookscript' config";
    * a disk whose ``file`` or ``import-from`` is a host path: ``$check_storage_access`` calls pve-storage
      ``PVE::Storage::check_volume_access``, "Only root can pass arbitrary filesystem paths." (an existing
      passthrough disk too, as every write sends the whole drive).
    """
    found = []
    for key in sorted(set(changes) | set(deleted)):
        if key == "hookscript":
            found.append((key, "the hookscript"))
        elif model.is_disk(key) and key in changes:
            paths = [str(changes[key].get(sub)) for sub in ("file", "import-from") if str(changes[key].get(sub) or "").startswith("/")]
            if paths:
                found.append(("disks.%s" % key, "a disk on a host path (%s)" % paths[0]))
    return found


def plan_create(desired):
    """The flat config a create writes (disks as allocations, no MAC where Proxmox generates one)."""
    completed, _resize = complete_desired(None, desired, exclusive=True)
    config = dict((key, value) for key, value in completed.items() if value not in (None, "", [], {}))
    if "boot" in config:
        check_boot_order(config["boot"], config)
    return config


def create_values(config):
    """``plan_create``'s config -> ``{key: raw}`` for ``qm create`` / ``POST .../qemu`` (secret included)."""
    return dict((key, model.value_to_raw(key, value)) for key, value in config.items())


def check_params(params):
    """Every check of ``pve_vm``'s parameters that needs no Proxmox call, before any: the identity
    (vmid or name), node and timeouts as for CTs, the config and the clone.  Returns
    ``(desired flat config, CloneSpec or None)``."""
    inputcheck.guest_identity(params, "name", "VM")
    return model.desired_from_params(params), clone_from_params(params.get("clone"))


# ---------------------------------------------------------------------------
# clone: the usual way a VM is made.

class CloneSpec:
    """The module's ``clone`` option, validated: ``source`` (vmid or name), ``full`` (None = Proxmox's default), ``target_storage``."""

    __slots__ = ("source", "full", "target_storage")

    def __init__(self, source, full=None, target_storage=None):
        self.source = source
        self.full = full
        self.target_storage = target_storage

    def __eq__(self, other):
        return isinstance(other, CloneSpec) and (self.source, self.full, self.target_storage) == (other.source, other.full, other.target_storage)

    def __repr__(self):
        return "CloneSpec(%r, full=%r, target_storage=%r)" % (self.source, self.full, self.target_storage)


def clone_from_params(value):
    """``clone`` option -> ``CloneSpec`` (or None), refusing bad input before any call."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_argument("clone", "expected a dict with source, full, target_storage")
    unknown = sorted(set(value) - {"source", "full", "target_storage"})
    if unknown:
        raise invalid_argument("clone.%s" % unknown[0], "unknown option; known: full, source, target_storage")
    source = value.get("source")
    if source is None or source == "":
        raise invalid_argument("clone.source", "required: the vmid or name of the template to clone")
    if isinstance(source, bool):
        raise invalid_argument("clone.source", "expected a vmid or a name, got a boolean")
    if isinstance(source, int) or str(source).isdigit():
        source = int(source)
        if not 100 <= source <= 999999999:
            raise invalid_argument("clone.source", "a vmid must be 100..999999999, got %d" % source)
    else:
        source = inputcheck.dns_name("clone.source", str(source))
    full = None if value.get("full") is None else ps.parse_bool(value["full"], "clone.full")
    target = value.get("target_storage")
    if target is not None:
        target = inputcheck.propstring_value("clone.target_storage", str(target))
        inputcheck.interface_name("clone.target_storage", target)  # a storage id: letters, digits, '-', '_', '.'
        if full is False:
            # API2/Qemu.pm clone_vm: "parameter 'storage' not allowed for linked clones".
            raise invalid_argument("clone.target_storage", "a linked clone (full: false) stays on the template's storage; "
                                                           "set full: true to clone to %s" % target)
    return CloneSpec(source, full, target)


def find_clone_source(spec, rows):
    """The source row (``vmid``, ``name``, ``template``, ``node`` from the VM listing) of ``spec``; errors name ``clone.source``."""
    if isinstance(spec.source, int):
        matches = [row for row in rows if row.get("vmid") == spec.source]
    else:
        matches = [row for row in rows if row.get("name") == spec.source]
    if not matches:
        raise LxcriError("clone.source: no VM %s to clone from" % (spec.source,), errors.NOT_FOUND, details={"field": "clone.source"})
    if len(matches) > 1:
        raise LxcriError("clone.source: the name %s matches several VMs (vmids %s); give the vmid"
                         % (spec.source, ", ".join(str(row["vmid"]) for row in matches)), errors.CONFLICT, details={"field": "clone.source"})
    return matches[0]


def clone_args(spec, source_row, newid, name=None):
    """The parameters of ``qm clone <source> <newid>`` / ``POST .../qemu/{source}/clone``.

    ``full`` is always explicit, so the result never depends on Proxmox's default (linked for a
    template, full otherwise): a target storage means a full clone; a linked clone needs a template.
    """
    is_template = bool(source_row.get("template"))
    full = spec.full if spec.full is not None else (bool(spec.target_storage) or not is_template)
    if not full and not is_template:
        raise invalid_argument("clone.full", "VM %s is not a template; only a template can be cloned linked (set full: true "
                                             "or convert the source with state: template)" % source_row.get("vmid"))
    args = {"newid": newid, "full": full}
    if name is not None:
        args["name"] = name
    if spec.target_storage:
        args["storage"] = spec.target_storage
    return args


def predict_clone(source, args, source_vmid):
    """The config ``qm clone`` gives the new VM (clone_vm), for check mode and the diff's ``before``.

    Not copied: ``template``, ``unusedN``, the snapshot keys; every NIC gets a new MAC (unknown
    until then: absent here); ``name`` is the given one or ``Copy-of-VM-<name>``; each disk's
    volume is new and named by Proxmox, shown as ``<storage>:(clone of <volume>)``.
    """
    config = {}
    for key, value in (source or {}).items():
        if key in ("template", "parent", "snaptime", "vmstate") or model.UNUSED_RE.fullmatch(key):
            continue
        value = copy.deepcopy(value)
        if model.is_net(key):
            value.pop("macaddr", None)
        elif model.is_disk(key) and not model.is_cdrom(value) or model.is_disk(key) and model.is_cloudinit(value.get("file")):
            storage = args.get("storage") if args.get("full") and args.get("storage") else model.volume_storage(value.get("file"))
            value["file"] = "%s:(clone of %s)" % (storage, value.get("file"))
        config[key] = value
    config["name"] = args.get("name") or "Copy-of-VM-%s" % (source or {}).get("name", source_vmid)
    return config
