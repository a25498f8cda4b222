#!/bin/sh
# Prepares one host of bases/kubernetes for kubeadm. sealpack runs it as root
# on every host, from the image's rootfs (/var/lib/sealpack/rootfs, whose
# bin/* is already in /usr/local/bin), after writing containerd's registry
# mirrors (/etc/containerd/certs.d/<registry>/hosts.toml) and before kubeadm
# init or join. Environment: SEALPACK_ROLE (master|node), SEALPACK_MASTER0,
# SEALPACK_MASTERS, SEALPACK_NODES, SEALPACK_REGISTRY, SEALPACK_ROOTFS,
# SEALPACK_CLUSTER and the Clusterfile's env.
#
#  1. refuses, before changing anything, a host it cannot serve: PID 1 is not
#     systemd, another container runtime runs (Docker, CRI-O, a containerd of
#     its own), or cgroup v1 with a kubelet configured to refuse it
#  2. swap off, now and after a reboot
#  3. kernel modules overlay and br_netfilter, sysctls for routing pods
#  4. CNI plugins into /opt/cni/bin, flannel's conflist into /etc/cni/net.d
#  5. containerd (config, unit) enabled and answering; kubelet's unit and
#     kubeadm's drop-in, enabled (kubeadm starts it); /etc/crictl.yaml
#
# Every step may run again: a second run after a partial one finishes the
# job. Every file and directory it creates is listed, one path per line, in
# /var/lib/sealpack/init-host.files (directories end in /); a file that was
# there before is kept as <file>.sealpack-bak, listed too. scripts/clean-host.sh
# undoes exactly that list.
set -eu
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
cd "$(dirname "$0")/.."

STATE=/var/lib/sealpack
RECORD=$STATE/init-host.files
SYSCTL_SAVE=$STATE/init-host.sysctl
SOCK=/run/containerd/containerd.sock
host=$(hostname 2>/dev/null || cat /etc/hostname 2>/dev/null || echo "?")

