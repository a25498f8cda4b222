package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Client runs steps on one host over one SSH connection. It is safe for
// concurrent use.
type Client struct {
	d    *Dialer
	cfg  Config
	host string
	sem  chan struct{} // one token per session in use

	mu     sync.Mutex // guards conn and closed
	conn   *conn
	closed bool

	sftpMu sync.Mutex // taken before mu
	sftp   *sftpConn
}

func newClient(d *Dialer, cfg Config) *Client {
	return &Client{d: d, cfg: cfg, host: displayHost(cfg.addr()), sem: make(chan struct{}, d.maxSessions-1)}
}

// Host names the host in errors and logs.
func (c *Client) Host() string { return c.host }

// User is the login user.
func (c *Client) User() string { return c.cfg.user() }

// HostKey-checked, logged-in connection; a lost one is dialed again.
func (c *Client) connection(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("host %s: client closed", c.host)
	}
	if c.conn != nil && c.conn.alive() {
		return c.conn, nil
	}
	cn, err := c.d.connect(ctx, c.cfg)
	if err != nil {
		return nil, err
	}
	c.conn = cn
	return cn, nil
}

// Close closes the connection.
func (c *Client) Close() error {
	c.sftpMu.Lock()
	if c.sftp != nil {
		c.sftp.close()
		c.sftp = nil
	}
	c.sftpMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.conn != nil {
		return c.conn.close()
	}
	return nil
}

// session opens a session, waiting for a free slot (OpenSSH caps sessions
// per connection). The release func closes it and frees the slot.
func (c *Client) session(ctx context.Context) (*gossh.Session, *conn, func(), error) {
	cn, err := c.connection(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, nil, fmt.Errorf("host %s: waiting for a free session: %w", c.host, context.Cause(ctx))
	}
	s, err := cn.client.NewSession()
	// sshd frees a session slot a moment after the client sees it end, so a
	// burst of commands can meet "open failed" while under the cap: wait and
	// try again briefly.
	for try := 1; err != nil && try <= 20 && isOpenFailed(err) && ctx.Err() == nil; try++ {
		time.Sleep(time.Duration(try) * 25 * time.Millisecond)
		s, err = cn.client.NewSession()
	}
	if err != nil {
		<-c.sem
		return nil, nil, nil, c.connError(cn, "opening a session", err)
	}
	var once sync.Once
	return s, cn, func() {
		once.Do(func() {
			s.Close()
			<-c.sem
		})
	}, nil
}

// connError explains an error that came from a lost connection.
func (c *Client) connError(cn *conn, what string, err error) error {
	if lost := cn.lostCause(err); lost != nil {
		return fmt.Errorf("host %s: %s: %w", c.host, what, lost)
	}
	return fmt.Errorf("host %s: %s: %w", c.host, what, err)
}

// Run runs cmd as root (through sudo for other users unless NoSudo).
func (c *Client) Run(ctx context.Context, cmd string, opts ...RunOption) ([]byte, error) {
	o := NewRunOptions(opts...)
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	script, err := buildScript(cmd, o)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", c.host, err)
	}
	mode := c.cfg.sudoMode()
	if o.NoSudo {
		mode = noSudo
	}
	var stdout bytes.Buffer
	out := io.Writer(&stdout)
	if o.Stdout != nil {
		out = o.Stdout
	}
	st, err := c.start(ctx, evalBody(len(script)), mode, out, o.Stderr)
	if err != nil {
		return nil, err
	}
	// The script first, then the caller's stdin, then EOF.
	go func() {
		defer st.stdin.Close()
		if _, err := io.WriteString(st.stdin, script); err != nil {
			return
		}
		if o.Stdin != nil {
			io.Copy(st.stdin, o.Stdin)
		}
	}()
	if err := st.wait(ctx); err != nil {
		if st.killed {
			return nil, fmt.Errorf("host %s: %q: %w", c.host, ShortCmd(cmd), err)
		}
		return nil, c.runError(cmd, st, err)
	}
	if o.Stdout != nil {
		return nil, nil
	}
	return stdout.Bytes(), nil
}

// started is a session past the handshake: its wrapper reported ready.
type started struct {
	c       *Client
	cn      *conn
	sess    *gossh.Session
	release func()
	stdin   io.WriteCloser
	stdout  io.Reader // set when the caller asked for a pipe (SFTP)
	stderr  *stderrScanner
	pgid    int
	mode    sudoMode
	exited  chan error // the session's end, after the handshake
	killed  bool       // wait gave up on ctx and killed the command
}

