package discover

import "testing"

func TestKubeVersion(t *testing.T) {
	labels := map[string]string{LabelKubeVersion: "1.29.1"}
	tests := []struct {
		name, root string
		labels     map[string]string
		flag       string
		want, src  string
	}{
		{"flag first", "testdata/kubeadm", labels, "1.31.2", "v1.31.2", "--kube-version"},
		{"kubeadm config", "testdata/kubeadm", labels, "", "v1.30.4", "etc/kubeadm.yaml (ClusterConfiguration kubernetesVersion)"},
		{"label", "testdata/kinds", labels, "", "v1.29.1", "label " + LabelKubeVersion},
		{"default", "testdata/kinds", nil, "", DefaultKubeVersion, "default (newest Kubernetes this sealpack knows)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, src := KubeVersion(tc.root, tc.labels, tc.flag)
			if v != tc.want || src != tc.src {
				t.Errorf("KubeVersion = %q, %q; want %q, %q", v, src, tc.want, tc.src)
			}
		})
	}
}

func TestKubeadmVersionLabels(t *testing.T) {
	// "stable-1.30" needs the internet to resolve: fall through to the default.
	root := t.TempDir()
	writeFile(t, root, "etc/kubeadm.yml", "kind: ClusterConfiguration\nkubernetesVersion: stable-1.30\n")
	if v, src := KubeVersion(root, nil, ""); v != DefaultKubeVersion {
		t.Errorf("KubeVersion = %q (%s), want the default", v, src)
	}
	writeFile(t, root, "etc/kubeadm.yml", "kind: InitConfiguration\n---\n[broken\n---\nkind: ClusterConfiguration\nkubernetesVersion: 1.28.0\n")
	if v, _ := KubeVersion(root, nil, ""); v != "v1.28.0" {
		t.Errorf("KubeVersion = %q, want v1.28.0", v)
	}
}
