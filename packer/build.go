package packer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sealpack/sealpack/packer/kubefile"
	"github.com/sealpack/sealpack/payload"
)

// builder holds the state of one Build.
type builder struct {
	opts    BuildOptions
	log     io.Writer
	name    string // the Kubefile as named in messages
	ctxDir  string // absolute
	ctxReal string // absolute, symlinks resolved
	root    *rootfs
	base    *payload.Reader // FROM installer, open until the payload is written

	labels    map[string]string
	env       []string
	cmds      []string
	apps      appSet // APP and LAUNCH (apps.go)
	inherited []payload.Image
	lines     []ImageLine
	docs      map[string][]byte // ImageResult.Docs, for the bill of materials

	work     string // work dir once a RUN needed a real tree
	scratch  []string
	excluded func(abs string) bool
}

// Build runs the Kubefile and writes the installer. On any error nothing is
// left at opts.Output (or its parts).
func Build(ctx context.Context, opts BuildOptions) (res *Result, err error) {
	start := time.Now()
	b, err := newBuilder(opts)
	if err != nil {
		return nil, err
	}
	defer b.cleanup()

	kf, from, err := b.parse()
	if err != nil {
		return nil, err
	}

	// Create the output first: an unwritable path fails before any RUN.
	w, err := createOutput(opts)
	if err != nil {
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			w.Abort()
		}
	}()
	b.excluded = outputFilter(opts.Output)
	// The stub (tens of megabytes) is copied in the background from now on,
	// on the core the walk of the build context leaves idle.
	if err := b.startStub(w); err != nil {
		return nil, err
	}

	if err := b.from(ctx, from); err != nil {
		return nil, err
	}
	plan, err := kf.Eval(kubefile.Options{BuildArgs: opts.BuildArgs, BaseEnv: b.env})
	if err != nil {
		return nil, err
	}
	if err := b.runPlan(ctx, plan); err != nil {
		return nil, err
	}

	res, err = b.write(ctx, w)
	if err != nil {
		return nil, err
	}
	committed = true
	res.Warnings = plan.Warnings
	fmt.Fprintf(b.log, "wrote %s (%s, %d files, %s of content, payload %s) in %s\n", res.Output, res.Platform,
		res.Files, payload.HumanBytes(res.ContentBytes), payload.HumanBytes(res.PayloadBytes), time.Since(start).Round(time.Millisecond))
	return res, nil
}

// parse reads the Kubefile and expands its FROM, so that the base can be
// opened before the rest is evaluated.
func (b *builder) parse() (*kubefile.Kubefile, kubefile.From, error) {
	f, err := os.Open(b.opts.Kubefile)
	if err != nil {
		return nil, kubefile.From{}, fmt.Errorf("kubefile: %w", err)
	}
	kf, err := kubefile.Parse(b.name, f)
	f.Close()
	if err != nil {
		return nil, kubefile.From{}, err
	}
	from, err := kf.BaseRef(b.opts.BuildArgs)
	if err != nil {
		return nil, kubefile.From{}, err
	}
	return kf, from, nil
}

// createOutput creates the installer's payload writer at opts.Output, split
// into parts when opts.SplitSize asks for it.
func createOutput(opts BuildOptions) (*payload.Writer, error) {
	var wopts []payload.Option
	if opts.SplitSize > 0 {
		wopts = append(wopts, payload.WithSplit(opts.SplitSize))
	}
	if opts.Sign != nil {
		wopts = append(wopts, payload.WithSigner(opts.Sign))
	}
	w, err := payload.Create(opts.Output, wopts...)
	if err != nil {
		return nil, fmt.Errorf("cannot write the installer: %w", err)
	}
	return w, nil
}

// runPlan prints the plan's warnings and runs its steps in order, each after
// its progress line.
func (b *builder) runPlan(ctx context.Context, plan *kubefile.Plan) error {
	for _, wmsg := range plan.Warnings {
		fmt.Fprintf(b.log, "warning: %s\n", wmsg)
	}
	n := len(plan.Steps) + 1
	saidDryRun := false
	fmt.Fprintf(b.log, "Step 1/%d : %s\n", n, plan.From.Text)
	for i, s := range plan.Steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		fmt.Fprintf(b.log, "Step %d/%d : %s\n", i+2, n, oneLine(s.Where().Text))
		if _, ok := s.(*kubefile.Run); ok && b.opts.DryRun && !saidDryRun {
			fmt.Fprintln(b.log, "dry run: RUN instructions run here as in a build, since what they write may name images; nothing is pulled and no installer is written")
			saidDryRun = true
		}
		if err := b.step(ctx, s); err != nil {
			return err
		}
	}
	return b.checkApps()
}

