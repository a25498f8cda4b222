#!/bin/sh
# Runs on every host before kubeadm, as root, in /var/lib/sealpack/rootfs.
# A real image installs and starts containerd here; the demo's hosts only
# need packet forwarding, which kubeadm checks.
set -e
echo 1 > /proc/sys/net/ipv4/ip_forward
mkdir -p /etc/sealpack-demo
echo "role=$SEALPACK_ROLE master0=$SEALPACK_MASTER0 registry=$SEALPACK_REGISTRY" > /etc/sealpack-demo/host-info
