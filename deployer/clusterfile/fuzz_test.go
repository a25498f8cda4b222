package clusterfile

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds Parse arbitrary text, seeded with every Clusterfile in
// testdata. Whatever the input: no panic; and whatever Parse accepts can be
// resolved, merged, redacted, edited, and written out as a file that parses.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.yaml", "testdata/update/*.yaml", "testdata/merge/*/Clusterfile"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("kind: Cluster\napiVersion: sealer.io/v2\nspec: {hosts: [{ips: [1.2.3.4-1.2.3.3]}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		hosts := c.Hosts()
		if _, ok := c.Master0(); !ok {
			t.Fatal("a parsed cluster has no master0")
		}
		Redacted(c)
		if len(hosts) > 64 {
			return // large clusters cost time, not coverage
		}
		_, _, _ = MergeKubeadm(nil, c, KubeadmVars{KubernetesVersion: "v1.30.0", Token: testToken, CACertHashes: []string{testCAHash}, CertificateKey: testCertKey})
		out, err := Marshal(c, MarshalOptions{})
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if _, _, err := Parse("written", out); err != nil {
			t.Fatalf("Marshal's output does not parse: %v\n%s", err, out)
		}
		if len(hosts) > 1 {
			last := hosts[len(hosts)-1]
			if !last.IsMaster() {
				_, _ = UpdateHosts(data, nil, []string{"203.0.113.254"}, []string{last.IP})
			}
		}
	})
}
