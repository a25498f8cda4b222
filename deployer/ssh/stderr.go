package ssh

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
)

// tailSize is how much of a command's stderr a RunError keeps.
const tailSize = 2048

// stderrScanner reads a session's stderr: before the wrapper's ready line it
// watches for sudo's prompt and the ready line (both removed from the text);
// after it, it passes everything on. It keeps the tail for errors.
type stderrScanner struct {
	m       marker
	prompts chan struct{}
	readyCh chan int
	user    io.Writer // the caller's copy, may be nil

	mu      sync.Mutex
	ready   bool
	pending []byte // before ready: text not yet known to hold no marker
	last    []byte // the tail
}

func newStderrScanner(m marker, user io.Writer) *stderrScanner {
	return &stderrScanner{m: m, user: user, prompts: make(chan struct{}, 4), readyCh: make(chan int, 1)}
}

func (s *stderrScanner) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		s.emit(p)
		return len(p), nil
	}
	s.pending = append(s.pending, p...)
	prompt, ready := []byte(s.m.prompt()), []byte(s.m.ready())
	for {
		if i := bytes.Index(s.pending, prompt); i >= 0 {
			s.emit(s.pending[:i])
			s.pending = append([]byte(nil), s.pending[i+len(prompt):]...)
			select {
			case s.prompts <- struct{}{}:
			default:
			}
			continue
		}
		i := bytes.Index(s.pending, ready)
		if i < 0 {
			return len(p), nil
		}
		j := bytes.IndexByte(s.pending[i:], '\n')
		if j < 0 {
			return len(p), nil // the rest of the line comes later
		}
		pgid, _ := strconv.Atoi(strings.TrimSpace(string(s.pending[i+len(ready) : i+j])))
		s.emit(s.pending[:i])
		rest := s.pending[i+j+1:]
		s.pending = nil
		s.ready = true
		s.readyCh <- pgid
		s.emit(rest)
		return len(p), nil
	}
}

// flush passes on what is pending when the stream ended before ready.
func (s *stderrScanner) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emit(s.pending)
	s.pending = nil
}

func (s *stderrScanner) emit(p []byte) {
	if len(p) == 0 {
		return
	}
	if s.user != nil {
		s.user.Write(p)
	}
	s.last = append(s.last, p...)
	if len(s.last) > 2*tailSize {
		s.last = append([]byte(nil), s.last[len(s.last)-tailSize:]...)
	}
}

// tail is the end of stderr, trimmed.
func (s *stderrScanner) tail() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.last
	if len(s.pending) > 0 {
		t = append(append([]byte(nil), t...), s.pending...)
	}
	cut := false
	if len(t) > tailSize {
		t, cut = t[len(t)-tailSize:], true
	}
	out := strings.TrimSpace(string(t))
	if cut {
		out = "..." + out
	}
	return out
}
