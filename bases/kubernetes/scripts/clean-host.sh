#!/bin/sh
# Undoes scripts/init-host.sh on one host and removes what the cluster left
# there. sealpack's reset runs it as root on every host, from the image's
# rootfs, before its own `kubeadm reset -f`, then removes /usr/local/bin's
# programs, the registry mirrors and /var/lib/sealpack.
#
# Order matters: kubeadm reset needs containerd to remove the cluster's
# containers, so it runs here first, while containerd still answers; then
# kubelet and containerd stop, and the files go. Everything else is what
# init-host.sh listed in /var/lib/sealpack/init-host.files, undone in reverse
# order: files it created are removed, files it replaced
# (<file>.sealpack-bak) come back, directories it created go once empty.
#
# Safe to run again, and on a host where init-host.sh never ran: what is
# already gone is skipped. A step that fails is reported and the others
# still run; the exit status is 1 if any failed.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

STATE=/var/lib/sealpack
RECORD=$STATE/init-host.files
SYSCTL_SAVE=$STATE/init-host.sysctl
SOCK=/run/containerd/containerd.sock
failed=0

say() { echo "clean-host: $*"; }
warn() { echo "clean-host: warning: $*" >&2; }
# try WHAT COMMAND...: runs COMMAND; a failure is reported and counted.
try() {
	what=$1
	shift
	"$@" && return 0
	rc=$?
	warn "$what failed (exit $rc); going on"
	failed=$((failed + 1))
	return "$rc"
}
listed() { [ -f "$RECORD" ] && grep -qxF "$1" "$RECORD"; }
ours() { grep -qsi 'written by sealpack' "$1"; }
have() { command -v "$1" >/dev/null 2>&1; }
ctr() { /usr/local/bin/ctr --connect-timeout 2s "$@"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealpack-clean-host-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the cluster, while containerd runs ----------------------------------

if [ -x /usr/local/bin/kubeadm ]; then
	say "kubeadm reset"
	try "kubeadm reset" /usr/local/bin/kubeadm reset -f --cri-socket "unix://$SOCK"
fi
# kubeadm reset empties its directories but leaves them: what is left empty
# is removed (anything else in them is not the cluster's, and stays).
for d in /var/lib/kubelet /var/lib/etcd /etc/kubernetes; do
	[ -d "$d" ] && find "$d" -depth -type d -empty -delete 2>/dev/null
done

# Containers kubeadm did not remove (it failed, or they are not Kubernetes'),
# before containerd stops: its shims would keep them running.
if ours /etc/systemd/system/containerd.service && [ -x /usr/local/bin/ctr ] && ctr version >/dev/null 2>&1; then
	n=0
	for ns in $(ctr namespaces ls -q 2>/dev/null); do
		for t in $(ctr -n "$ns" tasks ls -q 2>/dev/null); do
			ctr -n "$ns" tasks kill -a -s SIGKILL "$t" >/dev/null 2>&1 && n=$((n + 1))
		done
	done
	if [ "$n" != 0 ]; then
		say "killed $n containers kubeadm reset left"
		# Wait (30 s at most) until none runs: a killed task takes a moment.
		tasks_running() {
			for ns in $(ctr namespaces ls -q 2>/dev/null); do
				ctr -n "$ns" tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING" {found = 1} END {exit !found}' && return 0
			done
			return 1
		}
		i=0
		while tasks_running && [ $i -lt 150 ]; do
			sleep 0.2
			i=$((i + 1))
		done
		tasks_running && echo "clean-host: warning: containers still run 30 s after SIGKILL" >&2
	fi
fi

# --- services --------------------------------------------------------------

for unit in kubelet.service containerd.service sealpack-service-route.service; do
	if ours "/etc/systemd/system/$unit"; then
		try "stopping $unit" systemctl disable --now "$unit"
	fi
done
# containerd stops with KillMode=process: the shims it started outlive it.
n=0
for p in /proc/[0-9]*; do
	exe=$(readlink "$p/exe" 2>/dev/null) || continue
	case $exe in
	/usr/local/bin/containerd-shim-runc-v2 | "/usr/local/bin/containerd-shim-runc-v2 (deleted)")
		kill -9 "${p#/proc/}" 2>/dev/null && n=$((n + 1))
		;;
	esac
done
[ "$n" = 0 ] || say "stopped $n leftover containerd shims"

# umount_below DIR: unmounts everything at or below DIR, deepest first.
umount_below() {
	awk -v d="$1" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r >"$tmp/mounts"
	while IFS= read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || { warn "cannot unmount $m"; failed=$((failed + 1)); }
	done <"$tmp/mounts"
}

# --- pod network -----------------------------------------------------------

for n in /run/netns/cni-*; do
	[ -e "$n" ] || continue
	try "removing network namespace $n" ip netns delete "${n##*/}"
done
for link in cni0 flannel.1 flannel-v6.1 kube-ipvs0; do
	if ip link show "$link" >/dev/null 2>&1; then
		try "removing interface $link" ip link delete "$link"
	fi
done

