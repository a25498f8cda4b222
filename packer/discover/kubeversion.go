package discover

import (
	"io/fs"
	"os"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
)

// DefaultKubeVersion is the newest Kubernetes release this sealpack knows:
// charts render for it when nothing else names a version.
const DefaultKubeVersion = "v1.33.0"

// LabelKubeVersion is the Kubefile label that names the cluster's version.
const LabelKubeVersion = "io.sealpack.kubernetes.version"

// KubeVersion picks the Kubernetes version charts render for, and says
// where it came from (for the build log): the --kube-version flag, else the
// kubernetesVersion of a ClusterConfiguration in etc/kubeadm.yaml, else the
// label io.sealpack.kubernetes.version, else DefaultKubeVersion.
func KubeVersion(root string, labels map[string]string, flag string) (version, source string) {
	return KubeVersionFS(os.DirFS(root), labels, flag)
}

// KubeVersionFS is KubeVersion over a file system.
func KubeVersionFS(fsys fs.FS, labels map[string]string, flag string) (version, source string) {
	if flag != "" {
		return withV(flag), "--kube-version"
	}
	for _, name := range [...]string{"etc/kubeadm.yaml", "etc/kubeadm.yml"} {
		if v := kubeadmVersion(fsys, name); v != "" {
			return v, name + " (ClusterConfiguration kubernetesVersion)"
		}
	}
	if v := strings.TrimSpace(labels[LabelKubeVersion]); v != "" {
		return withV(v), "label " + LabelKubeVersion
	}
	return DefaultKubeVersion, "default (newest Kubernetes this sealpack knows)"
}

// kubeadmVersion returns the kubernetesVersion of the first
// ClusterConfiguration document of a kubeadm config, when it is a version
// (not a label such as "stable-1", which needs the internet to resolve).
func kubeadmVersion(fsys fs.FS, file string) string {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return ""
	}
	for _, d := range splitDocuments(data) {
		v, err := decode(d.body)
		if err != nil {
			continue
		}
		m, _ := v.(map[string]any)
		if kind, _ := m["kind"].(string); kind != "ClusterConfiguration" {
			continue
		}
		s, _ := m["kubernetesVersion"].(string)
		if s = withV(strings.TrimSpace(s)); s != "" {
			if _, err := chartutil.ParseKubeVersion(s); err == nil {
				return s
			}
		}
	}
	return ""
}

// withV writes versions as Kubernetes does: "1.30.4" -> "v1.30.4".
func withV(v string) string {
	if v != "" && v[0] >= '0' && v[0] <= '9' {
		return "v" + v
	}
	return v
}
