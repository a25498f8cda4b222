package pull

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

func TestParseMirror(t *testing.T) {
	for _, tc := range []struct {
		in, reg, mirror, err string
	}{
		{in: "docker.io=http://127.0.0.1:5000", reg: "docker.io", mirror: "http://127.0.0.1:5000"},
		{in: "index.docker.io=https://harbor.corp.example/dockerhub/", reg: "docker.io", mirror: "https://harbor.corp.example/dockerhub"},
		{in: "ghcr.io=nexus.local:8443/ghcr-proxy", reg: "ghcr.io", mirror: "nexus.local:8443/ghcr-proxy"},
		{in: "quay.io=[::1]:5000", reg: "quay.io", mirror: "[::1]:5000"},
		{in: "docker.io", err: "want REGISTRY=[http[s]://]HOST[:PORT][/PATH]"},
		{in: "=http://x", err: "want REGISTRY="},
		{in: "docker.io=", err: "want REGISTRY="},
		{in: "https://docker.io=http://x", err: `"https://docker.io" is not a registry host`},
		{in: "docker.io=ftp://x", err: `scheme "ftp" (want http or https)`},
		{in: "docker.io=http://user:pw@x", err: "want [http[s]://]host[:port][/path]"},
		{in: "docker.io=http://x/Upper", err: `path "Upper"`},
		{in: "docker.io=http://x?q=1", err: "want [http[s]://]host[:port][/path]"},
	} {
		reg, m, err := ParseMirror(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMirror(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || reg != tc.reg || m != tc.mirror {
			t.Errorf("ParseMirror(%q) = %q, %q, %v; want %q, %q", tc.in, reg, m, err, tc.reg, tc.mirror)
		}
	}
}

func TestParseAuth(t *testing.T) {
	for _, tc := range []struct {
		in   string
		host string
		cred authn.Basic
		err  string
	}{
		{in: "harbor.corp.example=robot$ci:p4ss", host: "harbor.corp.example", cred: authn.Basic{Username: "robot$ci", Password: "p4ss"}},
		{in: "127.0.0.1:5000=alice:a:b=c", host: "127.0.0.1:5000", cred: authn.Basic{Username: "alice", Password: "a:b=c"}},
		{in: "index.docker.io=bob:", host: "docker.io", cred: authn.Basic{Username: "bob"}},
		{in: "alice:secret", err: "want HOST=USER:PASSWORD (value not shown"},
		{in: "=alice:secret", err: "want HOST=USER:PASSWORD (value not shown"},
		{in: "host=alicesecret", err: `registry auth for "host": want HOST=USER:PASSWORD (no ':'`},
		{in: "host=:secret", err: "empty user name"},
		{in: "http://host=alice:secret", err: "is not a registry host"},
	} {
		host, cred, err := ParseAuth(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseAuth(%q) error %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("ParseAuth(%q) error shows the password: %v", tc.in, err)
			}
			continue
		}
		if err != nil || host != tc.host || cred != tc.cred {
			t.Errorf("ParseAuth(%q) = %q, %+v, %v; want %q, %+v", tc.in, host, cred, err, tc.host, tc.cred)
		}
	}
}

func TestPlatformAccepts(t *testing.T) {
	for _, tc := range []struct {
		want, have string
		ok         bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/amd64", "linux/amd64/v1", true},
		{"linux/amd64", "linux/arm64", false},
		{"linux/amd64", "windows/amd64", false},
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/arm64", "linux/arm64/v9", true},
		{"linux/arm64/v8", "linux/arm64/v9", false},
		{"linux/arm", "linux/arm/v7", true},
		{"linux/arm", "linux/arm", true},
		{"linux/arm", "linux/arm/v6", false},
		{"linux/arm/v6", "linux/arm/v6", true},
		{"linux/arm/v7", "linux/arm", true},
		{"Linux/AMD64", "linux/amd64", true},
	} {
		w, err := parsePlatform(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		h, err := parsePlatform(tc.have)
		if err != nil {
			t.Fatal(err)
		}
		if got := w.accepts(h); got != tc.ok {
			t.Errorf("%s accepts %s = %v, want %v", tc.want, tc.have, got, tc.ok)
		}
	}
	for _, bad := range []string{"", "linux", "linux/", "/amd64", "linux/arm/", "linux/arm/v7/x"} {
		if _, err := parsePlatform(bad); err == nil || !strings.Contains(err.Error(), "want os/arch[/variant]") {
			t.Errorf("parsePlatform(%q) error %v", bad, err)
		}
	}
}
