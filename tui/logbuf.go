package tui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// logCap bounds each host's log in memory; the Engine's log file has all.
const logCap = 2000

// logBuf keeps the last logCap lines of one host's output.
type logBuf struct {
	lines []string
	start int // index of the oldest line once full
}

func (l *logBuf) add(line string) {
	if len(l.lines) < logCap {
		l.lines = append(l.lines, line)
		return
	}
	l.lines[l.start] = line
	l.start = (l.start + 1) % logCap
}

func (l *logBuf) len() int { return len(l.lines) }

// last returns up to n of the newest lines, oldest first.
func (l *logBuf) last(n int) []string {
	total := len(l.lines)
	if n > total {
		n = total
	}
	out := make([]string, 0, n)
	for i := total - n; i < total; i++ {
		out = append(out, l.lines[(l.start+i)%total])
	}
	return out
}

// cleanLines turns a host's raw output into lines that cannot disturb the
// screen: escape sequences go, a carriage return keeps what was drawn last
// (progress meters), tabs become spaces, other control bytes are dropped.
func cleanLines(s string) []string {
	if strings.IndexByte(s, 0x1b) >= 0 {
		s = ansi.Strip(s)
	}
	var out []string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		line = strings.TrimRight(line, "\r")
		if i := strings.LastIndexByte(line, '\r'); i >= 0 {
			line = line[i+1:]
		}
		if !hasControl(line) {
			out = append(out, line)
			continue
		}
		line = strings.Map(func(r rune) rune {
			switch {
			case r == '\t':
				return ' '
			case r < 0x20 || r == 0x7f:
				return -1
			}
			return r
		}, line)
		out = append(out, line)
	}
	return out
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
