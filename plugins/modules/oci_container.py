#!/usr/bin/python
# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: oci_container
short_description: Manage an OCI container on crun or runc from a bundle
version_added: 0.1.0
description:
  - Converges one OCI container, identified by O(name), to a declared O(state) by driving C(crun) or C(runc) directly.
  - The container is created from an OCI bundle, a directory holding C(config.json) and the root file system it names.
  - The module keeps a record of the canonical C(config.json) each container was created from (its SHA-256 digest and
    the runtime's C(created) timestamp) in a directory beside the runtime's state root,
    C(<dirname(root)>/lxcri-oci/<basename(root)>-<hash>/). When the bundle's C(config.json) changes, the container is
    recreated (or, with O(recreate=false), the difference is reported as RV(drift)). A container that exists without a
    matching record (created by hand, or recreated outside this module) has an unknown config and is treated the same way.
  - When the container is already in the desired state and its config is unchanged, the module makes exactly one runtime
    call (C(state)) and reports no change.
  - The container's stdio never inherits the module's pipes. Its stdin is C(/dev/null) and its stdout and stderr are
    appended to O(log_path). The runtime's own messages go to a JSON log file beside the record, and its errors appear in
    the failure message.
  - Two runs on the same container do not race; the second waits on a per-container lock (see O(lock_timeout)).
  - Failures return an C(error_kind) (C(invalid_argument), C(not_found), C(runtime_missing), C(unsupported_host),
    C(runtime_error), C(timeout), C(locked), C(conflict)). Invalid parameters, a missing bundle or C(config.json), and
    a missing runtime fail before any command runs. A failure after a command ran also returns C(actions) (the steps that
    finished) and C(failed_action) (the step that failed, with its C(kind), C(description) and C(argv)).
author:
  - lxcri.containers contributors (@lxcri)
extends_documentation_fragment:
  - lxcri.containers.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode makes the same plan and at most one read-only C(state) call; it writes no lock, record or log file.
  diff_mode:
    support: full
    details:
      - The diff shows the container status before and after, and the C(config.json) keys (two levels deep, such as
        C(process.args)) that change when the container is (re)created. Values of C(process.env) are shown as hashes.
options:
  name:
    description:
      - The container id.
      - Letters, digits, V(_), V(.) and V(-) only, at most 64 characters, not V(.) or V(..) (what both runtimes accept).
    type: str
    required: true
  state:
    description:
      - V(present) makes sure the container exists; a new container is created but its process is not started. An
        existing container in any status satisfies it (a running one keeps running).
      - V(started) makes sure the process runs. A created container is started, a paused one resumed, and a stopped one
        deleted, created again and started (OCI cannot start a stopped container).
      - V(stopped) makes sure the container exists and its process does not run. A running container gets O(stop_signal),
        O(stop_timeout) seconds to exit, then C(SIGKILL). A missing container is created and not started.
      - V(restarted) always stops and deletes the container if it runs, then creates and starts it again; a created
        container is just started. It always reports a change.
      - V(absent) stops the container as V(stopped) does, then deletes it and its record.
      - When the config changed (and O(recreate=true)), V(present), V(started), V(stopped) and V(restarted) recreate the
        container; V(present) starts the new one again if the old one was running, V(stopped) leaves it created.
    type: str
    choices: [present, started, stopped, restarted, absent]
    default: started
  runtime:
    description:
      - The OCI runtime.
      - V(auto) picks C(crun) when it is installed and can run on this host, else C(runc). The decision reads the cgroup
        layout from C(/proc/self/mountinfo) and runs no runtime command. crun refuses hybrid hosts (cgroup v1 controllers
        on a tmpfs at C(/sys/fs/cgroup) plus cgroup2 at C(/sys/fs/cgroup/unified)).
      - Explicitly choosing V(crun) on such a host fails with C(error_kind=unsupported_host) and the remedy (use V(runc), a
        unified cgroup v2 host, or a private mount namespace where C(/sys/fs/cgroup/unified) is unmounted).
    type: str
    choices: [auto, crun, runc]
    default: auto
  executable:
    description:
      - Path (or name in E(PATH)) of the runtime binary, instead of looking up C(crun) or C(runc).
      - Needs O(runtime=crun) or O(runtime=runc).
    type: path
  root:
    description:
      - The runtime's state directory (its global C(--root) flag), passed identically on every call.
      - Defaults to C(/run/runc) for runc and C(/run/crun) for crun.
      - Containers under different roots, or of different runtimes, are different containers.
    type: path
  systemd_cgroup:
    description:
      - Pass C(--systemd-cgroup) on every call, so the runtime uses systemd to manage the container's cgroup.
      - C(linux.cgroupsPath) in C(config.json) must then have the form C(slice:prefix:name).
    type: bool
    default: false
  bundle:
    description:
      - Absolute path of the OCI bundle directory (C(config.json) plus the root file system its C(root.path) names).
      - Required unless O(state=absent).
      - C(config.json) must set C(process.terminal) to false (or leave it out); a detached create has no console socket.
    type: path
  log_path:
    description:
      - File the container's stdout and stderr are appended to.
      - Defaults to C(<name>.log) in the directory holding the bundle directory.
      - Its directory must exist.
    type: path
  stop_signal:
    description:
      - Signal sent to stop the container, as a name (V(SIGTERM), V(TERM)) or a number.
    type: str
    default: SIGTERM
  stop_timeout:
    description:
      - Seconds to wait for the process to exit after O(stop_signal) before sending C(SIGKILL).
      - A process running as PID 1 of its PID namespace ignores signals it has no handler for.
    type: int
    default: 10
  recreate:
    description:
      - Recreate a container whose C(config.json) differs from the one it was created from (or whose config is unknown).
      - When false, the difference is only reported in RV(drift) with a warning.
    type: bool
    default: true
  lock_timeout:
    description:
      - Seconds to wait for another run holding this container's lock before failing with C(error_kind=locked).
    type: int
    default: 60
notes:
  - Neither runtime records exit codes; a container whose process exited shows status V(stopped).
  - With O(state=started) a container whose process exits at once is reported with a warning, not a failure.
seealso:
  - module: lxcri.containers.oci_container_info
"""

EXAMPLES = r"""
- name: Run a container from a bundle with crun or runc, whichever fits the host
  lxcri.containers.oci_container:
    name: web
    bundle: /srv/oci/web
    state: started

- name: Create a container with runc under a private root, without starting it
  lxcri.containers.oci_container:
    name: batch-1
    runtime: runc
    root: /run/myapp/runc
    bundle: /srv/oci/batch
    state: present

- name: Stop it with SIGINT, giving it 30 seconds
  lxcri.containers.oci_container:
    name: web
    bundle: /srv/oci/web
    state: stopped
    stop_signal: SIGINT
    stop_timeout: 30

- name: Report, but do not apply, a config.json change
  lxcri.containers.oci_container:
    name: web
    bundle: /srv/oci/web
    recreate: false
  register: web

- name: Remove the container
  lxcri.containers.oci_container:
    name: web
    state: absent
"""

RETURN = r"""
container:
  description:
    - The container after the run (before it, in check mode); empty when it does not exist.
  returned: always
  type: dict
  contains:
    id:
      description: The container id.
      type: str
      sample: web
    status:
      description: C(created), C(running), C(paused) or C(stopped) (C(creating) while another process creates it).
      type: str
      sample: running
    pid:
      description: PID of the container's init process on the host; 0 when it has none.
      type: int
      sample: 4242
    bundle:
      description: The bundle the container was created from.
      type: str
      sample: /srv/oci/web
    rootfs:
      description: Absolute path of the root file system.
      type: str
      sample: /srv/oci/web/rootfs
    created:
      description: When the runtime created the container (RFC 3339).
      type: str
      sample: "2026-11-22T19:06:06.480226061Z"
    annotations:
      description: The container's annotations.
      type: dict
      sample: {}
    owner:
      description: The owner as the runtime reports it (empty for runc C(state)).
      type: str
      sample: root
    runtime:
      description: The runtime holding the container.
      type: str
      sample: crun
    root:
      description: The runtime's state root.
      type: str
      sample: /run/crun
    managed:
      description: Whether this module's record matches the container (it created this very container).
      type: bool
      sample: true
    config_digest:
      description: SHA-256 of the canonical C(config.json) the container was created from, when C(managed).
      type: str
      sample: "sha256:0f3c..."
actions:
  description:
    - The mutating runtime calls, in order, each with C(kind), C(description) and C(argv). In check mode, the planned ones.
  returned: always
  type: list
  elements: dict
  sample:
    - kind: create
      description: create container web from /srv/oci/web
      argv: [/usr/bin/crun, --root, /run/crun, --log, "file:/run/lxcri-oci/crun-1a2b3c4d5e6f/web.runtime.log", --log-format, json,
             create, --bundle, /srv/oci/web, web]
commands:
  description:
    - The argv of every runtime call actually run, in order, read-only ones included. A run without change has exactly one
      (C(state)), or none when the root does not exist yet.
  returned: always
  type: list
  elements: list
runtime:
  description: The runtime used (what V(auto) resolved to).
  returned: always
  type: str
  sample: crun
root:
  description: The runtime state root used.
  returned: always
  type: str
  sample: /run/crun
log_path:
  description: The file receiving the container's stdout and stderr (null for O(state=absent) without O(log_path)).
  returned: always
  type: str
  sample: /srv/oci/web.log
drift:
  description:
    - Present when the container was created from a different (or unknown) config and O(recreate=false) kept it.
    - C(config) is C(changed) or C(unknown); C(before) and C(after) hold the differing C(config.json) keys.
  returned: when the config drifted and was not applied
  type: dict
  sample: {config: changed, before: {process.args: [sleep, "10"]}, after: {process.args: [sleep, "20"]}}
diff:
  description: Before and after of C(status) and of the changed C(config.json) keys.
  returned: always
  type: dict
  sample: {before: {status: stopped}, after: {status: running}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.lxcri.containers.plugins.module_utils._common.runner import run_module
from ansible_collections.lxcri.containers.plugins.module_utils._oci.argspec import REQUIRED_IF, container_spec
from ansible_collections.lxcri.containers.plugins.module_utils._oci.manager import converge


def main():
    module = AnsibleModule(
        argument_spec=container_spec(),
        required_if=REQUIRED_IF,
        supports_check_mode=True,
    )
    run_module(module, lambda mod: converge(mod.params, mod.run_command, check_mode=mod.check_mode, warn=mod.warn))


if __name__ == "__main__":
    main()
