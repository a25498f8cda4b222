package deployer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// kubeadmCluster has two masters and a node, and kubeadm settings of its
// own over the image's.
const kubeadmCluster = `apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: unit}
spec:
  ssh: {passwd: x}
  hosts:
  - ips: [{{0}}, {{1}}]
    roles: [master]
  - ips: [{{2}}]
    roles: [node]
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
controlPlaneEndpoint: lb.example.com:6443
networking:
  serviceSubnet: 10.200.0.0/16
`

// kubeadmDocs reads a kubeadm configuration by kind.
func kubeadmDocs(t *testing.T, data string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	d := yaml.NewDecoder(bytes.NewReader([]byte(data)))
	for {
		var doc map[string]any
		if err := d.Decode(&doc); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%v:\n%s", err, data)
		}
		out[doc["kind"].(string)] = doc
	}
}

// dig is the value at path in doc, nil when absent.
func dig(doc map[string]any, path ...string) any {
	var v any = doc
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// The configuration kubeadm init gets on master0 is the Clusterfile's
// kubeadm documents over the image's etc/kubeadm.yaml, with the version
// of the image (its defaults, else its label, else sealpack's) and a
// fresh certificate key; each join gets master0's token and CA hash, and
// a master the key that init uploaded the certificates with.
func TestUnitKubeadmConfigs(t *testing.T) {
	tests := []struct {
		name          string
		payload       fakePayload
		version, pods string // kubernetesVersion, podSubnet ("" absent)
	}{
		{"image defaults", fakePayload{}, "v1.31.2", "100.64.0.0/10"},
		{"defaults over the label", fakePayload{labels: map[string]string{kubeVersionLabel: "v1.33.1"}}, "v1.31.2", "100.64.0.0/10"},
		{"label without defaults", fakePayload{files: map[string]string{"etc/kubeadm.yaml": ""}, labels: map[string]string{kubeVersionLabel: "v1.33.1"}}, "v1.33.1", ""},
		{"neither", fakePayload{files: map[string]string{"etc/kubeadm.yaml": ""}}, defaultKubeVersion, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFakeSite(t, 3, tt.payload)
			if err := Apply(context.Background(), s.cluster(kubeadmCluster), s.opts()); err != nil {
				t.Fatalf("install: %v", err)
			}
			initData, _, ok := written(s, 0, `/kubeadm-init\.\w+\.yaml`)
			if !ok {
				t.Fatal("no configuration for kubeadm init")
			}
			docs := kubeadmDocs(t, initData)
			cc, ic := docs["ClusterConfiguration"], docs["InitConfiguration"]
			for _, want := range []struct {
				doc  map[string]any
				path []string
				val  any
			}{
				{cc, []string{"kubernetesVersion"}, tt.version},
				{cc, []string{"networking", "serviceSubnet"}, "10.200.0.0/16"},
				{cc, []string{"controlPlaneEndpoint"}, "lb.example.com:6443"},
				{ic, []string{"localAPIEndpoint", "advertiseAddress"}, s.ips[0]},
			} {
				if got := dig(want.doc, want.path...); got != want.val {
					t.Errorf("init %v = %v, want %v", want.path, got, want.val)
				}
			}
			if got, _ := dig(cc, "networking", "podSubnet").(string); got != tt.pods {
				t.Errorf("init podSubnet %q, want %q (the image's)", got, tt.pods)
			}
			key, _ := dig(ic, "certificateKey").(string)
			if len(key) != 64 {
				t.Fatalf("init certificateKey %q", key)
			}

			for i, master := range []bool{true, false} {
				host := i + 1
				data, _, ok := written(s, host, `/kubeadm-join\.\w+\.yaml`)
				if !ok {
					t.Fatalf("host %d got no join configuration", host)
				}
				jc := kubeadmDocs(t, data)["JoinConfiguration"]
				bt := []string{"discovery", "bootstrapToken"}
				if got := dig(jc, append(bt, "token")...); got != fakeToken {
					t.Errorf("host %d joins with token %v", host, got)
				}
				if got, _ := dig(jc, append(bt, "caCertHashes")...).([]any); !slices.Equal(got, []any{fakeCAHash}) {
					t.Errorf("host %d pins CA %v", host, got)
				}
				if got := dig(jc, append(bt, "apiServerEndpoint")...); got != "lb.example.com:6443" {
					t.Errorf("host %d joins at %v", host, got)
				}
				switch cp := dig(jc, "controlPlane"); {
				case !master && cp != nil:
					t.Errorf("the node's join has a controlPlane section: %v", cp)
				case master && dig(jc, "controlPlane", "certificateKey") != key:
					t.Errorf("the master joins with key %v, init uploaded with %s", dig(jc, "controlPlane", "certificateKey"), key)
				case master && dig(jc, "controlPlane", "localAPIEndpoint", "advertiseAddress") != s.ips[host]:
					t.Errorf("the master advertises %v", dig(jc, "controlPlane", "localAPIEndpoint", "advertiseAddress"))
				}
			}
		})
	}
}