say() { echo "init-host: $*"; }
warn() { echo "init-host: warning: $*" >&2; }
die() {
	echo "init-host: error: $*" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sealpack-init-host-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 1. what this host must be --------------------------------------------

init=$(cat /proc/1/comm 2>/dev/null || echo unknown)
if [ ! -d /run/systemd/system ] || ! command -v systemctl >/dev/null 2>&1; then
	die "this base runs kubelet and containerd as systemd units; host $host has init $init (PID 1), not systemd. Use a host that boots systemd (Debian, Ubuntu, RHEL and their relatives do)."
fi

ours() { grep -qsi 'written by sealpack' "$1"; }
active() { systemctl is-active --quiet "$1" 2>/dev/null; }
running() { # NAME: a process of that name runs
	if command -v pgrep >/dev/null 2>&1; then
		pgrep -x "$1" >/dev/null 2>&1
	else
		pidof "$1" >/dev/null 2>&1
	fi
}

if active docker.service || active docker.socket || running dockerd; then
	die "Docker runs on host $host. It brings its own containerd on $SOCK and its own iptables rules; this base runs a containerd of its own for kubelet. Stop and disable Docker first (systemctl disable --now docker.socket docker.service containerd.service), or use a host without it."
fi
if active crio.service || running crio; then
	die "CRI-O runs on host $host: kubelet would find two container runtimes. Stop and disable it first (systemctl disable --now crio), or use a host without it."
fi
if active cri-docker.service || active cri-docker.socket; then
	die "cri-dockerd runs on host $host. Stop and disable it first (systemctl disable --now cri-docker.socket cri-docker.service)."
fi
# A containerd this base did not start, answering on the socket kubelet uses.
if [ -S "$SOCK" ] && ! { ours /etc/systemd/system/containerd.service && active containerd.service; }; then
	if server=$(/usr/local/bin/ctr --connect-timeout 2s version 2>/dev/null); then
		v=$(printf '%s\n' "$server" | awk '/^Server:/ {s = 1} s && /Version:/ {print $2; exit}')
		unit=$(systemctl show -p FragmentPath --value containerd.service 2>/dev/null || true)
		die "another containerd (${v:-unknown version}${unit:+, unit $unit}) already serves $SOCK on host $host; this base brings its own. Stop and disable it (systemctl disable --now containerd), or remove its package, and run again."
	fi
fi

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	cgroup=v2
else
	cgroup=v1
	kv=$(/usr/local/bin/kubelet --version 2>/dev/null | awk '{print $2}')
	minor=${kv#v1.}
	minor=${minor%%.*}
	case $minor in '' | *[!0-9]*) minor=0 ;; esac
	# The image's KubeletConfiguration (a Clusterfile may still change it).
	fcv1=$(awk '/^---/ {k = 0} /^kind: *KubeletConfiguration/ {k = 1} k && /^failCgroupV1:/ {print $2; exit}' etc/kubeadm.yaml 2>/dev/null || true)
	if [ "$fcv1" = true ] || { [ "$fcv1" != false ] && [ "$minor" -ge 35 ]; }; then
		die "host $host uses cgroup v1, and kubelet ${kv:-?} is configured to refuse it (failCgroupV1). Boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line), or set failCgroupV1: false in the KubeletConfiguration."
	fi
	warn "host $host uses cgroup v1: kubelet ${kv:-?} runs on it because failCgroupV1 is false, but cgroup v1 is in maintenance mode; plan to boot the hosts with cgroup v2 (systemd.unified_cgroup_hierarchy=1)."
fi

if command -v getenforce >/dev/null 2>&1 && [ "$(getenforce 2>/dev/null)" = Enforcing ]; then
	warn "SELinux is enforcing on host $host. kubeadm's documentation asks for permissive mode (setenforce 0, and SELINUX=permissive in /etc/selinux/config); if containerd or pods fail with 'permission denied', do that."
fi
if active firewalld.service; then
	warn "firewalld is active on host $host: open 6443, 2379-2380, 10250, 10257, 10259/tcp (masters), 10250/tcp and 8472/udp (flannel VXLAN) on every host, 30000-32767/tcp for NodePorts, or stop it."
fi

# --- recording what is written ---------------------------------------------

mkdir -p "$STATE"
touch "$RECORD"

recorded() { grep -qxF "$1" "$RECORD"; }
# same A B: the files have the same content (cmp is not on every minimal host).
same() { [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ]; }
record() { recorded "$1" || echo "$1" >>"$RECORD"; }

# ensure_dir DIR: makes DIR and its missing parents, recording each.
ensure_dir() {
	[ -d "$1" ] && return 0
	ensure_dir "$(dirname "$1")"
	mkdir "$1"
	record "$1/"
}

# put SRC DST MODE: installs SRC as DST unless DST holds it already; sets
# changed=1 when it wrote. A DST this script did not write is first kept
# as DST.sealpack-bak (once: a re-run keeps the original).
put() {
	changed=0
	if [ -f "$2" ] && [ ! -L "$2" ] && same "$1" "$2"; then
		chmod "$3" "$2"
		return 0
	fi
	ensure_dir "$(dirname "$2")"
	if [ -e "$2" ] || [ -L "$2" ]; then
		if ! recorded "$2" && [ ! -e "$2.sealpack-bak" ]; then
			cp -pP "$2" "$2.sealpack-bak"
			record "$2.sealpack-bak"
			say "kept the existing $2 as $2.sealpack-bak"
		fi
	else
		record "$2"
	fi
	cp "$1" "$2.sealpack-tmp"
	chmod "$3" "$2.sealpack-tmp"
	mv -f "$2.sealpack-tmp" "$2"
	changed=1
}

# --- 2. swap ---------------------------------------------------------------
# kubelet refuses to run with swap on (failSwapOn). Off now with swapoff;
# off after a reboot because the swap lines of /etc/fstab are commented out
# (marked "#sealpack# ", the original kept as /etc/fstab.sealpack-bak) and
# swap.target is masked, which also keeps away swap that systemd finds by
# itself (zram, GPT swap partitions). clean-host.sh undoes both.

swap_on() { [ "$(awk 'NR > 1' /proc/swaps 2>/dev/null | wc -l)" -gt 0 ]; }
if swap_on; then
	swapoff -a || true
	swap_on && die "swap is still on after swapoff -a ($(awk 'NR > 1 {printf "%s ", $1}' /proc/swaps)); turn it off and run again."
	say "swap turned off"
fi
if [ -f /etc/fstab ] && awk '!/^[[:space:]]*#/ && $3 == "swap" {f = 1} END {exit !f}' /etc/fstab; then
	if [ ! -e /etc/fstab.sealpack-bak ]; then
		cp -p /etc/fstab /etc/fstab.sealpack-bak
		record /etc/fstab.sealpack-bak
	fi
	awk '!/^[[:space:]]*#/ && $3 == "swap" {print "#sealpack# " $0; next} {print}' /etc/fstab >"$tmp/fstab"
	cat "$tmp/fstab" >/etc/fstab # in place: keeps the file's owner, mode and SELinux label
	say "commented out the swap lines of /etc/fstab"
fi
if [ ! -e /etc/systemd/system/swap.target ] && [ ! -L /etc/systemd/system/swap.target ]; then
	if systemctl mask swap.target >/dev/null 2>&1; then
		record /etc/systemd/system/swap.target
	else
		warn "could not mask swap.target; swap that systemd activates at boot may come back"
	fi
fi

# --- 3. kernel -------------------------------------------------------------
# overlay: containerd's snapshotter. br_netfilter: bridged pod traffic goes
# through iptables, where kube-proxy's Service rules are. On a host that is
# a container, modprobe may be missing or refused while the module is built
# in or loaded by the machine underneath: what counts is that it works.

for m in overlay br_netfilter; do
	modprobe "$m" 2>/dev/null || true
done
grep -qw overlay /proc/filesystems ||
	die "the kernel has no overlay filesystem (modprobe overlay failed, and it is not in /proc/filesystems); containerd needs it. Load the module (modprobe overlay; on a container host, on the machine underneath) or use a kernel with CONFIG_OVERLAY_FS."
[ -d /proc/sys/net/bridge ] ||
	die "br_netfilter is not loaded (modprobe br_netfilter failed, and /proc/sys/net/bridge is missing); pods reach Services only through it. Load it (modprobe br_netfilter; on a container host, on the machine underneath) and run again."
printf '# Written by sealpack (bases/kubernetes): modules Kubernetes needs at boot.\noverlay\nbr_netfilter\n' >"$tmp/modules"
put "$tmp/modules" /etc/modules-load.d/sealpack-kubernetes.conf 0644

# set_sysctl KEY VALUE [optional]: sets it now, through /proc/sys (not
# `sysctl --system`, which would apply every file of the host). The value
# it had is kept in init-host.sysctl for clean-host.sh.
set_sysctl() {
	f=/proc/sys/$(echo "$1" | tr . /)
	if [ ! -f "$f" ]; then
		[ "${3:-}" = optional ] && { warn "$1 does not exist here; skipped"; return 0; }
		die "$f does not exist"
	fi
	cur=$(cat "$f")
	[ "$cur" = "$2" ] && return 0
	grep -qs "^$1=" "$SYSCTL_SAVE" || echo "$1=$cur" >>"$SYSCTL_SAVE"
	{ echo "$2" >"$f"; } 2>/dev/null ||
		die "cannot set $1 to $2 (it is $cur; /proc/sys is read-only here?). Set it on the host (sysctl -w $1=$2) and run again."
	say "$1 = $2 (was $cur)"
}
set_sysctl net.ipv4.ip_forward 1
set_sysctl net.bridge.bridge-nf-call-iptables 1
set_sysctl net.bridge.bridge-nf-call-ip6tables 1 optional
cat >"$tmp/sysctl" <<'EOF'
# Written by sealpack (bases/kubernetes): routing and filtering pod traffic.
net.ipv4.ip_forward = 1
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
EOF
put "$tmp/sysctl" /etc/sysctl.d/99-sealpack-kubernetes.conf 0644

# --- 3b. a route to the Service network -----------------------------------
# kube-proxy (iptables mode) rewrites a Service address after the kernel has
# routed the packet: without a route to the Service range every connection
# from the host to a ClusterIP (kubernetes.default, which flannel and CoreDNS
# use) fails with "network is unreachable". Air-gapped sites often have no
# default gateway; then the range is routed out of the interface that
# reaches master0, by a unit that keeps it across reboots.
SERVICE_CIDR=${SEALPACK_SERVICE_CIDR:-10.96.0.0/12}
svc_ip=$(echo "${SERVICE_CIDR%/*}" | sed 's/\.0$/.1/')
if ! ip route get "$svc_ip" >/dev/null 2>&1; then
	dev=$(ip -o route get "$SEALPACK_MASTER0" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
	if [ -z "$dev" ] || [ "$dev" = lo ]; then
		dev=$(ip -o -4 addr show | awk -v ip="$SEALPACK_MASTER0" 'index($4, ip "/") == 1 {print $2; exit}')
	fi
	[ -n "$dev" ] || die "no route to the Service network $SERVICE_CIDR and no interface toward $SEALPACK_MASTER0 to give it one"
	ipbin=$(command -v ip)
	cat >"$tmp/route" <<EOF
# Written by sealpack (bases/kubernetes): this host has no default route,
# and kube-proxy needs a route to the Service network $SERVICE_CIDR.
[Unit]
Description=Route to the Kubernetes Service network
Before=kubelet.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$ipbin route replace $SERVICE_CIDR dev $dev
ExecStop=-$ipbin route del $SERVICE_CIDR dev $dev

[Install]
WantedBy=multi-user.target
EOF
	put "$tmp/route" /etc/systemd/system/sealpack-service-route.service 0644
	systemctl daemon-reload
	systemctl enable --now sealpack-service-route.service >/dev/null 2>&1 ||
		die "could not route $SERVICE_CIDR through $dev (systemctl status sealpack-service-route)"
	say "no default route: $SERVICE_CIDR routed through $dev"
fi

# --- 4. CNI ----------------------------------------------------------------
# flannel's DaemonSet has no init containers (its image has no shell): the
# plugins and the network configuration come from the rootfs.

[ -d bin/cni ] || die "bin/cni is missing from $(pwd): the image carries no CNI plugins"
for f in bin/cni/*; do
	[ -f "$f" ] || continue
	put "$f" "/opt/cni/bin/${f##*/}" 0755
done
put etc/cni/10-flannel.conflist /etc/cni/net.d/10-flannel.conflist 0644
others=""
for f in /etc/cni/net.d/*.conf /etc/cni/net.d/*.conflist /etc/cni/net.d/*.json; do
	if [ -e "$f" ] && [ "${f##*/}" != 10-flannel.conflist ]; then others="$others${f##*/} "; fi
done
[ -z "$others" ] ||
	warn "/etc/cni/net.d also holds $others: containerd uses the first configuration by name, so pods may not get flannel's network; remove those files."

# --- 5. containerd, kubelet, crictl ----------------------------------------

# CAP_SYS_RESOURCE (bit 24) in the bounding set of PID 1, whose services
# inherit it; without it runc cannot give containers a lower oom_score_adj
# than containerd's (see etc/containerd/config.toml).
capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/1/status 2>/dev/null || true)
[ -n "$capbnd" ] || capbnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
cp etc/containerd/config.toml "$tmp/config.toml"
oom="kept for containers"
if [ $(((0x$capbnd >> 24) & 1)) -eq 0 ]; then
	sed 's/^\([[:space:]]*restrict_oom_score_adj[[:space:]]*=[[:space:]]*\)false/\1true/' etc/containerd/config.toml >"$tmp/config.toml"
	grep -q '^[[:space:]]*restrict_oom_score_adj = true' "$tmp/config.toml" ||
		die "etc/containerd/config.toml has no 'restrict_oom_score_adj = false' line to turn on"
	oom="restricted (no CAP_SYS_RESOURCE)"
