package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/progress"
)

// newRenderer returns the event sink of an unattended run: JSON lines with
// --json, a progress bar per phase on a terminal, plain timestamped lines
// otherwise. Host log lines go to the per-host log files, not here, except
// in JSON.
func newRenderer(w io.Writer, asJSON bool) event.Sink {
	if asJSON {
		var mu sync.Mutex
		enc := json.NewEncoder(w)
		return func(e event.Event) {
			mu.Lock()
			defer mu.Unlock()
			enc.Encode(e)
		}
	}
	r := &lineRenderer{w: w, tty: progress.IsTerminal(w)}
	return r.handle
}

type lineRenderer struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	bar   progress.Bar
	phase string
	hosts int64
	bytes map[string]int64 // distribute: bytes done per host
}

func (r *lineRenderer) printf(format string, args ...any) {
	if r.tty {
		// A bar owns the current line: start a fresh one.
		fmt.Fprint(r.w, "\r\033[K")
	}
	fmt.Fprintf(r.w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func (r *lineRenderer) handle(e event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Type {
	case event.PhaseStart:
		r.phase, r.hosts, r.bytes = e.Phase, e.Total, map[string]int64{}
		r.printf("[%s] start", e.Phase)
		if r.tty {
			r.bar = progress.New(r.w, max(e.Total, 1), e.Phase)
		}
	case event.PhaseDone, event.PhaseSkip, event.PhaseFail:
		if r.bar != nil {
			r.bar.Finish()
			r.bar = nil
		}
		what := map[event.Type]string{event.PhaseDone: "done", event.PhaseSkip: "skipped", event.PhaseFail: "FAILED"}[e.Type]
		if e.Message != "" && e.Type != event.PhaseFail {
			what += " (" + e.Message + ")"
		}
		r.printf("[%s] %s", e.Phase, what)
	case event.HostDone, event.HostSkip:
		if r.bar != nil && e.Phase != event.Distribute {
			r.bar.Add(1)
		}
		if !r.tty {
			msg := "done"
			if e.Type == event.HostSkip {
				msg = "already done"
			}
			if e.Message != "" {
				msg = e.Message
			}
			r.printf("[%s] %s: %s", e.Phase, e.Host, msg)
		}
	case event.HostFail:
		r.printf("[%s] %s: FAILED: %s", e.Phase, e.Host, e.Message)
	case event.Check:
		if e.Status != event.OK || !r.tty {
			r.printf("[%s] %s: %s %s: %s", e.Phase, e.Host, e.Status, e.Check, e.Message)
		}
	case event.Progress:
		// One bar per phase: during distribute it counts bytes of all hosts.
		if r.bar != nil {
			prev := r.bytes[e.Host]
			r.bytes[e.Host] = e.Done
			r.bar.Add(e.Done - prev)
		}
	case event.Log:
		// Lines of the run itself (a host's output goes to its log only).
		if e.Host == "" {
			r.printf("[%s] %s", e.Phase, e.Message)
		}
	case event.Plan:
		r.printf("[%s] would: %s", e.Phase, e.Message)
	case event.Waiting:
		r.printf("[%s] waiting for %s", e.Phase, e.Message)
	case event.Done:
		if e.Status == event.OK {
			r.printf("%s", e.Message)
		}
	}
}
