# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of one VM (``pve_vm`` without the connection options, which are ``_pve.argspec.connection_spec``).

Types are only as strict as Ansible can check them; ``model.desired_from_params`` checks the values
and names the field.  Options that take a Proxmox property string or its dict (``cpu``, ``machine``,
``agent``, ``startup``, ``boot``, ``sshkeys``) are ``raw``.
"""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model


def vm_spec():
    return dict(
        vmid=dict(type="int"),
        name=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "started", "stopped", "restarted", "absent", "template"]),
        purge=dict(type="bool", default=False),
        force_stop=dict(type="bool", default=False),
        timeout=dict(type="int", default=300),
        lock_timeout=dict(type="int", default=60),
        apply_pending=dict(type="str", default="report", choices=["report", "restart"]),
        exclusive=dict(type="bool", default=False),
        update_password=dict(type="str", default="on_create", choices=["always", "on_create"], no_log=False),
        clone=dict(type="dict", options=dict(
            source=dict(type="raw", required=True),
            full=dict(type="bool"),
            target_storage=dict(type="str"),
        )),
        cores=dict(type="int"),
        sockets=dict(type="int"),
        vcpus=dict(type="int"),
        cpu=dict(type="raw"),
        cpulimit=dict(type="float"),
        cpuunits=dict(type="int"),
        numa=dict(type="bool"),
        memory=dict(type="int"),
        balloon=dict(type="int"),
        ostype=dict(type="str", choices=list(model.OSTYPES)),
        machine=dict(type="raw"),
        bios=dict(type="str", choices=list(model.BIOSES)),
        scsihw=dict(type="str", choices=list(model.SCSIHWS)),
        acpi=dict(type="bool"),
        kvm=dict(type="bool"),
        tablet=dict(type="bool"),
        net=dict(type="list", elements="dict"),
        disks=dict(type="dict"),
        boot=dict(type="raw"),
        agent=dict(type="raw"),
        ciuser=dict(type="str"),
        cipassword=dict(type="str", no_log=True),
        citype=dict(type="str", choices=list(model.CITYPES)),
        ciupgrade=dict(type="bool"),
        sshkeys=dict(type="raw", no_log=False),
        ipconfig=dict(type="list", elements="dict"),
        nameserver=dict(type="list", elements="str"),
        searchdomain=dict(type="list", elements="str"),
        onboot=dict(type="bool"),
        startup=dict(type="raw"),
        tags=dict(type="list", elements="str"),
        description=dict(type="str"),
        protection=dict(type="bool"),
        hookscript=dict(type="str"),
    )
