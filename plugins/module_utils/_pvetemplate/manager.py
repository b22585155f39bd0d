# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Read the storage, plan, run (unless check mode), read back and verify.

Idempotency: a present template is left alone when its checksum equals the wanted one
(when the file can be read on the node: ``pvesm path``), otherwise when its size equals the
source file's (uploads), otherwise when it is present (catalogue templates: their names
carry the version).  ``verified`` in the result says which of the three was used.
"""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._common import errors
from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._common.executor import Executor
from ansible_collections.lxcri.containers.plugins.module_utils._common.plan import Plan
from ansible_collections.lxcri.containers.plugins.module_utils._pvetemplate import model


def _fmt(checksum):
    return "%s:%s" % checksum if checksum else None


class TemplateManager:
    def __init__(self, templates, desired, check_mode=False, warn=None):
        self.t = templates
        self.d = desired
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)

    def _current(self, wanted_algorithm=None):
        d = self.d
        listing = self.t.list(d.storage)
        present = d.name in listing
        checksum = None
        path = self.t.local_path(d.storage, d.name) if present else None
        if path and wanted_algorithm:
            try:
                checksum = (wanted_algorithm, model.file_digest(path, wanted_algorithm))
            except OSError:
                path = None
        return model.state_of(d.volid, d.storage, d.name, present, listing.get(d.name), _fmt(checksum)), path

    def _catalogue_entry(self, plan, needed):
        """The catalogue record of the template; refreshes the index once (pct) when it is missing."""
        d = self.d
        entry = self.t.catalogue().get(d.name)
        if entry is not None or not needed:
            return entry
        if not (d.update_catalogue and self.t.can_update_catalogue):
            raise LxcriError("template %s is not in the appliance catalogue of node %s%s" % (
                d.name, self.t.node, "" if self.t.can_update_catalogue else " (the API cannot refresh it: run 'pveam update' on the node)"),
                errors.NOT_FOUND, details={"field": "name"})
        # Run while planning: what follows depends on the refreshed index.
        self.executor.record("update_catalogue", "refresh the appliance catalogue (pveam update)",
                             self.t.update_catalogue(check=True), run=self.t.update_catalogue)
        if self.check_mode:
            return {"sha512": None, "predicted": True}
        entry = self.t.catalogue().get(d.name)
        if entry is None:
            raise LxcriError("template %s is not in the appliance catalogue of node %s, even after 'pveam update' "
                             "(list them with 'pveam available'; or give src to upload a file)" % (d.name, self.t.node),
                             errors.NOT_FOUND, details={"field": "name"})
        return entry

    def run(self):
        d = self.d
        wanted = d.checksum
        algorithm = wanted[0] if wanted else ("sha512" if d.source == "catalogue" else None)
        before, path = self._current(algorithm)
        plan = Plan(before=before)
        self.executor = Executor(plan, self.check_mode)
        verified = "presence"

        if d.state == "absent":
            after = model.state_of(d.volid, d.storage, d.name, False)
            plan.after = after
            if before["present"]:
                plan.add("remove", "remove %s" % d.volid, self.t.remove(d.storage, d.name, check=True),
                         run=lambda: self.t.remove(d.storage, d.name))
            return self._finish(plan, before, after, verified)

        entry = None
        if d.source == "catalogue":
            entry = self._catalogue_entry(plan, needed=not before["present"])
            if not wanted and entry and entry.get("sha512"):
                wanted = ("sha512", entry["sha512"])
        replace = False
        if before["present"]:
            if path is not None and wanted and before["checksum"]:
                verified = "checksum"
                replace = before["checksum"] != _fmt(wanted)
            elif d.src:
                verified = "size"
                replace = before["size"] != d.src_size
        after = model.state_of(d.volid, d.storage, d.name, True, d.src_size if d.src else before["size"], _fmt(wanted))
        if before["present"] and not replace:
            after = dict(before)
            plan.after = after
            return self._finish(plan, before, after, verified)
        plan.after = after
        if d.source == "catalogue":
            if replace:
                plan.add("remove", "remove %s (its %s differs from the catalogue's)" % (d.volid, wanted[0]), self.t.remove(d.storage, d.name, check=True),
                         run=lambda: self.t.remove(d.storage, d.name))
            plan.add("download", "download %s from the appliance catalogue into storage %s" % (d.name, d.storage),
                     self.t.download(d.storage, d.name, check=True), run=lambda: self.t.download(d.storage, d.name))
        else:
            plan.add("upload", "%s %s from %s (%s)" % ("replace" if replace else "upload", d.volid, d.src, _fmt(wanted)),
                     self.t.upload(d.storage, d.name, d.src, wanted, check=True), run=lambda: self.t.upload(d.storage, d.name, d.src, wanted))
        return self._finish(plan, before, after, verified, wanted)

    def _finish(self, plan, before, after, verified, wanted=None):
        d = self.d
        if plan.changed and not self.check_mode:
            self.executor.execute()
            with self.executor.recording():
                after, verified = self._verify(plan, wanted, verified)
            plan.after = after
        result = plan.result()
        result.update({"template": after, "volid": d.volid, "source": d.source, "verified": verified})
        if d.state == "absent":
            result["verified"] = "presence"
        return result

    def _verify(self, plan, wanted, verified):
        """Read the storage back after applying: ``(after, verified)``; ``task_failed`` when it does not hold what was asked."""
        d = self.d
        after, _path = self._current(wanted[0] if wanted else None)
        if d.state == "present":
            if not after["present"]:
                raise LxcriError("%s is not in storage %s after the %s" % (d.volid, d.storage, plan.actions[-1].kind), errors.TASK_FAILED)
            if wanted and after["checksum"] and after["checksum"] != _fmt(wanted):
                raise LxcriError("checksum mismatch: %s has %s, expected %s" % (d.volid, after["checksum"], _fmt(wanted)), errors.TASK_FAILED)
            if after["checksum"]:
                verified = "checksum"
            elif wanted:
                after["checksum"] = _fmt(wanted)
        elif after["present"]:
            raise LxcriError("%s is still in storage %s after removing it" % (d.volid, d.storage), errors.TASK_FAILED)
        return after, verified
