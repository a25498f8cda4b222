package deployer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/deployer/ssh"
	"github.com/sealpack/sealpack/payload"
)

// wordsHost answers the facts script as a Linux host does, passing each
// line to logf as the SSH remote does; it does nothing else.
type wordsHost struct{}

func (wordsHost) Run(ctx context.Context, script string, env map[string]string, logf func(string)) (string, error) {
	out := fmt.Sprintf("hostname=h\nos=Linux\narch=x86_64\ncpus=4\nmem_kb=8000000\ndisk_kb=100000000\nswap=0\ntime=%d\nmarker=\nlisten=0100007F:0016\n", time.Now().Unix())
	if logf != nil {
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			logf(l)
		}
	}
	return out, nil
}
func (wordsHost) WriteFile(context.Context, io.Reader, string, uint32, int64) error { return nil }
func (wordsHost) Rename(context.Context, string, string) error                      { return nil }
func (wordsHost) Download(context.Context, string) ([]byte, error)                  { return nil, nil }
func (wordsHost) LocalIP() string                                                   { return "127.0.0.1" }
func (wordsHost) Forward(context.Context, string, string) (string, error)           { return "", nil }
func (wordsHost) Close() error                                                      { return nil }

func wordsPayload(t *testing.T) *payload.Reader {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.run")
	w, err := payload.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteStub(strings.NewReader("stub")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(payload.Meta{Platform: "linux/amd64"}); err != nil {
		t.Fatal(err)
	}
	p, err := payload.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestPreflightWords: what preflight tells the user, seen wrong before: the
// facts probe's output (marker=, listen=...) in the hosts' log lines, a
// refused login reported as "connect" (drawn under net), the host named
// twice in a problem ("host X: hostkey: host X: ..."), and an unknown host
// key that callers could not tell from the error.
func TestPreflightWords(t *testing.T) {
	c, _, err := clusterfile.Parse("Clusterfile", []byte(`apiVersion: sealer.cloud/v2
kind: Cluster
metadata: {name: words}
spec:
  ssh: {passwd: pw}
  hosts:
  - ips: [10.0.0.11]
    roles: [master]
  - ips: [10.0.0.12, 10.0.0.13]
    roles: [node]
`))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []event.Event
	opts := Options{
		Payload: wordsPayload(t), StateDir: filepath.Join(t.TempDir(), ".sealpack"),
		Sink: func(e event.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		},
		Dial: func(ctx context.Context, h clusterfile.Host) (Remote, error) {
			switch h.IP {
			case "10.0.0.12":
				return nil, fmt.Errorf("host 10.0.0.12: %w as root (tried password)", ssh.ErrAuth)
			case "10.0.0.13":
				return nil, &ssh.HostKeyError{Host: "10.0.0.13", Offered: "SHA256:abc", OfferedType: "ECDSA", SiteFile: ".sealpack/known_hosts"}
			}
			return wordsHost{}, nil
		},
	}
	err = Preflight(context.Background(), c, opts)
	if err == nil {
		t.Fatal("preflight passed with a refused login and an unknown key")
	}
	checks := map[string]event.Event{}
	for _, e := range events {
		if e.Type == event.Log && (strings.Contains(e.Message, "marker=") || strings.Contains(e.Message, "listen=")) {
			t.Errorf("the probe's output reached the log lines users see: %+v", e)
		}
		if e.Type == event.Check && e.Status == event.Fail {
			checks[e.Host] = e
		}
	}
	if e := checks["10.0.0.12"]; e.Check != "auth" || e.Message != "authentication failed as root (tried password)" {
		t.Errorf("refused login reported as %q: %q", e.Check, e.Message)
	}
	if e := checks["10.0.0.13"]; e.Check != "hostkey" || strings.Contains(e.Message, "host 10.0.0.13") || !strings.Contains(e.Message, "unknown ECDSA host key SHA256:abc") {
		t.Errorf("unknown key reported as %q: %q", e.Check, e.Message)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		for _, ip := range []string{"10.0.0.12", "10.0.0.13"} {
			if n := strings.Count(line, ip); n > 1 {
				t.Errorf("%s named %d times: %q", ip, n, line)
			}
		}
	}
	var he *ssh.HostKeyError
	if !errors.As(err, &he) || he.Host != "10.0.0.13" || !errors.Is(err, ssh.ErrHostKeyUnknown) || !errors.Is(err, ssh.ErrAuth) {
		t.Errorf("the causes are lost in %v", err)
	}
}
