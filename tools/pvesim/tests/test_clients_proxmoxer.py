# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""proxmoxer's ``https`` backend (unchanged, from PyPI) against the simulated API.

Needs the ``proxmoxer`` and ``requests`` packages in the interpreter running pytest.
"""

from __future__ import annotations

import pytest

from pvesim.auth import AuthStore
from pvesim.http.testing import api_server
from pvesim.state import State
from pvesim.templates import build_busybox_template, install_template

proxmoxer = pytest.importorskip("proxmoxer", reason="proxmoxer is not installed in this interpreter")
ProxmoxAPI = proxmoxer.ProxmoxAPI
ResourceException = pytest.importorskip("proxmoxer.core").ResourceException
Tasks = pytest.importorskip("proxmoxer.tools").Tasks


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    st = State(tmp_path_factory.mktemp("pvesim") / "state").init(node="pve", mode="state")
    auth = AuthStore(st.pve_path("")).ensure()
    auth.set_password("root@pam", "rootpw")
    tok = auth.add_token("root@pam", "prox", privsep=False)
    tmpl = build_busybox_template(str(tmp_path_factory.mktemp("t") / "debian-12-busybox_1.0-1_amd64.tar.gz"))
    volid = install_template(st, tmpl)
    with api_server(st) as api:
        yield {"api": api, "state": st, "template": volid, "token": tok}


def _wait_ok(prox, upid):
    st = Tasks.blocking_status(prox, upid, timeout=60, polling_interval=0.2)
    assert st is not None, "task did not finish"
    return st


def test_password_login_full_lifecycle(sim):
    prox = ProxmoxAPI(sim["api"].hostport, user="root@pam", password="rootpw", verify_ssl=False)
    assert prox.version.get()["release"].startswith("9")
    assert [n["node"] for n in prox.nodes.get()] == ["pve"]
    node = prox.nodes("pve")

    upid = node.lxc.post(vmid=9140, ostemplate=sim["template"], hostname="web", rootfs="local-lvm:1",
                         net0="name=eth0,bridge=vmbr0,ip=dhcp", memory=256, description="made by proxmoxer")
    assert Tasks.decode_upid(upid)["type"] == "vzcreate"
    assert _wait_ok(prox, upid)["exitstatus"] == "OK"

    cfg = node.lxc(9140).config.get()
    assert cfg["hostname"] == "web"
    assert cfg["memory"] == 256
    assert cfg["rootfs"] == "local-lvm:vm-9140-disk-0,size=1G"
    assert cfg["description"] == "made by proxmoxer\n"
    assert cfg["net0"].startswith("name=eth0,bridge=vmbr0,hwaddr=BC:24:11:")
    assert cfg["net0"].endswith(",ip=dhcp,type=veth")
    assert len(cfg["digest"]) == 40

    assert node.lxc(9140).config.put(memory=512, tags="Web,prod web", digest=cfg["digest"]) is None
    cfg2 = node.lxc(9140).config.get()
    assert cfg2["memory"] == 512
    assert cfg2["tags"] == "prod;web"
    with pytest.raises(ResourceException) as exc:
        node.lxc(9140).config.put(memory=600, digest=cfg["digest"])
    assert exc.value.status_code == 500
    assert "detected modified configuration - file changed by other user? Try again." in str(exc.value)

    assert _wait_ok(prox, node.lxc(9140).status.start.post())["exitstatus"] == "OK"
    assert node.lxc(9140).status.current.get()["status"] == "running"
    res = [r for r in prox.cluster.resources.get(type="vm") if r["vmid"] == 9140]
    assert res and res[0]["id"] == "lxc/9140" and res[0]["type"] == "lxc"

    # pending change on a running CT (contract §4.5)
    node.lxc(9140).config.put(features="nesting=1")
    pending = {p["key"]: p for p in node.lxc(9140).pending.get()}
    assert pending["features"]["pending"] == "nesting=1"

    assert _wait_ok(prox, node.lxc(9140).status.shutdown.post(timeout=10))["exitstatus"] == "OK"
    assert node.lxc(9140).status.current.get()["status"] == "stopped"

    log = node.tasks(upid).log.get()
    assert log[-1]["t"] == "TASK OK"

    assert _wait_ok(prox, node.lxc(9140).delete())["exitstatus"] == "OK"
    with pytest.raises(ResourceException) as exc:
        node.lxc(9140).config.get()
    assert exc.value.status_code == 500
    assert "Configuration file 'nodes/pve/lxc/9140.conf' does not exist" in str(exc.value)


def test_api_token_auth(sim):
    tok = sim["token"]
    prox = ProxmoxAPI(sim["api"].hostport, user="root@pam", token_name="prox", token_value=tok["value"], verify_ssl=False)
    nextid = int(prox.cluster.nextid.get())
    assert nextid >= 100
    upid = prox.nodes("pve").lxc.post(vmid=9141, ostemplate=sim["template"], rootfs="local-lvm:1")
    assert Tasks.decode_upid(upid)["user"] == "root@pam"  # proxmoxer strips the !tokenid
    assert upid.split(":")[7] == "root@pam!prox"
    assert _wait_ok(prox, upid)["exitstatus"] == "OK"
    assert prox.nodes("pve").lxc(9141).config.get()["hostname"] == "CT9141"
    assert _wait_ok(prox, prox.nodes("pve").lxc(9141).delete())["exitstatus"] == "OK"


def test_errors_surface_as_resource_exceptions(sim):
    prox = ProxmoxAPI(sim["api"].hostport, user="root@pam", password="rootpw", verify_ssl=False)
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").lxc.post(vmid="abc", ostemplate=sim["template"])
    assert exc.value.status_code == 400
    assert exc.value.errors == {"vmid": "type check ('integer') failed - got 'abc'"}
    # Python True is sent as "True" and rejected (contract §12.15)
    prox.nodes("pve").lxc.post(vmid=9142, ostemplate=sim["template"], rootfs="local-lvm:1")
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").lxc(9142).config.put(onboot=True)
    assert exc.value.errors == {"onboot": "type check ('boolean') failed - got 'True'"}
    with pytest.raises(ResourceException) as exc:
        prox.nodes("pve").lxc(9142).status.stop.post()
    assert exc.value.status_code == 500
    assert "CT 9142 not running" in str(exc.value)


def test_bad_password_is_authentication_error(sim):
    from proxmoxer import AuthenticationError

    with pytest.raises(AuthenticationError):
        ProxmoxAPI(sim["api"].hostport, user="root@pam", password="wrong", verify_ssl=False)


def test_verified_tls_with_the_simulator_certificate(sim):
    """The self-signed certificate verifies when passed as the CA (``verify_ssl`` + ``REQUESTS_CA_BUNDLE`` style)."""
    import requests

    cert = sim["state"].pve_path("nodes/pve/pve-ssl.pem")
    r = requests.post(sim["api"].url + "/access/ticket", data={"username": "root@pam", "password": "rootpw"},
                      verify=str(cert), timeout=10)
    assert r.status_code == 200


def test_vm_lifecycle_over_qemu_endpoints(sim):
    """A VM through ``/nodes/{node}/qemu`` with proxmoxer (contract §9): create, async and sync config
    with the digest, pending, start, stop, delete."""
    prox = ProxmoxAPI(sim["api"].hostport, user="root@pam", password="rootpw", verify_ssl=False)
    node = prox.nodes("pve")
    upid = node.qemu.post(vmid=9145, name="vm1", memory=512, scsi0="local-lvm:1,iothread=1", net0="virtio,bridge=vmbr0")
    assert Tasks.decode_upid(upid)["type"] == "qmcreate"
    assert _wait_ok(prox, upid)["exitstatus"] == "OK"
    cfg = node.qemu(9145).config.get()
    assert cfg["scsi0"] == "local-lvm:vm-9145-disk-0,iothread=1,size=1G"
    assert cfg["net0"].startswith("virtio=BC:24:11:") and cfg["net0"].endswith(",bridge=vmbr0")
    upid = node.qemu(9145).config.post(cores=2, digest=cfg["digest"])
    assert _wait_ok(prox, upid)["exitstatus"] == "OK"
    with pytest.raises(ResourceException):
        node.qemu(9145).config.put(cores=4, digest=cfg["digest"])
    assert _wait_ok(prox, node.qemu(9145).status.start.post())["exitstatus"] == "OK"
    assert node.qemu(9145).status.current.get()["qmpstatus"] == "running"
    assert node.qemu(9145).config.put(memory=1024) is None
    assert {p["key"]: p for p in node.qemu(9145).pending.get()}["memory"]["pending"] == "1024"
    res = [r for r in prox.cluster.resources.get(type="vm") if r["vmid"] == 9145]
    assert res[0]["id"] == "qemu/9145" and res[0]["status"] == "running"
    assert _wait_ok(prox, node.qemu(9145).status.stop.post())["exitstatus"] == "OK"
    assert _wait_ok(prox, node.qemu(9145).delete())["exitstatus"] == "OK"
    with pytest.raises(ResourceException):
        node.qemu(9145).config.get()
