package pull

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// logger writes plain progress lines; a nil writer makes it silent.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, args ...any) {
	if l == nil || l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "pull: "+format+"\n", args...)
}

// meter counts layer bytes obtained, for a progress bar.
type meter struct {
	mu          sync.Mutex
	done, total int64
	fn          func(done, total int64)
}

func (m *meter) add(n int64) {
	if m.fn == nil || n == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done += n
	m.fn(m.done, m.total)
}

func (m *meter) grow(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total += n
	if m.fn != nil {
		m.fn(m.done, m.total)
	}
}

// counter reports the bytes read through it.
type counter struct {
	r io.Reader
	m *meter
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.m.add(int64(n))
	return n, err
}

func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
