# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pveam`` and the ``/nodes/{node}/aplinfo`` endpoints over a *local* template catalogue.

Follows pve-manager ``PVE/CLI/pveam.pm``, ``PVE/APLInfo.pm``, ``PVE/API2/Nodes.pm``
(``aplinfo``/``apl_download``) and pve-common ``download_file_from_url`` (contract §7).

The simulated "download.proxmox.com/images" is a directory of the state dir
(``.host/var/lib/pvesim/apl-mirror``): ``aplinfo-pve-9.dat`` plus the template files it
lists (``pvesim template add`` fills it).  ``pveam update`` checks that index and installs it
as ``/var/lib/pve-manager/apl-info/download.proxmox.com`` (a TurnKey index is only used if the
mirror has ``turnkeylinux/aplinfo.dat``); ``pveam download`` "downloads" by copying the file
from the mirror and verifying its ``sha512sum``.  Messages and URLs are the real ones.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time

from . import clitools, handlers, schema
from .handlers import Perm, PVEError, api
from .templates import APL_INDEX_NAME, APL_SOURCE_HOST, APL_SOURCE_URL, aplinfo_dir, file_hash, mirror_dir

TURNKEY_HOST = "releases.turnkeylinux.org"
TURNKEY_URL = "https://releases.turnkeylinux.org/pve"
TEMPLATE_EXT_RE = re.compile(r"\.(tar|tar\.gz|tar\.xz|tar\.zst|tar\.bz2)$", re.I)
USAGE = """USAGE: pveam <COMMAND> [ARGS] [OPTIONS]

       pveam available  [OPTIONS]
       pveam download <storage> <template>
       pveam list <storage>
       pveam remove <template_path>
       pveam update

       pveam help [<extra-args>] [OPTIONS]
"""
CMD_USAGE = {
    "available": "pveam available  [OPTIONS]",
    "download": "pveam download <storage> <template>",
    "list": "pveam list <storage>",
    "remove": "pveam remove <template_path>",
    "update": "pveam update",
}


# ------------------------------------------------------------------------------------------
# aplinfo parsing (PVE::APLInfo::read_aplinfo_from_fh)
# ------------------------------------------------------------------------------------------

def _sources(state):
    srcs = [{"host": APL_SOURCE_HOST, "url": APL_SOURCE_URL, "file": APL_INDEX_NAME,
             "mirror": mirror_dir(state), "index": mirror_dir(state) / APL_INDEX_NAME}]
    tk = mirror_dir(state) / "turnkeylinux" / "aplinfo.dat"
    if tk.exists():
        srcs.append({"host": TURNKEY_HOST, "url": TURNKEY_URL, "file": "aplinfo.dat", "mirror": tk.parent, "index": tk})
    return srcs


class AplParseError(Exception):
    pass


def parse_aplinfo(text, source, update=False, warn=None):
    """Return ``{section: {template: record}, 'all': {...}}``."""
    lst = {}
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        if not block.strip():
            continue
        res = {}
        rec = block.rstrip("\n") + "\n"
        while rec:
            m = re.match(r"^Description:\s*([^\n]*)((?:\n\s+[^\n]*)*)\n?", rec, re.I)
            if m:
                res["headline"] = m.group(1)
                long = re.sub(r"\n\s+", " ", m.group(2) or "").strip()
                res["description"] = long
                rec = rec[m.end():]
                continue
            m = re.match(r"^([^:\n]+):\s*(.*\S)\s*\n", rec)
            if m:
                key, val = m.group(1).lower(), m.group(2)
                rec = rec[m.end():]
                if key == "version" and not re.match(r"^(\d[a-zA-Z0-9.+\-:~]*)(-(\d+))?$", val):
                    _complain("unable to parse appliance record: version = '%s'" % val, update, warn)
                    continue
                if key == "type" and val not in ("openvz", "lxc"):
                    _complain("unable to parse appliance record: unknown type '%s'" % val, update, warn)
                    continue
                res[key] = val
                continue
            _complain("unable to parse appliance record: %s" % rec.rstrip("\n"), update, warn)
            res = {}
            break
        if res.get("package") == "pve-web-news" and res.get("description"):
            lst.setdefault("all", {})[res["package"]] = res
            continue
        res.setdefault("section", "unknown")
        if all(res.get(k) for k in ("package", "type", "os", "version", "infopage")):
            if res.get("location"):
                template = re.sub(r".*/([^/]+" + TEMPLATE_EXT_RE.pattern + r")$", r"\1", res["location"])
                if not re.match(r"^[a-zA-Z]+://", res["location"]):
                    res["location"] = "%s/%s" % (source, res["location"])
            else:
                arch = res.get("architecture") or "i386"
                template = "%s-%s_%s_%s.tar.gz" % (res["os"], res["package"], res["version"], arch)
                template = template.replace("%s-%s-" % (res["os"], res["os"]), "%s-" % res["os"], 1)
                res["location"] = "%s/%s/%s" % (source, res["section"], template)
            res["source"] = source
            res["template"] = template
            lst.setdefault(res["section"], {})[template] = res
            lst.setdefault("all", {})[template] = res
        else:
            _complain("found incomplete appliance records", update, warn)
    return lst


