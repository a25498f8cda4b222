package clusterfile

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

const (
	testToken   = "abcdef.0123456789abcdef"
	testCAHash  = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	testCertKey = "f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0"
)

func loadMergeCase(t *testing.T, name string) ([]byte, *Cluster) {
	t.Helper()
	dir := filepath.Join("testdata", "merge", name)
	defaults, err := os.ReadFile(filepath.Join(dir, "defaults.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := parseFile(t, "merge", name, "Clusterfile")
	return defaults, c
}

func TestMergeKubeadmGolden(t *testing.T) {
	tests := []struct {
		name string
		vars KubeadmVars
	}{
		{"sealer-ha", KubeadmVars{Token: testToken, CACertHashes: []string{testCAHash}, CertificateKey: testCertKey}},
		{"v1beta4-single", KubeadmVars{}},
		{"no-defaults", KubeadmVars{KubernetesVersion: "v1.31.0", Token: testToken, CACertHashes: []string{testCAHash}, CertificateKey: testCertKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defaults, c := loadMergeCase(t, tt.name)
			initCfg, joins, err := MergeKubeadm(defaults, c, tt.vars)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("merge", tt.name, "init.golden"), initCfg)
			ips := make([]string, 0, len(joins))
			for ip := range joins {
				ips = append(ips, ip)
			}
			sort.Strings(ips)
			var all bytes.Buffer
			for _, ip := range ips {
				all.WriteString("# join " + ip + "\n")
				all.Write(joins[ip])
			}
			golden(t, filepath.Join("merge", tt.name, "join.golden"), all.Bytes())
			if tt.vars.Token == "" && joins != nil {
				t.Error("join configurations without a token")
			}
			// Same input, same bytes.
			again, _, _ := MergeKubeadm(defaults, c, tt.vars)
			if !bytes.Equal(again, initCfg) {
				t.Error("output is not deterministic")
			}
		})
	}
}

// docsByKind splits kubeadm's input back into documents for the checks
// below, which hold whatever the golden files say.
func docsByKind(t *testing.T, data []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		out[m["kind"].(string)] = m
	}
	return out
}

