package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// spread puts left and right on one line of width cells, right-aligned.
func spread(left, right string, width int) string {
	gap := width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if gap < 1 {
		gap = 1
	}
	return left + strings.Repeat(" ", gap) + right
}

// pad fills s with spaces to width cells (it never cuts).
func pad(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return s + strings.Repeat(" ", width-w)
	}
	return s
}

// fit cuts s to width cells with an ellipsis, then pads it.
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	return pad(ansi.Truncate(s, width, "…"), width)
}

// rule is "── title ─────" across width cells.
func (s *styles) ruleWith(title string, width int) string {
	head := ""
	if title != "" {
		head = "── " + title + " "
	}
	n := width - ansi.StringWidth(head)
	if n < 0 {
		n = 0
	}
	return s.rule.Render(head + strings.Repeat("─", n))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// clock formats a duration as MM:SS, or H:MM:SS past an hour.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// bar draws a progress bar of width cells for done/total.
func (s *styles) progressBar(done, total int64, width int) string {
	if width <= 0 {
		return ""
	}
	filled := 0
	if total > 0 {
		filled = int(float64(width) * float64(min(done, total)) / float64(total))
	}
	return s.bar.Render(strings.Repeat("█", filled)) + s.dim.Render(strings.Repeat("░", width-filled))
}

// window returns the first index of a list window of size n that keeps sel
// visible, for lists longer than the screen.
func window(sel, total, n int) int {
	if n <= 0 || total <= n {
		return 0
	}
	start := sel - n/2
	if start < 0 {
		start = 0
	}
	if start > total-n {
		start = total - n
	}
	return start
}

// wrap breaks s into lines of at most width cells, each prefixed by indent
// (long words are cut), and ends with a newline.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	for _, l := range strings.Split(ansi.Wrap(s, max(width-ansi.StringWidth(indent), 10), " /"), "\n") {
		b.WriteString(indent + l + "\n")
	}
	return b.String()
}

// styleLines renders each line of text on its own: lipgloss would pad a
// multi-line block into a rectangle.
func styleLines(style lipgloss.Style, text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		b.WriteString(style.Render(l) + "\n")
	}
	return b.String()
}
