#!/usr/bin/env bash
# Run a command where crun can work. crun refuses a hybrid cgroup layout (cgroup v1 controllers
# plus a cgroup2 mount at /sys/fs/cgroup/unified); in a private mount namespace without that
# mount it sees a plain v1 host. On a v1 or pure v2 host the command runs as is.
set -euo pipefail
if [ "$(stat -fc %T /sys/fs/cgroup)" = tmpfs ] && [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
  exec unshare --mount --propagation private -- /bin/sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' cgroup-ns "$@"
fi
exec "$@"
