package clusterfile

import (
	"bytes"

	yaml "go.yaml.in/yaml/v3"
)

// KubernetesVersion is the kubernetesVersion of the first
// ClusterConfiguration in data (kubeadm YAML, one or more documents), ""
// when there is none or data does not parse.
func KubernetesVersion(data []byte) string {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			Kind              string `yaml:"kind"`
			KubernetesVersion string `yaml:"kubernetesVersion"`
		}
		if err := dec.Decode(&doc); err != nil {
			return ""
		}
		if doc.Kind == KindClusterCf || doc.Kind == "" && doc.KubernetesVersion != "" {
			return doc.KubernetesVersion
		}
	}
}
