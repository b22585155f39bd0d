# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ``pct`` transport: commands on the Proxmox node through ``module.run_command``.

``CliGuestTransport`` is what ``pct`` and ``qm`` share (same CLI machinery: in-process API calls,
sync workers, the same subcommands for status, pending, set, resize, start/stop/shutdown/reboot,
destroy and template); ``PctTransport`` adds what only CTs have, ``_pvevm.transport_qm`` what only
VMs have.  Implements the exact pct contract: tasks run synchronously and print no UPID;
task output is on stdout, the error on stderr; ``resize``/``template`` exit 0
even when their task fails, so their stderr is checked too; pre-worker errors
exit non-zero with no fixed value.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve import conffile, messages, model

# Subcommands whose failed task still exits 0 (contract 0.2).
_EXIT0_ON_TASK_FAILURE = ("resize", "template", "push", "pull")


def parse_list(text: str) -> list[dict]:
    """``pct list`` -> [{vmid, status, lock, name}].

    pct prints ``%-10s %-10s %-12s %-20s`` (VMID, Status, Lock, Name): a lock longer than its
    column (``snapshot-delete``) shifts the name, so rows are split on whitespace.  Names hold
    no spaces (DNS names); the lock column is empty for most rows, so a row has 3 or 4 fields.
    """
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or not fields[0].isdigit():
            continue
        if len(fields) == 4:
            vmid, status, lock, name = fields
        elif len(fields) == 3:
            (vmid, status, name), lock = fields, None
        elif len(fields) == 2:
            (vmid, status), lock, name = fields, None, ""
        else:
            raise LxcriError("cannot parse this 'pct list' row: %r" % line, errors.RUNTIME_ERROR)
        rows.append({"vmid": int(vmid), "status": status, "lock": lock, "name": name})
    return rows


def pve_dir():
    """``/etc/pve`` (pmxcfs); ``PVESIM_STATE_DIR`` points at a simulated node's copy in tests."""
    return os.environ.get("PVESIM_STATE_DIR") or "/etc/pve"


def host_root() -> str:
    """``/`` on a node; a simulated node's host paths live under ``<state>/.host``."""
    state = os.environ.get("PVESIM_STATE_DIR")
    return os.path.join(state, ".host") if state else "/"


def config_lock_path(vmid: int) -> str:
    """The flock pct and the API take around every config change (PVE::LXC::Config ``lock_config``)."""
    return os.path.join(host_root(), "run/lock/lxc/pve-config-%d.lock" % int(vmid))


def local_node(transport: str = "pct") -> str:
    """The local node's name as pmxcfs knows it: ``/etc/pve/local`` links to ``nodes/<node>``.

    Not the host name: a node renamed in the cluster, or a host name with a different case,
    would make the module act on one node while reporting another.
    """
    path = os.path.join(pve_dir(), "local")
    try:
        name = os.path.basename(os.readlink(path).rstrip("/"))
    except OSError as exc:
        raise LxcriError("cannot tell the local Proxmox node's name: %s is not readable (%s); transport: %s runs on a "
                         "Proxmox VE node" % (path, exc.strerror, transport), errors.RUNTIME_MISSING) from None
    if not name:
        raise LxcriError("cannot tell the local Proxmox node's name from %s" % path, errors.RUNTIME_MISSING)
    return name


_CHANGE_ROOT_LOGIN_SH = (
    "if command -v chpasswd >/dev/null 2>&1; then chpasswd; "
    "else IFS= read -r line; pw=${line#root:}; printf '%s\\n%s\\n' \"$pw\" \"$pw\" | passwd -a sha512 root >/dev/null; fi"
)


