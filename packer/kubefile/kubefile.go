// Package kubefile is the front end of `sealpack build`: it parses a Kubefile
// (Dockerfile syntax, read by buildkit's own parser) into typed instructions
// and expands build arguments and environment variables the way Docker does.
package kubefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// maxSize bounds what Parse reads: a Kubefile is a short text; a huge one is a
// mistake (a binary given to -f), not something to hold in memory.
const maxSize = 8 << 20

// Pos is a place in a Kubefile, printed as "Kubefile:7".
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.Line <= 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Error is a mistake in a Kubefile, or a failure of one of its instructions:
// "Kubefile:7: unknown instruction \"FOOBAR\"".
type Error struct {
	Pos Pos
	Err error
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error at pos.
func Errorf(pos Pos, format string, args ...any) error {
	return &Error{Pos: pos, Err: fmt.Errorf(format, args...)}
}

// Instruction is one Kubefile line, with its words as written (variables are
// expanded later, by Eval, because ENV inherited from FROM takes part).
type Instruction struct {
	Cmd      string   // upper case: FROM, ARG, ENV, LABEL, COPY, RUN, CMD, IMAGE, APP, LAUNCH
	Pos      Pos      // first line of the instruction
	Args     []string // words; ENV and LABEL: key, value, key, value...; shell-form RUN, CMD, IMAGE: the text, one string; APP: name, paths
	JSON     bool     // RUN, CMD, COPY or IMAGE written as a JSON array
	Chmod    string   // COPY --chmod value, as written
	Original string   // the instruction's text, continuation lines joined
}

// Kubefile is a parsed Kubefile.
type Kubefile struct {
	Name         string // as given to Parse; errors are prefixed with it
	Escape       rune   // escape character (a `# escape=` directive may change it)
	Instructions []Instruction
	Warnings     []string // parser warnings, with positions
}

// Parse reads a Kubefile. name is used in messages ("Kubefile:7: ..."). It
// checks everything that can be checked without the build context: known
// instructions, their flags and number of arguments, and the single FROM.
func Parse(name string, r io.Reader) (*Kubefile, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > maxSize {
		return nil, fmt.Errorf("%s: larger than %d MiB, not a Kubefile", name, maxSize>>20)
	}
	res, err := parseSafely(data)
	if err != nil {
		return nil, locate(name, err)
	}
	kf := &Kubefile{Name: name, Escape: res.EscapeToken}
	for _, w := range res.Warnings {
		p := Pos{File: name}
		if w.Location != nil {
			p.Line = w.Location.Start.Line
		}
		kf.Warnings = append(kf.Warnings, p.String()+": "+w.Short)
	}
	for _, n := range res.AST.Children {
		in, err := instruction(name, n)
		if err != nil {
			return nil, err
		}
		kf.Instructions = append(kf.Instructions, in)
	}
	if err := kf.checkOrder(); err != nil {
		return nil, err
	}
	if err := kf.checkLaunch(); err != nil {
		return nil, err
	}
	return kf, nil
}

// parseSafely runs buildkit's parser, turning a panic inside it into an error:
// a Kubefile is user input and must never crash the build tool.
func parseSafely(data []byte) (res *parser.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("cannot parse: %v", p)
		}
	}()
	return parser.Parse(bytes.NewReader(data))
}

// locate turns a buildkit parse error into "name:line: message".
func locate(name string, err error) error {
	pos := Pos{File: name}
	var le *parser.LocationError
	if errors.As(err, &le) {
		if len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
			pos.Line = le.Locations[0][0].Start.Line
		}
		if inner := le.Unwrap(); inner != nil {
			err = inner
		}
	}
	msg := err.Error()
	// buildkit reports a bad parser directive (always near the top) with a
	// 0-based line, everything else 1-based.
	if strings.Contains(msg, "escape token") || strings.Contains(msg, "parser directive") {
		pos.Line++
	}
	if msg == "file with no instructions" {
		pos.Line = 0
		msg = "no instructions (an empty Kubefile?)"
	}
	return &Error{Pos: pos, Err: errors.New(msg)}
}

func (k *Kubefile) checkOrder() error {
	var from *Instruction
	for i := range k.Instructions {
		in := &k.Instructions[i]
		switch {
		case in.Cmd == "FROM" && from != nil:
			return Errorf(in.Pos, "a second FROM (the first is at line %d): a Kubefile has exactly one FROM", from.Pos.Line)
		case in.Cmd == "FROM":
			from = in
		case from == nil && in.Cmd != "ARG":
			return Errorf(in.Pos, "%s before FROM: FROM must be the first instruction (only ARG may precede it)", in.Cmd)
		}
	}
	if from == nil {
		return &Error{Pos: Pos{File: k.Name}, Err: errors.New("no FROM instruction (start with FROM scratch)")}
	}
	return nil
}

// From returns the FROM instruction (Parse guarantees there is one).
func (k *Kubefile) From() Instruction {
	for _, in := range k.Instructions {
		if in.Cmd == "FROM" {
			return in
		}
	}
	return Instruction{}
}

// words is the argument list of a buildkit node.
func words(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

// rest is the text of an instruction after its keyword.
func rest(original string) string {
	s := strings.TrimSpace(original)
	if i := strings.IndexFunc(s, isSpace); i >= 0 {
		return strings.TrimSpace(s[i:])
	}
	return ""
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}
