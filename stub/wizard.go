package main

import (
	"context"
	"os"
	"path/filepath"

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

// runWizard runs the terminal wizard; it installs through the same deployer
// as --unattended.
func runWizard(cmd *cobra.Command, f installFlags) error {
	p, err := openSelf()
	if err != nil {
		return err
	}
	defer p.Close()
	save := f.clusterfile
	var initial *clusterfile.Cluster
	if save != "" {
		if initial, _, err = loadCluster(save, cmd.ErrOrStderr()); err != nil {
			return err
		}
	} else {
		save = "Clusterfile"
	}
	dir := stateDir(save)
	license, _ := p.ReadFile("LICENSE")
	eng := &wizardEngine{p: p, f: f, dir: dir}
	mark := filepath.Join(dir, verifiedMark+"-"+p.Index().StubSHA256[:16])
	_, statErr := os.Stat(mark)
	res, err := tui.Run(cmd.Context(), tui.Options{
		Info:    p.Report(),
		License: string(license),
		Verify: func(ctx context.Context, progress func(done, total int64)) error {
			total, done := p.VerifyBytes(), int64(0)
			return p.Verify(ctx, func(n int64) { done += n; progress(done, total) })
		},
		AlreadyVerified: statErr == nil,
		RememberVerified: func() error {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			return os.WriteFile(mark, nil, 0o600)
		},
		Initial:        initial,
		SavePath:       save,
		Command:        os.Args[0],
		KubeconfigPath: filepath.Join(dir, deployer.AdminConfName),
		LogPath:        filepath.Join(dir, "logs"),
		Engine:         eng,
	})
	if err != nil {
		return err
	}
	if res.Failure != nil {
		return exitError{code: 1}
	}
	return nil
}

// wizardEngine adapts the deployer to what the wizard drives.
type wizardEngine struct {
	p        *payload.Reader
	f        installFlags
	dir      string
	accepted map[string]string
}

func (e *wizardEngine) options(sink event.Sink) deployer.Options {
	return deployer.Options{Payload: e.p, StateDir: e.dir, Sink: sink, AcceptHostKeys: e.accepted}
}

func (e *wizardEngine) Preflight(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error {
	return deployer.Preflight(ctx, c, e.options(sink))
}

func (e *wizardEngine) AcceptHostKeys(c *clusterfile.Cluster, fingerprints map[string]string) error {
	if e.accepted == nil {
		e.accepted = map[string]string{}
	}
	for ip, fp := range fingerprints {
		e.accepted[ip] = fp
	}
	return nil
}

func (e *wizardEngine) Install(ctx context.Context, c *clusterfile.Cluster, sink event.Sink) error {
	opts := e.options(sink)
	stop, err := startRegistry(e.p, &opts)
	if err != nil {
		return err
	}
	defer stop()
	return deployer.Apply(ctx, c, opts)
}
