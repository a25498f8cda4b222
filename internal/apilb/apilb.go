// Package apilb is the balancer a node runs in front of the cluster's
// apiservers when a cluster has several masters and the site has no load
// balancer of its own (sealer's lvscare and KubeKey's haproxy do the same
// job). It forwards TCP as is: TLS stays end to end between the client and
// an apiserver. Each backend's /readyz is probed; new connections go round
// robin to the backends that answer, and the connections of a backend that
// stops answering are closed, so that clients reconnect to a live one at
// once instead of waiting for their own timeouts.
package apilb

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Options tune the health checks; zero values take the defaults.
type Options struct {
	Interval    time.Duration // between probes of a backend (1s)
	Timeout     time.Duration // of one probe and of a dial (2s)
	Fall        int           // failed probes in a row that take a backend out (3)
	Logf        func(format string, args ...any)
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Balancer forwards connections to healthy backends.
type Balancer struct {
	opts     Options
	backends []*backend
	next     atomic.Uint64
	client   *http.Client
}

type backend struct {
	addr    string
	healthy atomic.Bool
	fails   int // probes failed in a row; only the prober touches it

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// New returns a balancer over backends (host:port). Every backend counts as
// healthy until a probe says otherwise, so that the first connections need
// not wait for a probe.
func New(backends []string, opts Options) (*Balancer, error) {
	if len(backends) == 0 {
		return nil, errors.New("apilb: no backends")
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Fall <= 0 {
		opts.Fall = 3
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.DialContext == nil {
		opts.DialContext = (&net.Dialer{Timeout: opts.Timeout}).DialContext
	}
	b := &Balancer{opts: opts}
	for _, a := range backends {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("apilb: backend %q: %w", a, err)
		}
		be := &backend{addr: a, conns: map[net.Conn]struct{}{}}
		be.healthy.Store(true)
		b.backends = append(b.backends, be)
	}
	b.client = &http.Client{
		Timeout: opts.Timeout,
		Transport: &http.Transport{
			DialContext: opts.DialContext,
			// The probe asks only whether an apiserver answers; it sends
			// no credentials and reads no data, and the node may not have
			// the cluster's CA yet (it gets it by joining through here).
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
			DisableKeepAlives: true,
		},
	}
	return b, nil
}

// Serve accepts connections on ln until ctx ends, and probes the backends
// meanwhile.
func (b *Balancer) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for _, be := range b.backends {
		go b.probeLoop(ctx, be)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Go(func() { b.forward(ctx, c) })
	}
}

// Healthy lists the backends taken for alive.
func (b *Balancer) Healthy() []string {
	var out []string
	for _, be := range b.backends {
		if be.healthy.Load() {
			out = append(out, be.addr)
		}
	}
	return out
}

// pick orders the backends to try for one connection: the healthy ones
// round robin, then the others (a probe may be behind the truth).
func (b *Balancer) pick() []*backend {
	n := len(b.backends)
	start := int(b.next.Add(1) % uint64(n))
	var good, bad []*backend
	for i := range n {
		be := b.backends[(start+i)%n]
		if be.healthy.Load() {
			good = append(good, be)
		} else {
			bad = append(bad, be)
		}
	}
	return append(good, bad...)
}

func (b *Balancer) forward(ctx context.Context, c net.Conn) {
	defer c.Close()
	var up net.Conn
	var be *backend
	for _, cand := range b.pick() {
		dctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
		conn, err := b.opts.DialContext(dctx, "tcp", cand.addr)
		cancel()
		if err == nil {
			up, be = conn, cand
			break
		}
		b.opts.Logf("apilb: %s: %v", cand.addr, err)
	}
	if up == nil {
		b.opts.Logf("apilb: no apiserver answers: connection from %s closed", c.RemoteAddr())
		return
	}
	defer up.Close()
	be.track(c, true)
	defer be.track(c, false)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// Half-close, so that the other direction can finish.
		if tc, ok := dst.(interface{ CloseWrite() error }); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	select {
	case <-done:
		<-done
	case <-ctx.Done():
	}
}

func (be *backend) track(c net.Conn, add bool) {
	be.mu.Lock()
	defer be.mu.Unlock()
	if add {
		be.conns[c] = struct{}{}
	} else {
		delete(be.conns, c)
	}
}

// dropConns closes the client connections going to a backend taken out.
func (be *backend) dropConns() int {
	be.mu.Lock()
	defer be.mu.Unlock()
	for c := range be.conns {
		c.Close()
	}
	return len(be.conns)
}

func (b *Balancer) probeLoop(ctx context.Context, be *backend) {
	t := time.NewTicker(b.opts.Interval)
	defer t.Stop()
	for {
		b.probe(ctx, be)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// probe asks the backend's /readyz: any answer under 500 (401 and 403
// included, where anonymous requests are refused) means an apiserver
// serves there.
func (b *Balancer) probe(ctx context.Context, be *backend) {
	err := b.ask(ctx, be.addr)
	if err == nil {
		be.fails = 0
		if !be.healthy.Swap(true) {
			b.opts.Logf("apilb: %s answers again", be.addr)
		}
		return
	}
	if ctx.Err() != nil {
		return
	}
	be.fails++
	if be.fails >= b.opts.Fall && be.healthy.Swap(false) {
		n := be.dropConns()
		b.opts.Logf("apilb: %s taken out after %d failed probes (%v); %d connections closed", be.addr, be.fails, err, n)
	}
}

func (b *Balancer) ask(ctx context.Context, addr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("/readyz: %s", resp.Status)
	}
	return nil
}