# Rules of kube-proxy and kubelet (KUBE-*), flanneld (FLANNEL-*) and the
# CNI plugins (CNI-*): their chains, and the rules elsewhere that jump to
# them. Each table is read, filtered and loaded back whole, atomically,
# with its counters; no other rule changes. CNI-* chains are shared by every
# CNI network of the host: kept when /etc/cni/net.d has other networks.
prefixes="KUBE-|FLANNEL-|CNI-"
others=""
for f in /etc/cni/net.d/*.conf /etc/cni/net.d/*.conflist /etc/cni/net.d/*.json; do
	if [ -e "$f" ] && [ "${f##*/}" != 10-flannel.conflist ]; then others="$others${f##*/} "; fi
done
if [ -n "$others" ]; then
	prefixes="KUBE-|FLANNEL-"
	say "kept the CNI-* iptables chains: /etc/cni/net.d has other networks ($others)"
fi
clean_rules() { # SAVE RESTORE
	have "$1" && have "$2" || return 0
	"$1" -c >"$tmp/before" 2>/dev/null || return 0
	awk -v p="$prefixes" '
		{ r = $0; sub(/^\[[0-9]+:[0-9]+\] /, "", r) }
		r ~ ("^:(" p ")") { next }
		r ~ ("^-A (" p ")") { next }
		r ~ /^-A / && r ~ (" -[jg] (" p ")") { next }
		{ print }
	' "$tmp/before" >"$tmp/after"
	[ "$(sha256sum <"$tmp/before")" != "$(sha256sum <"$tmp/after")" ] || return 0
	if "$2" -c <"$tmp/after"; then
		say "removed the cluster's rules from $1 ($(($(wc -l <"$tmp/before") - $(wc -l <"$tmp/after"))) lines)"
	else
		warn "$2 refused the filtered rules; the cluster's rules stay in $1"
		failed=$((failed + 1))
	fi
}
for v in "" -legacy -nft; do
	clean_rules "iptables$v-save" "iptables$v-restore"
	clean_rules "ip6tables$v-save" "ip6tables$v-restore"
done
# kube-proxy's and flannel's nftables modes keep tables of their own.
if have nft; then
	for t in "ip kube-proxy" "ip6 kube-proxy" "ip flannel-ipv4" "ip6 flannel-ipv6"; do
		# shellcheck disable=SC2086 # "family name", split on purpose
		if nft list table $t >/dev/null 2>&1; then
			try "removing nftables table $t" nft delete table $t
		fi
	done
fi

try "removing /run/flannel" rm -rf /run/flannel
try "removing /var/lib/cni" rm -rf /var/lib/cni

# --- containerd's data, when init-host.sh made it ----------------------------

for d in /run/containerd /var/lib/containerd; do
	if listed "$d/" && [ -d "$d" ]; then
		umount_below "$d"
		try "removing $d" rm -rf "$d" && say "removed $d (containerd's images and containers)"
	fi
done

# --- what init-host.sh wrote, last first ------------------------------------

if [ -f "$RECORD" ]; then
	sed '1!G;h;$!d' "$RECORD" >"$tmp/record"
	while IFS= read -r p; do
		case $p in
		"") ;;
		/etc/fstab.sealpack-bak)
			# Only the lines init-host.sh commented out come back; other
			# edits made since stay.
			if grep -q '^#sealpack# ' /etc/fstab 2>/dev/null; then
				sed 's/^#sealpack# //' /etc/fstab >"$tmp/fstab" && cat "$tmp/fstab" >/etc/fstab &&
					say "restored the swap lines of /etc/fstab" && { swapon -a 2>/dev/null || warn "swapon -a failed"; }
			fi
			rm -f "$p"
			;;
		*.sealpack-bak)
			if [ -e "$p" ] || [ -L "$p" ]; then
				try "restoring ${p%.sealpack-bak}" mv -f "$p" "${p%.sealpack-bak}" &&
					say "restored ${p%.sealpack-bak}"
			fi
			;;
		/etc/systemd/system/swap.target)
			[ -L "$p" ] && try "unmasking swap.target" rm -f "$p"
			;;
		*/)
			d=${p%/}
			if [ -d "$d" ]; then
				rmdir "$d" 2>/dev/null || say "kept $d: it holds files init-host.sh did not write"
			fi
			;;
		*)
			if [ -e "$p" ] || [ -L "$p" ]; then
				try "removing $p" rm -f "$p"
			fi
			;;
		esac
	done <"$tmp/record"
	try "systemctl daemon-reload" systemctl daemon-reload
fi

# Kernel settings as they were. The modules stay loaded until a reboot
# (unloading br_netfilter under other users of the host is not worth it).
if [ -f "$SYSCTL_SAVE" ]; then
	while IFS='=' read -r k v; do
		[ -n "$k" ] || continue
		f=/proc/sys/$(echo "$k" | tr . /)
		if [ -f "$f" ] && { echo "$v" >"$f"; } 2>/dev/null; then
			say "$k = $v (as before)"
		else
			warn "could not set $k back to $v"
		fi
	done <"$SYSCTL_SAVE"
fi

if [ "$failed" -gt 0 ]; then
	warn "$failed step(s) failed; see above. Running this script again retries them."
	exit 1
fi
rm -f "$RECORD" "$SYSCTL_SAVE"
say "done"