func dig(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

func TestMergeKubeadmUserValuesArrive(t *testing.T) {
	defaults, c := loadMergeCase(t, "sealer-ha")
	initCfg, joins, err := MergeKubeadm(defaults, c, KubeadmVars{Token: testToken, CACertHashes: []string{testCAHash}, CertificateKey: testCertKey})
	if err != nil {
		t.Fatal(err)
	}
	docs := docsByKind(t, initCfg)
	cc := docs[KindClusterCf]
	if got := dig(cc, "networking", "podSubnet"); got != "10.244.0.0/16" {
		t.Errorf("podSubnet %v", got)
	}
	if got := dig(cc, "networking", "serviceSubnet"); got != "10.96.0.0/22" {
		t.Errorf("serviceSubnet from the image %v", got)
	}
	if got := dig(cc, "controlPlaneEndpoint"); got != "lb.corp.example:6443" {
		t.Errorf("controlPlaneEndpoint %v", got)
	}
	var sans []string
	for _, s := range dig(cc, "apiServer", "certSANs").([]any) {
		sans = append(sans, s.(string))
	}
	for _, want := range []string{"127.0.0.1", "lb.corp.example", "10.0.0.100", "10.0.0.11", "10.0.0.12", "10.0.0.13"} {
		if !slices.Contains(sans, want) {
			t.Errorf("certSANs %v lack %s", sans, want)
		}
	}
	args := dig(cc, "apiServer", "extraArgs").(map[string]any)
	if args["audit-log-maxage"] != "30" || args["feature-gates"] != "EphemeralContainers=true" || args["audit-log-path"] == nil {
		t.Errorf("extraArgs %v", args)
	}
	if got := dig(docs[KindInit], "localAPIEndpoint", "advertiseAddress"); got != "10.0.0.11" {
		t.Errorf("advertiseAddress %v", got)
	}
	if got := dig(docs[KindKubelet], "maxPods"); got != 250 {
		t.Errorf("kubelet maxPods %v", got)
	}
	if len(joins) != 4 {
		t.Fatalf("%d join configurations, want 4", len(joins))
	}
	master := docsByKind(t, joins["10.0.0.12"])[KindJoin]
	if got := dig(master, "controlPlane", "localAPIEndpoint", "advertiseAddress"); got != "10.0.0.12" {
		t.Errorf("master join advertiseAddress %v", got)
	}
	if got := dig(master, "discovery", "bootstrapToken", "apiServerEndpoint"); got != "lb.corp.example:6443" {
		t.Errorf("join endpoint %v", got)
	}
	node := docsByKind(t, joins["10.0.0.21"])[KindJoin]
	if dig(node, "controlPlane") != nil {
		t.Error("a worker's JoinConfiguration has a controlPlane section")
	}
	if got := dig(node, "nodeRegistration", "kubeletExtraArgs", "node-labels"); got != "disk=ssd,node.kubernetes.io/exclude-from-external-load-balancers=true" {
		t.Errorf("node-labels %v", got)
	}
	if got := dig(node, "discovery", "timeout"); got != "10m0s" {
		t.Errorf("user's discovery.timeout %v", got)
	}
}

func TestMergeKubeadmErrors(t *testing.T) {
	_, c := loadMergeCase(t, "no-defaults")
	vars := KubeadmVars{Token: testToken, CACertHashes: []string{testCAHash}, CertificateKey: testCertKey}
	tests := []struct {
		name     string
		defaults string
		vars     KubeadmVars
		want     string
	}{
		{"no version", "", KubeadmVars{}, "kubernetesVersion is set neither by the image's etc/kubeadm.yaml nor by the Clusterfile (kubeadm would look it up on the internet)"},
		{"bad token", "", KubeadmVars{Token: "short"}, `bootstrap token "short" is not of the form [a-z0-9]{6}.[a-z0-9]{16}`},
		{"token without hash", "", KubeadmVars{Token: testToken}, "a bootstrap token needs the CA certificate hash that joins check"},
		{"master without key", "kind: ClusterConfiguration\napiVersion: kubeadm.k8s.io/v1beta3\nkubernetesVersion: v1.30.0\n",
			KubeadmVars{Token: testToken, CACertHashes: []string{testCAHash}},
			"host 192.168.0.3: a master joins with the certificate key of the uploaded certificates, and none was given"},
		{"unknown kind", "apiVersion: v1\nkind: ConfigMap\n", vars, `image defaults: etc/kubeadm.yaml:2: kind: "ConfigMap" is not a kubeadm, kubelet or kube-proxy configuration`},
		{"mixed versions", "apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\n---\napiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\n", vars,
			"image defaults: kubeadm documents mix kubeadm.k8s.io/v1beta3 and kubeadm.k8s.io/v1beta4"},
		{"broken YAML", "kind: [", vars, "image defaults: etc/kubeadm.yaml:1: YAML syntax: did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := MergeKubeadm([]byte(tt.defaults), c, tt.vars)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestMergeKubeadmDoesNotChangeCluster checks that merging leaves the
// parsed Clusterfile as it was, so it can be merged again for another host.
func TestMergeKubeadmDoesNotChangeCluster(t *testing.T) {
	defaults, c := loadMergeCase(t, "sealer-ha")
	before, _ := c.KubeadmDocs[0].YAML()
	if _, _, err := MergeKubeadm(defaults, c, KubeadmVars{}); err != nil {
		t.Fatal(err)
	}
	after, _ := c.KubeadmDocs[0].YAML()
	if !bytes.Equal(before, after) || strings.Contains(string(after), "10.0.0.11") {
		t.Errorf("the Clusterfile's document changed:\n%s", after)
	}
}

// A worker's join configuration needs no certificate key, even in a cluster
// whose other masters would: JoinHosts asks for that host alone.
func TestMergeKubeadmJoinHosts(t *testing.T) {
	defaults, c := loadMergeCase(t, "sealer-ha")
	_, joins, err := MergeKubeadm(defaults, c, KubeadmVars{Token: testToken, CACertHashes: []string{testCAHash}, JoinHosts: []string{"10.0.0.21"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(joins) != 1 || joins["10.0.0.21"] == nil {
		t.Fatalf("join configurations for %v, want 10.0.0.21 alone", slices.Collect(maps.Keys(joins)))
	}
	if _, _, err := MergeKubeadm(defaults, c, KubeadmVars{Token: testToken, CACertHashes: []string{testCAHash}, JoinHosts: []string{"10.0.0.12"}}); err == nil {
		t.Error("a master's join configuration was made without a certificate key")
	}
}