// start runs the wrapper with body and completes the handshake: sudo's
// prompt answered (only if it asks), the ready line seen. out receives
// stdout; when nil, stdout is returned as a pipe in started.stdout.
func (c *Client) start(ctx context.Context, body string, mode sudoMode, out, errOut io.Writer) (*started, error) {
	sess, cn, release, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	m := newMarker()
	st := &started{c: c, cn: cn, sess: sess, release: release, mode: mode, stderr: newStderrScanner(m, errOut)}
	fail := func(what string, err error) (*started, error) {
		release()
		return nil, c.connError(cn, what, err)
	}
	if st.stdin, err = sess.StdinPipe(); err != nil {
		return fail("stdin", err)
	}
	if out != nil {
		sess.Stdout = out
	} else if st.stdout, err = sess.StdoutPipe(); err != nil {
		return fail("stdout", err)
	}
	sess.Stderr = st.stderr
	if err := sess.Start(m.commandLine(body, mode)); err != nil {
		return fail("starting a command", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- sess.Wait() }()
	prompts := 0
	for {
		select {
		case <-st.stderr.prompts:
			prompts++
			if prompts > 1 {
				st.abort()
				return nil, fmt.Errorf("host %s: sudo refused the password of user %s", c.host, c.cfg.user())
			}
			// Written only because sudo asked: a password sent blindly
			// would become the command's input.
			if _, err := io.WriteString(st.stdin, c.cfg.sudoPassword()+"\n"); err != nil {
				st.abort()
				return nil, c.connError(cn, "answering sudo", err)
			}
		case st.pgid = <-st.stderr.readyCh:
			st.exited = exited
			return st, nil
		case err := <-exited:
			// It ended before it was ready: sudo refused or sh is missing.
			release()
			st.stderr.flush()
			return nil, c.runError("", st, err)
		case <-ctx.Done():
			st.abort()
			return nil, fmt.Errorf("host %s: %w", c.host, context.Cause(ctx))
		}
	}
}

// abort closes a session whose command never started.
func (st *started) abort() {
	st.sess.Signal(gossh.SIGKILL)
	st.release()
}

// wait waits for the command; when ctx ends first, the command's whole
// process group is killed on the host before wait returns.
func (st *started) wait(ctx context.Context) error {
	select {
	case err := <-st.exited:
		st.release()
		return err
	case <-ctx.Done():
		st.sess.Signal(gossh.SIGKILL)
		st.release()
		st.c.kill(st.pgid, st.mode)
		st.killed = true
		return context.Cause(ctx)
	}
}

// kill kills a process group on the host. sshd's own signal reaches only
// processes of the login user; a sudo'ed command is root's.
func (c *Client) kill(pgid int, mode sudoMode) {
	if pgid <= 1 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The POSIX form: dash (Debian's sh) takes "-N" after "-s KILL" or
	// "-KILL --" for an option.
	script := fmt.Sprintf("kill -s KILL -- -%d 2>/dev/null; true\n", pgid)
	st, err := c.start(ctx, evalBody(len(script)), mode, io.Discard, nil)
	if err != nil {
		return
	}
	go func() {
		io.WriteString(st.stdin, script)
		st.stdin.Close()
	}()
	st.wait(ctx)
}

// runError turns a session's end into a RunError (or a connection error).
func (c *Client) runError(cmd string, st *started, err error) error {
	var ee *gossh.ExitError
	var missing *gossh.ExitMissingError
	re := &RunError{Host: c.host, Cmd: ShortCmd(cmd), ExitCode: -1, Stderr: st.stderr.tail()}
	if cmd == "" {
		re.Cmd = "sudo"
		if st.mode == noSudo {
			re.Cmd = "sh"
		}
	}
	switch {
	case errors.As(err, &ee):
		re.ExitCode = ee.ExitStatus()
		re.Signal = ee.Signal()
		if re.Signal != "" {
			re.ExitCode = -1
		}
		return re
	case errors.As(err, &missing):
		if lost := st.cn.lostCause(io.EOF); lost != nil {
			return fmt.Errorf("%w (%v)", re, lost)
		}
		return re
	}
	return c.connError(st.cn, fmt.Sprintf("%q", ShortCmd(cmd)), err)
}

// isOpenFailed reports whether sshd refused a channel because it has too
// many open (MaxSessions), which passes.
func isOpenFailed(err error) bool {
	var oe *gossh.OpenChannelError
	return errors.As(err, &oe) && oe.Reason == gossh.ConnectionFailed
}
