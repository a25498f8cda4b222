package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// keyMap holds every key of the wizard. Screens pick from it, so a key means
// the same thing everywhere and the help line always tells the truth.
type keyMap struct {
	Quit    key.Binding // asks first
	Yes     key.Binding // answers the quit question
	No      key.Binding
	Next    key.Binding
	Back    key.Binding
	Up      key.Binding
	Down    key.Binding
	PgUp    key.Binding
	PgDown  key.Binding
	Tab     key.Binding
	BackTab key.Binding
	Left    key.Binding
	Right   key.Binding
	Delete  key.Binding
	Edit    key.Binding
	Role    key.Binding
	Accept  key.Binding // licence, host keys
	Recheck key.Binding
	Skip    key.Binding
	Logs    key.Binding
	Hosts   key.Binding
	SSH     key.Binding
	Retry   key.Binding
	Exit    key.Binding // leaves the done screen
}

func newKeyMap() keyMap {
	b := func(help string, keys ...string) key.Binding {
		name, desc, _ := strings.Cut(help, " ")
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(name, desc))
	}
	return keyMap{
		Quit:    b("ctrl+c quit", "ctrl+c"),
		Yes:     b("y yes", "y", "Y"),
		No:      b("n no", "n", "N", "esc"),
		Next:    b("enter next", "enter"),
		Back:    b("esc back", "esc"),
		Up:      b("↑ up", "up", "ctrl+p"),
		Down:    b("↓ down", "down", "ctrl+n"),
		PgUp:    b("pgup page up", "pgup"),
		PgDown:  b("pgdn page down", "pgdown"),
		Tab:     b("tab next field", "tab"),
		BackTab: b("shift+tab previous field", "shift+tab"),
		Left:    b("← left", "left"),
		Right:   b("→ right", "right"),
		Delete:  b("d delete", "d", "delete", "backspace"),
		Edit:    b("e edit", "e", "enter"),
		Role:    b("r master/node", "r"),
		Accept:  b("a accept", "a"),
		Recheck: b("r re-check", "r"),
		Skip:    b("s skip", "s"),
		Logs:    b("enter logs", "enter"),
		Hosts:   b("h hosts", "h"),
		SSH:     b("s ssh", "s"),
		Retry:   b("r retry", "r"),
		Exit:    b("enter exit", "enter", "q"),
	}
}

// helpItem is one entry of the help line: keys and what they do here.
type helpItem struct{ keys, desc string }

// hk is a help entry from a binding with the screen's own description.
func hk(b key.Binding, desc string) helpItem { return helpItem{b.Help().Key, desc} }

// renderHelp joins help items as "key desc · key desc".
func (s *styles) renderHelp(items []helpItem) string {
	parts := make([]string, 0, len(items))
	for _, it := range items {
		parts = append(parts, s.keyHelp.Render(it.keys)+" "+s.dim.Render(it.desc))
	}
	return strings.Join(parts, s.dim.Render(" · "))
}
