# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run one host command (argv, never a shell) and turn a failure into the caller's error type."""

from __future__ import annotations

import subprocess
from pathlib import Path


def run(argv: list[str], error: type[Exception] = RuntimeError, cwd: Path | None = None) -> str:
    """stdout of ``argv``; raises ``error`` naming the command and its stderr when it fails or is missing."""
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise error("%s not found: install the Debian package that provides it (scripts/setup.sh)" % argv[0]) from None
    if proc.returncode != 0:
        raise error("'%s' failed (exit %d): %s" % (" ".join(argv), proc.returncode,
                                                   proc.stderr.decode(errors="replace").strip()))
    return proc.stdout.decode(errors="replace")
