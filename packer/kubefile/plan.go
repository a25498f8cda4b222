package kubefile

import "io/fs"

// Options are the inputs of Eval that do not come from the Kubefile.
type Options struct {
	BuildArgs map[string]string // --build-arg: override ARG defaults
	BaseEnv   []string          // ENV inherited from FROM's installer, KEY=VALUE
}

// Plan is a Kubefile with every variable expanded: what the packer runs.
type Plan struct {
	From     From
	Steps    []Step // in Kubefile order; ARG lines only change later expansions
	Warnings []string
}

// Step is one instruction to run: *Copy, *Run, *Env, *Label, *Cmd, *Image,
// *App or *Launch.
type Step interface{ Where() Source }

// Source locates a step and keeps its text for progress lines.
type Source struct {
	Pos  Pos
	Text string // the instruction as written
}

// Where implements Step.
func (s Source) Where() Source { return s }

// From is the base: "scratch", or a path to an installer or image directory.
type From struct {
	Source
	Ref string
}

// Copy copies Sources (relative to the build context, globs allowed) to Dest
// in the rootfs. Dest ending in "/" is a directory.
type Copy struct {
	Source
	Sources  []string
	Dest     string
	Chmod    fs.FileMode
	HasChmod bool
}

// Run is a build-time command: Shell runs with sh -c; Exec (JSON form) is
// executed directly. Env holds ARG and ENV in effect (ENV wins on a clash).
type Run struct {
	Source
	Shell string
	Exec  []string
	Env   []string
}

// KeyValue is one ENV or LABEL pair.
type KeyValue struct{ Key, Value string }

// Env sets environment variables of the image.
type Env struct {
	Source
	Vars []KeyValue
}

// Label sets labels of the image.
type Label struct {
	Source
	Labels []KeyValue
}

// Cmd is an install-time command line, stored as a shell command: the shell
// form as written, the JSON form shell-quoted.
type Cmd struct {
	Source
	Command string
}

// Image names images to carry.
type Image struct {
	Source
	Refs []string
}
