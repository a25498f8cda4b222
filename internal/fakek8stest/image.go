package fakek8stest

// KubeadmDefaults is the etc/kubeadm.yaml of a test image: the test hosts
// run no container runtime, and the image says so to kubeadm.
const KubeadmDefaults = `apiVersion: kubeadm.k8s.io/v1beta3
kind: InitConfiguration
nodeRegistration:
  ignorePreflightErrors: [CRI]
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.30.4
networking:
  podSubnet: 10.244.0.0/16
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: JoinConfiguration
nodeRegistration:
  ignorePreflightErrors: [CRI]
`

// InitHost is a scripts/init-host.sh for test hosts: kubeadm checks that
// packets are forwarded.
const InitHost = "#!/bin/sh\nset -e\necho 1 > /proc/sys/net/ipv4/ip_forward\n"

// Rootfs is the rootfs of a cluster image for tests: the fake binary
// (built by Build) as kubeadm, kubectl and kubelet, the kubeadm defaults and
// the init-host script. Callers add their own files.
func Rootfs(fake []byte) map[string][]byte {
	files := map[string][]byte{
		"etc/kubeadm.yaml":     []byte(KubeadmDefaults),
		"scripts/init-host.sh": []byte(InitHost),
	}
	for _, n := range Names() {
		files["bin/"+n] = fake
	}
	return files
}
