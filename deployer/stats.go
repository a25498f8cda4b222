package deployer

import (
	"context"
	"io"
	"sync"
	"time"
)

// Stats tells where the time of a run went: in each phase, how long sealpack
// waited on hosts (connecting, commands, transfers) and how long it worked
// on its own. Give Options.Stats to have it filled; read it once the run
// has returned.
type Stats struct {
	mu     sync.Mutex
	Total  time.Duration
	Phases []PhaseStats
	// SeedBytes is what the masters' registries were sent: image blobs and
	// metadata as stored, over every master; ProgramBytes the installer
	// program that serves them.
	SeedBytes, ProgramBytes int64
}

// addSeed counts bytes sent to a master's registry; s may be nil.
func (s *Stats) addSeed(program, images int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ProgramBytes += program
	s.SeedBytes += images
}

// PhaseStats is the time of one phase.
type PhaseStats struct {
	Name string
	// Wall is the phase's duration.
	Wall time.Duration
	// Remote is the time during which at least one host was working for
	// the phase (a connection being made, a command running, a file being
	// copied): Wall minus Remote is sealpack's own time.
	Remote time.Duration
	// Busiest is the longest busy time of a single host (the union of its
	// operations): the critical path when hosts work in parallel.
	Busiest time.Duration
	// Calls counts the remote operations.
	Calls int
}

// remoteClock measures the time hosts work for a run: the union of the
// intervals during which remote operations are in flight, overall and for
// each host.
type remoteClock struct {
	mu    sync.Mutex
	all   busy
	hosts map[string]*busy
	calls int
}

// busy is a union of intervals, measured as they open and close.
type busy struct {
	inflight int
	since    time.Time // when inflight last became > 0
	total    time.Duration
}

func (b *busy) open(now time.Time) {
	if b.inflight == 0 {
		b.since = now
	}
	b.inflight++
}

func (b *busy) close(now time.Time) {
	b.inflight--
	if b.inflight == 0 {
		b.total += now.Sub(b.since)
	}
}

// take returns the busy time so far (open intervals up to now) and starts
// afresh.
func (b *busy) take(now time.Time) time.Duration {
	t := b.total
	if b.inflight > 0 {
		t += now.Sub(b.since)
		b.since = now
	}
	b.total = 0
	return t
}

func newRemoteClock() *remoteClock { return &remoteClock{hosts: map[string]*busy{}} }

// start marks the beginning of a remote operation; the returned func ends it.
func (c *remoteClock) start(host string) func() {
	c.mu.Lock()
	h := c.hosts[host]
	if h == nil {
		h = &busy{}
		c.hosts[host] = h
	}
	now := time.Now()
	c.all.open(now)
	h.open(now)
	c.calls++
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		now := time.Now()
		c.all.close(now)
		h.close(now)
		c.mu.Unlock()
	}
}

// take returns what was measured since the last take, and starts afresh.
func (c *remoteClock) take() (union, busiest time.Duration, calls int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	union = c.all.take(now)
	for _, h := range c.hosts {
		busiest = max(busiest, h.take(now))
	}
	calls, c.calls = c.calls, 0
	return union, busiest, calls
}

// timedRemote counts the time of every operation of a Remote.
type timedRemote struct {
	Remote
	host  string
	clock *remoteClock
}

func (t *timedRemote) Run(ctx context.Context, script string, env map[string]string, logf func(string)) (string, error) {
	defer t.clock.start(t.host)()
	return t.Remote.Run(ctx, script, env, logf)
}

func (t *timedRemote) WriteFile(ctx context.Context, r io.Reader, path string, mode uint32, offset int64) error {
	defer t.clock.start(t.host)()
	return t.Remote.WriteFile(ctx, r, path, mode, offset)
}

func (t *timedRemote) Rename(ctx context.Context, oldpath, newpath string) error {
	defer t.clock.start(t.host)()
	return t.Remote.Rename(ctx, oldpath, newpath)
}

func (t *timedRemote) Download(ctx context.Context, path string) ([]byte, error) {
	defer t.clock.start(t.host)()
	return t.Remote.Download(ctx, path)
}
