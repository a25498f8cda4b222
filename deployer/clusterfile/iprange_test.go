package clusterfile

import (
	"net/netip"
	"slices"
	"testing"
)

func TestExpandAndCompressIPs(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"10.0.0.1", []string{"10.0.0.1"}},
		{" 10.0.0.1 ", []string{"10.0.0.1"}},
		{"::ffff:10.0.0.1", []string{"10.0.0.1"}},
		{"10.0.0.254-10.0.1.1", []string{"10.0.0.254", "10.0.0.255", "10.0.1.0", "10.0.1.1"}},
		{"fd00::fffe-fd00::1:0", []string{"fd00::fffe", "fd00::ffff", "fd00::1:0"}},
		{"10.0.0.7-10.0.0.7", []string{"10.0.0.7"}},
	}
	for _, tt := range tests {
		addrs, err := expandIPs(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: %v, want %v", tt.in, got, tt.want)
		}
	}
	var addrs []netip.Addr
	for _, s := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.5", "10.0.0.6", "10.0.0.9", "10.0.0.4"} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	if got, want := compressIPs(addrs, 3), []string{"10.0.0.1-10.0.0.3", "10.0.0.5", "10.0.0.6", "10.0.0.9", "10.0.0.4"}; !slices.Equal(got, want) {
		t.Errorf("compress 3: %v, want %v", got, want)
	}
	if got, want := compressIPs(addrs, 2), []string{"10.0.0.1-10.0.0.3", "10.0.0.5-10.0.0.6", "10.0.0.9", "10.0.0.4"}; !slices.Equal(got, want) {
		t.Errorf("compress 2: %v, want %v", got, want)
	}
}

func TestTaintsAndLabels(t *testing.T) {
	for in, want := range map[string]Taint{
		"a=b:NoSchedule":                                    {Key: "a", Value: "b", Effect: "NoSchedule"},
		"example.com/gpu:NoExecute":                         {Key: "example.com/gpu", Effect: "NoExecute"},
		"node-role.kubernetes.io/control-plane:NoSchedule-": {Key: "node-role.kubernetes.io/control-plane", Effect: "NoSchedule", Remove: true},
	} {
		got, err := parseTaint(in)
		if err != nil || got != want || got.String() != in {
			t.Errorf("%q: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"nokey", "a=b", ":NoSchedule", "a b:NoSchedule", "a=b c:NoSchedule"} {
		if _, err := parseTaint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for key, want := range map[string]bool{
		"disk":                        true,
		"example.com/disk":            true,
		"kubernetes.io/hostname":      true,
		"topology.kubernetes.io/zone": true,
		"node.kubernetes.io/pool":     true,
		"x.kubelet.kubernetes.io/y":   true,
		"node-role.kubernetes.io/db":  false,
		"kubernetes.io/custom":        false,
		"k8s.io/x":                    false,
		"sub.k8s.io/x":                false,
	} {
		if KubeletMaySet(key) != want {
			t.Errorf("KubeletMaySet(%q) = %v", key, !want)
		}
	}
}
