// Package sshtest fakes a host as the deployer's phases reach it (the
// methods of deployer.Remote), for unit tests that run as any user, without
// sshd: a Recorder records every call, answers scripts from a table of
// regular expressions, and keeps the files written to it in memory.
//
// It does not import the deployer (whose tests import it): it has the
// methods of deployer.Remote, which its own tests check at compile time.
package sshtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/sealpack/sealpack/deployer/ssh"
)

// Call is one recorded operation.
type Call struct {
	Op string // "run", "write", "rename", "download", "forward", "close"

	// run
	Script string
	Env    map[string]string

	// write, download, rename (its source); forward: the address on the host
	Path string
	// rename: the target; forward: the jump host's address
	To string

	// write
	Data   []byte // the bytes sent, from Offset on
	Mode   uint32
	Offset int64
}

// Reply is the answer to a script.
type Reply struct {
	Stdout string
	Stderr string
	// Exit, when not 0, makes Run return a *ssh.RunError with Stdout, as a
	// failed command over SSH does.
	Exit int
	// Err is returned as is (a lost connection, say).
	Err error
}

// Handler answers a script; it may read and change the host's files.
type Handler func(ctx context.Context, h *Recorder, c Call) Reply

type rule struct {
	re *regexp.Regexp
	h  Handler
}

type file struct {
	data []byte
	mode uint32
}

// Recorder is one fake host. A test's Dialer may hand it out for every
// connection to that host: its files outlive a Close, as a host's outlive
// an SSH connection. It is safe for concurrent use.
type Recorder struct {
	host    string
	localIP string

	mu    sync.Mutex
	calls []Call
	rules []rule
	files map[string]file
}

// New returns a Recorder for host, on whose route the jump host has the
// address localIP. Scripts without an answer fail with exit status 127,
// so a phase running something unplanned is noticed.
func New(host, localIP string) *Recorder {
	return &Recorder{host: host, localIP: localIP, files: map[string]file{}}
}

// Host is the host given to New.
func (r *Recorder) Host() string { return r.host }

// On answers the scripts that expr matches with reply. Later rules win
// over earlier ones, so a test can override a default answer.
func (r *Recorder) On(expr string, reply Reply) *Recorder {
	return r.Handle(expr, func(context.Context, *Recorder, Call) Reply { return reply })
}

// Handle answers the scripts that expr matches with h.
func (r *Recorder) Handle(expr string, h Handler) *Recorder {
	re := regexp.MustCompile(expr)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, rule{re, h})
	return r
}

// SetFile puts a file on the host.
func (r *Recorder) SetFile(p string, data []byte, mode uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.files[path.Clean(p)] = file{data: bytes.Clone(data), mode: mode}
}

// File returns a file of the host.
func (r *Recorder) File(p string) (data []byte, mode uint32, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.files[path.Clean(p)]
	return bytes.Clone(f.data), f.mode, ok
}

// Files lists the paths of the host's files under dir, sorted.
func (r *Recorder) Files(dir string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	prefix := strings.TrimSuffix(path.Clean(dir), "/") + "/"
	var out []string
	for p := range r.files {
		if strings.HasPrefix(p, prefix) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// Calls returns the recorded calls in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

func (r *Recorder) record(c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

// Run records the script and answers it from the table; logf is given
// every line of the reply's stdout, then of its stderr, as the SSH adapter
// passes both.
func (r *Recorder) Run(ctx context.Context, script string, env map[string]string, logf func(string)) (string, error) {
	c := Call{Op: "run", Script: script, Env: cloneEnv(env)}
	r.record(c)
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("host %s: %q: %w", r.host, ssh.ShortCmd(script), err)
	}
	h := r.handler(script)
	reply := Reply{Exit: 127, Stderr: fmt.Sprintf("sshtest: no answer for %q", ssh.ShortCmd(script))}
	if h != nil {
		reply = h(ctx, r, c)
	}
	if reply.Err != nil {
		return "", reply.Err
	}
	if logf != nil {
		for _, out := range []string{reply.Stdout, reply.Stderr} {
			if out = strings.TrimSuffix(out, "\n"); out != "" {
				for _, line := range strings.Split(out, "\n") {
					logf(line)
				}
			}
		}
	}
	if reply.Exit != 0 {
		return reply.Stdout, &ssh.RunError{Host: r.host, Cmd: ssh.ShortCmd(script), ExitCode: reply.Exit, Stderr: strings.TrimSpace(reply.Stderr)}
	}
	return reply.Stdout, nil
}

func cloneEnv(env map[string]string) map[string]string {
	if env == nil {
		return nil
	}
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	return out
}

func (r *Recorder) handler(script string) Handler {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.rules) - 1; i >= 0; i-- {
		if r.rules[i].re.MatchString(script) {
			return r.rules[i].h
		}
	}
	return nil
}

// WriteFile stores the file, keeping the first offset bytes of the one
// there, as a resumed copy over SFTP does.
func (r *Recorder) WriteFile(ctx context.Context, src io.Reader, p string, mode uint32, offset int64) error {
	data, err := io.ReadAll(src)
	if err != nil {
		return fmt.Errorf("host %s: writing %s: reading the source: %w", r.host, p, err)
	}
	r.record(Call{Op: "write", Path: p, Data: data, Mode: mode, Offset: offset})
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("host %s: writing %s: %w", r.host, p, err)
	}
	if !path.IsAbs(p) {
		return fmt.Errorf("host %s: writing %q: not an absolute path", r.host, p)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := path.Clean(p)
	if offset > 0 {
		old := r.files[key].data
		if int64(len(old)) < offset {
			return fmt.Errorf("host %s: resuming %s at byte %d: the file there has only %d", r.host, p, offset, len(old))
		}
		data = append(bytes.Clone(old[:offset]), data...)
	}
	r.files[key] = file{data: data, mode: mode}
	return nil
}

// Rename moves a stored file.
func (r *Recorder) Rename(ctx context.Context, oldpath, newpath string) error {
	r.record(Call{Op: "rename", Path: oldpath, To: newpath})
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.files[path.Clean(oldpath)]
	if !ok {
		return fmt.Errorf("host %s: renaming %s: %w", r.host, oldpath, fs.ErrNotExist)
	}
	delete(r.files, path.Clean(oldpath))
	r.files[path.Clean(newpath)] = f
	return nil
}

// Download returns a stored file.
func (r *Recorder) Download(ctx context.Context, p string) ([]byte, error) {
	r.record(Call{Op: "download", Path: p})
	data, _, ok := r.File(p)
	if !ok {
		return nil, fmt.Errorf("host %s: opening %s: %w", r.host, p, fs.ErrNotExist)
	}
	return data, nil
}

// LocalIP is the address given to New.
func (r *Recorder) LocalIP() string { return r.localIP }

// Forward records the forward and says it listens where asked: nothing
// is carried, the fake hosts pull nothing.
func (r *Recorder) Forward(ctx context.Context, remoteAddr, localAddr string) (string, error) {
	r.record(Call{Op: "forward", Path: remoteAddr, To: localAddr})
	return remoteAddr, nil
}

// Close records the end of a connection; the host and its files stay.
func (r *Recorder) Close() error {
	r.record(Call{Op: "close"})
	return nil
}
