#!/bin/sh
# views.sh host|private CMD...: run CMD in the host's mount namespace or in a private one where
# /sys/fs/cgroup/unified is not mounted.
# The Makefile runs molecule inside such a private namespace already (scripts/cgroup-ns.sh), so the
# host's view is found by walking up the parent processes to the first one in another mount
# namespace, and entered with nsenter. If none differs, this process already has the host's view.
set -eu
view=$1; shift
self=$(readlink /proc/self/ns/mnt)
host_pid=
pid=$$
while [ "$pid" -gt 1 ]; do
  pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status")
  if [ -z "$pid" ] || [ "$pid" -le 0 ]; then break; fi
  ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null) || break
  if [ "$ns" != "$self" ]; then host_pid=$pid; break; fi
done
case $view in
  host)
    if [ -n "$host_pid" ]; then exec nsenter --mount="/proc/$host_pid/ns/mnt" -- "$@"; fi
    exec "$@" ;;
  private)
    if [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
      exec unshare --mount --propagation private -- /bin/sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' views "$@"
    fi
    exec "$@" ;;
  *) echo "usage: views.sh host|private CMD..." >&2; exit 2 ;;
esac
