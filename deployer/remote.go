package deployer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/ssh"
)

// Dialer connects to a host of the cluster.
type Dialer func(ctx context.Context, h clusterfile.Host) (Remote, error)

// Remote is what phases need of a connection to a host: the one seam
// between the phases and SSH. sshRemote implements it over ssh.Client, and
// sshtest.Recorder fakes it for the unit tests. Commands run as root
// (through sudo for other users); secrets are never part of a command line.
type Remote interface {
	// Run runs a shell script with env exported, and returns its stdout.
	// Output lines are also passed to logf as they come.
	Run(ctx context.Context, script string, env map[string]string, logf func(string)) (string, error)
	// WriteFile writes r to path (its directory is made if needed) from
	// byte offset on, keeping the bytes before it, and sets mode. Callers
	// make the result atomic: they write beside the target and Rename.
	WriteFile(ctx context.Context, r io.Reader, path string, mode uint32, offset int64) error
	// Rename moves a remote file, replacing the target atomically.
	Rename(ctx context.Context, oldpath, newpath string) error
	// Download reads a remote file.
	Download(ctx context.Context, path string) ([]byte, error)
	// LocalIP is the jump host's address on the route to this host.
	LocalIP() string
	// Forward listens on remoteAddr on the host and carries connections
	// to localAddr on the jump host (ssh -R); it ends with ctx.
	Forward(ctx context.Context, remoteAddr, localAddr string) (string, error)
	Close() error
}

var _ Remote = (*sshRemote)(nil)

// sshDialer connects to hosts over SSH, sharing one host key checker and
// the bastion connections across the run.
type sshDialer struct {
	once sync.Once
	d    *ssh.Dialer
	err  error
	opts *Options
}

func (s *sshDialer) dial(ctx context.Context, h clusterfile.Host) (Remote, error) {
	s.once.Do(func() {
		accepted := s.opts.AcceptHostKeys
		kh, err := ssh.NewKnownHosts(ssh.KnownHostsOptions{
			SiteFile:  filepath.Join(s.opts.StateDir, "known_hosts"),
			UserFiles: ssh.DefaultUserKnownHosts(),
			Unknown:   map[bool]ssh.UnknownKeyPolicy{true: ssh.AcceptNew, false: ssh.RefuseUnknown}[s.opts.AcceptNewHostKeys],
			Ask: func(host, fingerprint string) bool {
				if s.opts.AcceptNewHostKeys {
					return true
				}
				ip, _, err := net.SplitHostPort(host)
				if err != nil {
					ip = host
				}
				return accepted[ip] == fingerprint || accepted[host] == fingerprint
			},
		})
		if err != nil {
			s.err = err
			return
		}
		var dopts []ssh.DialerOption
		if s.opts.ConnectTimeout > 0 {
			dopts = append(dopts, ssh.WithConnectTimeout(s.opts.ConnectTimeout))
		}
		if s.opts.KeepAlive > 0 {
			dopts = append(dopts, ssh.WithKeepAlive(s.opts.KeepAlive, 3))
		}
		s.d = ssh.NewDialer(kh, dopts...)
	})
	if s.err != nil {
		return nil, s.err
	}
	c, err := s.d.Dial(ctx, sshConfig(h.IP, h.SSH))
	if err != nil {
		return nil, err
	}
	return &sshRemote{c: c, ip: h.IP, port: h.SSH.Port}, nil
}

func (s *sshDialer) close() {
	if s.d != nil {
		s.d.Close()
	}
}

func sshConfig(host string, c clusterfile.SSH) ssh.Config {
	cfg := ssh.Config{Host: host, Port: c.Port, User: c.User, Password: c.Passwd, SudoPassword: c.SudoPasswd,
		PrivateKeyFile: expandHome(c.PK), Passphrase: c.PKPasswd}
	if c.PK == "" && c.Passwd == "" {
		cfg.AgentSocket = os.Getenv("SSH_AUTH_SOCK")
	}
	if b := c.Bastion; b != nil {
		bc := sshConfig(b.Host, clusterfile.SSH{User: b.User, Passwd: b.Passwd, PK: b.PK, PKPasswd: b.PKPasswd, Port: b.Port})
		cfg.Bastion = &bc
	}
	return cfg
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// sshRemote adapts an ssh.Client to what the phases use.
type sshRemote struct {
	c    *ssh.Client
	ip   string
	port int
}

func (s *sshRemote) Run(ctx context.Context, script string, env map[string]string, logf func(string)) (string, error) {
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	var out bytes.Buffer
	var w io.Writer = &out
	var lw *lineWriter
	if logf != nil {
		lw = &lineWriter{f: logf}
		w = io.MultiWriter(&out, lw)
	}
	_, err := s.c.Run(ctx, script, ssh.Env(kv...), ssh.Stdout(w), ssh.Stderr(lwOrDiscard(lw)))
	if lw != nil {
		lw.flush()
	}
	return out.String(), err
}

func lwOrDiscard(lw *lineWriter) io.Writer {
	if lw == nil {
		return io.Discard
	}
	return lw
}

func (s *sshRemote) Rename(ctx context.Context, oldpath, newpath string) error {
	return s.c.Rename(ctx, oldpath, newpath)
}

func (s *sshRemote) WriteFile(ctx context.Context, r io.Reader, path string, mode uint32, offset int64) error {
	return s.c.Upload(ctx, r, path, fs.FileMode(mode), ssh.Offset(offset))
}

func (s *sshRemote) Download(ctx context.Context, path string) ([]byte, error) {
	var b bytes.Buffer
	err := s.c.Download(ctx, path, &b)
	return b.Bytes(), err
}

// LocalIP is the jump host's source address on the route to the host.
// (A UDP "connection" sends nothing; it only asks the kernel for the route.)
func (s *sshRemote) LocalIP() string {
	port := s.port
	if port == 0 {
		port = 22
	}
	c, err := net.Dial("udp", net.JoinHostPort(s.ip, strconv.Itoa(port)))
	if err != nil {
		return "127.0.0.1"
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return host
}

func (s *sshRemote) Forward(ctx context.Context, remoteAddr, localAddr string) (string, error) {
	return s.c.ForwardRemote(ctx, remoteAddr, localAddr)
}

func (s *sshRemote) Close() error { return s.c.Close() }

type countingReader struct {
	r io.Reader
	f func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.f(int64(n))
	}
	return n, err
}

// lineWriter calls f with every complete line written to it.
type lineWriter struct {
	mu  sync.Mutex
	f   func(string)
	buf []byte
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.f(string(l.buf[:i]))
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

func (l *lineWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.f(string(l.buf))
		l.buf = nil
	}
}

// hostKeyProblem explains a refused host key for preflight, with the
// fingerprint the wizard offers to accept.
func hostKeyProblem(err error) (string, bool) {
	var he *ssh.HostKeyError
	if !errors.As(err, &he) {
		return "", false
	}
	return fmt.Sprintf("%v", he), true
}
