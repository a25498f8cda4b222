package tui

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/sealpack/sealpack/payload"
)

// checkState is where the integrity check stands.
type checkState int

const (
	checkNone    checkState = iota // nothing to check (Options.Verify is nil)
	checkRunning                   // reading the installer
	checkOK                        // every byte matches
	checkEarlier                   // a previous run checked it
	checkSkipped                   // the user skipped it
	checkFailed                    // the installer is damaged
)

type (
	verifyTickMsg struct{ gen int }
	verifyDoneMsg struct {
		gen         int
		err         error
		rememberErr error
	}
)

// welcomeScreen shows what will be installed, checks the installer's
// integrity and, when the installer carries one, asks to accept its licence.
type welcomeScreen struct {
	e      *env
	ctx    context.Context
	check  checkState
	gen    int // the running check; results of a skipped one are dropped
	cancel context.CancelFunc
	run    tea.Cmd      // the check, until the first tick starts it
	done   atomic.Int64 // written by the check's goroutine
	total  atomic.Int64
	err    error // the check's failure
	note   string

	licencePage bool
	licence     viewport.Model
	accepted    bool
	waitHint    bool // enter was pressed while the check ran
}

func newWelcomeScreen(e *env, ctx context.Context) *welcomeScreen {
	w := &welcomeScreen{e: e, ctx: ctx, licence: viewport.New(76, 16)}
	w.licence.SetContent(strings.ReplaceAll(e.opts.License, "\t", "    "))
	w.licence.KeyMap = viewportKeys(e.keys)
	switch {
	case e.opts.Verify == nil:
		w.check = checkNone
	case e.opts.AlreadyVerified:
		w.check = checkEarlier
	default:
		w.check = checkRunning
	}
	return w
}

// enter is called when the screen is shown again.
func (w *welcomeScreen) enter() { w.licencePage = false }

// start begins the integrity check in the background, from the first
// progress tick: bubbletea draws the first frame on its next frame tick, and
// the check reading the whole installer at once would compete with the
// program's own start (on a USB stick, with its page-ins).
func (w *welcomeScreen) start() tea.Cmd {
	if w.check != checkRunning {
		return nil
	}
	w.gen++
	ctx, cancel := context.WithCancel(w.ctx)
	w.cancel = cancel
	w.run = w.runCheck(ctx, w.gen)
	return verifyTick(w.gen)
}

// runCheck is the check as a command.
func (w *welcomeScreen) runCheck(ctx context.Context, gen int) tea.Cmd {
	verify, remember := w.e.opts.Verify, w.e.opts.RememberVerified
	return func() tea.Msg {
		err := verify(ctx, func(done, total int64) {
			w.done.Store(done)
			w.total.Store(total)
		})
		msg := verifyDoneMsg{gen: gen, err: err}
		if err == nil && remember != nil {
			msg.rememberErr = remember()
		}
		return msg
	}
}

func verifyTick(gen int) tea.Cmd {
	return tea.Tick(100*time.Millisecond, func(time.Time) tea.Msg { return verifyTickMsg{gen: gen} })
}

func (w *welcomeScreen) stopCheck() {
	if w.cancel != nil {
		w.cancel()
	}
}

func (w *welcomeScreen) update(msg tea.Msg) tea.Cmd {
	k := w.e.keys
	switch msg := msg.(type) {
	case verifyTickMsg:
		if msg.gen == w.gen && w.check == checkRunning {
			run := w.run
			w.run = nil
			return tea.Batch(run, verifyTick(msg.gen)) // the view reads the counters
		}
	case verifyDoneMsg:
		if msg.gen != w.gen || w.check != checkRunning {
			return nil
		}
		w.cancel()
		if msg.err != nil {
			w.check, w.err = checkFailed, msg.err
			return nil
		}
		w.check = checkOK
		if msg.rememberErr != nil {
			w.note = fmt.Sprintf(" (not remembered: %v)", msg.rememberErr)
		}
	case tea.KeyMsg:
		if w.licencePage {
			switch {
			case key.Matches(msg, k.Accept):
				w.accepted = true
				return goTo(stateApps)
			case key.Matches(msg, k.Back):
				w.licencePage = false
				return nil
			}
			var cmd tea.Cmd
			w.licence, cmd = w.licence.Update(msg)
			return cmd
		}
		switch {
		case key.Matches(msg, k.Skip) && w.check == checkRunning:
			w.cancel()
			w.check = checkSkipped
			w.waitHint = false
		case key.Matches(msg, k.Next):
			switch {
			case w.check == checkRunning:
				w.waitHint = true
			case w.check == checkFailed:
				// A damaged installer must not reach the hosts.
			case w.e.opts.License != "" && !w.accepted:
				w.licencePage = true
			default:
				return goTo(stateApps)
			}
		}
	}
	return nil
}

func (w *welcomeScreen) title() (string, string) {
	if w.licencePage {
		return "Licence", ""
	}
	return "Welcome", ""
}

func (w *welcomeScreen) help() []helpItem {
	k := w.e.keys
	if w.licencePage {
		return []helpItem{hk(k.Accept, "accept"), {"↑/↓ pgup/pgdn", "read"}, hk(k.Back, "back"), hk(k.Quit, "quit")}
	}
	var items []helpItem
	switch w.check {
	case checkRunning:
		items = append(items, hk(k.Skip, "skip the check"))
	case checkFailed:
	default:
		items = append(items, hk(k.Next, "next"))
	}
	return append(items, hk(k.Quit, "quit"))
}

