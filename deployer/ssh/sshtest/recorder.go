// Package sshtest fakes ssh.Runner for unit tests of the deployer's phases:
// a Recorder records every call and answers commands from a table, and
// keeps uploaded files in memory.
package sshtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sealpack/sealpack/deployer/ssh"
)

// Call is one recorded operation.
type Call struct {
	Op string // "run", "upload", "download", "stat", "sha256"

	// run
	Cmd    string
	Env    []string
	Dir    string
	Stdin  []byte
	NoSudo bool

	// files
	Path   string
	Data   []byte // what an upload sent (from Offset on)
	Mode   fs.FileMode
	Offset int64
}

// Reply is the answer to a command.
type Reply struct {
	Stdout string
	Stderr string
	Exit   int   // non-zero makes Run return a *ssh.RunError
	Err    error // returned as is (a lost connection, say)
	// Do runs when the command matches, before the reply is given (to
	// change files, count, or block until the context ends).
	Do func(ctx context.Context, c Call) error
}

type rule struct {
	match func(Call) bool
	reply Reply
}

type file struct {
	data []byte
	mode fs.FileMode
	mod  time.Time
}

// Recorder is a fake Runner for one host. It is safe for concurrent use.
type Recorder struct {
	host string

	mu    sync.Mutex
	calls []Call
	rules []rule
	files map[string]file
	fails map[string]error // op+" "+path -> error
}

var _ ssh.Runner = (*Recorder)(nil)

// New returns a Recorder for host. Commands without an answer fail with
// exit status 127, so a phase running something unplanned is noticed.
func New(host string) *Recorder {
	return &Recorder{host: host, files: map[string]file{}, fails: map[string]error{}}
}

// Host is the host given to New.
func (r *Recorder) Host() string { return r.host }

// On answers commands equal to pattern, or starting with its text before a
// final "*". Later rules win over earlier ones.
func (r *Recorder) On(pattern string, reply Reply) *Recorder {
	match := func(c Call) bool { return c.Cmd == pattern }
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		match = func(c Call) bool { return strings.HasPrefix(c.Cmd, p) }
	}
	return r.OnFunc(match, reply)
}

// OnRegexp answers commands that expr matches.
func (r *Recorder) OnRegexp(expr string, reply Reply) *Recorder {
	re := regexp.MustCompile(expr)
	return r.OnFunc(func(c Call) bool { return re.MatchString(c.Cmd) }, reply)
}

// OnFunc answers commands for which match is true.
func (r *Recorder) OnFunc(match func(Call) bool, reply Reply) *Recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, rule{match, reply})
	return r
}

// Fail makes every op ("upload", "download", "stat", "sha256") on path
// return err until Fail is called again with a nil err.
func (r *Recorder) Fail(op, path string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.fails, op+" "+path)
		return
	}
	r.fails[op+" "+path] = err
}

// SetFile puts a file on the fake host.
func (r *Recorder) SetFile(p string, data []byte, mode fs.FileMode) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path.Clean(p)] = file{data: append([]byte(nil), data...), mode: mode, mod: time.Now()}
}

// File returns a file of the fake host.
func (r *Recorder) File(p string) ([]byte, fs.FileMode, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.files[path.Clean(p)]
	return append([]byte(nil), f.data...), f.mode, ok
}

// Calls returns the recorded calls in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Commands returns the commands run, in order.
func (r *Recorder) Commands() []string {
	var cmds []string
	for _, c := range r.Calls() {
		if c.Op == "run" {
			cmds = append(cmds, c.Cmd)
		}
	}
	return cmds
}

