package deployer_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/payload"
)

// Hosts behind a bastion have no route back to the jump host, yet they pull
// from its registry: through a port forwarded over their SSH connection.
func TestRegistryReachedThroughSSHBehindBastion(t *testing.T) {
	s := newSite(t, 3)
	s.p = testPayloadWith(t, payloadSpec{images: []payload.Image{
		{Name: "docker.io/library/nginx:1.27", Digest: "sha256:" + strings.Repeat("a", 64), Platform: "linux/amd64"},
		{Name: "quay.io/acme/api:2", Digest: "sha256:" + strings.Repeat("b", 64), Platform: "linux/amd64"},
	}})
	// A stand-in for the installer's registry: it answers /v2/ and counts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hits := make(chan string, 100)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.URL.Path
		w.Header().Set("Docker-Distribution-Api-Version", "registry/2.0")
	})}
	go srv.Serve(l)
	defer srv.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for i := 1; i < 3; i++ {
		if err := s.w.BlockFromJump(i); err != nil {
			t.Fatal(err)
		}
	}
	c := s.cluster(bastionCluster)
	opts := s.opts()
	opts.RegistryPort = port
	if err := deployer.Apply(context.Background(), c, opts); err != nil {
		t.Fatalf("install: %v", err)
	}
	if len(hits) < 2 {
		t.Errorf("the registry saw %d requests, want one from each host", len(hits))
	}
	// containerd is pointed at the forwarded port for every registry the
	// images name.
	for i := 1; i < 3; i++ {
		for _, reg := range []string{"docker.io", "quay.io"} {
			out, err := s.w.Hosts[i].Exec(context.Background(), "cat /etc/containerd/certs.d/"+reg+"/hosts.toml")
			if err != nil || !strings.Contains(string(out), `[host."http://127.0.0.1:`+strconv.Itoa(port)+`"]`) {
				t.Errorf("host %d %s hosts.toml: %v\n%s", i, reg, err, out)
			}
		}
	}
}
