# shellcheck shell=bash
# Sourced by the install scripts: apt-get that waits while another apt holds its lock (on a
# fresh machine, unattended-upgrades or cloud-init often does) instead of failing at once.
# `install` waits for the dpkg lock itself (DPkg::Lock::Timeout); `update` takes the lists
# lock, which that option does not cover (apt 2.6): it is retried while that lock is held,
# within the same bound.

APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"
apt_sudo=()
[ "$(id -u)" -eq 0 ] || apt_sudo=(sudo)

apt_get() {
    "${apt_sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@"
}

apt_update() {
    local deadline=$((SECONDS + APT_LOCK_TIMEOUT)) out
    while :; do
        if out="$(apt_get update -qq 2>&1)"; then
            return 0
        fi
        if ! grep -q "Could not get lock" <<<"$out" || [ "$SECONDS" -ge "$deadline" ]; then
            printf '%s\n' "$out" >&2
            return 1
        fi
        echo "apt-get update: another apt holds the lock; waiting (${APT_LOCK_TIMEOUT} s at most)" >&2
        sleep 5
    done
}

apt_install() {
    apt_get install -y -qq --no-install-recommends "$@"
}