fi
put "$tmp/config.toml" /etc/containerd/config.toml 0644
restart=$changed
put etc/systemd/containerd.service /etc/systemd/system/containerd.service 0644
[ "$changed" = 0 ] || restart=1
put etc/systemd/kubelet.service /etc/systemd/system/kubelet.service 0644
put etc/systemd/kubelet.service.d/10-kubeadm.conf /etc/systemd/system/kubelet.service.d/10-kubeadm.conf 0644
put etc/crictl.yaml /etc/crictl.yaml 0644

# containerd's state: clean-host.sh removes these (images, snapshots) only
# when this script saw them appear.
for d in /var/lib/containerd /run/containerd; do
	[ -e "$d" ] || record "$d/"
done

containerd_logs() {
	journalctl -u containerd.service -n 20 --no-pager >&2 2>/dev/null || systemctl status containerd.service --no-pager -l >&2 2>/dev/null || true
}
systemctl daemon-reload
was_active=0
active containerd.service && was_active=1
systemctl enable --now containerd.service >"$tmp/systemctl" 2>&1 || {
	cat "$tmp/systemctl" >&2
	containerd_logs
	die "containerd did not start (its last log lines are above; more with journalctl -u containerd)"
}
if [ "$was_active" = 1 ] && [ "$restart" = 1 ]; then
	say "restarting containerd for its new configuration"
	systemctl restart containerd.service || {
		containerd_logs
		die "containerd did not restart (its last log lines are above)"
	}
fi
start=$(date +%s)
until /usr/local/bin/ctr --connect-timeout 2s version >"$tmp/ctr" 2>&1; do
	if [ $(($(date +%s) - start)) -ge 60 ]; then
		containerd_logs
		die "containerd does not answer on $SOCK 60 s after starting ($(tail -n 1 "$tmp/ctr")); its last log lines are above"
	fi
	sleep 1
done
runtime=$(awk '/^Server:/ {s = 1} s && /Version:/ {print $2; exit}' "$tmp/ctr")

# kubeadm starts kubelet once its configuration is written; enabled, it
# comes back after a reboot (and kubeadm's preflight does not warn).
systemctl enable kubelet.service >"$tmp/systemctl" 2>&1 || {
	cat "$tmp/systemctl" >&2
	die "systemctl enable kubelet failed"
}

sysd=$(systemctl --version 2>/dev/null | awk 'NR == 1 {print $2}')
say "host $host (${SEALPACK_ROLE:-?}): init systemd ${sysd:-?}, cgroup $cgroup, containerd ${runtime:-?} (oom_score_adj $oom), ready for kubeadm"
