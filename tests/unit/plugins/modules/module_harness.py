# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module the way Ansible does, or capture what it passes to AnsibleModule."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run_module_process(name, args, tmp_path, path=None):
    """Run module ``name`` in a child python with an args JSON file; return its JSON result."""
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    if path is not None:
        env["PATH"] = path
    done = subprocess.run(
        [sys.executable, "-m", "ansible_collections.lxcri.containers.plugins.modules." + name, str(args_file)],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    return json.loads(done.stdout.decode())


def ansible_module_kwargs(module, monkeypatch):
    """The keyword arguments ``module.main()`` gives ``AnsibleModule`` (argument_spec, supports_check_mode ...)."""
    captured = {}

    class Stop(Exception):
        pass

    def fake(**kwargs):
        captured.update(kwargs)
        raise Stop()

    monkeypatch.setattr(module, "AnsibleModule", fake)
    with pytest.raises(Stop):
        module.main()
    return captured
