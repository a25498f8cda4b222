// Package ssh runs the installer's steps on hosts: commands and file
// transfers over one SSH connection per host (golang.org/x/crypto/ssh and
// SFTP), with host keys checked against known_hosts files, non-root users
// raised through sudo, and the caller's context cancelling remote work.
//
// The deployer's phases reach a host through deployer.Remote, which
// adapts a *Client; sshtest.Recorder fakes that interface in unit tests.
package ssh

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// FileInfo describes a remote file.
type FileInfo struct {
	Size    int64
	Mode    fs.FileMode
	ModTime time.Time
}

// IsDir tells whether the file is a directory.
func (f FileInfo) IsDir() bool { return f.Mode.IsDir() }

// RunOptions are the settings of one Run; RunOption functions fill them.
type RunOptions struct {
	// Env holds "NAME=value" pairs, exported in the script the host
	// receives on stdin (never on a command line, so secrets stay out of ps).
	Env []string
	// Dir is the working directory of the command.
	Dir string
	// Stdin feeds the command; without it the command reads EOF.
	Stdin io.Reader
	// Stdout, when set, receives the output as it comes instead of Run
	// returning it. Stderr, when set, gets a copy of stderr.
	Stdout, Stderr io.Writer
	// NoSudo runs the command as the login user even when it is not root.
	NoSudo bool
	// Timeout bounds the command (in addition to the context).
	Timeout time.Duration
}

// RunOption sets one of the RunOptions.
type RunOption func(*RunOptions)

// NewRunOptions applies opts in order.
func NewRunOptions(opts ...RunOption) RunOptions {
	var o RunOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Env adds environment variables, each "NAME=value".
func Env(kv ...string) RunOption {
	return func(o *RunOptions) { o.Env = append(o.Env, kv...) }
}

// Dir sets the working directory.
func Dir(dir string) RunOption { return func(o *RunOptions) { o.Dir = dir } }

// Stdin feeds the command.
func Stdin(r io.Reader) RunOption { return func(o *RunOptions) { o.Stdin = r } }

// Stdout streams the command's output to w (Run then returns nil output).
func Stdout(w io.Writer) RunOption { return func(o *RunOptions) { o.Stdout = w } }

// Stderr copies the command's stderr to w.
func Stderr(w io.Writer) RunOption { return func(o *RunOptions) { o.Stderr = w } }

// NoSudo runs as the login user.
func NoSudo() RunOption { return func(o *RunOptions) { o.NoSudo = true } }

// Timeout bounds the command.
func Timeout(d time.Duration) RunOption { return func(o *RunOptions) { o.Timeout = d } }

// UploadOptions are the settings of one Upload.
type UploadOptions struct {
	// Offset is where r starts in the file: the bytes before it are
	// already on the host (a resumed copy).
	Offset int64
}

// UploadOption sets one of the UploadOptions.
type UploadOption func(*UploadOptions)

// NewUploadOptions applies opts in order.
func NewUploadOptions(opts ...UploadOption) UploadOptions {
	var o UploadOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Offset resumes an upload at byte n.
func Offset(n int64) UploadOption { return func(o *UploadOptions) { o.Offset = n } }

// RunError is a remote command that failed.
type RunError struct {
	Host string
	// Cmd is the command's first line, shortened (environment not included).
	Cmd string
	// ExitCode is the exit status, or -1 when there was none (a signal, a
	// lost connection).
	ExitCode int
	// Signal names the signal that killed the command, if one did.
	Signal string
	// Stderr is the end of what the command wrote to stderr.
	Stderr string
}

func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s: %q: ", e.Host, e.Cmd)
	switch {
	case e.Signal != "":
		fmt.Fprintf(&b, "killed by signal %s", e.Signal)
	case e.ExitCode < 0:
		b.WriteString("ended without an exit status")
	default:
		fmt.Fprintf(&b, "exit status %d", e.ExitCode)
	}
	if e.Stderr != "" {
		b.WriteString(": ")
		b.WriteString(e.Stderr)
	}
	return b.String()
}

// ShortCmd is the form of a command that errors and logs show: its first
// line, at most 80 characters.
func ShortCmd(cmd string) string {
	cmd = strings.TrimSpace(cmd)
	if i := strings.IndexByte(cmd, '\n'); i >= 0 {
		cmd = cmd[:i] + " ..."
	}
	if len(cmd) > 80 {
		cmd = cmd[:77] + "..."
	}
	return cmd
}
