package clusterfile

import (
	"strings"
	"testing"
)

const signedClusterfile = `apiVersion: sealer.io/v2
kind: Cluster
metadata: {name: site}
spec:
  requireSignature: keys/vendor.pub
  hosts:
    - ips: [10.0.0.1]
      roles: [master]
`

// TestRequireSignature: spec.requireSignature is read as written (the
// installer resolves it beside the Clusterfile), kept by Marshal, and an
// empty one or a misspelt one is an error at its line.
func TestRequireSignature(t *testing.T) {
	c, _, err := Parse("Clusterfile", []byte(signedClusterfile))
	if err != nil || c.RequireSignature != "keys/vendor.pub" {
		t.Fatalf("RequireSignature = %q, %v", c.RequireSignature, err)
	}
	out, err := Marshal(c, MarshalOptions{})
	if err != nil || !strings.Contains(string(out), "requireSignature: keys/vendor.pub\n") {
		t.Fatalf("Marshal: %v\n%s", err, out)
	}
	if back, _, err := Parse("written", out); err != nil || back.RequireSignature != c.RequireSignature {
		t.Errorf("round trip: %q, %v", back.RequireSignature, err)
	}
	for text, want := range map[string]string{
		`requireSignature: ""`:          `Clusterfile:5: spec.requireSignature: empty: the public key file`,
		`requireSignatures: keys/x.pub`: `Clusterfile:5: spec.requireSignatures: unknown field`,
	} {
		_, _, err := Parse("Clusterfile", []byte(strings.Replace(signedClusterfile, "requireSignature: keys/vendor.pub", text, 1)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", text, err, want)
		}
	}
}
