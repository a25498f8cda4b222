#!/bin/sh
# Puts the host binaries of bases/kubernetes into the rootfs being built and
# writes the list of images it carries. The Kubefile's one RUN step calls it,
# at build time on the build machine, with the rootfs as the working
# directory and the Kubefile's ARGs in the environment.
#
#   bin/      kubeadm kubelet kubectl crictl containerd containerd-shim-runc-v2
#             ctr runc: the installer puts every top-level file of bin/ into
#             /usr/local/bin on every host
#   bin/cni/  bridge host-local loopback portmap flannel: CNI plugins, which
#             scripts/init-host.sh installs into /opt/cni/bin
#   images.txt
#
# The control-plane programs, etcd, CoreDNS, pause and flanneld are not here:
# they run as container images, which images.txt names.
#
# Where the binaries come from:
#   BIN_DIR set     a directory laid out as build-from-source.sh leaves it, for
#                   a build machine without the release downloads; containerd
#                   and runc then come from the build machine's Debian packages
#   BIN_DIR empty   the official releases, each checked against the sha256 its
#                   project publishes next to it
set -eu

say() { echo "fetch-release: $*" >&2; }
die() { say "error: $*"; exit 1; }

for v in KUBE_VERSION ETCD_IMAGE_TAG COREDNS_VERSION PAUSE_VERSION CRICTL_VERSION \
	CNI_PLUGINS_VERSION FLANNEL_VERSION FLANNEL_CNI_PLUGIN_VERSION CONTAINERD_VERSION RUNC_VERSION; do
	eval "val=\${$v:-}"
	[ -n "$val" ] || die "$v is not set (the Kubefile's ARG gives it a default; was it overridden with an empty --build-arg?)"
done
ARCH=${TARGETARCH:-amd64}
BIN_DIR=${BIN_DIR:-}
case $ARCH in
amd64 | arm64) ;;
*) die "TARGETARCH=$ARCH: this base is built for amd64 or arm64" ;;
esac
if [ ! -d etc ] || [ ! -d manifests ]; then
	die "run me in the rootfs being built, after the Kubefile's COPY of etc and manifests (cwd is $(pwd))"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sealpack-fetch-XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p bin/cni

# place SRC NAME [DIR]: copies SRC to DIR/NAME (bin/ by default), mode 0755.
place() {
	[ -f "$1" ] || die "$1 is missing"
	cp "$1" "${3:-bin}/$2.tmp"
	chmod 0755 "${3:-bin}/$2.tmp"
	mv -f "${3:-bin}/$2.tmp" "${3:-bin}/$2"
}

# The build machine's architecture, in Go's names.
host_arch() {
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) uname -m ;;
	esac
}

from_bin_dir() {
	[ -d "$BIN_DIR" ] || die "BIN_DIR=$BIN_DIR is not a directory"
	# build-from-source.sh builds for the machine it runs on.
	[ "$(host_arch)" = "$ARCH" ] ||
		die "BIN_DIR holds binaries built on this $(host_arch) machine, but TARGETARCH=$ARCH"
	for n in kubeadm kubelet kubectl crictl; do
		[ -x "$BIN_DIR/$n" ] || die "$BIN_DIR/$n is missing (build-from-source.sh builds it)"
		place "$BIN_DIR/$n" "$n"
	done
	for n in bridge host-local loopback portmap; do
		[ -x "$BIN_DIR/$n" ] || die "$BIN_DIR/$n is missing (build-from-source.sh builds the CNI plugins)"
		place "$BIN_DIR/$n" "$n" bin/cni
	done
	[ -x "$BIN_DIR/cni/flannel" ] || die "$BIN_DIR/cni/flannel is missing (build-from-source.sh builds flannel's CNI plugin there)"
	place "$BIN_DIR/cni/flannel" flannel bin/cni

	# containerd and runc are not built from sources: runc needs cgo and
	# libseccomp, which a CGO_ENABLED=0 build through the module proxy cannot
	# give. The build machine's Debian packages (containerd, runc) are the
	# pair that ran a real kubeadm cluster here; they link the build
	# machine's glibc (and runc libseccomp), so the hosts must be that Debian
	# release or newer, with libseccomp2 installed.
	for f in /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr /usr/sbin/runc; do
		[ -x "$f" ] || die "$f is missing: install Debian's packages on the build machine (apt-get install containerd runc)"
	done
	place /usr/bin/containerd containerd
	place /usr/bin/containerd-shim-runc-v2 containerd-shim-runc-v2
	place /usr/bin/ctr ctr
	place /usr/sbin/runc runc
	say "containerd and runc from this machine's packages: $(/usr/bin/containerd --version 2>/dev/null | awk '{print $3}'), runc $(/usr/sbin/runc --version 2>/dev/null | awk 'NR==1{print $3}') (versions.env names $CONTAINERD_VERSION and $RUNC_VERSION for downloads)"
}