def _complain(msg, update, warn):
    if update:
        raise AplParseError(msg)
    if warn is not None:
        warn.write(msg + "\n")


def load_data(state, warn=None):
    lst = {}
    for src in _sources(state):
        path = aplinfo_dir(state) / src["host"]
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if warn is not None:
                warn.write("unable to open file '/var/lib/pve-manager/apl-info/%s' - No such file or directory\n" % src["host"])
            continue
        try:
            sub = parse_aplinfo(text, src["url"], warn=warn)
        except AplParseError as exc:
            if warn is not None:
                warn.write("%s\n" % exc)
            continue
        for section, items in sub.items():
            lst.setdefault(section, {}).update(items)
    return lst


def _logmsg(state, msg):
    log = state.host_path("/var/log/pveam.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    with open(log, "a", encoding="utf-8") as fh:
        for line in msg.rstrip("\n").split("\n"):
            fh.write("%s %s\n" % (stamp, line))


def update(state):
    """PVE::APLInfo::update against the local mirror; returns True on success."""
    _logmsg(state, "starting update")
    errors = []
    outdir = aplinfo_dir(state)
    outdir.mkdir(parents=True, exist_ok=True)
    for src in _sources(state):
        url = "%s/%s.gz" % (src["url"], src["file"])
        try:
            _logmsg(state, "start download %s/%s.asc" % (src["url"], src["file"]))
            _logmsg(state, "download finished: 200 OK")
            _logmsg(state, "start download %s" % url)
            if not src["index"].exists():
                _logmsg(state, "download failed: 404 Not Found")
                raise AplParseError("update failed - no data file '%s'" % url)
            _logmsg(state, "download finished: 200 OK")
            text = src["index"].read_text(encoding="utf-8")
            try:
                parse_aplinfo(text, src["url"], update=True)
            except AplParseError as exc:
                raise AplParseError("update failed: %s" % exc) from None
            tmp = outdir / (".pveam-%s.tmp.%d" % (src["host"], os.getpid()))
            tmp.write_text(text, encoding="utf-8")
            os.replace(str(tmp), str(outdir / src["host"]))
            _logmsg(state, "update successful")
        except AplParseError as exc:
            _logmsg(state, str(exc))
            errors.append(src["url"])
    return not errors


def _mirror_file(state, location):
    """Map a template URL to the simulated mirror (or a file:// URL to its path)."""
    for src in _sources(state):
        if location.startswith(src["url"] + "/"):
            return src["mirror"] / location[len(src["url"]) + 1:]
    if location.startswith("file://"):
        return location[len("file://"):]
    return None


def _storage_scfg(state, storeid, node=None):
    from . import storage

    scfg = storage.storage_check_enabled(state, storeid, node)
    return scfg, storage.content_set(scfg)


# ------------------------------------------------------------------------------------------
# REST handlers
# ------------------------------------------------------------------------------------------

@api("GET", "/nodes/{node}/aplinfo", params={"node": schema.NODE}, name="aplinfo",
     returns={"type": "array", "items": {"type": "object", "properties": {}}},
     description="Get list of appliances.")
def api_aplinfo(env, params):
    lst = load_data(env.state)
    return [dict(v) for k, v in sorted(lst.get("all", {}).items()) if v.get("package") != "pve-web-news"]


@api("POST", "/nodes/{node}/aplinfo", perm=Perm("/storage/{storage}", ("Datastore.AllocateTemplate",)), name="apl_download", returns={"type": "string"},
     params={"node": schema.NODE, "storage": schema.STORAGE.copy(optional=False),
             "template": schema.Param("string", optional=False, max_length=255)},
     description="Download appliance templates.")
def api_apl_download(env, params):
    from .tasks import fork_worker

    state = env.state
    template = params["template"]
    appliance = load_data(state).get("all", {}).get(template)
    if appliance is None:
        raise handlers.param_error({"template": "no such template"})
    scfg, content = _storage_scfg(state, params["storage"], params["node"])
    if appliance.get("type") not in ("openvz", "lxc"):
        raise PVEError("unknown template type '%s'" % appliance.get("type"))
    if "vztmpl" not in content:
        raise PVEError("storage '%s' does not support templates" % params["storage"])
    shown_dir = (scfg.get("path") or "/var/lib/pvesim/%s" % params["storage"]).rstrip("/") + "/template/cache"
    dest_shown = "%s/%s" % (shown_dir, template)
    dest = state.template_cache_dir(params["storage"]) / template
    url = appliance["location"]

    def worker(w):
        algo, expected = None, None
        for a in ("sha512", "sha384", "sha256", "sha224", "sha1", "md5"):
            if appliance.get("%ssum" % a):
                algo, expected = a, appliance["%ssum" % a]
                break
        if algo is None:
            raise PVEError("checksum required but not specified")
        w.write("downloading %s to %s\n" % (url, dest_shown))
        if dest.is_file():
            w.write("calculating checksum of existing file...")
            got = file_hash(dest, algo)
            if got.lower() == expected.lower():
                w.write("OK, got correct file already, no need to download\n")
                return
            w.write("\n")
            raise PVEError("checksum mismatch: got '%s' != expect '%s', aborting" % (got, expected))
        src = _mirror_file(state, url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / ("%s.tmp_dwnl.%d" % (template, os.getpid()))
        try:
            if src is None or not os.path.isfile(str(src)):
                # wget's own output is not reproduced (contract §11: external tool output unconfirmed)
                raise PVEError("download failed: command 'wget --progress=dot:giga -O %s.tmp_dwnl.%d %s' failed: exit code 8"
                               % (dest_shown, os.getpid(), url))
            shutil.copyfile(str(src), str(tmp))
            w.write("calculating checksum...")
            got = file_hash(tmp, algo)
            if got.lower() != expected.lower():
                w.write("\n")
                raise PVEError("checksum mismatch: got '%s' != expect '%s'" % (got, expected))
            w.write("OK, checksum verified\n")
            os.replace(str(tmp), str(dest))
        finally:
            if tmp.exists():
                tmp.unlink()
        w.write("download of '%s' to '%s' finished\n" % (url, dest_shown))

    return fork_worker(env, "download", template, worker)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

def _env(stdout, stderr):
    from .state import State

    return handlers.Env(State.locate(), user="root@pam", rpc="cli", stdout=stdout, stderr=stderr)


def _positional(cmd, argv, names, props, stderr):
    return clitools.get_options(props, argv, names, stderr, CMD_USAGE[cmd])


def run(argv, stdout=None, stderr=None):
    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr

    code, cmd, rest = clitools.select_command("pveam", argv, CMD_USAGE, USAGE, stdout, stderr, clitools.require_root)
    if code is not None:
        return code
    try:
        env = _env(stdout, stderr)
        state = env.state
        if cmd == "update":
            _positional(cmd, rest, [], {}, stderr)
            if update(state):
                stdout.write("update successful\n")
            else:
                stderr.write("update failed - see /var/log/pveam.log for details\n")
            return 0
        if cmd == "available":
            props = {"section": schema.Param("string", enum=["system", "mail", "turnkeylinux"])}
            opts = _positional(cmd, rest, [], props, stderr)
            try:
                opts = schema.validate(props, opts, cli=True)
            except PVEError as err:
                err.usage = CMD_USAGE[cmd]
                raise
            lst = load_data(state, warn=stderr)
            for section in sorted(lst):
                if section == "all" or (opts.get("section") and section != opts["section"]):
                    continue
                for tmpl in sorted(lst[section]):
                    arch = lst[section][tmpl].get("architecture") or "unknown"
                    stdout.write("%-15s %-60s %s\n" % (section, tmpl, arch))
            return 0
        if cmd == "download":
            props = {}
            opts = _positional(cmd, rest, ["storage", "template"], props, stderr)
            try:
                handlers.call(env, "POST", "/nodes/%s/aplinfo" % state.node, opts, cli=True)
            except PVEError as err:
                if err.status == 400:
                    err.usage = CMD_USAGE[cmd]
                raise
            return 0  # no $upid_exit: 0 even if the download task failed
        if cmd == "list":
            opts = _positional(cmd, rest, ["storage"], {}, stderr)
            try:
                opts = schema.validate({"storage": schema.STORAGE.copy(optional=False)}, opts, cli=True)
            except PVEError as err:
                err.usage = CMD_USAGE[cmd]
                raise
            from . import storage

            _scfg, content = _storage_scfg(state, opts["storage"])
            if "vztmpl" not in content:
                raise PVEError("Storage does not support templates!")
            vols = [v for v in storage.list_volumes(state, opts["storage"], content="vztmpl") if v.get("content") == "vztmpl"]
            stdout.write("%-60s %-6s\n" % ("NAME", "SIZE"))
            for v in sorted(vols, key=lambda x: x["volid"]):
                stdout.write("%-60s %-4.2fMB\n" % (v["volid"], v["size"] / (1024 * 1024)))
            return 0
        if cmd == "remove":
            opts = _positional(cmd, rest, ["template_path"], {}, stderr)
            try:
                opts = schema.validate({"template_path": schema.Param("string", optional=False, max_length=255)}, opts, cli=True)
            except PVEError as err:
                err.usage = CMD_USAGE[cmd]
                raise
            from . import storage

            volid = opts["template_path"]
            storeid, volname = storage.parse_volume_id(volid)
            _storage_scfg(state, storeid)
            if not volname.startswith("vztmpl/"):
                raise PVEError("unable to use volume %s - content type needs to be 'vztmpl'" % volid)
            path, _vtype = storage.volume_path(state, volid)
            try:
                os.unlink(str(path))
            except FileNotFoundError:
                pass
            return 0
    except PVEError as err:
        stderr.write(handlers.format_cli_error(err))
        return 255
    except Exception as exc:
        from .state import StateError

        if isinstance(exc, StateError):
            stderr.write("pveam: %s\n" % exc)
            return 2
        stderr.write(handlers.format_cli_error(exc))
        return 255
    return 0


def main(argv=None):
    return run(sys.argv[1:] if argv is None else argv)