class CliGuestTransport:
    """The commands ``pct`` and ``qm`` share, run on the local node; ``tool`` names the command, ``word`` the guest (CT/VM)."""

    name = "pct"
    tool = "pct"
    word = "CT"
    supports_raw_lxc = False
    supports_password_update = False
    config_format = conffile.CT_FORMAT
    # Subcommands whose failed task still exits 0 (contract 0.2).
    exit0_on_task_failure = _EXIT0_ON_TASK_FAILURE

    def __init__(self, module, node=None, timeout=300):
        self.module = module
        self.cli = module.get_bin_path(self.tool, required=False) or self.tool
        self.timeout_bin = module.get_bin_path("timeout", required=False)
        self.node = local_node(self.name)
        if node and node != self.node:
            raise errors.invalid_argument("node", "%r is not this node: transport %s acts on the local node %r only; set node: %s, "
                                                  "or use transport: api for another node" % (node, self.name, self.node, self.node))
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
            raise LxcriError("'%s' did not finish within timeout=%ss (%s prints no UPID; last output: %s)"
                             % (" ".join(shown[:3]), timeout, self.tool, " | ".join((out or "").strip().splitlines()[-10:]) or "none"),
                             errors.TIMEOUT, cmd=shown, rc=rc, stdout=out, stderr=err)
        if rc != 0:
            kind = messages.classify(err + "\n" + out, errors.TASK_FAILED if task else errors.RUNTIME_ERROR)
            missing = messages.missing(err) if kind == errors.NOT_FOUND else None
            raise LxcriError(messages.error_message(err) or messages.first_error(out) or "%s exited with %s" % (shown[0], rc),
                             kind, cmd=shown, rc=rc, stdout=out, stderr=err, details={"missing": missing} if missing else None)
        if len(argv) > 1 and argv[1] in self.exit0_on_task_failure and messages.error_lines(err):
            raise LxcriError(messages.error_lines(err)[-1], messages.classify(err, errors.TASK_FAILED), cmd=shown, rc=rc, stdout=out, stderr=err)
        if not read:
            self.warnings.extend("%s: %s" % (" ".join(shown[1:3]), line.strip()) for line in (out or "").splitlines()
                                 if line.startswith("WARN: "))
        return out, err

    # -- reads -----------------------------------------------------------------------
    def status(self, vmid, node=None):
        """Live status of one guest (``pct status``/``qm status``): {status, lock}."""
        out, _err = self._run([self.cli, "status", str(vmid)], read=True)
        match = re.search(r"^status:\s*(\S+)", out, re.MULTILINE)
        return {"status": match.group(1) if match else None, "lock": None}

    def config_directory(self) -> str:
        """This node's config files of the guest type, as pmxcfs shows them."""
        return os.path.join(pve_dir(), "nodes", self.node, self.config_format.directory)

    def config_file(self, vmid) -> str:
        return os.path.join(self.config_directory(), "%s.conf" % vmid)

    @property
    def reads_digest(self) -> bool:
        """Reads give the digest where the config files are readable; ``pct``/``qm pending`` never print it."""
        return os.path.isdir(self.config_directory())

    def read_digest(self, vmid, node=None):
        found = self.read(vmid, node)
        return found[2] if found else None

    def read(self, vmid, node=None):
        """Pending view of the config: (raw dict, pending keys, digest), or None when the guest does not exist.

        Read from the config file where this node's pmxcfs directory is readable: one file read instead of a
        Perl start, and the file's SHA-1 is the digest the writes send.  Elsewhere ``pct``/``qm pending``,
        which never prints the digest (GuestHelpers::format_pending skips it): writes then go without one.
        """
        path = self.config_file(vmid)
        if self.reads_digest:
            self.reads.append(["read", path])
            found = conffile.read_pending_view(path, self.config_format)
            return None if found is None else found[:3]
        try:
            out, _err = self._run([self.cli, "pending", str(vmid)], read=True)
        except LxcriError as exc:
            if exc.error_kind == errors.NOT_FOUND:
                return None
            raise
        raw, pending = model.parse_pending_text(out)
        return raw, pending, None

    def nextid(self):
        pvesh = self.module.get_bin_path("pvesh", required=False) or "pvesh"
        out, _err = self._run([pvesh, "get", "/cluster/nextid", "--output-format", "json"], read=True)
        try:
            return int(json.loads(out))
        except (TypeError, ValueError):
            raise LxcriError("could not read the next free vmid from 'pvesh get /cluster/nextid': %r" % (out,), errors.RUNTIME_ERROR) from None

    # -- mutating operations: each returns the argv shown in ``actions``; runs unless check --------------------
    def update(self, vmid, values, delete, digest=None, node=None, check=False):
        tail = []
        if delete:
            tail += ["--delete", ",".join(sorted(delete))]
        if digest:
            tail += ["--digest", digest]
        shown = self._write([self.cli, "set", str(vmid)], values, tail, check)
        if digest:
            # by name, as the API transport shows it: check mode cannot know a clone's digest
            index = shown.index("--digest")
            shown[index + 1] = conffile.DIGEST_SHOWN
        return shown

    def _write(self, head, values, tail, check, task=False):
        """Run ``head --key value … tail``; returns the argv shown.  ``qm`` overrides it to keep its secrets out of the argv."""
        argv = list(head)
        for key in sorted(values):
            argv += ["--%s" % key, values[key]]
        argv += tail
        if not check:
            self._run(argv, timeout=self.timeout, task=task)
        return argv

    def resize(self, vmid, disk, size, node=None, check=False):
        argv = [self.cli, "resize", str(vmid), disk, size]
        if not check:
            self._run(argv, timeout=self.timeout, task=True)
        return argv

    def _run_with_secrets(self, argv, check, keys_option, keys, password_option, password, task=True):
        """Run ``argv`` with ``keys`` in a temporary file (``keys_option <file>``) and ``password`` on stdin: a bare
        ``password_option``, last so it takes no value, makes pct/qm read it from stdin, twice as they may confirm it
        (PVE::PTY::get_confirmed_password).  Neither is ever in an argv.  Returns the argv shown."""
        argv, shown = list(argv), list(argv)
        with contextlib.ExitStack() as cleanup:
            if keys is not None:
                argv += [keys_option, TEMPORARY_FILE_SHOWN if check else cleanup.enter_context(_secret_file(keys))]
                shown += [keys_option, TEMPORARY_FILE_SHOWN]
            stdin = None
            if password is not None:
                argv.append(password_option)
                shown.append(password_option)
                stdin = "%s\n%s\n" % (password, password)
            if not check:
                self._run(argv, shown=shown, data=stdin, timeout=self.timeout, task=task)
        return shown

    def _simple(self, argv, check, timeout=None):
        if not check:
            self._run(argv, timeout=timeout or self.timeout, task=True)
        return argv

    def start(self, vmid, node=None, check=False):
        return self._simple([self.cli, "start", str(vmid)], check)

    def shutdown(self, vmid, timeout, node=None, check=False):
        return self._simple([self.cli, "shutdown", str(vmid), "--timeout", str(int(timeout)), "--forceStop", "1"], check, timeout + 30)

    def stop(self, vmid, node=None, check=False):
        return self._simple([self.cli, "stop", str(vmid)], check)

    def reboot(self, vmid, timeout, node=None, check=False):
        return self._simple([self.cli, "reboot", str(vmid), "--timeout", str(int(timeout))], check, timeout + 60)

    def destroy(self, vmid, purge, node=None, check=False):
        argv = [self.cli, "destroy", str(vmid)]
        if purge:
            argv += ["--purge", "1"]
        return self._simple(argv, check)

    def template(self, vmid, node=None, check=False):
        return self._simple([self.cli, "template", str(vmid)], check)


