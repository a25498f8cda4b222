package clusterfile

import "testing"

func TestKubernetesVersion(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"apiVersion: kubeadm.k8s.io/v1beta4\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.34.3\n", "v1.34.3"},
		// kubeadm-config's ClusterConfiguration, as the cluster stores it.
		{"apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\nkubernetesVersion: v1.35.4\n", "v1.35.4"},
		{"kind: InitConfiguration\n", ""},
		{"kind: [", ""},
		{"", ""},
	} {
		if got := KubernetesVersion([]byte(tc.doc)); got != tc.want {
			t.Errorf("%q: %q, want %q", tc.doc, got, tc.want)
		}
	}
}
