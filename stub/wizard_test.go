package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

func TestWizardSavePath(t *testing.T) {
	for _, tc := range []struct{ given, want string }{
		{"Clusterfile", "Clusterfile.sealpack.yaml"},
		{"site/Clusterfile", "site/Clusterfile.sealpack.yaml"},
		{"/etc/acme/cluster.yaml", "/etc/acme/cluster.sealpack.yaml"},
		{"cluster.yml", "cluster.sealpack.yaml"},
		{".yaml", ".yaml.sealpack.yaml"},
		// The wizard's own file is saved in place, not beside itself again.
		{"Clusterfile.sealpack.yaml", "Clusterfile.sealpack.yaml"},
	} {
		if got := wizardSavePath(tc.given); got != tc.want {
			t.Errorf("wizardSavePath(%q) = %q, want %q", tc.given, got, tc.want)
		}
	}
}

func TestWizardSink(t *testing.T) {
	unknown := "host 10.0.0.11: unknown host key SHA256:abc+/= : pass --accept-new-host-keys to trust it (it is then recorded in /x/.sealpack/known_hosts)"
	for _, tc := range []struct {
		name string
		in   event.Event
		want string
	}{
		{"unknown key", event.Event{Type: event.Check, Host: "10.0.0.11", Check: "hostkey", Status: event.Fail,
			Message: strings.Replace(unknown, "= :", "=:", 1)}, "unknown host key SHA256:abc+/="},
		{"changed key kept whole", event.Event{Type: event.Check, Host: "10.0.0.11", Check: "hostkey", Status: event.Fail,
			Message: "host 10.0.0.11: HOST KEY CHANGED: known SHA256:a, now offered SHA256:b (remove the line in f if the host was reinstalled)"},
			"HOST KEY CHANGED: known SHA256:a, now offered SHA256:b (remove the line in f if the host was reinstalled)"},
		{"another host named", event.Event{Type: event.Check, Host: "10.0.0.11", Check: "hostname", Status: event.Fail,
			Message: "host 10.0.0.12: same name"}, "host 10.0.0.12: same name"},
		{"not a check", event.Event{Type: event.Log, Host: "10.0.0.11", Message: "host 10.0.0.11: a log line"},
			"host 10.0.0.11: a log line"},
	} {
		var got event.Event
		wizardSink(func(e event.Event) { got = e })(tc.in)
		if got.Message != tc.want {
			t.Errorf("%s: message %q, want %q", tc.name, got.Message, tc.want)
		}
	}
}

// TestWizardEngineAcceptedKeys: keys accepted while a preflight runs do not
// change the map that run reads (go test -race), and later runs get them.
func TestWizardEngineAcceptedKeys(t *testing.T) {
	e := &wizardEngine{}
	first := e.options(nil)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			e.AcceptHostKeys(nil, map[string]string{"10.0.0." + string(rune('a'+i%26)): "SHA256:x"})
		}()
		go func() {
			defer wg.Done()
			for range e.options(nil).AcceptHostKeys {
			}
		}()
	}
	wg.Wait()
	if len(first.AcceptHostKeys) != 0 {
		t.Errorf("a run's keys changed under it: %v", first.AcceptHostKeys)
	}
	if got := len(e.options(nil).AcceptHostKeys); got != 26 {
		t.Errorf("%d keys accepted, want 26", got)
	}
}

// TestVerifyProgress: the wizard's progress adds up the reports of every
// Verify worker to exactly the bytes checked.
func TestVerifyProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.run")
	w, err := payload.Create(path, payload.WithChunkSize(4096))
	if err != nil {
		t.Fatal(err)
	}
	w.WriteStub(strings.NewReader("stub"))
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: 256 chunks
	digests, err := w.Add(context.Background(), []payload.Source{{Name: "big", Compress: payload.Never,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(payload.Meta{Platform: "linux/amd64", Files: []payload.File{
		{Path: "big", Type: payload.TypeFile, Mode: 0o644, Size: int64(len(data)), Digest: digests[0]}}}); err != nil {
		t.Fatal(err)
	}
	p, err := payload.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var last, total, calls atomic.Int64
	err = verifyFunc(p)(context.Background(), func(done, tot int64) {
		calls.Add(1)
		total.Store(tot)
		for {
			prev := last.Load()
			if done <= prev || last.CompareAndSwap(prev, done) {
				break
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 2 || last.Load() != total.Load() || total.Load() != p.VerifyBytes() {
		t.Errorf("%d reports reached %d of %d bytes (VerifyBytes %d)", calls.Load(), last.Load(), total.Load(), p.VerifyBytes())
	}
}
