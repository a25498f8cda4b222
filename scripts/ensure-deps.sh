#!/usr/bin/env bash
# Installs, when missing, the Debian packages that the tests and the demo use:
# real OpenSSH servers for the test hosts, iproute2 for their namespaces,
# skopeo as a second registry client, zstd for the benchmark reference, tmux
# for the wizard's terminal tests, sudo for the non-root SSH tests, openssl and
# jq for the README's check of a signature with standard tools;
# systemd-nspawn and debootstrap for the test hosts that boot systemd, and
# containerd, runc and iptables that the offline Kubernetes base carries.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have sshd || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
have ssh || need+=(openssh-client)
have ip || need+=(iproute2)
have unshare || need+=(util-linux)
have skopeo || need+=(skopeo)
have zstd || need+=(zstd)
have tmux || need+=(tmux)
have sudo || need+=(sudo)
have sha256sum || need+=(coreutils)
have openssl || need+=(openssl)
have jq || need+=(jq)
have systemd-nspawn || need+=(systemd-container)
have debootstrap || need+=(debootstrap)
[ -x /usr/bin/containerd ] || need+=(containerd)
[ -x /usr/sbin/runc ] || need+=(runc)
[ -x /usr/sbin/xtables-nft-multi ] || need+=(iptables)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
	echo "ensure-deps: missing ${need[*]}; run as root to install them (tests that need them will skip)" >&2
	exit 0
fi
echo "ensure-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
