#!/usr/bin/env bash
# Runs inside `testhosts`: installs the demo cluster onto its hosts, shows
# the nodes, runs the installer a second time (nothing to do), then resets.
set -euo pipefail
out=$1
read -r -a ips <<<"$SEALPACK_TEST_HOSTS"
cat >"$out/Clusterfile" <<CF
apiVersion: sealer.cloud/v2
kind: Cluster
metadata:
  name: demo
spec:
  ssh:
    user: root
    # the password comes from SEALPACK_SSH_PASSWORD
  hosts:
    - ips: [${ips[0]}]
      roles: [master]
    - ips: [${ips[1]}, ${ips[2]}]
      roles: [node]
      labels: {disk: ssd}
CF
cat "$out/Clusterfile"
export SEALPACK_SSH_PASSWORD=$SEALPACK_TEST_PASSWORD
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

time "./$out/app-installer.run" --unattended -f "$out/Clusterfile" --accept-new-host-keys

say "kubectl get nodes (with the kubeconfig the install saved)"
ln -sf "$PWD/bin/fakek8s-amd64" "$out/kubectl"
FAKEK8S_ROOT="$PWD/$out/jump-host" KUBECONFIG="$out/.sealpack/admin.conf" "./$out/kubectl" get nodes -o wide
FAKEK8S_ROOT="$PWD/$out/jump-host" KUBECONFIG="$out/.sealpack/admin.conf" "./$out/kubectl" get deployments -A

say "the installer has exited; the master still serves the images (skopeo inspect of its registry)"
skopeo inspect --tls-verify=false --raw "docker://${ips[0]}:5000/library/nginx:1.27" | head -c 300; echo

say "the same command again: every step is already done"
"./$out/app-installer.run" --unattended -f "$out/Clusterfile"

say "reset: uninstall from every host"
"./$out/app-installer.run" reset -f "$out/Clusterfile" --yes

say "the demo is over: the 3 test hosts are removed now; $out/ keeps the installer, the Clusterfile and $out/.sealpack (logs, state)"
