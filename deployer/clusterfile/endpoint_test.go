package clusterfile

import (
	"fmt"
	"strings"
	"testing"
)

func endpointCluster(t *testing.T, masters []string, endpoint string) *Cluster {
	t.Helper()
	cf := fmt.Sprintf(`apiVersion: sealer.io/v2
kind: Cluster
metadata: {name: c}
spec:
  hosts:
    - ips: [%s]
      roles: [master]
    - ips: [10.0.0.21]
      roles: [node]
`, strings.Join(masters, ", "))
	if endpoint != "" {
		cf += fmt.Sprintf("---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrolPlaneEndpoint: %q\n", endpoint)
	}
	c, _, err := Parse("Clusterfile", []byte(cf))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestControlPlaneEndpoint(t *testing.T) {
	const bindPort7443 = "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\nlocalAPIEndpoint: {bindPort: 7443}\n"
	three := []string{"10.0.0.11", "10.0.0.12", "10.0.0.13"}
	tests := []struct {
		name      string
		masters   []string
		endpoint  string // the Clusterfile's
		recorded  string
		defaults  string
		want      Endpoint
		mergedHas string // in the init configuration MergeKubeadm writes
	}{
		{"one master: its address", []string{"10.0.0.11"}, "", "", "",
			Endpoint{Addr: "10.0.0.11:6443", BindPort: 6443}, "controlPlaneEndpoint: 10.0.0.11:6443"},
		{"three masters: the balanced name", three, "", "", "",
			Endpoint{Addr: "sealpack.apiserver:6443", BindPort: 6443, Balanced: true}, "controlPlaneEndpoint: sealpack.apiserver:6443"},
		{"the image's bind port", three, "", "", bindPort7443,
			Endpoint{Addr: "sealpack.apiserver:7443", BindPort: 7443, Balanced: true}, "controlPlaneEndpoint: sealpack.apiserver:7443"},
		{"the site's load balancer", three, "lb.corp.example:6443", "", "",
			Endpoint{Addr: "lb.corp.example:6443", BindPort: 6443}, "controlPlaneEndpoint: lb.corp.example:6443"},
		{"one of the masters: a single host", three, "10.0.0.12:6443", "", "",
			Endpoint{Addr: "10.0.0.12:6443", BindPort: 6443, SingleMaster: "10.0.0.12"}, "controlPlaneEndpoint: 10.0.0.12:6443"},
		{"made with one master, grown to three: kept", three, "", "10.0.0.11:6443", "",
			Endpoint{Addr: "10.0.0.11:6443", BindPort: 6443}, "controlPlaneEndpoint: 10.0.0.11:6443"},
		{"the Clusterfile's wins over the record", three, "lb.corp.example:6443", "10.0.0.11:6443", "",
			Endpoint{Addr: "lb.corp.example:6443", BindPort: 6443}, "controlPlaneEndpoint: lb.corp.example:6443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := endpointCluster(t, tt.masters, tt.endpoint)
			got, err := ControlPlaneEndpoint([]byte(tt.defaults), c, tt.recorded)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			init, _, err := MergeKubeadm([]byte(tt.defaults), c, KubeadmVars{KubernetesVersion: "v1.34.3", Endpoint: tt.recorded})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(init), tt.mergedHas) {
				t.Errorf("MergeKubeadm wrote no %q:\n%s", tt.mergedHas, init)
			}
			if got.Balanced && !strings.Contains(string(init), "- "+APIServerName) {
				t.Errorf("the apiservers' certSANs lack %s:\n%s", APIServerName, init)
			}
		})
	}
}
