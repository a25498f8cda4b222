package tui

import (
	"io"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// Symbols carry the meaning of a row on their own, so that nothing depends
// on colour (NO_COLOR, monochrome terminals, screen readers of captures).
const (
	symOK      = "✓"
	symFail    = "✗"
	symWarn    = "!"
	symRunning = "●"
	symPending = "○"
	symSkip    = "-"
	symCursor  = "›"
	symWait    = "·"
)

// styles are every style of the wizard, made by one renderer so that the
// colour decision (terminal, NO_COLOR, tests) is taken once.
type styles struct {
	r *lipgloss.Renderer

	brand    lipgloss.Style // the header's product line
	rule     lipgloss.Style // horizontal rules
	title    lipgloss.Style // screen titles
	dim      lipgloss.Style // hints, pending rows
	ok       lipgloss.Style
	warn     lipgloss.Style
	fail     lipgloss.Style
	running  lipgloss.Style
	selected lipgloss.Style // the selected row
	label    lipgloss.Style // form labels
	focused  lipgloss.Style // the focused form label
	keyHelp  lipgloss.Style // key names in the help line
	cursor   lipgloss.Style // the text cursor of inputs
	prompt   lipgloss.Style // the quit question
	bar      lipgloss.Style // filled part of progress bars

	// symbols are the status symbols rendered once: a 50-host table draws
	// hundreds of them per frame.
	symbols [statusSkip + 1]string
	waitSym string // a check not reported yet
}

// newStyles decides colours for the terminal at w. Without colour the
// renderer still emits bold and reverse video on a terminal: NO_COLOR is
// about colour, and a text cursor drawn in reverse video must stay visible.
func newStyles(w io.Writer, noColor bool) *styles {
	r := lipgloss.NewRenderer(w)
	if noColor {
		if termenv.NewOutput(w).ColorProfile() != termenv.Ascii {
			r.SetColorProfile(termenv.ANSI)
		}
		return buildStyles(r, false)
	}
	return buildStyles(r, true)
}

// plainStyles render text only, with no escape sequence at all: golden files
// and the summary left in the scrollback use them.
func plainStyles() *styles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return buildStyles(r, false)
}

func buildStyles(r *lipgloss.Renderer, color bool) *styles {
	// ANSI colour numbers follow the terminal's own palette, so they read on
	// dark and light backgrounds without querying the terminal.
	c := func(ansi string) lipgloss.TerminalColor {
		if !color {
			return lipgloss.NoColor{}
		}
		return lipgloss.Color(ansi)
	}
	green, yellow, red, cyan, gray := c("2"), c("3"), c("1"), c("6"), c("8")
	st := &styles{
		r:        r,
		brand:    r.NewStyle().Bold(true),
		rule:     r.NewStyle().Foreground(gray),
		title:    r.NewStyle().Bold(true).Foreground(cyan),
		dim:      r.NewStyle().Foreground(gray),
		ok:       r.NewStyle().Foreground(green),
		warn:     r.NewStyle().Foreground(yellow),
		fail:     r.NewStyle().Foreground(red).Bold(true),
		running:  r.NewStyle().Foreground(cyan).Bold(true),
		selected: r.NewStyle().Bold(true),
		label:    r.NewStyle(),
		focused:  r.NewStyle().Bold(true).Foreground(cyan),
		keyHelp:  r.NewStyle().Bold(true),
		cursor:   r.NewStyle().Reverse(true),
		prompt:   r.NewStyle().Bold(true).Foreground(yellow),
		bar:      r.NewStyle().Foreground(cyan),
	}
	st.symbols = [...]string{
		statusPending: st.dim.Render(symPending),
		statusRunning: st.running.Render(symRunning),
		statusOK:      st.ok.Render(symOK),
		statusWarn:    st.warn.Render(symWarn),
		statusFail:    st.fail.Render(symFail),
		statusSkip:    st.dim.Render(symSkip),
	}
	st.waitSym = st.dim.Render(symWait)
	return st
}

// status renders a status symbol in its colour.
func (s *styles) status(st rowStatus) string {
	if st < 0 || int(st) >= len(s.symbols) {
		st = statusPending
	}
	return s.symbols[st]
}

// rowStatus is the state of a check, phase or host row.
type rowStatus int

const (
	statusPending rowStatus = iota
	statusRunning
	statusOK
	statusWarn
	statusFail
	statusSkip
)
