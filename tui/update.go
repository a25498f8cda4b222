package tui

import (
	"context"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
)

func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		return m, nil
	case tea.KeyMsg:
		if m.confirm {
			return m, m.answerQuit(msg)
		}
		if key.Matches(msg, m.e.keys.Quit) {
			if m.state == stateInstall && m.install.stopping {
				return m, nil // already stopping; the end comes by itself
			}
			m.confirm = true
			return m, nil
		}
	case ctxDoneMsg:
		return m, m.stopOrQuit()
	case gotoMsg:
		return m, m.navigate(msg)
	case eventsMsg:
		if m.stream == nil || msg.id != m.stream.id {
			return m, nil
		}
		cmd := m.current().update(msg)
		return m, tea.Batch(cmd, m.stream.wait())
	case endMsg:
		if m.stream == nil || msg.id != m.stream.id {
			return m, nil
		}
		m.stream.close()
		m.stream = nil
		return m, m.ended(msg.err)
	case tickMsg:
		// The clock moves the elapsed times and estimates while an Engine
		// call runs; the view reads it, so the tick itself carries nothing.
		if m.stream != nil && msg.id == m.stream.id {
			return m, tick(msg.id)
		}
		return m, nil
	case recheckMsg:
		return m, m.startPreflight()
	case acceptKeysMsg:
		c := m.cluster
		engine := m.e.opts.Engine
		return m, func() tea.Msg {
			return acceptedMsg{err: engine.AcceptHostKeys(c, msg.fingerprints), recheck: msg.recheck}
		}
	case acceptedMsg:
		if m.state != statePreflight {
			return m, nil // the user moved on meanwhile
		}
		if msg.err != nil {
			m.preflight.acceptFailed(msg.err)
			return m, nil
		}
		if !msg.recheck {
			return m, nil // more keys to decide first
		}
		return m, m.startPreflight()
	case retryMsg:
		return m, m.navigate(gotoMsg{to: stateInstall})
	case exitMsg:
		m.quit = true
		return m, tea.Quit
	}
	return m, m.current().update(msg)
}

// answerQuit handles the key pressed while the quit question is shown.
func (m *model) answerQuit(msg tea.KeyMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.e.keys.Yes):
		m.confirm = false
		return m.stopOrQuit()
	case key.Matches(msg, m.e.keys.No), key.Matches(msg, m.e.keys.Quit):
		m.confirm = false
	}
	return nil
}

// stopOrQuit leaves the wizard, or during the install cancels the Engine's
// ctx and waits for it to return, so that it stops at a safe point and keeps
// its state for a resume.
func (m *model) stopOrQuit() tea.Cmd {
	if m.state == stateInstall && m.stream != nil {
		m.install.stopping = true
		m.stream.cancel()
		return nil
	}
	m.res.Quit = m.state != stateDone || !m.res.Installed
	m.quit = true
	return tea.Quit
}

// navigate changes screens, starting what the new screen needs.
func (m *model) navigate(msg gotoMsg) tea.Cmd {
	if m.stream != nil && m.state != stateInstall {
		m.stream.close() // leaving a running preflight
		m.stream = nil
	}
	switch {
	case msg.to == stateApps && m.apps == nil:
		msg.to = stateHosts // nothing to choose
	case msg.to == stateWelcome && m.state == stateHosts && m.apps != nil:
		msg.to = stateApps
	}
	switch msg.to {
	case stateWelcome:
		m.welcome.enter()
	case stateHosts:
		m.state = stateHosts
		return m.hosts.enter(msg.edit)
	case stateSSH:
		m.state = stateSSH
		return m.ssh.enter()
	case statePreflight:
		m.cluster = buildCluster(m.e.opts.Initial, m.e.opts.Info, m.hosts.rows, m.ssh.values())
		if m.apps != nil {
			m.cluster.AppNames, m.cluster.AppNamesAt = m.apps.names(), ""
		}
		m.state = statePreflight
		return m.startPreflight()
	case stateReview:
		m.state = stateReview
		m.review = newReviewScreen(m.e, m.cluster)
		return nil
	case stateInstall:
		if err := saveClusterfile(m.e.opts.SavePath, m.cluster); err != nil {
			if m.state == stateReview {
				m.review.saveErr = err
			} else {
				m.done.saveErr = err
			}
			return nil
		}
		m.saved = m.e.opts.SavePath
		m.state = stateInstall
		m.install = newInstallScreen(m.e, m.cluster)
		return m.startStream(m.e.opts.Engine.Install)
	}
	m.state = msg.to
	return nil
}

func (m *model) startPreflight() tea.Cmd {
	m.preflight = newPreflightScreen(m.e, m.cluster, m.preflight)
	return m.startStream(m.e.opts.Engine.Preflight)
}

func (m *model) startStream(fn func(context.Context, *clusterfile.Cluster, event.Sink) error) tea.Cmd {
	if m.stream != nil {
		m.stream.close()
	}
	m.streams++
	s, ctx := newStream(m.ctx, m.streams)
	m.stream = s
	return tea.Batch(s.run(ctx, m.cluster, fn), s.wait(), tick(s.id))
}

// ended: the running Engine call returned.
func (m *model) ended(err error) tea.Cmd {
	switch m.state {
	case statePreflight:
		m.preflight.finished(err)
	case stateInstall:
		leaving := m.parent.Err() != nil // the caller ends the run (SIGTERM)
		if leaving {
			m.install.stopping = true
		}
		m.install.finished(err)
		m.res.Installed = err == nil
		m.res.Failure = m.install.failure(err, m.resumeCommand())
		m.res.Quit = m.res.Failure != nil && m.res.Failure.Stopped
		m.done = newDoneScreen(m.e, m.cluster, m.install, m.res.Failure, m.saved)
		m.state = stateDone
		if leaving {
			m.quit = true
			return tea.Quit
		}
	}
	return nil
}

func (m *model) resumeCommand() string {
	return fmt.Sprintf("%s --unattended -f %s", m.e.command(), shell.QuoteIfNeeded(m.saved))
}
