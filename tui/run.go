// Package tui is the installer's terminal wizard: it walks the person at the
// jump host from the first screen to a running cluster. It gathers a cluster
// configuration, hands it to an Engine (the same deployer that --unattended
// runs) and renders the Engine's events. It never opens SSH itself.
package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

// Engine is what the wizard drives. The installer adapts the deployer to it;
// tests give a scripted fake.
type Engine interface {
	// Preflight runs the read-only checks on every host and reports each
	// finished check as an event.Check event. It returns an error when any
	// host fails a check.
	Preflight(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error
	// AcceptHostKeys records host keys the user accepted: host IP to the
	// fingerprint shown (SHA256:...).
	AcceptHostKeys(c *clusterfile.Cluster, fingerprints map[string]string) error
	// Install runs every phase. Cancelling ctx stops it safely, with its
	// state kept for a resume.
	Install(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error
}

// Options configure one run of the wizard.
type Options struct {
	// Info describes the product (title and version labels, platform,
	// sizes, images, install commands). Required.
	Info *payload.Report
	// License is the LICENSE file of the rootfs; when not empty the user must
	// accept it before going on.
	License string
	// Verify checks the installer's integrity, reporting bytes checked. Nil
	// means there is nothing to check.
	Verify func(ctx context.Context, progress func(done, total int64)) error
	// AlreadyVerified says that a previous run checked this installer (the
	// caller keeps that in its state file); the check is then not repeated.
	AlreadyVerified bool
	// RememberVerified is called after a check passes, so that the caller
	// records it. Its error is shown but does not stop the wizard.
	RememberVerified func() error
	// Initial is the Clusterfile given with -f, or nil. The wizard starts
	// from its hosts and SSH settings and keeps the rest as it is.
	Initial *clusterfile.Cluster
	// SavePath is where the wizard writes the Clusterfile (without secrets)
	// before it installs, e.g. ./Clusterfile. Required.
	SavePath string
	// InitialPath is the file Initial was read from, when the wizard saves
	// to another one (SavePath) so that the user's own file, comments and
	// secrets included, stays as written; the review says so.
	InitialPath string
	// Command is how the user started the installer, for the resume
	// command shown after a failure; "" means ./app-installer.run.
	Command string
	// KubeconfigPath is where the install leaves the cluster's admin
	// kubeconfig on this machine; "" means it stays on master0 only.
	KubeconfigPath string
	// LogPath is where the Engine writes its full logs, shown at the end.
	LogPath string
	// Engine runs preflight and the install. Required.
	Engine Engine
	// Input and Output default to os.Stdin and os.Stdout.
	Input  io.Reader
	Output io.Writer
	// NoColor renders without colours (NO_COLOR in the environment does the
	// same). Bold and reverse video stay, so the cursor remains visible.
	NoColor bool
	// Now is the clock for elapsed times and estimates; nil means time.Now.
	Now func() time.Time
}

// Result is what the wizard leaves behind.
type Result struct {
	// Cluster is the configuration the user confirmed, secrets included
	// (they stay in memory). Nil when the user quit before the review.
	Cluster *clusterfile.Cluster
	// SavedPath is the Clusterfile written (without secrets), or "".
	SavedPath string
	// Installed is true when the install completed.
	Installed bool
	// Quit is true when the user left before the install completed: from a
	// screen, or by stopping the install (Failure then says where).
	Quit bool
	// Failure describes a failed or stopped install.
	Failure *Failure
}

// Failure says where an install stopped and how to resume it.
type Failure struct {
	Host    string   // the failing host; "" when no single host failed
	Step    string   // the phase, e.g. init-master0
	Message string   // the error
	Log     []string // the last lines of the host's output
	Resume  string   // the exact command that resumes the install
	Stopped bool     // the user stopped the install (Ctrl+C)
}

// Run shows the wizard until the user quits or the install ends.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	in, out := opts.Input, opts.Output
	if in == nil {
		in = os.Stdin
	}
	if out == nil {
		out = os.Stdout
	}
	st := newStyles(out, opts.NoColor || os.Getenv("NO_COLOR") != "")
	m := newModel(ctx, opts, st)
	// The installer's ctx carries SIGTERM/SIGHUP: the model stops an install
	// safely when it ends, so bubbletea must not kill the program itself.
	p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(out), tea.WithAltScreen(), tea.WithoutSignalHandler())
	final, err := p.Run()
	if err != nil {
		m.shutdown()
		return nil, fmt.Errorf("running the wizard: %w", err)
	}
	fm := final.(*model)
	fm.shutdown()
	// The alternate screen is gone with the program: leave the summary in
	// the terminal's scrollback.
	if s := fm.summary(); s != "" {
		fmt.Fprintln(out, s)
	}
	return fm.result(), nil
}

func (o Options) check() error {
	switch {
	case o.Info == nil:
		return errors.New("tui: Options.Info is required")
	case o.Engine == nil:
		return errors.New("tui: Options.Engine is required")
	case o.SavePath == "":
		return errors.New("tui: Options.SavePath is required")
	}
	return nil
}
