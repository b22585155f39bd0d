# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Self-signed certificate for the simulated pveproxy (``nodes/<node>/pve-ssl.pem`` + ``.key``).

Made with the ``openssl`` command line tool (no third-party Python package, no network).
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile


class TLSError(RuntimeError):
    pass


def ensure_certificate(cert_path, key_path, hostname="localhost", days=3650):
    """Create a self-signed RSA certificate for ``hostname``/127.0.0.1/::1 unless both files exist."""
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return cert_path, key_path
    openssl = shutil.which("openssl")
    if not openssl:
        raise TLSError("the 'openssl' command is needed to create the simulator's self-signed certificate")
    os.makedirs(os.path.dirname(cert_path) or ".", exist_ok=True)
    os.makedirs(os.path.dirname(key_path) or ".", exist_ok=True)
    san = "subjectAltName=DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1" % hostname
    with tempfile.TemporaryDirectory() as tmp:
        tmp_key = os.path.join(tmp, "key.pem")
        tmp_cert = os.path.join(tmp, "cert.pem")
        argv = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", str(days),
                "-keyout", tmp_key, "-out", tmp_cert,
                "-subj", "/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=%s" % hostname,
                "-addext", san]
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise TLSError("openssl failed (%d): %s" % (proc.returncode, proc.stderr.strip()))
        os.chmod(tmp_key, 0o600)
        shutil.move(tmp_key, key_path)
        shutil.move(tmp_cert, cert_path)
    return cert_path, key_path


def server_context(cert_path, key_path):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


def fingerprint(cert_path):
    """SHA-256 fingerprint ``AA:BB:...`` like the one the PVE GUI shows."""
    import hashlib

    with open(cert_path, encoding="ascii") as fh:
        der = ssl.PEM_cert_to_DER_cert(fh.read())
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
