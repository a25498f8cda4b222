#!/usr/bin/env bash
# Builds every binary bases/kubernetes carries from its own Go sources, through
# the Go module proxy, for a build machine that cannot reach the release
# downloads. Each Go module under src/ pins one upstream project at the
# version of versions.env. Outputs are cached by version in
# $SEALPACK_CACHE/kubernetes/<version>/bin (default /var/cache/sealpack):
# a warm run only checks that they are there.
#
# usage: build-from-source.sh [OUTDIR]     prints the directory of the binaries
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "${KUBE_VERSIONS:-$here/versions.env}"
cache=${SEALPACK_CACHE:-/var/cache/sealpack}
out=${1:-$cache/kubernetes/$KUBE_VERSION/bin}
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-trimpath
say() { echo "build-from-source: $*" >&2; }

# srcdir DIR: the module for DIR, src/<minor>/DIR where one pins that minor's
# versions (src/v1.35/...), else src/DIR (the default versions).
srcdir() {
	local m=${KUBE_VERSION%.*}
	if [ -d "$here/src/$m/$1" ]; then echo "$here/src/$m/$1"; else echo "$here/src/$1"; fi
}

# build NAME... -- DIR PKG...: builds PKGs in module DIR unless every NAME is in $out.
build() {
	local names=() dir
	while [ "$1" != -- ]; do names+=("$1"); shift; done
	shift
	dir=$1
	shift
	local missing=0
	for n in "${names[@]}"; do [ -x "$out/$n" ] || missing=1; done
	[ $missing = 1 ] || return 0
	local start=$SECONDS tmp
	say "building ${names[*]} (a cold Go cache takes minutes)"
	tmp=$(mktemp -d "$out/.build-XXXXXX")
	(cd "$(srcdir "$dir")" && go build -ldflags "${LDFLAGS:--s -w}" -o "$tmp/" "$@") || {
		rm -rf "$tmp"
		say "building ${names[*]} failed (module $(srcdir "$dir"))"
		return 1
	}
	for n in "${names[@]}"; do mv "$tmp/$n" "$out/$n"; done
	rm -rf "$tmp"
	say "built ${names[*]} in $((SECONDS - start)) s"
}

total=$SECONDS
minor=${KUBE_VERSION#v1.}
minor=${minor%%.*}
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	# Without these kubeadm says v0.0.0-master and refuses to match kubelet.
	ld="$ld -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
	ld="$ld -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.buildDate=1970-01-01T00:00:00Z"
done
LDFLAGS=$ld build kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy -- kubernetes \
	k8s.io/kubernetes/cmd/kubeadm k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kubectl \
	k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
	k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy
LDFLAGS="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=sealpack" build etcd -- etcd .
LDFLAGS="-s -w -X github.com/coredns/coredns/coremain.GitCommit=sealpack" build coredns -- coredns github.com/coredns/coredns
LDFLAGS="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRICTL_VERSION" build crictl -- crictl sigs.k8s.io/cri-tools/cmd/crictl
# flanneld's udp backend is C (cgo): linked statically, so that its image
# needs no C library.
CGO_ENABLED=1 LDFLAGS="-s -w -linkmode external -extldflags -static -X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION" \
	build flannel -- flannel github.com/flannel-io/flannel
build bridge host-local loopback portmap -- cni \
	github.com/containernetworking/plugins/plugins/main/bridge github.com/containernetworking/plugins/plugins/ipam/host-local \
	github.com/containernetworking/plugins/plugins/main/loopback github.com/containernetworking/plugins/plugins/meta/portmap
# flannel's CNI plugin keeps its upstream name, "flannel", but flanneld is
# also "flannel": the plugin lives in cni/ below $out.
if [ ! -x "$out/cni/flannel" ]; then
	mkdir -p "$out/cni"
	(cd "$here/src/cni-flannel" && go build -ldflags "-s -w" -o "$out/cni/flannel.tmp" github.com/containernetworking/plugins/plugins/meta/flannel)
	mv "$out/cni/flannel.tmp" "$out/cni/flannel"
fi
build pause -- pause .
say "all binaries in $out ($((SECONDS - total)) s)"
echo "$out"
