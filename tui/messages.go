package tui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// Messages that screens send to the parent model.
type (
	// recheckMsg: run preflight again.
	recheckMsg struct{}
	// acceptKeysMsg: record these host keys (IP to fingerprint), then
	// re-check if recheck.
	acceptKeysMsg struct {
		fingerprints map[string]string
		recheck      bool
	}
	// acceptedMsg: AcceptHostKeys returned.
	acceptedMsg struct {
		err     error
		recheck bool
	}
	// retryMsg: run the install again (it resumes where it stopped).
	retryMsg struct{}
	// exitMsg: leave the wizard from the done screen.
	exitMsg struct{}
	// tickMsg refreshes elapsed times while Engine call id runs.
	tickMsg struct{ id int }
)

func send(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

func tick(id int) tea.Cmd {
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return tickMsg{id: id} })
}
