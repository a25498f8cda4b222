package tui

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// newInput is a text input drawn by the wizard's renderer (bubbles' defaults
// draw through lipgloss's global one, which ignores Options.Output and
// NO_COLOR), with a steady cursor: a blinking one redraws the screen twice a
// second over slow SSH links for nothing.
func newInput(st *styles, value, placeholder string, masked bool) textinput.Model {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholder
	in.PromptStyle = st.r.NewStyle()
	in.TextStyle = st.r.NewStyle()
	in.PlaceholderStyle = st.dim
	in.CompletionStyle = st.dim
	in.Cursor.Style = st.cursor
	in.Cursor.TextStyle = st.r.NewStyle()
	in.Cursor.SetMode(cursor.CursorStatic)
	in.CharLimit = 4096
	if masked {
		in.EchoMode = textinput.EchoPassword
		in.EchoCharacter = '•'
	}
	in.SetValue(value)
	return in
}

// field is one labelled input of a form, with its inline error.
type field struct {
	label string
	hint  string
	in    textinput.Model
	err   string
}

func (f *field) update(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	f.in, cmd = f.in.Update(msg)
	return cmd
}
