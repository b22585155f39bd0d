# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``pct`` transport: commands on the Proxmox node through ``module.run_command``.

Implements the exact pct contract: tasks run synchronously and print no UPID;
task output is on stdout, the error on stderr; ``resize``/``template`` exit 0
even when their task fails, so their stderr is checked too; pre-worker errors
exit non-zero with no fixed value.
"""

from __future__ import annotations

import json
import os
import re
import tempfile

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import conffile, messages, model

HIDDEN = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
# Subcommands whose failed task still exits 0 (contract 0.2).
_EXIT0_ON_TASK_FAILURE = ("resize", "template", "push", "pull")


def parse_list(text):
    """``pct list`` (fixed columns 0-10, 11-21, 22-34, 35-) -> [{vmid, status, lock, name}]."""
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("VMID"):
            continue
        vmid = line[0:10].strip()
        if not vmid.isdigit():
            continue
        rows.append({
            "vmid": int(vmid),
            "status": line[11:21].strip(),
            "lock": line[22:34].strip() or None,
            "name": line[35:].strip(),
        })
    return rows


def pve_dir():
    """``/etc/pve`` (pmxcfs); ``PVESIM_STATE_DIR`` points at a simulated node's copy in tests."""
    return os.environ.get("PVESIM_STATE_DIR") or "/etc/pve"


def local_node():
    """The local node's name: ``/etc/pve/local`` links to ``nodes/<node>``; else the short host name."""
    try:
        target = os.readlink(os.path.join(pve_dir(), "local"))
        name = os.path.basename(target.rstrip("/"))
        if name:
            return name
    except OSError:
        pass
    return os.uname()[1].split(".")[0]


_SET_PASSWORD_SCRIPT = (
    "if command -v chpasswd >/dev/null 2>&1; then chpasswd; "
    "else IFS= read -r line; pw=${line#root:}; printf '%s\\n%s\\n' \"$pw\" \"$pw\" | passwd -a sha512 root >/dev/null; fi"
)


