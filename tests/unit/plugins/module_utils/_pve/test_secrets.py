# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No secret (root password, API password or token secret, environment values) is ever shown.

Every run goes through the real transports to pvesim; what is searched is everything a user or
another user of the node can see: each argv (``ps``, ``/proc/<pid>/cmdline``), ``actions``,
``diff``, ``config``, warnings, and on failure the message and every detail.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.lxcri.containers.plugins.module_utils._common.errors import LxcriError
from ansible_collections.lxcri.containers.plugins.module_utils._pve.manager import Manager
from ansible_collections.lxcri.containers.plugins.modules.pve_container import argument_spec
from ansible_collections.lxcri.containers.tests.unit.plugins.module_utils._pve.pvesim_node import PveNode

ROOT_PASSWORD = "Root-Pw-9f3a"
ENV_SECRET = "Env-Secret-77c1"
API_PASSWORD = "Api-Pw-0b2e"
TOKEN_SECRET = "3f1c2d4e-token-secret"
SECRETS = (ROOT_PASSWORD, ENV_SECRET, API_PASSWORD, TOKEN_SECRET)


def params(**kwargs):
    base = dict((key, spec.get("default")) for key, spec in argument_spec().items())
    base.update(kwargs)
    return base


def transports(node):
    """(name, factory) for pct, the API with a password login, and the API with a token."""
    return (
        ("pct", node.pct_transport),
        ("api password", lambda: node.api_transport(user="root@pam", api_password=API_PASSWORD)),
        ("api token", lambda: node.api_transport(api_token_id="root@pam!ansible", api_token_secret=TOKEN_SECRET)),
    )


def visible(result=None, error=None, warnings=()):
    shown = {"warnings": list(warnings)}
    if result is not None:
        shown.update(actions=result["actions"], diff=result.get("diff"), config=result["config"], reads=result["reads"])
    if error is not None:
        shown.update(msg=error.msg, details=error.details, cmd=error.cmd, stdout=error.stdout, stderr=error.stderr)
    return json.dumps(shown, default=str)


def assert_hidden(node, text):
    for secret in SECRETS:
        assert secret not in text
        assert not any(secret in arg for argv in node.argvs for arg in argv), secret


@pytest.mark.parametrize("which", [0, 1, 2])
def test_no_secret_in_argv_actions_diff_config_warnings_or_errors(tmp_path, monkeypatch, which):
    node = PveNode(tmp_path, monkeypatch)
    name, make = transports(node)[which]
    raw = [["lxc.environment", "DB_PASSWORD=%s" % ENV_SECRET]] if name == "pct" else None
    spec = dict(vmid=150, hostname="vault", ostemplate=node.template, storage="local-lvm", rootfs="1G", password=ROOT_PASSWORD,
                ssh_public_keys="ssh-ed25519 AAAAC3Nza user@host", lxc=raw, state="started")
    warnings = []
    for check in (True, False, False):
        result = Manager(make(), params(**spec), check_mode=check, warn=warnings.append).run()
        assert_hidden(node, visible(result, warnings=warnings))
    changed = dict(spec)
    changed.update({"memory": 2048, "lxc": [["lxc.environment", "DB_PASSWORD=%s-2" % ENV_SECRET]] if raw else None})
    result = Manager(make(), params(**changed), warn=warnings.append).run()
    assert result["changed"]
    assert_hidden(node, visible(result, warnings=warnings))
    if name == "pct":
        always = params(**changed)
        always["update_password"] = "always"
        result = Manager(make(), always, check_mode=True).run()
        assert_hidden(node, visible(result))
    # Failures: Proxmox refusing the create (unknown storage), and a local check refusing the password.
    for bad in (dict(spec, vmid=151, hostname="vault2", storage="nosuchstore"), dict(spec, vmid=152, password=ROOT_PASSWORD + "\n")):
        with pytest.raises(LxcriError) as err:
            Manager(make(), params(**bad), warn=warnings.append).run()
        assert_hidden(node, visible(error=err.value, warnings=warnings))
    # The secrets did reach Proxmox, only through stdin or the HTTPS body.
    if name == "pct":
        assert "%s\n%s\n" % (ROOT_PASSWORD, ROOT_PASSWORD) in node.stdins
        assert "DB_PASSWORD=%s-2" % ENV_SECRET in node.conf_text(150)
    else:
        assert any(body.get("password") == ROOT_PASSWORD for _method, _path, body in node.bodies)