func (r *Recorder) record(c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// Run records the command and answers from the table.
func (r *Recorder) Run(ctx context.Context, cmd string, opts ...ssh.RunOption) ([]byte, error) {
	o := ssh.NewRunOptions(opts...)
	c := Call{Op: "run", Cmd: cmd, Env: o.Env, Dir: o.Dir, NoSudo: o.NoSudo}
	if o.Stdin != nil {
		b, err := io.ReadAll(o.Stdin)
		if err != nil {
			return nil, fmt.Errorf("host %s: reading stdin: %w", r.host, err)
		}
		c.Stdin = b
	}
	r.record(c)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("host %s: %q: %w", r.host, ssh.ShortCmd(cmd), err)
	}
	reply, ok := r.answer(c)
	if !ok {
		reply = Reply{Exit: 127, Stderr: fmt.Sprintf("sshtest: no answer for %q", cmd)}
	}
	if reply.Do != nil {
		if err := reply.Do(ctx, c); err != nil {
			return nil, err
		}
	}
	if reply.Err != nil {
		return nil, reply.Err
	}
	if o.Stderr != nil {
		io.WriteString(o.Stderr, reply.Stderr)
	}
	if reply.Exit != 0 {
		return nil, &ssh.RunError{Host: r.host, Cmd: ssh.ShortCmd(cmd), ExitCode: reply.Exit, Stderr: strings.TrimSpace(reply.Stderr)}
	}
	if o.Stdout != nil {
		_, err := io.WriteString(o.Stdout, reply.Stdout)
		return nil, err
	}
	return []byte(reply.Stdout), nil
}

func (r *Recorder) answer(c Call) (Reply, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.rules) - 1; i >= 0; i-- {
		if r.rules[i].match(c) {
			return r.rules[i].reply, true
		}
	}
	return Reply{}, false
}

func (r *Recorder) failure(op, p string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fails[op+" "+path.Clean(p)]; err != nil {
		return fmt.Errorf("host %s: %s %s: %w", r.host, op, p, err)
	}
	return nil
}

// Upload stores the file, honouring Offset as the real client does.
func (r *Recorder) Upload(ctx context.Context, src io.Reader, dst string, mode fs.FileMode, opts ...ssh.UploadOption) error {
	o := ssh.NewUploadOptions(opts...)
	data, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("host %s: upload to %s: reading the source: %w", r.host, dst, err)
	}
	r.record(Call{Op: "upload", Path: dst, Data: data, Mode: mode, Offset: o.Offset})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("host %s: upload to %s: %w", r.host, dst, err)
	}
	if !path.IsAbs(dst) {
		return fmt.Errorf("host %s: upload to %q: not an absolute path", r.host, dst)
	}
	if err := r.failure("upload", dst); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := path.Clean(dst)
	old := r.files[key].data
	if o.Offset > 0 {
		if int64(len(old)) < o.Offset {
			return fmt.Errorf("host %s: resuming upload to %s at byte %d: the file there has only %d", r.host, dst, o.Offset, len(old))
		}
		data = append(append([]byte(nil), old[:o.Offset]...), data...)
	}
	r.files[key] = file{data: data, mode: mode.Perm(), mod: time.Now()}
	return nil
}

// Download writes a stored file to w.
func (r *Recorder) Download(ctx context.Context, src string, w io.Writer) error {
	r.record(Call{Op: "download", Path: src})
	if err := r.failure("download", src); err != nil {
		return err
	}
	data, _, ok := r.File(src)
	if !ok {
		return fmt.Errorf("host %s: opening %s: %w", r.host, src, fs.ErrNotExist)
	}
	_, err := io.Copy(w, bytes.NewReader(data))
	return err
}

// Stat describes a stored file.
func (r *Recorder) Stat(ctx context.Context, p string) (ssh.FileInfo, error) {
	r.record(Call{Op: "stat", Path: p})
	if err := r.failure("stat", p); err != nil {
		return ssh.FileInfo{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.files[path.Clean(p)]
	if !ok {
		return ssh.FileInfo{}, fmt.Errorf("host %s: stat %s: %w", r.host, p, fs.ErrNotExist)
	}
	return ssh.FileInfo{Size: int64(len(f.data)), Mode: f.mode, ModTime: f.mod}, nil
}

// Sha256 hashes a stored file.
func (r *Recorder) Sha256(ctx context.Context, p string) (string, error) {
	r.record(Call{Op: "sha256", Path: p})
	if err := r.failure("sha256", p); err != nil {
		return "", err
	}
	data, _, ok := r.File(p)
	if !ok {
		return "", fmt.Errorf("host %s: sha256 of %s: %w", r.host, p, fs.ErrNotExist)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), nil
}
