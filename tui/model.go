package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// state is the screen the wizard shows.
type state int

const (
	stateWelcome state = iota
	stateHosts
	stateSSH
	statePreflight
	stateReview
	stateInstall
	stateDone
)

const stepCount = 7

// screen is one step of the wizard (one file each).
type screen interface {
	// update handles keys and the screen's own messages.
	update(msg tea.Msg) tea.Cmd
	// view renders the body in at most width x height cells.
	view(width, height int) string
	// title is the title row: the screen's name and what goes on its right.
	title() (left, right string)
	help() []helpItem
}

// env is what every screen shares.
type env struct {
	st   *styles
	keys keyMap
	now  func() time.Time
	opts *Options
}

// command is how the user started the installer, for commands shown.
func (e *env) command() string {
	if e.opts.Command != "" {
		return e.opts.Command
	}
	return "./app-installer.run"
}

// gotoMsg asks the parent to change screens.
type gotoMsg struct {
	to   state
	edit string // hosts: the address to edit on arrival
}

func goTo(to state) tea.Cmd { return func() tea.Msg { return gotoMsg{to: to} } }

// ctxDoneMsg: the caller's ctx ended (SIGTERM, SIGHUP).
type ctxDoneMsg struct{}

// model is the parent: it owns the screens, the state machine, the quit
// question, the layout and the Engine calls.
type model struct {
	e       *env
	ctx     context.Context // ends when Run returns
	cancel  context.CancelFunc
	parent  context.Context // the caller's
	state   state
	width   int
	height  int
	confirm bool // the quit question is shown
	quit    bool

	welcome   *welcomeScreen
	hosts     *hostsScreen
	ssh       *sshScreen
	preflight *preflightScreen
	review    *reviewScreen
	install   *installScreen
	done      *doneScreen

	cluster *clusterfile.Cluster // built when leaving the SSH screen
	saved   string
	stream  *stream // the running Engine call
	streams int     // ids for streams
	res     Result
}

func newModel(ctx context.Context, opts Options, st *styles) *model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e := &env{st: st, keys: newKeyMap(), now: opts.Now, opts: &opts}
	inner, cancel := context.WithCancel(ctx)
	m := &model{e: e, ctx: inner, cancel: cancel, parent: ctx, width: 80, height: 24}
	m.welcome = newWelcomeScreen(e, inner)
	m.hosts = newHostsScreen(e, opts.Initial)
	m.ssh = newSSHScreen(e, opts.Initial)
	return m
}

func (m *model) Init() tea.Cmd {
	return tea.Batch(m.welcome.start(), m.watchCtx())
}

func (m *model) watchCtx() tea.Cmd {
	parent, inner := m.parent, m.ctx
	return func() tea.Msg {
		select {
		case <-parent.Done():
			return ctxDoneMsg{}
		case <-inner.Done():
			// Cancelling the caller's ctx ends inner too: either may wake.
			if parent.Err() != nil {
				return ctxDoneMsg{}
			}
			return nil
		}
	}
}

func (m *model) current() screen {
	switch m.state {
	case stateHosts:
		return m.hosts
	case stateSSH:
		return m.ssh
	case statePreflight:
		return m.preflight
	case stateReview:
		return m.review
	case stateInstall:
		return m.install
	case stateDone:
		return m.done
	}
	return m.welcome
}

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

// shutdown ends whatever still runs when the program is gone. An install
// is cancelled and waited for, so that even when the terminal fails the
// installer does not exit in the middle of a step.
func (m *model) shutdown() {
	if m.stream != nil {
		m.stream.close()
		if m.state == stateInstall {
			m.stream.waitEngine()
		}
	}
	m.welcome.stopCheck()
	m.cancel()
}

func (m *model) result() *Result {
	r := m.res
	r.Cluster = m.cluster
	r.SavedPath = m.saved
	if m.state < stateReview {
		r.Cluster = nil // nothing was confirmed
	}
	return &r
}

// summary is what stays in the terminal after the wizard ends.
func (m *model) summary() string {
	if m.state != stateDone || m.done == nil {
		return ""
	}
	return strings.TrimRight(m.done.render(m.width, 1000, true), "\n ")
}

func (m *model) View() string {
	if m.quit {
		return ""
	}
	return m.render()
}

// render lays out header, title row, body and footer in exactly
// width x height cells, so the screen never scrolls at 80x24.
func (m *model) render() string {
	st, w := m.e.st, m.width
	var b strings.Builder
	b.Grow(w * m.height * 2)
	line := func(s string) {
		b.WriteString(ansi.Truncate(s, w, "…"))
		b.WriteByte('\n')
	}
	line(" " + st.brand.Render("sealpack") + st.dim.Render(" · ") + productLine(m.e.opts.Info))
	line(" " + st.rule.Render(strings.Repeat("─", max(w-2, 1))))
	s := m.current()
	left, right := s.title()
	if right == "" {
		right = st.dim.Render(fmt.Sprintf("step %d of %d", int(m.state)+1, stepCount))
	}
	line(" " + spread(st.title.Render(left), right, w-2))
	bodyH := m.height - 4
	body := strings.Split(strings.TrimRight(s.view(w, bodyH), "\n"), "\n")
	for i := 0; i < bodyH; i++ {
		if i < len(body) {
			line(body[i])
		} else {
			b.WriteByte('\n')
		}
	}
	b.WriteString(ansi.Truncate(" "+m.footer(s), w, "…"))
	return b.String()
}

func (m *model) footer(s screen) string {
	st, k := m.e.st, m.e.keys
	if !m.confirm {
		return st.renderHelp(s.help())
	}
	q, yes, no := "Quit the installer? No host was changed.", "quit", "stay"
	switch m.state {
	case stateInstall:
		q, yes, no = "Stop the install? It stops safely and can resume.", "stop", "go on"
	case stateDone:
		q = "Leave the installer?"
	}
	return st.prompt.Render(q) + " " + st.renderHelp([]helpItem{hk(k.Yes, yes), hk(k.No, no)})
}

// productName is "acme-platform 3.1.4", or a stand-in for an installer
// built without a title label.
func productName(r *payload.Report) string {
	name := r.Name
	if name == "" {
		name = "the cluster"
	}
	return strings.TrimSpace(name + " " + r.Version)
}

// productLine is "acme-platform 3.1.4 · linux/amd64 · 2.1 GiB · 37 images".
func productLine(r *payload.Report) string {
	name := r.Name
	if name == "" {
		name = "installer"
	}
	if r.Version != "" {
		name += " " + r.Version
	}
	return fmt.Sprintf("%s · %s · %s · %s", name, r.Platform,
		payload.HumanBytes(r.StubBytes+r.PayloadBytes), plural(len(r.Images), "image", "images"))
}