func (w *welcomeScreen) view(width, height int) string {
	if w.licencePage {
		return w.licenceView(width, height)
	}
	st, info := w.e.st, w.e.opts.Info
	var b strings.Builder
	name := info.Name
	if name == "" {
		name = "this installer's product"
	}
	fmt.Fprintf(&b, "\n This installer sets up %s: a Kubernetes cluster and its\n", st.brand.Render(strings.TrimSpace(name+" "+info.Version)))
	b.WriteString(" applications, on machines that this computer reaches over SSH.\n\n")
	row := func(label, value string) { fmt.Fprintf(&b, "   %s %s\n", st.dim.Render(pad(label, 10)), value) }
	row("Product", orDash(info.Name))
	row("Version", orDash(info.Version))
	row("Platform", info.Platform)
	b.WriteString(w.signatureView(width))
	row("Size", payload.HumanBytes(info.StubBytes+info.PayloadBytes))
	row("Images", plural(len(info.Images), "container image", "container images"))
	switch {
	case len(info.Apps) > 0:
		row("Apps", plural(len(info.Apps), "application", "applications")+" ("+strings.Join(appNames(info.Apps), ", ")+")")
	case len(info.Cmds) > 0:
		row("Apps", plural(len(info.Cmds), "install command", "install commands"))
	}
	if w.e.opts.License != "" {
		if w.accepted {
			row("Licence", st.ok.Render(symOK)+" accepted")
		} else {
			row("Licence", "to read and accept on the next page")
		}
	}
	b.WriteString("\n")
	b.WriteString(w.checkView(width))
	b.WriteString("\n You will need the IP addresses of the machines and an SSH user with its\n")
	b.WriteString(" password or key. No machine is changed before every check has passed.\n")
	return b.String()
}

// signatureView is the Signature row: NOT SIGNED, or who signed the
// installer (name and key id, the id on a line of its own when both do not
// fit) and whether the site's key checked it.
func (w *welcomeScreen) signatureView(width int) string {
	st, s := w.e.st, w.e.opts.Info.Signature
	label := "   " + st.dim.Render(pad("Signature", 10)) + " "
	indent := strings.Repeat(" ", 14)
	switch {
	case !s.Signed:
		return label + st.warn.Render("NOT SIGNED") + "\n"
	case s.Error != "":
		return label + st.warn.Render(symWarn+" signed, but the signature cannot be read:") + "\n" + wrap(s.Error, width-1, indent)
	}
	by, id := "signed by "+s.Signer, "("+s.KeyID+")"
	out := label + by + " " + id + "\n"
	if len(indent)+ansi.StringWidth(by)+1+len(id) > width-1 {
		out = label + by + "\n" + indent + id + "\n"
	}
	if s.CheckedWith != "" {
		return out + indent + st.ok.Render(symOK) + " checked with " + s.CheckedWith + "\n"
	}
	return out + indent + st.dim.Render("not checked (--require-signature KEY checks it)") + "\n"
}

func (w *welcomeScreen) checkView(width int) string {
	st := w.e.st
	label := " " + st.dim.Render(pad("Integrity", 12))
	switch w.check {
	case checkRunning:
		done, total := w.done.Load(), w.total.Load()
		pct := 0
		if total > 0 {
			pct = int(100 * done / total)
		}
		barW := max(min(width-48, 30), 10)
		s := fmt.Sprintf("%s%s %3d%%  %s of %s\n", label, st.progressBar(done, total, barW), pct,
			payload.HumanBytes(done), payload.HumanBytes(total))
		s += " " + pad("", 12) + st.dim.Render("checking every byte against the index; s skips the check") + "\n"
		if w.waitHint {
			s += " " + pad("", 12) + st.warn.Render("wait for the check to finish, or press s to skip it") + "\n"
		}
		return s
	case checkOK:
		return label + st.ok.Render(symOK) + " every byte matches the index" + st.dim.Render(w.note) + "\n"
	case checkEarlier:
		return label + st.ok.Render(symOK) + " checked by an earlier run\n"
	case checkSkipped:
		return label + st.warn.Render(symWarn) + " check skipped (" + w.e.command() + " verify checks it later)\n"
	case checkFailed:
		indent := " " + pad("", 12)
		return label + st.fail.Render(symFail+" the installer is damaged; copy it again from its source.") + "\n" +
			wrap(w.err.Error(), width-1, indent)
	}
	return ""
}

func (w *welcomeScreen) licenceView(width, height int) string {
	st := w.e.st
	w.licence.Width, w.licence.Height = max(width-2, 10), max(height-3, 3)
	var b strings.Builder
	b.WriteString(" Read the licence; press a to accept it and go on.\n")
	b.WriteString(" " + st.ruleWith("", width-2) + "\n")
	for _, l := range strings.Split(w.licence.View(), "\n") {
		b.WriteString(" " + l + "\n")
	}
	where := ""
	if !w.licence.AtTop() || !w.licence.AtBottom() {
		where = fmt.Sprintf("%3.0f%%", w.licence.ScrollPercent()*100)
	}
	b.WriteString(" " + st.ruleWith(where, width-2) + "\n")
	return b.String()
}

// viewportKeys keep scrolling to arrows and page keys, so that letters stay
// free for the screen's own actions.
func viewportKeys(k keyMap) viewport.KeyMap {
	return viewport.KeyMap{
		PageDown:     key.NewBinding(key.WithKeys("pgdown", " ")),
		PageUp:       key.NewBinding(key.WithKeys("pgup")),
		HalfPageUp:   key.NewBinding(key.WithKeys("ctrl+u")),
		HalfPageDown: key.NewBinding(key.WithKeys("ctrl+d")),
		Up:           k.Up,
		Down:         k.Down,
		Left:         key.NewBinding(key.WithDisabled()),
		Right:        key.NewBinding(key.WithDisabled()),
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
