package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sealpack/sealpack/deployer"
	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
	"github.com/sealpack/sealpack/tui"
	"github.com/spf13/cobra"
)

// verifiedMark records beside the state that this installer was checked, so
// the wizard does not check it again on every start.
const verifiedMark = "verified"

// wizardSuffix names the Clusterfile the wizard saves beside one given with -f.
const wizardSuffix = ".sealpack.yaml"

// runWizard runs the terminal wizard; it installs through the same deployer
// as --unattended.
func runWizard(cmd *cobra.Command, f installFlags) error {
	p, err := openSelf()
	if err != nil {
		return err
	}
	defer p.Close()
	save := "Clusterfile"
	var initial *clusterfile.Cluster
	if f.clusterfile != "" {
		if initial, _, err = loadCluster(f.clusterfile, cmd.ErrOrStderr()); err != nil {
			return err
		}
		save = wizardSavePath(f.clusterfile)
	}
	// Before the first screen: an installer that fails the signature the
	// site requires does not even offer to install.
	info := p.Report()
	if info.Signature, err = requireSignature(p, f.requireSignature, initial, f.clusterfile); err != nil {
		return err
	}
	// Absolute, so that the paths the done screen shows work from anywhere.
	dir, err := filepath.Abs(stateDir(save))
	if err != nil {
		return err
	}
	// A licence that cannot be read must not pass as no licence to accept.
	var license []byte
	if _, ok := p.File("LICENSE"); ok {
		if license, err = p.ReadFile("LICENSE"); err != nil {
			return fmt.Errorf("reading the licence this installer carries (the file is damaged: copy it again): %w", err)
		}
	}
	eng := &wizardEngine{p: p, dir: dir}
	mark := filepath.Join(dir, verifiedMark+"-"+p.Index().StubSHA256[:16])
	_, statErr := os.Stat(mark)
	res, err := tui.Run(cmd.Context(), tui.Options{
		Info:            info,
		License:         string(license),
		Verify:          verifyFunc(p),
		AlreadyVerified: statErr == nil,
		RememberVerified: func() error {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			return os.WriteFile(mark, nil, 0o600)
		},
		Initial:        initial,
		InitialPath:    f.clusterfile,
		SavePath:       save,
		Command:        os.Args[0],
		KubeconfigPath: filepath.Join(dir, deployer.AdminConfName),
		LogPath:        filepath.Join(dir, "logs"),
		Engine:         eng,
	})
	if err != nil {
		return err
	}
	if res.Quit {
		// Ctrl+C, as a shell reports a program it interrupted.
		return exitError{code: 130}
	}
	if res.Failure != nil {
		return exitError{code: 1}
	}
	return nil
}

// verifyFunc checks the installer for the wizard, reporting the bytes
// checked so far; Verify reports from all its workers at once, hence the
// atomic sum.
func verifyFunc(p *payload.Reader) func(ctx context.Context, progress func(done, total int64)) error {
	return func(ctx context.Context, progress func(done, total int64)) error {
		var done atomic.Int64
		total := p.VerifyBytes()
		return p.Verify(ctx, func(n int64) { progress(done.Add(n), total) })
	}
}

// wizardSavePath is where the wizard saves its Clusterfile when it started
// from the user's: beside it under another name, since Marshal writes from
// scratch and would drop the user's comments, secrets and layout.
// Clusterfile -> Clusterfile.sealpack.yaml, site.yaml -> site.sealpack.yaml;
// a file the wizard wrote itself is saved in place.
func wizardSavePath(given string) string {
	if strings.HasSuffix(given, wizardSuffix) {
		return given
	}
	dir, base := filepath.Split(given)
	for _, ext := range []string{".yaml", ".yml"} {
		if b := strings.TrimSuffix(base, ext); b != base && b != "" {
			base = b
			break
		}
	}
	return filepath.Join(dir, base+wizardSuffix)
}

// wizardEngine adapts the deployer to what the wizard drives.
type wizardEngine struct {
	p   *payload.Reader
	dir string

	mu sync.Mutex
	// accepted holds the host keys the user accepted. A run gets a copy:
	// the user may accept keys while another preflight is still reading.
	accepted map[string]string
}

func (e *wizardEngine) options(sink event.Sink) deployer.Options {
	e.mu.Lock()
	defer e.mu.Unlock()
	opts := deployer.Options{StateDir: e.dir, Sink: sink, AcceptHostKeys: maps.Clone(e.accepted)}
	withImages(&opts, e.p)
	return opts
}

func (e *wizardEngine) Preflight(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error {
	return deployer.Preflight(ctx, c, e.options(wizardSink(sink)))
}

func (e *wizardEngine) AcceptHostKeys(c *clusterfile.Cluster, fingerprints map[string]string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.accepted == nil {
		e.accepted = map[string]string{}
	}
	maps.Copy(e.accepted, fingerprints)
	return nil
}

func (e *wizardEngine) Install(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error {
	opts := e.options(wizardSink(sink))
	stop, err := startRegistry(e.p, &opts)
	if err != nil {
		return err
	}
	defer stop()
	return deployer.Apply(ctx, c, opts)
}

// cliAdvice is the deployer's advice for an unknown host key on the command
// line; in the wizard the key is accepted on the preflight screen instead.
const cliAdvice = ": pass --accept-new-host-keys"

// wizardSink drops from the checks the wizard shows what its table already
// says (the host) and advice meant for the command line.
func wizardSink(sink event.Sink) event.Sink {
	return func(ev event.Event) {
		if ev.Type == event.Check {
			ev.Message = strings.TrimPrefix(ev.Message, "host "+ev.Host+": ")
			if i := strings.Index(ev.Message, cliAdvice); i >= 0 {
				ev.Message = ev.Message[:i]
			}
		}
		sink(ev)
	}
}
