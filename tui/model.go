package tui

import (
	"context"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
)

// state is the screen the wizard shows.
type state int

const (
	stateWelcome state = iota
	stateApps          // only when the installer carries several apps (apps.go)
	stateHosts
	stateSSH
	statePreflight
	stateReview
	stateInstall
	stateDone
)

const stepCount = 8

// step is the current screen's number and the number of screens; the apps
// screen counts only where it is shown.
func (m *model) step() (int, int) {
	n, total := int(m.state)+1, stepCount
	if !showApps(m.e.opts.Info) {
		total--
		if m.state > stateApps {
			n--
		}
	}
	return n, total
}

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
	apps      *appsScreen // nil unless showApps
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
	if showApps(opts.Info) {
		m.apps = newAppsScreen(e, opts.Initial)
	}
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
	case stateApps:
		return m.apps
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
