#!/bin/sh
# Runs on every host by `reset`, before kubeadm reset -f.
rm -rf /etc/sealpack-demo
