package kubefile

import (
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// evaluator holds the variables of one Eval, in Docker's scopes.
type evaluator struct {
	k         *Kubefile
	lex       *shell.Lex
	buildArgs map[string]string
	used      map[string]bool    // build args that an ARG consumed
	global    map[string]*string // ARG before FROM (nil: declared, no value)
	args      map[string]*string // ARG after FROM
	argOrder  []string
	env       []KeyValue // ENV, inherited first
	afterFrom bool
	warned    map[string]bool
	warnings  []string
}

// BaseRef expands the FROM argument with the ARGs declared before it, so the
// caller can open the base before calling Eval (whose expansions see the
// base's ENV).
func (k *Kubefile) BaseRef(buildArgs map[string]string) (From, error) {
	e := k.newEvaluator(Options{BuildArgs: buildArgs})
	for _, in := range k.Instructions {
		if in.Cmd == "FROM" {
			return e.from(in)
		}
		if err := e.arg(in); err != nil {
			return From{}, err
		}
	}
	return From{}, &Error{Pos: Pos{File: k.Name}, Err: fmt.Errorf("no FROM instruction")}
}

// Eval expands every instruction the way Docker does: ARG before FROM is seen
// by FROM only (unless declared again after it), --build-arg overrides ARG
// defaults, ENV beats ARG, and variables in RUN and CMD are left to the shell.
func (k *Kubefile) Eval(o Options) (*Plan, error) {
	e := k.newEvaluator(o)
	for _, kv := range o.BaseEnv {
		key, val, _ := strings.Cut(kv, "=")
		e.setEnv(key, val)
	}
	p := &Plan{}
	for _, in := range k.Instructions {
		src := Source{Pos: in.Pos, Text: strings.TrimSpace(in.Original)}
		var step Step
		var err error
		switch in.Cmd {
		case "ARG":
			err = e.arg(in)
		case "FROM":
			p.From, err = e.from(in)
			e.afterFrom = true
		case "ENV":
			var kv []KeyValue
			if kv, err = e.pairs(in); err == nil {
				for _, v := range kv {
					e.setEnv(v.Key, v.Value)
				}
				step = &Env{Source: src, Vars: kv}
			}
		case "LABEL":
			var kv []KeyValue
			if kv, err = e.pairs(in); err == nil {
				step = &Label{Source: src, Labels: kv}
			}
		case "COPY":
			step, err = e.copyStep(src, in)
		case "RUN":
			r := &Run{Source: src, Env: e.runEnv()}
			if in.JSON {
				r.Exec = slices.Clone(in.Args)
			} else {
				r.Shell = in.Args[0]
			}
			step = r
		case "CMD":
			c := &Cmd{Source: src}
			if in.JSON {
				c.Command = ShellJoin(in.Args)
			} else {
				c.Command = in.Args[0]
			}
			step = c
		case "IMAGE":
			step, err = e.imageStep(src, in)
		case "APP":
			step, err = e.appStep(src, in)
		case "LAUNCH":
			step, err = e.launchStep(src, in)
		default:
			err = Errorf(in.Pos, "unknown instruction %q", in.Cmd)
		}
		if err != nil {
			return nil, err
		}
		if step != nil {
			p.Steps = append(p.Steps, step)
		}
	}
	var unused []string
	for name := range o.BuildArgs {
		if !e.used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(unused)
	for _, name := range unused {
		e.warnings = append(e.warnings, fmt.Sprintf("%s: --build-arg %s: no ARG %s in the Kubefile, so nothing uses it", k.Name, name, name))
	}
	p.Warnings = append(slices.Clone(k.Warnings), e.warnings...)
	return p, nil
}

func (k *Kubefile) newEvaluator(o Options) *evaluator {
	return &evaluator{
		k: k, lex: shell.NewLex(k.Escape), buildArgs: o.BuildArgs, used: map[string]bool{},
		global: map[string]*string{}, args: map[string]*string{}, warned: map[string]bool{},
	}
}

func (e *evaluator) from(in Instruction) (From, error) {
	ref, err := e.expand(in.Pos, in.Args[0])
	if err != nil {
		return From{}, err
	}
	if ref == "" {
		return From{}, Errorf(in.Pos, "FROM %s expands to nothing", in.Args[0])
	}
	return From{Source: Source{Pos: in.Pos, Text: strings.TrimSpace(in.Original)}, Ref: ref}, nil
}

func (e *evaluator) arg(in Instruction) error {
	scope := e.global
	if e.afterFrom {
		scope = e.args
	}
	for _, w := range in.Args {
		name, def, hasDef := strings.Cut(w, "=")
		var val *string
		if hasDef {
			v, err := e.expand(in.Pos, def)
			if err != nil {
				return err
			}
			val = &v
		} else if g, ok := e.global[name]; ok && e.afterFrom {
			val = g // ARG NAME after FROM takes the global value
		}
		if v, ok := e.buildArgs[name]; ok {
			val = &v
			e.used[name] = true
		}
		if _, seen := scope[name]; !seen && e.afterFrom {
			e.argOrder = append(e.argOrder, name)
		}
		scope[name] = val
	}
	return nil
}

// pairs expands ENV or LABEL pairs; every pair of one line sees the variables
// as they were before the line, as in Docker.
func (e *evaluator) pairs(in Instruction) ([]KeyValue, error) {
	var out []KeyValue
	for i := 0; i+1 < len(in.Args); i += 2 {
		k, err := e.expand(in.Pos, in.Args[i])
		if err != nil {
			return nil, err
		}
		v, err := e.expand(in.Pos, in.Args[i+1])
		if err != nil {
			return nil, err
		}
		if k == "" {
			return nil, Errorf(in.Pos, "%s: key %s expands to nothing", in.Cmd, in.Args[i])
		}
		out = append(out, KeyValue{k, v})
	}
	return out, nil
}

func (e *evaluator) copyStep(src Source, in Instruction) (Step, error) {
	c := &Copy{Source: src}
	if in.Chmod != "" {
		v, err := e.expand(in.Pos, in.Chmod)
		if err != nil {
			return nil, err
		}
		m, err := ParseMode(v)
		if err != nil {
			return nil, Errorf(in.Pos, "COPY --chmod=%s: %w", v, err)
		}
		c.Chmod, c.HasChmod = fs.FileMode(m).Perm(), true
	}
	for i, a := range in.Args {
		v, err := e.expand(in.Pos, a)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, Errorf(in.Pos, "COPY: argument %s expands to nothing", a)
		}
		if i == len(in.Args)-1 {
			c.Dest = v
		} else {
			c.Sources = append(c.Sources, v)
		}
	}
	return c, nil
}

func (e *evaluator) imageStep(src Source, in Instruction) (Step, error) {
	img := &Image{Source: src}
	if in.JSON {
		for _, a := range in.Args {
			v, err := e.expand(in.Pos, a)
			if err != nil {
				return nil, err
			}
			if v != "" {
				img.Refs = append(img.Refs, v)
			}
		}
	} else {
		res, err := e.lex.ProcessWordWithMatches(in.Args[0], e)
		if err != nil {
			return nil, Errorf(in.Pos, "%w", err)
		}
		e.hint(in.Pos, res.Unmatched)
		words, err := e.lex.ProcessWords(in.Args[0], e)
		if err != nil {
			return nil, Errorf(in.Pos, "%w", err)
		}
		img.Refs = words
	}
	if len(img.Refs) == 0 {
		return nil, Errorf(in.Pos, "IMAGE: %s expands to no image reference", strings.Join(in.Args, " "))
	}
	return img, nil
}
