#!/usr/bin/env bash
# make kubernetes: builds the Kubernetes base, bin/kubernetes-<version>-linux-amd64.run,
# from bases/kubernetes/Kubefile.
#
#   KUBERNETES_FROM=release   a connected build machine: the recipe downloads the
#                             official release binaries (sha256-checked) and pulls
#                             the images from registry.k8s.io and ghcr.io.
#   KUBERNETES_FROM=source    (default; no internet) the same Kubefile, with the
#                             binaries built from their Go sources through the module
#                             proxy and the images made from them, served on loopback
#                             to the build through --registry-mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
recipe=bases/kubernetes
# KUBE_VERSIONS names another versions file (versions-v1.35.env: the next minor).
versions=${KUBE_VERSIONS:-$recipe/versions.env}
. "$versions"
from=${KUBERNETES_FROM:-source}
out=bin/kubernetes-$KUBE_VERSION-linux-amd64.run
cache=${SEALPACK_CACHE:-/var/cache/sealpack}
start=$SECONDS
say() { echo "make kubernetes: $*" >&2; }

args=()
while IFS= read -r line; do
	case "$line" in '' | '#'*) continue ;; esac
	args+=(--build-arg "$line")
done <"$versions"
args+=(--platform linux/amd64 --build-arg TARGETARCH=amd64 -f "$recipe/Kubefile" -o "$out")

case "$from" in
release)
	bin/sealpack build "${args[@]}" "$recipe"
	;;
source)
	say "binaries from source (cached in $cache/kubernetes/$KUBE_VERSION; a cold build takes 20-45 minutes on 2 cores)"
	bindir=$(KUBE_VERSIONS="$versions" "$recipe/build-from-source.sh")
	go build -o bin/kubeimages ./internal/kubeimages
	work=$(mktemp -d)
	trap 'kill $reg 2>/dev/null || true; wait $reg 2>/dev/null || true; rm -rf "$work"' EXIT
	say "control-plane, CoreDNS, pause and flannel images from those binaries, on a loopback registry"
	bin/kubeimages -bin "$bindir" -versions "$versions" -addr-file "$work/addr" >"$work/images.txt" 2>"$work/kubeimages.log" &
	reg=$!
	for _ in $(seq 600); do
		[ -s "$work/addr" ] && break
		kill -0 $reg 2>/dev/null || { cat "$work/kubeimages.log" >&2; exit 1; }
		sleep 0.2
	done
	[ -s "$work/addr" ] || { say "the image registry did not start in 120 s"; cat "$work/kubeimages.log" >&2; exit 1; }
	addr=$(cat "$work/addr")
	bin/sealpack build "${args[@]}" --build-arg BIN_DIR="$bindir" \
		--registry-mirror registry.k8s.io=http://"$addr" --registry-mirror ghcr.io=http://"$addr" \
		--cache-dir "$cache/kubernetes/$KUBE_VERSION/blobs" "$recipe"
	;;
*)
	say "KUBERNETES_FROM is release or source, not $from"
	exit 2
	;;
esac
say "$out built in $((SECONDS - start)) s"
