package apilb

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// apiserver is a stand-in for an apiserver: TLS, /readyz, and a page
// that names which one answered.
type apiserver struct {
	*httptest.Server
	name  string
	ready atomic.Int32 // the /readyz status
}

func newAPIServer(t *testing.T, name string) *apiserver {
	a := &apiserver{name: name}
	a.ready.Store(http.StatusOK)
	a.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(int(a.ready.Load()))
			return
		}
		io.WriteString(w, a.name)
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *apiserver) addr() string { return strings.TrimPrefix(a.URL, "https://") }

func startBalancer(t *testing.T, backends ...string) (*Balancer, string) {
	t.Helper()
	b, err := New(backends, Options{Interval: 20 * time.Millisecond, Timeout: time.Second, Fall: 2, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return b, ln.Addr().String()
}

// get asks through the balancer on a new connection each time.
func get(t *testing.T, addr string) (string, error) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	resp, err := c.Get("https://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRoundRobinOverHealthyBackends(t *testing.T) {
	a, b := newAPIServer(t, "a"), newAPIServer(t, "b")
	_, addr := startBalancer(t, a.addr(), b.addr())
	seen := map[string]int{}
	for range 10 {
		name, err := get(t, addr)
		if err != nil {
			t.Fatal(err)
		}
		seen[name]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Errorf("10 connections went %v, want 5 each", seen)
	}
}

func TestBackendThatStopsIsTakenOut(t *testing.T) {
	a, b := newAPIServer(t, "a"), newAPIServer(t, "b")
	lb, addr := startBalancer(t, a.addr(), b.addr())

	// A long-lived connection through the balancer to a, as kubelet keeps.
	var held net.Conn
	for held == nil {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		buf := make([]byte, 512)
		n, _ := c.Read(buf)
		if strings.HasSuffix(string(buf[:n]), "\r\n\r\na") {
			held = c
		} else {
			c.Close()
		}
	}
	defer held.Close()

	a.CloseClientConnections()
	a.Listener.Close() // a's host is gone: nothing answers there
	waitFor(t, "a taken out", func() bool { h := lb.Healthy(); return len(h) == 1 && h[0] == b.addr() })
	for range 6 {
		if name, err := get(t, addr); err != nil || name != "b" {
			t.Fatalf("with a gone, got %q, %v; want b", name, err)
		}
	}
	held.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, held); err != nil {
		t.Errorf("the connection to a was not closed by the balancer: %v", err)
	}
}

func TestNotReadyBackendIsTakenOutAndComesBack(t *testing.T) {
	a, b := newAPIServer(t, "a"), newAPIServer(t, "b")
	lb, addr := startBalancer(t, a.addr(), b.addr())
	a.ready.Store(http.StatusInternalServerError) // etcd lost, say
	waitFor(t, "a taken out on /readyz 500", func() bool { return len(lb.Healthy()) == 1 })
	if name, err := get(t, addr); err != nil || name != "b" {
		t.Fatalf("got %q, %v; want b", name, err)
	}
	a.ready.Store(http.StatusForbidden) // anonymous requests refused: still an apiserver
	waitFor(t, "a back on /readyz 403", func() bool { return len(lb.Healthy()) == 2 })
}

func TestNoBackendAnswers(t *testing.T) {
	a := newAPIServer(t, "a")
	addrA := a.addr()
	a.Close()
	lb, addr := startBalancer(t, addrA)
	waitFor(t, "a taken out", func() bool { return len(lb.Healthy()) == 0 })
	if _, err := get(t, addr); err == nil {
		t.Fatal("a request with no apiserver alive succeeded")
	}
}

func TestNewRefusesBadBackends(t *testing.T) {
	for _, bad := range [][]string{nil, {"10.0.0.1"}, {"10.0.0.1:6443", "x"}} {
		if _, err := New(bad, Options{}); err == nil {
			t.Errorf("New(%q) took it", bad)
		}
	}
}
