# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``pvesm``: the storage manager CLI (pve-storage ``PVE/CLI/pvesm.pm``), the subset pvesim needs.

    pvesm path <volume>                                 the file system path of a volume
    pvesm list <storage> [--content C] [--vmid N]       GET /nodes/{node}/storage/{storage}/content
    pvesm status [--content C] [--storage S] [--enabled 1]   GET /nodes/{node}/storage
    pvesm free <volume> [--storage S]                   DELETE /nodes/{node}/storage/{storage}/content/{volume}

``path`` prints the host path of the volume in the state directory (``<state>/.host/var/lib/vz/...``)
rather than ``/var/lib/vz/...``, so that callers can read and write the file.
"""

from __future__ import annotations

import sys

from . import clitools, handlers, schema
from .handlers import PVEError

USAGE = """USAGE: pvesm <COMMAND> [ARGS] [OPTIONS]

       pvesm free <volume> [OPTIONS]
       pvesm list <storage> [OPTIONS]
       pvesm path <volume>
       pvesm status  [OPTIONS]

       pvesm help [<extra-args>] [OPTIONS]
"""
CMD_USAGE = {
    "free": "pvesm free <volume> [OPTIONS]",
    "list": "pvesm list <storage> [OPTIONS]",
    "path": "pvesm path <volume>",
    "status": "pvesm status  [OPTIONS]",
}
CMD_PROPS = {
    "free": {"storage": schema.Param("string"), "delay": schema.Param("integer", minimum=1, maximum=30)},
    "list": {"content": schema.Param("string"), "vmid": schema.Param("integer", minimum=100, maximum=999999999)},
    "path": {},
    "status": {"content": schema.Param("string"), "storage": schema.Param("string"), "enabled": schema.Param("boolean"),
               "target": schema.Param("string"), "format": schema.Param("boolean")},
}
CMD_ARGS = {"free": ["volume"], "list": ["storage"], "path": ["volume"], "status": []}


def format_content(rows):
    """``$print_content``: guest volumes first (listing order), then the others sorted by format."""
    maxlen = max([len(r["volid"]) for r in rows] + [0])
    maxsize = max([int(r.get("size") or 0) for r in rows] + [0])
    digits = len(str(maxsize))
    base = "%%-%ds %%-7s %%-9s %%%ds" % (maxlen, digits)
    out = [(base + " %s\n") % ("Volid", "Format", "Type", "Size", "VMID")]
    for r in rows:
        if r.get("vmid"):
            out.append((base + " %d\n") % (r["volid"], r.get("format", ""), r.get("content", ""), r.get("size") or 0, int(r["vmid"])))
    for r in sorted(rows, key=lambda x: x.get("format", "")):
        if not r.get("vmid"):
            out.append((base + "\n") % (r["volid"], r.get("format", ""), r.get("content", ""), r.get("size") or 0))
    return "".join(out)


def format_status(rows):
    """``$print_status``: one line per storage, sizes in KiB, used percentage."""
    maxlen = max([len(r["storage"]) for r in rows] + [0]) + 1
    out = [("%%-%ds %%10s %%10s %%15s %%15s %%15s %%8s\n" % maxlen) % ("Name", "Type", "Status", "Total", "Used", "Available", "%")]
    for r in sorted(rows, key=lambda x: x["storage"]):
        active = "active" if r.get("active") else "inactive"
        total = int(r.get("total") or 0)
        per = (int(r.get("used") or 0) * 100.0 / total) if total > 0 else 0
        per_text = "% 7.2f%%" % per
        if not r.get("enabled"):
            per_text = "% 8s" % "N/A"
            active = "disabled"
        out.append(("%%-%ds %%10s %%10s %%15d %%15d %%15d %%s\n" % maxlen)
                   % (r["storage"], r.get("type", ""), active, total // 1024, int(r.get("used") or 0) // 1024,
                      int(r.get("avail") or 0) // 1024, per_text))
    return "".join(out)


def _positional(cmd, argv, stderr):
    return clitools.get_options(CMD_PROPS[cmd], argv, CMD_ARGS[cmd], stderr, CMD_USAGE[cmd])


def run(argv, stdout=None, stderr=None):
    from .pveam import _env
    from .state import StateError

    stdout = stdout if stdout is not None else sys.stdout
    stderr = stderr if stderr is not None else sys.stderr
    code, cmd, rest = clitools.select_command("pvesm", argv, CMD_USAGE, USAGE, stdout, stderr, clitools.require_root)
    if code is not None:
        return code
    try:
        env = _env(stdout, stderr)
        node = env.state.node
        opts = _positional(cmd, rest, stderr)
        if cmd == "path":
            from . import storage

            path, _vtype = storage.volume_path(env.state, opts["volume"])
            stdout.write("%s\n" % path)
        elif cmd == "list":
            sid = opts.pop("storage")
            rows = handlers.call(env, "GET", "/nodes/%s/storage/%s/content" % (node, sid), opts, cli=True)
            stdout.write(format_content(rows))
        elif cmd == "status":
            rows = handlers.call(env, "GET", "/nodes/%s/storage" % node, opts, cli=True)
            stdout.write(format_status(rows))
        elif cmd == "free":
            volid = opts.pop("volume")
            from . import storage

            sid = opts.pop("storage", None) or storage.parse_volume_id(volid)[0]
            handlers.call(env, "DELETE", "/nodes/%s/storage/%s/content/%s" % (node, sid, volid), opts, cli=True)
        return 0
    except PVEError as err:
        if err.status == 400 and err.usage is None:
            err.usage = CMD_USAGE[cmd]
        stderr.write(handlers.format_cli_error(err))
        return 255
    except StateError as exc:
        stderr.write("pvesm: %s\n" % exc)
        return 2


def main(argv=None):
    return run(sys.argv[1:] if argv is None else argv)
