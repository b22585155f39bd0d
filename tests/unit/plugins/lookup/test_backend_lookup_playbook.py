# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lookup as users call it: ansible-playbook, an inventory with groups and group_vars, host=."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_backend_lookup import collections_root  # noqa: E402  pylint: disable=wrong-import-position

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

INVENTORY = """
[pve]
pve1 lxcri_backend=
pve2

[edge]
edge1

[edge:vars]
lxcri_default_backend=runc
"""

GROUP_VARS_ALL = """
site_oci_backend: crun
lxcri_routing:
  - name: kube
    containers: ["kube-ovn-*", "re:cilium-[a-z]+"]
    backend: "{{ site_oci_backend }}"
  - name: pve2-db
    hosts: pve2
    containers: "re:db-[0-9]+"
    backend: runc
"""

PLAY = """
- name: Route
  hosts: all
  gather_facts: false
  tasks:
    - name: Record decisions
      ansible.builtin.set_fact:
        decisions:
          here: "{{ query('lxcri.containers.backend', 'kube-ovn-1', 'db-1', 'web', explain=true) }}"
          pve2_from_here: "{{ lookup('lxcri.containers.backend', 'db-7', host='pve2') }}"
          spec: "{{ lookup('lxcri.containers.backend', {'name': 'web', 'backend': 'runc'}) }}"
    - name: Write them
      ansible.builtin.copy:
        content: "{{ decisions | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0644"
      delegate_to: localhost
"""


def play(tmp_path, inventory=INVENTORY, group_vars=GROUP_VARS_ALL, playbook=PLAY):
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(textwrap.dedent(group_vars))
    (tmp_path / "hosts.ini").write_text(textwrap.dedent(inventory))
    (tmp_path / "play.yml").write_text(textwrap.dedent(playbook))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    cmd = [ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "hosts.ini"), "-c", "local", "-e", "out_dir=%s" % tmp_path,
           "-e", "ansible_python_interpreter=%s" % sys.executable, str(tmp_path / "play.yml")]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook is not installed next to this Python")
def test_lookup_under_ansible_playbook(tmp_path):
    result = play(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    got = {host: json.loads((tmp_path / ("%s.json" % host)).read_text()) for host in ("pve1", "pve2", "edge1")}

    kube = {"backend": "crun", "rule": "kube",
            "reason": "lxcri_routing[0] (kube) matched: container 'kube-ovn-1' matches 'kube-ovn-*'"}
    # pve1: empty lxcri_backend counts as unset; templated rule backend from group_vars is rendered
    assert got["pve1"]["here"] == [
        kube,
        {"backend": "lxc", "rule": "lxcri_default_backend",
         "reason": "no rule in lxcri_routing matched container 'db-1' on host 'pve1'; the built-in default is 'lxc'"},
        {"backend": "lxc", "rule": "lxcri_default_backend",
         "reason": "no rule in lxcri_routing matched container 'web' on host 'pve1'; the built-in default is 'lxc'"},
    ]
    # pve2: the host-and-container rule
    assert got["pve2"]["here"][1] == {
        "backend": "runc", "rule": "pve2-db",
        "reason": "lxcri_routing[1] (pve2-db) matched: container 'db-1' matches 're:db-[0-9]+'; host 'pve2' matches 'pve2'",
    }
    # edge1: group vars give another default
    assert [d["backend"] for d in got["edge1"]["here"]] == ["crun", "runc", "runc"]
    # host= routes with that host's name and variables, from any host
    assert {got[h]["pve2_from_here"] for h in got} == {"runc"}
    assert {got[h]["spec"] for h in got} == {"runc"}


@pytest.mark.skipif(not os.path.exists(ANSIBLE_PLAYBOOK), reason="ansible-playbook is not installed next to this Python")
def test_lookup_error_names_the_rule_in_the_task_failure(tmp_path):
    group_vars = """
    lxcri_routing:
      - name: good
        containers: "a-*"
        backend: crun
      - name: broken
        containers: "re:kube-(ovn"
        backend: crun
    """
    playbook = """
    - name: Route
      hosts: pve1
      gather_facts: false
      tasks:
        - name: Route one
          ansible.builtin.debug:
            msg: "{{ lookup('lxcri.containers.backend', 'a-1') }}"
    """
    result = play(tmp_path, group_vars=group_vars, playbook=playbook)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "lxcri_routing[1] (broken).containers[0]: pattern 're:kube-(ovn' is not a valid regular expression" in result.stdout + result.stderr
