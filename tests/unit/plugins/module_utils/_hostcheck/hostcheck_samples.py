# Copyright (c) lxcri.containers contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real outputs, recorded on Debian 12 (runc 1.1.5, crun 1.8.1, umoci 0.4.7, skopeo 1.9.3) and a hybrid-cgroup host."""

from __future__ import annotations

RUNC_VERSION = """runc version 1.1.5+ds1
commit: 1.1.5+ds1-1+deb12u1
spec: 1.0.2-dev
go: go1.19.8
libseccomp: 2.5.4
"""

CRUN_VERSION = """crun version 1.8.1
commit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30
rundir: /run/crun
spec: 1.0.0
+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL
"""

# crun 1.8.1 has no features command: exit 1, this on stderr.
CRUN_FEATURES_STDERR = "unknown command features"

# runc 1.1.5 `runc features` (lists shortened; keys and layout as printed).
RUNC_FEATURES = """{
    "ociVersionMin": "1.0.0",
    "ociVersionMax": "1.0.2-dev",
    "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
    "mountOptions": ["acl", "async", "bind", "ro", "rw"],
    "linux": {
        "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"],
        "capabilities": ["CAP_CHOWN", "CAP_SYS_ADMIN"],
        "cgroup": {"v1": true, "v2": true, "systemd": true, "systemdUser": true},
        "seccomp": {"enabled": true, "actions": ["SCMP_ACT_ALLOW"], "operators": ["SCMP_CMP_EQ"], "archs": ["SCMP_ARCH_X86_64"]},
        "apparmor": {"enabled": true},
        "selinux": {"enabled": true}
    },
    "annotations": {
        "io.github.seccomp.libseccomp.version": "2.5.4",
        "org.opencontainers.runc.checkpoint.enabled": "true",
        "org.opencontainers.runc.commit": "1.1.5+ds1-1+deb12u1",
        "org.opencontainers.runc.version": "1.1.5+ds1"
    }
}
"""

UMOCI_VERSION = "umoci version 0.4.7+ds-3+b7\n"
SKOPEO_VERSION = "skopeo version 1.9.3\n"
SKOPEO_VERSION_NEW = "skopeo version 1.13.3 commit: 1f1ae5ac2fa7ad6c2a8b8b1c9e4b5b4c1e5f1d2e\n"

# /proc/self/mountinfo cgroup lines of the hybrid host (host mount namespace).
MOUNTINFO_HYBRID = """22 1 0:21 / / rw,relatime - overlay overlay rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
# The same host inside `unshare -m` after `umount /sys/fs/cgroup/unified`.
MOUNTINFO_PRIVATE_V1 = "\n".join(MOUNTINFO_HYBRID.splitlines()[:-1]) + "\n"
MOUNTINFO_V2 = """22 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
"""

# pveam list <storage> (contract 7: %-60s %-4.2fMB rows under a NAME SIZE header)
PVEAM_LIST = """NAME                                                         SIZE
local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst         120.29MB
local:vztmpl/busybox-pvesim_1.35.0-1_amd64.tar.gz            1.03MB
"""

# pvesh get /nodes/pve/storage --output-format json
STORAGE_STATUS = """[{"active":1,"avail":74121592832,"content":"iso,vztmpl,backup","enabled":1,"shared":0,"storage":"local",
"total":100861726720,"type":"dir","used":21572329472},
{"active":1,"avail":150000000000,"content":"rootdir,images","enabled":1,"shared":0,"storage":"local-lvm","total":160000000000,
"type":"lvmthin","used":1000},
{"active":0,"content":"vztmpl","enabled":1,"shared":1,"storage":"nfs1","type":"nfs"}]"""

PVE_VERSION = '{"release":"9.0","repoid":"5d2b3d7a","version":"9.0.3"}'
NODES = '[{"node":"pve","status":"online","type":"node","id":"node/pve"}]'