class PctTransport(CliGuestTransport):
    """``pct``: the shared commands plus what only CTs have (ostemplate create, raw ``lxc.*`` keys, the root password)."""

    name = "pct"
    tool = "pct"
    word = "CT"
    supports_raw_lxc = True
    supports_password_update = True

    def list(self):
        out, _err = self._run([self.cli, "list"], read=True)
        rows = parse_list(out)
        for row in rows:
            row["node"] = self.node
        return rows

    def read_lxc(self, vmid, node=None):
        """The raw ``lxc.*`` lines of the main section, read from the config file (no command to run)."""
        try:
            with open(self.config_file(vmid)) as stream:
                return conffile.parse_conf(stream.read()).get("", {}).get("lxc", [])
        except OSError as exc:
            raise LxcriError("could not read %s: %s" % (self.config_file(vmid), exc.strerror), errors.RUNTIME_ERROR) from exc

    def read_config(self, vmid, node=None):
        """``pct config`` (pending values merged): (raw dict, raw lxc list)."""
        out, _err = self._run([self.cli, "config", str(vmid)], read=True)
        return model.parse_config_text(out)

    def create(self, vmid, ostemplate, params, password=None, ssh_public_keys=None, node=None, check=False):
        argv = [self.cli, "create", str(vmid), ostemplate]
        for key in sorted(params):
            argv += ["--%s" % key, params[key]]
        keys = ssh_public_keys.rstrip("\n") + "\n" if ssh_public_keys is not None else None
        return self._run_with_secrets(argv, check, "--ssh-public-keys", keys, "--password", password)

    def set_password(self, vmid, password=None, ssh_public_keys=None, node=None, check=False):
        """Root password / authorized_keys of an existing, running CT (``update_password: always``)."""
        shown = []
        if password is not None:
            # chpasswd where the CT has it (Debian & co.), else passwd reading stdin (busybox); the
            # password only ever travels on stdin, never in an argv.
            argv = [self.cli, "exec", str(vmid), "--", "sh", "-c", _CHANGE_ROOT_LOGIN_SH]
            shown.append(argv)
            if not check:
                self._run(argv, data="root:%s\n" % password)
        if ssh_public_keys is not None:
            argv = [self.cli, "exec", str(vmid), "--", "sh", "-c", "umask 077 && mkdir -p /root/.ssh && cat > /root/.ssh/authorized_keys"]
            shown.append(argv)
            if not check:
                self._run(argv, data=ssh_public_keys.rstrip("\n") + "\n")
        return [" ".join(item) for item in shown]

    def set_raw_lxc(self, vmid, entries, node=None, check=False, shown_entries=None):
        """Rewrite the raw ``lxc.*`` lines of the config file (neither pct set nor the API can).

        Like every pct write it holds the CT's config flock (PVE::LXC::Config ``lock_config``, 10 s
        as PVE waits) and refuses a CT whose config carries ``lock:`` (``check_lock``), so a
        backup, snapshot or migration is never edited under; both are ``locked`` errors the
        caller retries.  ``shown_entries`` is what ``actions`` shows (secrets masked).
        """
        path = self.config_file(vmid)
        shown = ["edit", path, "lxc.* = %s" % json.dumps(shown_entries if shown_entries is not None else entries)]
        if check:
            return shown
        try:
            with _config_lock(vmid, LOCK_WAIT):
                with open(path) as stream:
                    text = stream.read()
                lock = conffile.parse_conf(text).get("", {}).get("raw", {}).get("lock")
                if lock:
                    raise LxcriError("CT %s is locked (%s): not editing its raw lxc.* keys" % (vmid, lock), errors.LOCKED, cmd=shown)
                new = conffile.replace_raw_lxc(text, entries)
                handle, tmp = tempfile.mkstemp(prefix=".%s.lxcri-" % os.path.basename(path), dir=os.path.dirname(path))
                try:
                    with os.fdopen(handle, "w") as stream:
                        stream.write(new)
                    os.chmod(tmp, 0o640)
                    os.rename(tmp, path)
                except BaseException:
                    os.unlink(tmp)
                    raise
        except OSError as exc:
            raise LxcriError("could not edit raw lxc.* keys in %s: %s" % (path, exc), errors.RUNTIME_ERROR) from exc
        return shown


LOCK_WAIT = 10
TEMPORARY_FILE_SHOWN = "<temporary file>"


@contextlib.contextmanager
def _secret_file(text: str) -> Iterator[str]:
    """A ``mkstemp`` file (mode 0600 from creation) holding ``text``, removed on exit."""
    handle, path = tempfile.mkstemp(prefix="lxcri-keys-")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        yield path
    finally:
        os.unlink(path)


@contextlib.contextmanager
def _config_lock(vmid: int, wait: float) -> Iterator[None]:
    """Hold the CT's config flock, giving up as pct does (``can't lock file ... - got timeout``, error_kind locked)."""
    path = config_lock_path(vmid)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LxcriError("can't lock file '%s' - got timeout" % path, errors.LOCKED) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(handle)