func newBuilder(opts BuildOptions) (*builder, error) {
	if err := ValidPlatform(opts.Platform); err != nil {
		return nil, err
	}
	if opts.Stub == nil {
		return nil, errors.New("packer: BuildOptions.Stub is not set")
	}
	if opts.Output == "" {
		return nil, errors.New("no output path given")
	}
	if st, err := os.Stat(opts.Output); err == nil && st.IsDir() {
		return nil, fmt.Errorf("output %s is a directory", opts.Output)
	}
	if st, err := os.Stat(filepath.Dir(opts.Output)); err != nil {
		return nil, fmt.Errorf("cannot write the installer %s: %w", opts.Output, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("cannot write the installer %s: %s is not a directory", opts.Output, filepath.Dir(opts.Output))
	}
	if opts.ContextDir == "" {
		opts.ContextDir = "."
	}
	if opts.Kubefile == "" {
		opts.Kubefile = filepath.Join(opts.ContextDir, "Kubefile")
	}
	st, err := os.Stat(opts.ContextDir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", opts.ContextDir)
	}
	ctxDir, err := filepath.Abs(opts.ContextDir)
	if err != nil {
		return nil, err
	}
	ctxReal, err := filepath.EvalSymlinks(ctxDir)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	b := &builder{
		opts: opts, log: opts.Log, name: filepath.Clean(opts.Kubefile), ctxDir: ctxDir, ctxReal: ctxReal,
		root: newRootfs(), labels: map[string]string{},
	}
	if b.log == nil {
		b.log = io.Discard
	}
	return b, nil
}

// step runs one instruction.
func (b *builder) step(ctx context.Context, s kubefile.Step) error {
	switch s := s.(type) {
	case *kubefile.Copy:
		return b.copy(s)
	case *kubefile.Run:
		return b.run(ctx, s)
	case *kubefile.Env:
		for _, kv := range s.Vars {
			b.env = setEnv(b.env, kv.Key, kv.Value)
		}
	case *kubefile.Label:
		for _, kv := range s.Labels {
			b.labels[kv.Key] = kv.Value
		}
	case *kubefile.Cmd:
		b.cmds = append(b.cmds, s.Command)
	case *kubefile.Image:
		for _, r := range s.Refs {
			b.lines = append(b.lines, ImageLine{Ref: r, Pos: s.Pos})
		}
	case *kubefile.App:
		return b.app(s)
	case *kubefile.Launch:
		b.launch(s)
	default:
		return kubefile.Errorf(s.Where().Pos, "packer: unexpected step %T", s)
	}
	return nil
}

// oneLine squeezes the blanks of continuation lines for progress output.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func setEnv(env []string, key, val string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + val
			return env
		}
	}
	return append(env, key+"="+val)
}

// cleanup removes work dirs and closes the FROM installer.
func (b *builder) cleanup() {
	if b.base != nil {
		b.base.Close()
	}
	for _, d := range b.scratch {
		removeAll(d)
	}
}

// outputFilter matches the installer being written, its temporary file and
// its split parts, so `COPY . /` from a context that holds the output does
// not copy the installer into itself.
func outputFilter(out string) func(string) bool {
	abs, err := filepath.Abs(out)
	if err != nil {
		return func(string) bool { return false }
	}
	dir, base := filepath.Split(abs)
	// Context paths are compared with symlinks resolved.
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real + string(filepath.Separator)
		abs = filepath.Join(dir, base)
	}
	return func(p string) bool {
		if p == abs {
			return true
		}
		d, name := filepath.Split(p)
		if d != dir {
			return false
		}
		if rest, ok := strings.CutPrefix(name, base+"."); ok && len(rest) == 3 && strings.Trim(rest, "0123456789") == "" {
			return true // a split part: OUT.001
		}
		return strings.HasPrefix(name, "."+base+".tmp-")
	}
}
