# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of one VM (``pve_vm`` without the connection options, which are ``_pve.argspec.connection_spec``);
the life-cycle options (``_pve.argspec.guest_spec``) and the config options CTs have too
(``guest_config_spec``) are shared with ``pve_container``.

Types are only as strict as Ansible can check them; ``model.desired_from_params`` checks the values
and names the field.  Options that take a Proxmox property string or its dict (``cpu``, ``machine``,
``agent``, ``startup``, ``boot``, ``sshkeys``) are ``raw``.
"""

from __future__ import annotations

from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import connection_spec, guest_config_spec, guest_spec
from ansible_collections.lxcri.containers.plugins.module_utils._pve.argspec import make_transport as pve_make_transport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm import model
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.transport_api import ApiVmTransport
from ansible_collections.lxcri.containers.plugins.module_utils._pvevm.transport_qm import QmTransport


def vm_spec():
    return dict(
        guest_spec(),
        **guest_config_spec(),
        name=dict(type="str"),
        clone=dict(type="dict", options=dict(
            source=dict(type="raw", required=True),
            full=dict(type="bool"),
            target_storage=dict(type="str"),
        )),
        sockets=dict(type="int"),
        vcpus=dict(type="int"),
        cpu=dict(type="raw"),
        numa=dict(type="bool"),
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
    )


def argument_spec():
    """``pve_vm``'s options: the VM's and the connection's (``transport`` choices ``auto``/``qm``/``api``)."""
    spec = connection_spec(cli="qm")
    spec.update(vm_spec())
    return spec


def info_argument_spec():
    spec = connection_spec(cli="qm")
    spec.update(vmid=dict(type="int"), name=dict(type="str"), tags=dict(type="list", elements="str"))
    return spec


def make_transport(module, timeout=300):
    """``qm`` on the node, or the API (``transport: auto`` picks qm where it exists)."""
    return pve_make_transport(module, timeout=timeout, cli_class=QmTransport, api_class=ApiVmTransport)