# A connected build machine: downloads, verified against published sums.
# With SEALPACK_CACHE set, verified downloads are kept below it and reused
# once they match the published sum again.
cache=${SEALPACK_CACHE:+$SEALPACK_CACHE/kubernetes/downloads}

get() { # URL DEST: downloads with curl, else wget
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --retry 3 --retry-delay 2 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		wget -q -O "$2" "$1"
	else
		die "neither curl nor wget is installed on the build machine"
	fi
}

# published SUMFILE NAME: the sha256 a sum file gives for NAME; the file is
# either "<hex>" alone (dl.k8s.io) or sha256sum lines ("<hex>  NAME").
# (No {64} in the regular expression: mawk, Debian's awk, lacks intervals.)
published() {
	awk -v name="$2" '
		NF == 1 && length($1) == 64 && $1 ~ /^[0-9a-f]+$/ { one = $1; n++ }
		NF >= 2 { f = $2; sub(/^\*/, "", f); sub(/^.*\//, "", f); if (f == name) { print $1; found = 1; exit } }
		END { if (!found && n == 1) print one }
	' "$1"
}

# fetch URL SUMURL DEST: downloads URL to DEST and checks it against the sum
# published at SUMURL. Cached files are kept by URL (kubeadm's name has no
# version in it).
fetch() {
	name=${1##*/}
	get "$2" "$work/$name.sum" || die "cannot download $2 (the published checksum of $name)"
	want=$(published "$work/$name.sum" "$name")
	[ -n "$want" ] || die "$2 gives no sha256 for $name"
	kept=${cache:+$cache/${1#*://}}
	if [ -n "$kept" ] && [ -f "$kept" ] && [ "$(sha256sum "$kept" | cut -d' ' -f1)" = "$want" ]; then
		cp "$kept" "$3"
		say "$name: cached, sha256 $want"
		return
	fi
	say "downloading $1"
	get "$1" "$3" || die "cannot download $1"
	got=$(sha256sum "$3" | cut -d' ' -f1)
	[ "$got" = "$want" ] || die "$name: sha256 is $got, but $2 publishes $want (a corrupt or tampered download)"
	if [ -n "$kept" ] && mkdir -p "${kept%/*}" 2>/dev/null; then
		{ cp "$3" "$kept.tmp" && mv -f "$kept.tmp" "$kept"; } || true
	fi
}

# need DIR NAME...: fails unless the archive unpacked into DIR holds every NAME.
need() {
	d=$1
	shift
	for n in "$@"; do
		[ -f "$d/$n" ] || die "the downloaded archive has no $n (it holds: $(cd "$d" && echo *))"
	done
}

download() {
	gh=https://github.com
	for n in kubeadm kubelet kubectl; do
		u=https://dl.k8s.io/release/$KUBE_VERSION/bin/linux/$ARCH/$n
		fetch "$u" "$u.sha256" "$work/$n"
		place "$work/$n" "$n"
	done

	f=crictl-$CRICTL_VERSION-linux-$ARCH.tar.gz
	u=$gh/kubernetes-sigs/cri-tools/releases/download/$CRICTL_VERSION/$f
	fetch "$u" "$u.sha256" "$work/$f"
	mkdir "$work/crictl" && tar -xzf "$work/$f" -C "$work/crictl"
	need "$work/crictl" crictl
	place "$work/crictl/crictl" crictl

	# The static build: no dependency on the hosts' glibc.
	f=containerd-static-$CONTAINERD_VERSION-linux-$ARCH.tar.gz
	u=$gh/containerd/containerd/releases/download/v$CONTAINERD_VERSION/$f
	fetch "$u" "$u.sha256sum" "$work/$f"
	mkdir "$work/containerd" && tar -xzf "$work/$f" -C "$work/containerd"
	need "$work/containerd/bin" containerd containerd-shim-runc-v2 ctr
	for n in containerd containerd-shim-runc-v2 ctr; do
		place "$work/containerd/bin/$n" "$n"
	done

	u=$gh/opencontainers/runc/releases/download/$RUNC_VERSION
	fetch "$u/runc.$ARCH" "$u/runc.sha256sum" "$work/runc"
	place "$work/runc" runc

	f=cni-plugins-linux-$ARCH-$CNI_PLUGINS_VERSION.tgz
	u=$gh/containernetworking/plugins/releases/download/$CNI_PLUGINS_VERSION/$f
	fetch "$u" "$u.sha256" "$work/$f"
	mkdir "$work/cni" && tar -xzf "$work/$f" -C "$work/cni"
	need "$work/cni" bridge host-local loopback portmap
	for n in bridge host-local loopback portmap; do
		place "$work/cni/$n" "$n" bin/cni
	done

	# flannel's plugin: the archive holds flannel-<arch>. Its releases name
	# the archive after the tag (v1.9.1-flannel1) or after the plugin
	# version alone (v1.9.1); try both.
	v=$FLANNEL_CNI_PLUGIN_VERSION
	u=$gh/flannel-io/cni-plugin/releases/download/$v
	f=""
	for cand in "cni-plugin-flannel-linux-$ARCH-$v.tgz" "cni-plugin-flannel-linux-$ARCH-${v%-flannel*}.tgz"; do
		if get "$u/$cand.sha256" "$work/probe" 2>/dev/null; then
			f=$cand
			break
		fi
	done
	[ -n "$f" ] || die "flannel-io/cni-plugin $v publishes neither cni-plugin-flannel-linux-$ARCH-$v.tgz nor -${v%-flannel*}.tgz (see $u)"
	fetch "$u/$f" "$u/$f.sha256" "$work/$f"
	mkdir "$work/flannel" && tar -xzf "$work/$f" -C "$work/flannel"
	need "$work/flannel" "flannel-$ARCH"
	place "$work/flannel/flannel-$ARCH" flannel bin/cni
}

# The configuration files name versions too; a --build-arg that changes a
# version must not leave them behind silently.
check_versions() {
	# kubeadm's is derived from KUBE_VERSION alone: written here, so that
	# one recipe builds each Kubernetes version (versions-v1.35.env).
	sed -i "s/^kubernetesVersion: .*/kubernetesVersion: $KUBE_VERSION/" etc/kubeadm.yaml
	grep -q "^kubernetesVersion: $KUBE_VERSION\$" etc/kubeadm.yaml ||
		die "etc/kubeadm.yaml has no kubernetesVersion line to set to $KUBE_VERSION"
	grep -q "sandbox_image = \"registry.k8s.io/pause:$PAUSE_VERSION\"" etc/containerd/config.toml ||
		die "etc/containerd/config.toml does not name registry.k8s.io/pause:$PAUSE_VERSION as sandbox_image; update it with PAUSE_VERSION"
	grep -q "image: ghcr.io/flannel-io/flannel:$FLANNEL_VERSION\$" manifests/kube-flannel.yaml ||
		die "manifests/kube-flannel.yaml does not run ghcr.io/flannel-io/flannel:$FLANNEL_VERSION; update it with FLANNEL_VERSION"
}

check_versions
if [ -n "$BIN_DIR" ]; then
	say "taking the binaries from BIN_DIR=$BIN_DIR"
	from_bin_dir
else
	say "downloading the $ARCH releases (set BIN_DIR to use binaries built from sources)"
	download
fi

# What was taken must be what versions.env names (checked where it runs).
if [ "$(host_arch)" = "$ARCH" ]; then
	got=$(bin/kubeadm version -o short 2>/dev/null) || die "bin/kubeadm does not run on this machine"
	[ "$got" = "$KUBE_VERSION" ] || die "bin/kubeadm says it is $got, not $KUBE_VERSION"
	got=$(bin/kubelet --version 2>/dev/null) || die "bin/kubelet does not run on this machine"
	[ "$got" = "Kubernetes $KUBE_VERSION" ] || die "bin/kubelet says it is ${got#Kubernetes }, not $KUBE_VERSION"
	bin/kubectl version --client >/dev/null 2>&1 || die "bin/kubectl does not run on this machine"
fi

# The images: what `kubeadm config images list --kubernetes-version
# $KUBE_VERSION` names, plus the pod network.
cat >images.txt <<EOF
# Images of bases/kubernetes $KUBE_VERSION (written by fetch-release.sh):
# kubeadm's control plane, as \`kubeadm config images list\` names them,
# and the pod network.
registry.k8s.io/kube-apiserver:$KUBE_VERSION
registry.k8s.io/kube-controller-manager:$KUBE_VERSION
registry.k8s.io/kube-scheduler:$KUBE_VERSION
registry.k8s.io/kube-proxy:$KUBE_VERSION
registry.k8s.io/etcd:$ETCD_IMAGE_TAG
registry.k8s.io/coredns/coredns:$COREDNS_VERSION
registry.k8s.io/pause:$PAUSE_VERSION
ghcr.io/flannel-io/flannel:$FLANNEL_VERSION
EOF
say "bin: $(cd bin && echo *)"
say "bin/cni: $(cd bin/cni && echo *)"
