# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host checks: each reads through a ``Host`` and appends ``{name, status, detail, remedy}``.

A ``Report`` collects the checks and the facts (``lxcri_host``).  Nothing here writes
to the host: writability is ``access(2)`` plus the read-only mount flag, free space is
``statvfs``, the cgroup layout is ``statfs`` (as crun reads it) plus mountinfo.
"""

from __future__ import annotations

import os
import posixpath

from ansible_collections.lxcri.containers.plugins.module_utils._hostcheck import parse

OK = "ok"
WARN = "warn"
FAIL = "fail"
STATUSES = (OK, WARN, FAIL)

CGROUP_ROOT = "/sys/fs/cgroup"
UNIFIED = "/sys/fs/cgroup/unified"

# backend -> [(binary, required)]
BACKEND_BINARIES = {
    "lxc": (("pct", True), ("pveam", True), ("pvesh", True)),
    "crun": (("crun", True), ("umoci", False), ("skopeo", False)),
    "runc": (("runc", True), ("umoci", False), ("skopeo", False)),
}
RUNTIMES = ("crun", "runc")
DEFAULT_STATE_DIRS = {"crun": "/run/crun", "runc": "/run/runc"}

BINARY_REMEDY = {
    "pct": "run this check on a Proxmox VE node (pct comes with the pve-container package), or drop 'lxc' from backends",
    "pveam": "run this check on a Proxmox VE node (pveam comes with the pve-manager package), or drop 'lxc' from backends",
    "pvesh": "run this check on a Proxmox VE node (pvesh comes with the pve-manager package), or drop 'lxc' from backends",
    "crun": "install crun (apt-get install crun), or drop 'crun' from backends",
    "runc": "install runc (apt-get install runc), or drop 'runc' from backends",
    "umoci": "install umoci (apt-get install umoci); it unpacks OCI images into bundles (lxcri.containers.oci_bundle)",
    "skopeo": "install skopeo (apt-get install skopeo); it copies images into an OCI layout (lxcri.containers.oci_bundle)",
}

CRUN_HYBRID_REMEDY = (
    "run crun inside a private mount namespace where /sys/fs/cgroup/unified is unmounted, so crun sees a cgroup v1 host: "
    "unshare --mount --propagation private -- sh -c 'umount /sys/fs/cgroup/unified && exec <command>'; "
    "or use runtime runc, which copes with this layout; "
    "or boot the host with systemd.unified_cgroup_hierarchy=1 (a pure cgroup v2 host)"
)
V2_REMEDY = "boot the host with systemd.unified_cgroup_hierarchy=1 (a pure cgroup v2 host, the Proxmox VE 7+ default)"


class Report:
    """The list of checks and the facts gathered while making them."""

    def __init__(self):
        self.checks = []
        self.facts = {}

    def add(self, name, status, detail, remedy=None):
        if status not in STATUSES:
            raise ValueError("unknown status %r" % (status,))
        self.checks.append({"name": name, "status": status, "detail": detail, "remedy": remedy if status != OK else None})

    def counts(self):
        counts = dict((status, 0) for status in STATUSES)
        for item in self.checks:
            counts[item["status"]] += 1
        return counts

    def names(self, status):
        return [item["name"] for item in self.checks if item["status"] == status]


# -- binaries and versions -----------------------------------------------------------------

def binaries_for(backends):
    """The (binary, required) pairs the backends need, each once, required winning."""
    wanted = {}
    order = []
    for backend in backends:
        for binary, required in BACKEND_BINARIES[backend]:
            if binary not in wanted:
                order.append(binary)
                wanted[binary] = required
            else:
                wanted[binary] = wanted[binary] or required
    return [(binary, wanted[binary]) for binary in order]


def check_binaries(report, host, backends):
    """``binary:<name>``: present, where, which version (``pvesh get /version`` for the Proxmox tools)."""
    found = {}
    pve_version = None
    for binary, required in binaries_for(backends):
        path = host.which(binary)
        info = {"path": path, "version": None}
        found[binary] = info
        if not path:
            report.add("binary:%s" % binary, FAIL if required else WARN,
                       "%s was not found in PATH or the sbin/bin directories" % binary, BINARY_REMEDY[binary])
            continue
        if binary in ("pct", "pveam", "pvesh"):
            if pve_version is None and host.which("pvesh"):
                rc, out, _err = host.run([host.which("pvesh"), "get", "/version", "--output-format", "json"])
                pve_version = (parse.parse_pve_version(out) if rc == 0 else None) or {}
            info["version"] = (pve_version or {}).get("version")
            shown = "pve-manager %s" % info["version"] if info["version"] else "version unknown ('pvesh get /version' failed)"
        else:
            rc, out, err = host.run([path, "--version"])
            if binary == "runc":
                parsed = parse.parse_runc_version(out)
                info.update(parsed or {})
            elif binary == "crun":
                parsed = parse.parse_crun_version(out)
                info.update(parsed or {})
            else:
                info["version"] = parse.parse_simple_version(out, binary)
            shown = info.get("version") or "version unknown ('%s --version' exited %s: %s)" % (binary, rc, (err or out).strip()[:200])
        report.add("binary:%s" % binary, OK, "%s at %s (%s)" % (binary, path, shown))
    report.facts["binaries"] = found
    if pve_version:
        report.facts["pve_version"] = pve_version
    return found


def check_spec_versions(report, host, backends, binaries, oci_version=None):
    """``spec:<runtime>``: the OCI runtime-spec versions the runtime accepts (``features``, else ``--version``)."""
    runtimes = {}
    for runtime in RUNTIMES:
        if runtime not in backends or not (binaries.get(runtime) or {}).get("path"):
            continue
        path = binaries[runtime]["path"]
        rc, out, err = host.run([path, "features"])
        features = parse.parse_features(out) if rc == 0 else None
        info = {"version": binaries[runtime].get("version"), "features_command": features is not None}
        if features:
            info.update(features)
            source = "'%s features'" % runtime
        else:
            spec = binaries[runtime].get("spec")
            info.update({"oci_version_min": None, "oci_version_max": spec})
            said = (err or out or "").strip().splitlines()
            source = "'%s --version' (this %s %s has no 'features' command: %s)" % (
                runtime, runtime, info["version"] or "", said[0] if said else "exit %s" % rc)
        runtimes[runtime] = info
        top = info.get("oci_version_max")
        if not top:
            report.add("spec:%s" % runtime, WARN, "%s does not say which OCI runtime-spec version it implements (%s)" % (runtime, source),
                       "upgrade %s to a release that prints 'spec:' in --version or has 'features'" % runtime)
            continue
        detail = "%s implements OCI runtime-spec %s%s, from %s" % (
            runtime, ("%s to " % info["oci_version_min"]) if info.get("oci_version_min") else "", top, source)
        if oci_version and parse.version_tuple(oci_version) > parse.version_tuple(top):
            report.add("spec:%s" % runtime, WARN,
                       "%s; bundles declaring ociVersion %s may use fields this %s ignores" % (detail, oci_version, runtime),
                       "upgrade %s, or keep the bundles to fields of runtime-spec %s" % (runtime, top))
        else:
            report.add("spec:%s" % runtime, OK, detail)
    report.facts["runtimes"] = runtimes
    return runtimes


# -- cgroups ---------------------------------------------------------------------------------

def cgroup_view(host):
    """The cgroup layout of this mount namespace: ``v2``, ``hybrid``, ``v1`` or ``none``.

    Decided as crun decides it: ``statfs(/sys/fs/cgroup)`` is cgroup2 -> v2; tmpfs and
    ``statfs(/sys/fs/cgroup/unified)`` is cgroup2 -> hybrid; otherwise v1 hierarchies
    (from mountinfo) -> v1.
    """
    top = host.fs_type(CGROUP_ROOT)
    unified = host.fs_type(UNIFIED) if top == "tmpfs" else None
    mounts = parse.parse_mountinfo(host.read("/proc/self/mountinfo") or "")
    v1 = sorted(point[len(CGROUP_ROOT) + 1:] for point, fstype in mounts.items()
                if fstype == "cgroup" and point.startswith(CGROUP_ROOT + "/"))
    controllers_file = None
    if top == "cgroup2fs":
        layout = "v2"
        controllers_file = CGROUP_ROOT + "/cgroup.controllers"
    elif top == "tmpfs" and unified == "cgroup2fs":
        layout = "hybrid"
        controllers_file = UNIFIED + "/cgroup.controllers"
    elif v1 or top == "cgroupfs":
        layout = "v1"
    else:
        layout = "none"
    controllers = None
    if controllers_file:
        text = host.read(controllers_file)
        controllers = text.split() if text is not None else None
    return {"layout": layout, "root_fs": top, "unified_fs": unified, "v1_hierarchies": v1,
            "v2_controllers": controllers, "v2_controllers_file": controllers_file}


def check_cgroups(report, host, backends):
    view = cgroup_view(host)
    layout = view["layout"]
    report.facts["cgroup"] = view
    v1_text = ", ".join(view["v1_hierarchies"]) or "none"
    if layout == "v2":
        report.add("cgroup:layout", OK, "cgroup v2 (unified): cgroup2 at %s, controllers %s"
                   % (CGROUP_ROOT, " ".join(view["v2_controllers"] or []) or "none"))
    elif layout == "hybrid":
        report.add("cgroup:layout", WARN, "hybrid: cgroup v1 hierarchies (%s) on a tmpfs at %s plus cgroup2 at %s (controllers in its cgroup.controllers: %s)"
                   % (v1_text, CGROUP_ROOT, UNIFIED, " ".join(view["v2_controllers"] or []) or "none"), V2_REMEDY)
    elif layout == "v1":
        report.add("cgroup:layout", WARN, "cgroup v1 only (hierarchies: %s); cgroup v1 is deprecated by systemd, runc and crun" % v1_text, V2_REMEDY)
    else:
        report.add("cgroup:layout", FAIL, "no cgroup file system is mounted at %s (statfs type %s)" % (CGROUP_ROOT, view["root_fs"]),
                   "mount cgroup2 at %s (mount -t cgroup2 none %s)" % (CGROUP_ROOT, CGROUP_ROOT))

    crun_usable = None
    if "crun" in backends:
        if layout == "v2":
            crun_usable = True
            report.add("cgroup:crun", OK, "crun runs on cgroup v2")
        elif layout == "v1":
            crun_usable = True
            report.add("cgroup:crun", OK, "crun runs on this cgroup v1 layout (no cgroup2 mount at %s); v1 support is deprecated upstream" % UNIFIED)
        elif layout == "hybrid" and view["v2_controllers"] == []:
            crun_usable = True
            report.add("cgroup:crun", OK, "hybrid layout, but %s lists no controller, which crun accepts" % view["v2_controllers_file"])
        elif layout == "hybrid":
            crun_usable = False
            listed = " ".join(view["v2_controllers"]) if view["v2_controllers"] else "unreadable"
            report.add("cgroup:crun", FAIL,
                       "crun refuses this hybrid layout: %s is cgroup2 and its cgroup.controllers lists %s, so every crun create/run fails with "
                       "'cgroups in hybrid mode not supported, drop all controllers from cgroupv2'" % (UNIFIED, listed),
                       CRUN_HYBRID_REMEDY)
        else:
            crun_usable = False
            report.add("cgroup:crun", FAIL, "crun needs a cgroup file system at %s" % CGROUP_ROOT,
                       "mount cgroup2 at %s" % CGROUP_ROOT)
    if "runc" in backends:
        if layout == "none":
            report.add("cgroup:runc", FAIL, "runc needs a cgroup file system at %s" % CGROUP_ROOT, "mount cgroup2 at %s" % CGROUP_ROOT)
        elif layout == "v2":
            report.add("cgroup:runc", OK, "runc runs on cgroup v2")
        else:
            report.add("cgroup:runc", OK, "runc runs on this %s layout (cgroup v1 support is deprecated from runc 1.4)" % layout)
    if "lxc" in backends:
        if layout == "v2":
            report.add("cgroup:lxc", OK, "Proxmox VE containers run on cgroup v2")
        else:
            report.add("cgroup:lxc", WARN, "Proxmox VE 9 supports only a pure cgroup v2 host; this one is %s" % layout, V2_REMEDY)
    view["crun_usable"] = crun_usable
    return view


# -- user namespaces ---------------------------------------------------------------------------

def check_userns(report, host, backends):
    text = host.read("/proc/sys/user/max_user_namespaces")
    try:
        maximum = int(text.strip()) if text is not None else None
    except ValueError:
        maximum = None
    clone_text = host.read("/proc/sys/kernel/unprivileged_userns_clone")
    clone = clone_text.strip() if clone_text is not None else None
    facts = {"max_user_namespaces": maximum, "unprivileged_userns_clone": clone}
    if maximum is None:
        report.add("userns:kernel", WARN, "/proc/sys/user/max_user_namespaces is not readable: this kernel may lack user namespaces",
                   "use a kernel built with CONFIG_USER_NS=y")
    elif maximum == 0:
        report.add("userns:kernel", FAIL if "lxc" in backends else WARN,
                   "user namespaces are disabled (user.max_user_namespaces = 0); unprivileged containers cannot start",
                   "sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)")
    else:
        detail = "user namespaces enabled (user.max_user_namespaces = %d)" % maximum
        if clone == "0":
            report.add("userns:kernel", WARN, detail + ", but kernel.unprivileged_userns_clone = 0 (only root may create them)",
                       "sysctl -w kernel.unprivileged_userns_clone=1 if non-root users run rootless containers")
        else:
            report.add("userns:kernel", OK, detail)
    if "lxc" in backends:
        for path, key in (("/etc/subuid", "subuid"), ("/etc/subgid", "subgid")):
            text = host.read(path)
            ranges = parse.parse_subid(text, "root")
            facts["root_%s" % key] = [list(item) for item in ranges]
            if any(count >= 65536 for _start, count in ranges):
                report.add("userns:%s" % key, OK, "%s gives root %s" % (path, ", ".join("%d+%d" % item for item in ranges)))
            else:
                report.add("userns:%s" % key, WARN,
                           "%s %s no range of 65536 ids for root; Proxmox VE maps unprivileged containers to root:100000:65536"
                           % (path, "is missing, so it has" if text is None else "has"),
                           "add the line 'root:100000:65536' to %s" % path)
    report.facts["userns"] = facts
    return facts


# -- bridges ---------------------------------------------------------------------------------

def check_bridges(report, host, bridges):
    facts = {}
    for name in bridges:
        base = "/sys/class/net/%s" % name
        remedy = ("create it: ip link add %s type bridge && ip link set %s up "
                  "(persist it in /etc/network/interfaces as 'auto %s / iface %s inet manual / bridge-ports none' and run ifreload -a)"
                  % (name, name, name, name))
        if not host.exists(base):
            facts[name] = {"exists": False, "bridge": False, "operstate": None}
            report.add("bridge:%s" % name, FAIL, "network interface %s does not exist" % name, remedy)
            continue
        is_bridge = host.isdir(base + "/bridge")
        state = (host.read(base + "/operstate") or "").strip() or None
        facts[name] = {"exists": True, "bridge": is_bridge, "operstate": state}
        if not is_bridge:
            report.add("bridge:%s" % name, FAIL, "%s exists but is not a bridge (no %s/bridge)" % (name, base),
                       "use a bridge for the containers' bridge= setting, or make %s a bridge" % name)
        elif state == "down":
            report.add("bridge:%s" % name, WARN, "bridge %s exists but is down" % name, "ip link set %s up" % name)
        else:
            report.add("bridge:%s" % name, OK, "bridge %s exists (operstate %s)" % (name, state or "unknown"))
    report.facts["bridges"] = facts
    return facts


# -- Proxmox storages and templates -------------------------------------------------------------

def split_template(volid):
    """``storage:vztmpl/file`` -> (storage, file); raises ValueError with the reason."""
    if ":" not in volid:
        raise ValueError("%r is not storage:vztmpl/<file>" % volid)
    storage, rest = volid.split(":", 1)
    if not rest.startswith("vztmpl/") or len(rest) <= len("vztmpl/"):
        raise ValueError("%r is not storage:vztmpl/<file>" % volid)
    return storage, rest[len("vztmpl/"):]


def local_node(host, pvesh):
    """The node this host is: the short host name if the cluster knows it, else the only node."""
    rc, out, _err = host.run([pvesh, "get", "/nodes", "--output-format", "json"])
    nodes = parse.parse_nodes(out) if rc == 0 else []
    short = os.uname()[1].split(".")[0]
    if short in nodes or not nodes:
        return short
    return nodes[0] if len(nodes) == 1 else short


def check_proxmox_storage(report, host, storages, templates, node=None, min_free_bytes=None):
    pvesh = host.which("pvesh")
    pveam = host.which("pveam")
    wanted = list(storages)
    parsed_templates = []
    for volid in templates:
        storage, name = split_template(volid)
        parsed_templates.append((volid, storage, name))
        if storage not in wanted:
            wanted.append(storage)
    facts = {"storages": {}, "templates": {}}
    report.facts["proxmox"] = facts
    if not wanted:
        return facts
    status = None
    if not pvesh:
        for storage in wanted:
            report.add("storage:%s" % storage, FAIL, "cannot read storage %s: pvesh is not installed" % storage, BINARY_REMEDY["pvesh"])
    else:
        node = node or local_node(host, pvesh)
        facts["node"] = node
        argv = [pvesh, "get", "/nodes/%s/storage" % node, "--output-format", "json"]
        rc, out, err = host.run(argv)
        status = parse.parse_storage_status(out) if rc == 0 else None
        if status is None:
            for storage in wanted:
                report.add("storage:%s" % storage, FAIL, "cannot list the storages of node %s: '%s' exited %s: %s"
                           % (node, " ".join(argv[1:3]), rc, (err or out).strip()[:300]),
                           "check that this is Proxmox VE node %s (set node: if its name differs from the host name)" % node)
        else:
            for storage in wanted:
                info = status.get(storage)
                facts["storages"][storage] = info
                needs_templates = any(s == storage for _v, s, _n in parsed_templates)
                if info is None:
                    report.add("storage:%s" % storage, FAIL, "storage %s does not exist on node %s (it has: %s)"
                               % (storage, node, ", ".join(sorted(status)) or "none"),
                               "add it: pvesm add dir %s --path /var/lib/vz-%s --content vztmpl,rootdir (or use an existing storage)" % (storage, storage))
                elif not info["enabled"] or not info["active"]:
                    state = "disabled" if not info["enabled"] else "not active"
                    report.add("storage:%s" % storage, FAIL, "storage %s is %s on node %s" % (storage, state, node),
                               "pvesm set %s --disable 0, and check that its backing device or share is available (pvesm status)" % storage)
                elif needs_templates and "vztmpl" not in info["content"]:
                    report.add("storage:%s" % storage, FAIL, "storage %s does not allow container templates (content: %s)"
                               % (storage, ",".join(info["content"]) or "none"),
                               "pvesm set %s --content %s" % (storage, ",".join(sorted(set(info["content"]) | {"vztmpl"}))))
                elif min_free_bytes and info.get("avail") is not None and info["avail"] < min_free_bytes:
                    report.add("storage:%s" % storage, WARN, "storage %s has %s free, less than %s" % (storage, human(info["avail"]), human(min_free_bytes)),
                               "free space on storage %s (pveam remove unused templates, delete old backups)" % storage)
                else:
                    report.add("storage:%s" % storage, OK, "storage %s (%s) is active on node %s, content %s%s" % (
                        storage, info.get("type"), node, ",".join(info["content"]),
                        (", %s free" % human(info["avail"])) if info.get("avail") is not None else ""))
    listed = {}
    for volid, storage, name in parsed_templates:
        remedy = ("pveam update && pveam download %s %s, or run lxcri.containers.pve_template (playbooks/prewarm.yml) for it"
                  % (storage, name))
        if not pveam:
            report.add("template:%s" % volid, FAIL, "cannot list templates: pveam is not installed", BINARY_REMEDY["pveam"])
            continue
        if storage not in listed:
            rc, out, err = host.run([pveam, "list", storage])
            listed[storage] = (rc, parse.parse_pveam_list(out) if rc == 0 else None, (err or out).strip())
        rc, rows, said = listed[storage]
        if rows is None:
            facts["templates"][volid] = None
            report.add("template:%s" % volid, FAIL, "'pveam list %s' failed (exit %s): %s" % (storage, rc, said[:300]),
                       "fix storage %s first (see the storage:%s check)" % (storage, storage))
        elif volid in rows:
            facts["templates"][volid] = {"present": True, "size": rows[volid]}
            report.add("template:%s" % volid, OK, "template %s is present (%s)" % (volid, rows[volid]))
        else:
            facts["templates"][volid] = {"present": False}
            report.add("template:%s" % volid, FAIL, "template %s is missing: 'pveam list %s' does not list it" % (volid, storage), remedy)
    return facts


# -- directories and disk space ---------------------------------------------------------------------

def nearest_existing(host, path):
    path = posixpath.normpath(path)
    while not host.exists(path) and path != "/":
        path = posixpath.dirname(path)
    return path


def check_state_dirs(report, host, paths):
    facts = {}
    for path in paths:
        existing = nearest_existing(host, path)
        try:
            _free, _total, read_only = host.statvfs(existing)
        except OSError as exc:
            report.add("state_dir:%s" % path, FAIL, "cannot stat %s: %s" % (existing, exc), "create %s and make it writable by root" % path)
            facts[path] = {"exists": False, "writable": False}
            continue
        exists = existing == posixpath.normpath(path)
        if exists and not host.isdir(existing):
            facts[path] = {"exists": True, "writable": False}
            report.add("state_dir:%s" % path, FAIL, "%s exists but is not a directory" % path, "remove or rename %s" % path)
            continue
        writable = host.access(existing, os.W_OK | os.X_OK) and not read_only
        facts[path] = {"exists": exists, "writable": writable, "checked": existing}
        where = path if exists else "%s (does not exist yet; checked its parent %s, where it will be created)" % (path, existing)
        if writable:
            report.add("state_dir:%s" % path, OK, "%s is writable" % where)
        else:
            report.add("state_dir:%s" % path, FAIL, "%s is not writable%s" % (where, " (read-only file system)" if read_only else ""),
                       "remount %s read-write or choose another state directory" % existing if read_only else
                       "make %s writable by the user the module runs as (root)" % existing)
    report.facts["state_dirs"] = facts
    return facts


def check_free_space(report, host, items):
    facts = {}
    for item in items:
        path = item["path"]
        need = item["min_bytes"]
        existing = nearest_existing(host, path)
        try:
            free, total, _ro = host.statvfs(existing)
        except OSError as exc:
            report.add("disk:%s" % path, FAIL, "cannot read the free space of %s: %s" % (existing, exc), "create %s" % path)
            continue
        facts[path] = {"free": free, "total": total, "min_free": need, "checked": existing}
        detail = "%s free of %s on the file system of %s" % (human(free), human(total), existing)
        if free >= need:
            report.add("disk:%s" % path, OK, detail + " (need %s)" % human(need))
        else:
            report.add("disk:%s" % path, FAIL, detail + ", less than the %s needed" % human(need),
                       "free at least %s on the file system of %s, or lower min_free_bytes" % (human(need - free), existing))
    report.facts["disk"] = facts
    return facts


def human(value):
    value = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return ("%d %s" % (value, unit)) if unit == "B" else ("%.1f %s" % (value, unit))
        value /= 1024.0
    return "%d B" % value  # pragma: no cover
