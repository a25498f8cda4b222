package clusterfile

import (
	"strings"
	"testing"
)

// head is the start of a Clusterfile; cases append their hosts at line 6.
const head = `apiVersion: sealer.io/v2
kind: Cluster
metadata:
  name: c
spec:
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the whole error text
	}{
		{"bad IP", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
    - ips:
        - 10.0.0.300
      roles: [node]
`, `Clusterfile:10: spec.hosts[1].ips[0]: "10.0.0.300" is not an IP address`},
		{"bad range order", head + `  hosts:
    - ips: [10.0.0.9-10.0.0.5]
      roles: [master]
`, `Clusterfile:7: spec.hosts[0].ips[0]: "10.0.0.9-10.0.0.5" is not an IP range: 10.0.0.9 comes after 10.0.0.5`},
		{"short range", head + `  hosts:
    - ips: [192.168.0.5-9]
      roles: [master]
`, `Clusterfile:7: spec.hosts[0].ips[0]: "192.168.0.5-9" is not an IP range: "9" is not an IP address (write 192.168.0.5-192.168.0.9)`},
		{"mixed range", head + `  hosts:
    - ips: [10.0.0.1-fd00::1]
      roles: [master]
`, `Clusterfile:7: spec.hosts[0].ips[0]: "10.0.0.1-fd00::1" is not an IP range: 10.0.0.1 and fd00::1 are not of the same IP version`},
		{"huge range", head + `  hosts:
    - ips: [10.0.0.1-10.9.0.1]
      roles: [master]
`, `Clusterfile:7: spec.hosts[0].ips[0]: "10.0.0.1-10.9.0.1" is not an IP range: more than 4096 addresses`},
		{"not a host address", head + `  hosts:
    - ips: [0.0.0.0]
      roles: [master]
`, `Clusterfile:7: spec.hosts[0].ips[0]: "0.0.0.0" is not a host address`},
		{"ips not a list", head + `  hosts:
    - ips: 10.0.0.1
      roles: [master]
`, `Clusterfile:7: spec.hosts[0].ips: must be a list, not "10.0.0.1"`},
		{"unknown field with suggestion", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
  evn: [A=1]
`, `Clusterfile:9: spec.evn: unknown field (did you mean "env"?)`},
		{"unknown field in a group", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
      label: {a: b}
`, `Clusterfile:9: spec.hosts[0].label: unknown field (did you mean "labels"?)`},
		{"unknown ssh field", head + `  ssh:
    password: x
  hosts:
    - ips: [10.0.0.1]
      roles: [master]
`, `Clusterfile:7: spec.ssh.password: unknown field (did you mean "passwd"?)`},
		{"v1 field in v2", head + `  masters:
    ipList: [10.0.0.1]
  hosts:
    - ips: [10.0.0.1]
      roles: [master]
`, `Clusterfile:6: spec.masters: unknown field: masters belongs to sealer's v1 Clusterfile; v2 lists hosts, with their roles, under spec.hosts`},
		{"duplicate host", head + `  hosts:
    - ips: [10.0.0.1, 10.0.0.2]
      roles: [master]
    - ips: [10.0.0.3, 10.0.0.1-10.0.0.2]
      roles: [node]
`, "Clusterfile:9: spec.hosts[1].ips[1]: 10.0.0.1 is listed twice (first at line 7)\nClusterfile:9: spec.hosts[1].ips[1]: 10.0.0.2 is listed twice (first at line 7)"},
		{"no master", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [node]
`, `Clusterfile:6: spec.hosts: no host has the role master: a cluster needs at least one`},
		{"no hosts", head + `  image: x
`, `Clusterfile:5: spec.hosts: missing: list the hosts with their roles (master, node)`},
		{"empty hosts", head + `  hosts:
`, `Clusterfile:6: spec.hosts: empty: list the hosts with their roles (master, node)`},
		{"no metadata", `apiVersion: sealer.io/v2
kind: Cluster
spec:
  hosts: [{ips: [10.0.0.1], roles: [master]}]
`, `Clusterfile:1: metadata.name: missing: the cluster needs a name`},
		{"role in capitals", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [Master]
`, "Clusterfile:8: spec.hosts[0].roles: must include master or node (role names are lower case)\nClusterfile:6: spec.hosts: no host has the role master: a cluster needs at least one"},
		{"bad port word", head + `  ssh:
    port: ssh
  hosts:
    - ips: [10.0.0.1]
      roles: [master]
`, `Clusterfile:7: spec.ssh.port: "ssh" is not a port number (1-65535)`},
		{"bad port number", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
      ssh: {port: 70000}
`, `Clusterfile:9: spec.hosts[0].ssh.port: "70000" is not a port number (1-65535)`},
		{"bad registry port", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
  registry:
    externalRegistry: {domain: r.example, port: "0"}
`, `Clusterfile:10: spec.registry.externalRegistry.port: "0" is not a port number (1-65535)`},
		{"bad cluster registry port", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
  registry: {port: 99999}
`, `Clusterfile:9: spec.registry.port: "99999" is not a port number (1-65535)`},
		{"registry insecure not a bool", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
  registry:
    insecure: yes-please
`, `Clusterfile:10: spec.registry.insecure: "yes-please" is not true or false`},
		{"bad taint", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
      taints: ["a=b:NoScheduel"]
`, `Clusterfile:9: spec.hosts[0].taints[0]: taint "a=b:NoScheduel": effect "NoScheduel" is not one of NoSchedule, PreferNoSchedule, NoExecute`},
		{"bad label", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
      labels:
        "Bad_Prefix/x": y
`, `Clusterfile:10: spec.hosts[0].labels.Bad_Prefix/x: "Bad_Prefix/x" is not a valid label key: the prefix must be a DNS subdomain (example.com/name)`},
		{"bad env", head + `  env: [NOVALUE]
  hosts:
    - ips: [10.0.0.1]
      roles: [master]
`, `Clusterfile:6: spec.env[0]: "NOVALUE" is not KEY=VALUE`},
		{"key twice", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
  hosts: []
`, `Clusterfile:9: spec.hosts: set twice (first at line 6)`},
		{"bastion without host", head + `  ssh:
    bastion: {user: jump}
  hosts:
    - ips: [10.0.0.1]
      roles: [master]
`, `Clusterfile:7: spec.ssh.bastion.host: missing: the bastion's address`},
		{"bad plugin action", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: p}
spec:
  type: SHELL
  action: post-instal
  data: echo
`, `Clusterfile:15: spec.action: "post-instal" is not a plugin action (pre-init-host, post-init-host, pre-install, post-install, pre-scaleup, post-scaleup, pre-clean-host, post-clean-host) (did you mean "post-install"?)`},
		{"plugin without data", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: p}
spec:
  type: SHELL
  action: post-install
`, `Clusterfile:13: spec.data: missing: the plugin's shell script`},
		{"bad plugin scope", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
apiVersion: sealer.io/v1
kind: Plugin
metadata: {name: p}
spec:
  type: SHELL
  action: pre-init-host
  scope: "master|node 1"
  data: echo
`, `Clusterfile:16: spec.scope: "node 1" is neither a role nor an IP address`},
		{"v1 Clusterfile", `apiVersion: sealer.aliyun.com/v1alpha1
kind: Cluster
metadata:
  name: my-cluster
spec:
  masters:
    ipList: [172.20.126.4]
`, `Clusterfile:1: apiVersion: sealer.aliyun.com/v1alpha1 is sealer's v1 Clusterfile, which sealpack does not read: write apiVersion sealer.io/v2 with spec.hosts (see sealer's v2 examples)`},
		{"unknown apiVersion", `apiVersion: sealer.io/v3
