package tui

import (
	"context"
	"sync"
	"sync/atomic"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
)

// A stream carries the events of one Engine call into the program. The
// Engine's goroutines write through sink; a Cmd waits on the channel (the
// bubbletea way to take outside events). The call's end travels through the
// same channel, so it arrives after every event it sent.
type stream struct {
	id     int // which call; messages of an earlier call are ignored
	ch     chan streamItem
	stop   chan struct{} // closed when nobody reads any more
	once   sync.Once
	cancel context.CancelFunc

	mu      sync.Mutex
	pending *streamItem // an end read while batching, delivered next

	started atomic.Bool   // the Engine was called
	ended   chan struct{} // closed when the Engine returned
}

type streamItem struct {
	ev  event.Event
	end bool
	err error
}

// eventsMsg brings the events that were waiting, in order; batching keeps a
// burst of log lines from 50 hosts to a few frames.
type eventsMsg struct {
	id     int
	events []event.Event
}

// endMsg says that the Engine call of stream id returned err.
type endMsg struct {
	id  int
	err error
}

// maxBatch bounds one eventsMsg so that the screen keeps moving under load.
const maxBatch = 512

func newStream(ctx context.Context, id int) (*stream, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &stream{id: id, ch: make(chan streamItem, 1024), stop: make(chan struct{}), cancel: cancel, ended: make(chan struct{})}, ctx
}

// sink is given to the Engine. It blocks while the program is behind (the
// deployer waits rather than losing events) and drops events once the
// program no longer reads.
func (s *stream) sink(ev event.Event) {
	select {
	case s.ch <- streamItem{ev: ev}:
	case <-s.stop:
	}
}

func (s *stream) finish(err error) {
	select {
	case s.ch <- streamItem{end: true, err: err}:
	case <-s.stop:
	}
}

// close cancels the call and releases a blocked sink. The Engine still
// returns on its own; its result is then dropped.
func (s *stream) close() {
	s.once.Do(func() {
		s.cancel()
		close(s.stop)
	})
}

// waitEngine blocks until the Engine call returned, if it was made.
func (s *stream) waitEngine() {
	if s.started.Load() {
		<-s.ended
	}
}

// wait returns the Cmd that delivers the next events or the end.
func (s *stream) wait() tea.Cmd {
	return func() tea.Msg {
		s.mu.Lock()
		pending := s.pending
		s.pending = nil
		s.mu.Unlock()
		if pending != nil {
			return endMsg{id: s.id, err: pending.err}
		}
		var first streamItem
		select {
		case first = <-s.ch:
		case <-s.stop:
			return nil
		}
		if first.end {
			return endMsg{id: s.id, err: first.err}
		}
		evs := []event.Event{first.ev}
		for len(evs) < maxBatch {
			select {
			case it := <-s.ch:
				if it.end {
					// The end goes after these events: the next wait
					// returns it.
					s.mu.Lock()
					s.pending = &it
					s.mu.Unlock()
					return eventsMsg{id: s.id, events: evs}
				}
				evs = append(evs, it.ev)
			default:
				return eventsMsg{id: s.id, events: evs}
			}
		}
		return eventsMsg{id: s.id, events: evs}
	}
}

// run calls fn (an Engine method) and reports its end on the stream.
func (s *stream) run(ctx context.Context, c *clusterfile.Cluster, fn func(context.Context, *clusterfile.Cluster, event.Sink) error) tea.Cmd {
	return func() tea.Msg {
		s.started.Store(true)
		defer close(s.ended)
		s.finish(fn(ctx, c, s.sink))
		return nil
	}
}
