// Package progress shows the progress of long work: a bar on a terminal,
// plain timestamped lines otherwise (logs, CI, pipes).
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar counts bytes (or items) towards a total. It is safe for concurrent Add.
type Bar interface {
	Add(n int64)
	Finish()
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// New returns a bar for total bytes on w: a progress bar when w is a
// terminal, else a line every few seconds and one at the end.
func New(w io.Writer, total int64, what string) Bar {
	if IsTerminal(w) {
		return &ttyBar{b: newBar(w, total, what, progressbar.OptionClearOnFinish())}
	}
	return &lineBar{w: w, total: total, what: what, start: time.Now(), last: time.Now()}
}

// Follow returns an update function for work that reports how far it is
// (done of total bytes, where total may grow, as when a damaged cache entry
// adds a download) and a finish function. It draws a bar on w, a terminal
// (callers check), that stays on its line once finished; no bar appears
// while total is 0.
func Follow(w io.Writer, what string) (update func(done, total int64), finish func()) {
	var mu sync.Mutex
	var bar *progressbar.ProgressBar
	var known int64 // the total the bar was last given
	update = func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if bar == nil {
			if total == 0 {
				return
			}
			bar = newBar(w, total, what,
				progressbar.OptionShowTotalBytes(true),
				progressbar.OptionUseIECUnits(true),
				progressbar.OptionSetRenderBlankState(true),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
			known = total
		}
		if total != known {
			bar.ChangeMax64(total)
			known = total
		}
		bar.Set64(done)
	}
	finish = func() {
		mu.Lock()
		defer mu.Unlock()
		if bar != nil && !bar.IsFinished() {
			bar.Finish()
		}
	}
	return update, finish
}

// newBar is the one look of a bar on a terminal; extra adds to it.
func newBar(w io.Writer, total int64, what string, extra ...progressbar.Option) *progressbar.ProgressBar {
	opts := append([]progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100 * time.Millisecond),
	}, extra...)
	return progressbar.NewOptions64(total, opts...)
}

type ttyBar struct {
	mu sync.Mutex
	b  *progressbar.ProgressBar
}

func (t *ttyBar) Add(n int64) { t.mu.Lock(); t.b.Add64(n); t.mu.Unlock() }
func (t *ttyBar) Finish()     { t.mu.Lock(); t.b.Finish(); t.mu.Unlock() }

type lineBar struct {
	mu          sync.Mutex
	w           io.Writer
	total, done int64
	what        string
	start, last time.Time
}

func (l *lineBar) Add(n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if time.Since(l.last) >= 5*time.Second {
		l.last = time.Now()
		l.line()
	}
}

func (l *lineBar) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.line()
}

func (l *lineBar) line() {
	pct := 100.0
	if l.total > 0 {
		pct = float64(l.done) * 100 / float64(l.total)
	}
	fmt.Fprintf(l.w, "%s %s: %.0f%% (%d/%d bytes, %s)\n", time.Now().Format("15:04:05"), l.what, pct, l.done, l.total, time.Since(l.start).Round(time.Millisecond))
}