class PctTransport:
    name = "pct"
    supports_raw_lxc = True
    supports_password_update = True

    def __init__(self, module, node=None, timeout=300):
        self.module = module
        self.pct = module.get_bin_path("pct", required=False) or "pct"
        self.timeout_bin = module.get_bin_path("timeout", required=False)
        self.node = node or local_node()
        self.timeout = timeout
        self.reads = []
        self.warnings = []

    # -- low level -----------------------------------------------------------------
    def _run(self, argv, shown=None, data=None, timeout=None, read=False, task=False):
        shown = list(shown or argv)
        if read:
            self.reads.append(shown)
        cmd = list(argv)
        if timeout and self.timeout_bin:
            cmd = [self.timeout_bin, "--kill-after=10", str(int(timeout))] + cmd
        rc, out, err = self.module.run_command(cmd, data=data, binary_data=data is not None)
        if timeout and self.timeout_bin and rc in (124, 137):
            raise LxcriError("'%s' did not finish within timeout=%ss (pct prints no UPID; last output: %s)"
                             % (" ".join(shown[:3]), timeout, " | ".join((out or "").strip().splitlines()[-10:]) or "none"),
                             errors.TIMEOUT, cmd=shown, rc=rc, stdout=out, stderr=err)
        if rc != 0:
            raise LxcriError(messages.first_error(err) or messages.first_error(out) or "%s exited with %s" % (shown[0], rc),
                             messages.classify(err + "\n" + out, errors.TASK_FAILED if task else errors.RUNTIME_ERROR),
                             cmd=shown, rc=rc, stdout=out, stderr=err)
        if len(argv) > 1 and argv[1] in _EXIT0_ON_TASK_FAILURE and messages.error_lines(err):
            raise LxcriError(messages.error_lines(err)[-1], messages.classify(err, errors.TASK_FAILED), cmd=shown, rc=rc, stdout=out, stderr=err)
        if not read:
            self.warnings.extend("%s: %s" % (" ".join(shown[1:3]), line.strip()) for line in (out or "").splitlines()
                                 if line.startswith("WARN: "))
        return out, err

    # -- reads -----------------------------------------------------------------------
    def list(self):
        out, _err = self._run([self.pct, "list"], read=True)
        rows = parse_list(out)
        for row in rows:
            row["node"] = self.node
        return rows

    def read(self, vmid, node=None):
        """Pending view of the config: (raw dict, pending keys, digest=None), or None when the CT does not exist."""
        try:
            out, _err = self._run([self.pct, "pending", str(vmid)], read=True)
        except LxcriError as exc:
            if exc.error_kind == errors.NOT_FOUND:
                return None
            raise
        raw, pending = model.parse_pending_text(out)
        return raw, pending, None

    def read_lxc(self, vmid, node=None):
        return self.read_config(vmid, node)[1]

    def read_config(self, vmid, node=None):
        """``pct config`` (pending values merged): (raw dict, raw lxc list)."""
        out, _err = self._run([self.pct, "config", str(vmid)], read=True)
        return model.parse_config_text(out)

    def nextid(self):
        pvesh = self.module.get_bin_path("pvesh", required=False) or "pvesh"
        out, _err = self._run([pvesh, "get", "/cluster/nextid", "--output-format", "json"], read=True)
        try:
            return int(json.loads(out))
        except (TypeError, ValueError):
            raise LxcriError("could not read the next free vmid from 'pvesh get /cluster/nextid': %r" % (out,), errors.RUNTIME_ERROR) from None

    # -- mutating operations: each returns the argv shown in ``actions``; runs unless check --------------------
    def create(self, vmid, ostemplate, params, password=None, ssh_public_keys=None, node=None, check=False):
        argv = [self.pct, "create", str(vmid), ostemplate]
        for key in sorted(params):
            argv += ["--%s" % key, params[key]]
        shown = list(argv)
        keyfile = None
        if password is not None:
            argv += ["--password", password]
            shown += ["--password", HIDDEN]
        try:
            if ssh_public_keys is not None:
                if check:
                    shown += ["--ssh-public-keys", "<temporary file>"]
                else:
                    handle, keyfile = tempfile.mkstemp(prefix="lxcri-ssh-keys-")
                    with os.fdopen(handle, "w") as stream:
                        stream.write(ssh_public_keys.rstrip("\n") + "\n")
                    argv += ["--ssh-public-keys", keyfile]
                    shown += ["--ssh-public-keys", keyfile]
            if not check:
                self._run(argv, shown=shown, timeout=self.timeout, task=True)
        finally:
            if keyfile:
                os.unlink(keyfile)
        return shown

    def update(self, vmid, values, delete, digest=None, node=None, check=False):
        argv = [self.pct, "set", str(vmid)]
        for key in sorted(values):
            argv += ["--%s" % key, values[key]]
        if delete:
            argv += ["--delete", ",".join(sorted(delete))]
        if digest:
            argv += ["--digest", digest]
        if not check:
            self._run(argv, timeout=self.timeout)
        return argv

    def resize(self, vmid, disk, size, node=None, check=False):
        argv = [self.pct, "resize", str(vmid), disk, size]
        if not check:
            self._run(argv, timeout=self.timeout, task=True)
        return argv

    def _simple(self, argv, check, timeout=None):
        if not check:
            self._run(argv, timeout=timeout or self.timeout, task=True)
        return argv

    def start(self, vmid, node=None, check=False):
        return self._simple([self.pct, "start", str(vmid)], check)

    def shutdown(self, vmid, timeout, node=None, check=False):
        return self._simple([self.pct, "shutdown", str(vmid), "--timeout", str(int(timeout)), "--forceStop", "1"], check, timeout + 30)

    def stop(self, vmid, node=None, check=False):
        return self._simple([self.pct, "stop", str(vmid)], check)

    def reboot(self, vmid, timeout, node=None, check=False):
        return self._simple([self.pct, "reboot", str(vmid), "--timeout", str(int(timeout))], check, timeout + 60)

    def destroy(self, vmid, purge, node=None, check=False):
        argv = [self.pct, "destroy", str(vmid)]
        if purge:
            argv += ["--purge", "1"]
        return self._simple(argv, check)

    def template(self, vmid, node=None, check=False):
        return self._simple([self.pct, "template", str(vmid)], check)

    def set_password(self, vmid, password=None, ssh_public_keys=None, node=None, check=False):
        """Root password / authorized_keys of an existing, running CT (``update_password: always``)."""
        shown = []
        if password is not None:
            # chpasswd where the CT has it (Debian & co.), else passwd reading stdin (busybox); the
            # password only ever travels on stdin, never in an argv.
            argv = [self.pct, "exec", str(vmid), "--", "sh", "-c", _SET_PASSWORD_SCRIPT]
            shown.append(argv)
            if not check:
                self._run(argv, data="root:%s\n" % password)
        if ssh_public_keys is not None:
            argv = [self.pct, "exec", str(vmid), "--", "sh", "-c", "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys"]
            shown.append(argv)
            if not check:
                self._run(argv, data=ssh_public_keys.rstrip("\n") + "\n")
        return [" ".join(item) for item in shown]

    def conf_path(self, vmid):
        return os.path.join(pve_dir(), "nodes", self.node, "lxc", "%s.conf" % vmid)

    def set_raw_lxc(self, vmid, entries, node=None, check=False):
        """Rewrite the raw ``lxc.*`` lines of the config file (neither pct set nor the API can)."""
        path = self.conf_path(vmid)
        shown = ["edit", path, "lxc.* = %s" % json.dumps(entries)]
        if check:
            return shown
        try:
            with open(path) as stream:
                text = stream.read()
            new = conffile.replace_raw_lxc(text, entries)
            tmp = path + ".lxcri.tmp"
            with open(tmp, "w") as stream:
                stream.write(new)
            os.rename(tmp, path)
        except OSError as exc:
            raise LxcriError("could not edit raw lxc.* keys in %s: %s" % (path, exc), errors.RUNTIME_ERROR) from exc
        return shown


def vmid_text(vmid):
    return str(vmid) if re.match(r"^\d+$", str(vmid)) else None
