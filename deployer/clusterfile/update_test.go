package clusterfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestUpdateHostsGolden(t *testing.T) {
	tests := []struct {
		name, in               string
		masters, nodes, remove []string
	}{
		{name: "flow-add-node", in: "flow.yaml", nodes: []string{"192.168.0.10"}},
		{name: "flow-add-master", in: "flow.yaml", masters: []string{"192.168.0.20"}},
		{name: "flow-split-range", in: "flow.yaml", remove: []string{"192.168.0.7"}},
		{name: "flow-remove-group", in: "flow.yaml", remove: []string{"192.168.0.5-192.168.0.9"}},
		{name: "flow-remove-and-add", in: "flow.yaml", remove: []string{"192.168.0.5,192.168.0.9", "192.168.0.3"}, nodes: []string{"192.168.0.30"}},
		{name: "block-add-master", in: "block.yaml", masters: []string{"192.168.0.7"}},
		{name: "block-remove-entry", in: "block.yaml", remove: []string{"192.168.0.5"}},
		{name: "block-remove-group", in: "block.yaml", remove: []string{"192.168.0.4-192.168.0.6"}},
		{name: "block-new-node-group", in: "block.yaml", nodes: []string{"192.168.0.8", "192.168.0.9"}},
		{name: "overrides-new-group", in: "overrides.yaml", nodes: []string{"10.0.2.40", "fd00::31"}},
		{name: "overrides-split", in: "overrides.yaml", remove: []string{"10.0.2.20", "10.0.2.22"}},
		{name: "crlf", in: "crlf.yaml", nodes: []string{"10.0.0.3"}, remove: []string{"10.0.0.2"}},
		{name: "noeol", in: "noeol.yaml", nodes: []string{"10.0.0.2"}},
		{name: "plugin-first", in: "plugin-first.yaml", nodes: []string{"192.168.0.4"}, remove: []string{"192.168.0.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "update", tt.in))
			if err != nil {
				t.Fatal(err)
			}
			out, err := UpdateHosts(in, tt.masters, tt.nodes, tt.remove)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("update", tt.name+".golden"), out)
			// Every line the edit did not touch is still there, in order.
			if missing := unchangedLinesKept(in, out); missing != "" {
				t.Errorf("line lost: %q", missing)
			}
		})
	}
}

// unchangedLinesKept returns the first line of in that is neither in out
// (in order) nor a host line, or "".
func unchangedLinesKept(in, out []byte) string {
	outLines := strings.Split(string(out), "\n")
	j := 0
	for _, l := range strings.Split(string(in), "\n") {
		if strings.Contains(l, "ips") || strings.Contains(l, "- 1") || strings.Contains(l, "roles") || strings.Contains(l, "- node") || strings.Contains(l, "- db") || strings.Contains(l, "- master") || strings.Contains(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		for j < len(outLines) && outLines[j] != l {
			j++
		}
		if j == len(outLines) {
			return l
		}
	}
	return ""
}

func TestUpdateHostsNoChange(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "update", "flow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := UpdateHosts(in, nil, nil, nil)
	if err != nil || !bytes.Equal(in, out) {
		t.Errorf("nothing to do changed the file (err %v)", err)
	}
}

func TestUpdateHostsErrors(t *testing.T) {
	flow, err := os.ReadFile(filepath.Join("testdata", "update", "flow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	oneLine := []byte(head + "  hosts: [{ips: [10.0.0.1], roles: [master]}]\n")
	tests := []struct {
		name                   string
		in                     []byte
		masters, nodes, remove []string
		want                   string
	}{
		{"add a present host", flow, nil, []string{"192.168.0.6"}, nil, "192.168.0.6 is already a host of the cluster"},
		{"remove an absent host", flow, nil, nil, []string{"10.9.9.9"}, "10.9.9.9 is not a host of the cluster"},
		{"both roles", flow, []string{"10.0.0.1"}, []string{"10.0.0.1"}, nil, "10.0.0.1 is given both as a master and as a node"},
		{"bad address", flow, nil, []string{"10.0.0.300"}, nil, `nodes to add: "10.0.0.300" is not an IP address`},
		{"given twice", flow, nil, []string{"10.0.0.1,10.0.0.1"}, nil, "nodes to add: 10.0.0.1 is given twice"},
		{"no master left", flow, nil, nil, []string{"192.168.0.2-192.168.0.4"}, "the edited Clusterfile would be invalid: Clusterfile:11: spec.hosts: no host has the role master: a cluster needs at least one"},
		{"hosts on one line", oneLine, nil, []string{"10.0.0.2"}, nil, "cannot edit spec.hosts as written: spec.hosts is on one line ([...]); write it as a list of '- ips: ...' entries"},
		{"invalid input", []byte("kind: Cluster\n"), nil, []string{"10.0.0.2"}, nil, "reading the Clusterfile: Clusterfile:1: apiVersion: missing (sealer.io/v2 or sealer.cloud/v2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := UpdateHosts(tt.in, tt.masters, tt.nodes, tt.remove)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v\nwant %s", err, tt.want)
			}
		})
	}
}