kind: Cluster
`, `Clusterfile:1: apiVersion: "sealer.io/v3" is not a Clusterfile version (sealer.io/v2 or sealer.cloud/v2) (did you mean "sealer.io/v2"?)`},
		{"no Cluster", `kind: ClusterConfiguration
networking: {podSubnet: 10.244.0.0/16}
`, `Clusterfile: no Cluster document (apiVersion: sealer.io/v2, kind: Cluster)`},
		{"two Clusters", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
` + head + `  hosts:
    - ips: [10.0.0.2]
      roles: [master]
`, `Clusterfile:10: a second Cluster document (the first is at line 1): a Clusterfile describes one cluster`},
		{"unknown kind", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
apiVersion: sealer.io/v1
kind: Plugins
`, `Clusterfile:11: kind: unknown document kind "Plugins" (did you mean "Plugin"?) (a Clusterfile holds Cluster, Plugin and kubeadm/kubelet/kube-proxy configuration documents)`},
		{"old kubeadm version", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
apiVersion: kubeadm.k8s.io/v1beta1
kind: ClusterConfiguration
`, `Clusterfile:10: apiVersion: "kubeadm.k8s.io/v1beta1" is not read by kubeadm (kubeadm.k8s.io/v1beta3 or kubeadm.k8s.io/v1beta4)`},
		{"kubelet doc in the wrong group", head + `  hosts:
    - ips: [10.0.0.1]
      roles: [master]
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: KubeletConfiguration
`, `Clusterfile:10: apiVersion: KubeletConfiguration belongs to kubelet.config.k8s.io, not "kubeadm.k8s.io/v1beta3"`},
		{"YAML syntax", head + `  hosts:
    - ips: [10.0.0.1
      roles: [master]
`, `Clusterfile:6: YAML syntax: did not find expected ',' or ']'`},
		{"document not a mapping", `- a
- b
`, "Clusterfile:1: a document must be a mapping with apiVersion and kind, not a list"},
		{"missing kind", `apiVersion: sealer.io/v2
metadata: {name: x}
`, `Clusterfile:1: kind: missing: every document names its kind (Cluster, Plugin, ClusterConfiguration, ...)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Parse("Clusterfile", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error; parsed %+v", c)
			}
			if c != nil {
				t.Error("a cluster is returned with the error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestParseReportsAll checks that one pass reports every problem, capped.
func TestParseReportsAll(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "  hosts:\n    - roles: [master]\n      ips:\n")
	for i := 0; i < 30; i++ {
		b.WriteString("        - 10.0.0.300\n")
	}
	_, _, err := Parse("Clusterfile", []byte(b.String()))
	if err == nil {
		t.Fatal("no error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || !strings.Contains(lines[maxErrors], "more problems not shown") {
		t.Errorf("got %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}
