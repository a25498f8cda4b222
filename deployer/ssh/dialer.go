package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Dialer opens connections for one run: it holds the host key checker, the
// timeouts and the connections to bastions, which all hosts behind the same
// bastion share.
type Dialer struct {
	hostKeys          *KnownHosts
	connectTimeout    time.Duration
	keepAliveInterval time.Duration
	keepAliveMax      int
	maxSessions       int

	mu       sync.Mutex
	bastions map[string]*conn
}

// DialerOption configures a Dialer.
type DialerOption func(*Dialer)

// WithConnectTimeout bounds TCP connect plus SSH handshake (default 15s).
func WithConnectTimeout(d time.Duration) DialerOption {
	return func(dl *Dialer) { dl.connectTimeout = d }
}

// WithKeepAlive sends a keepalive every interval and drops the connection
// after max unanswered ones (default every 10s, 3).
func WithKeepAlive(interval time.Duration, max int) DialerOption {
	return func(dl *Dialer) { dl.keepAliveInterval, dl.keepAliveMax = interval, max }
}

// WithMaxSessions caps the sessions a connection runs at once (default 8;
// OpenSSH allows 10 per connection, and SFTP and kills need one each).
func WithMaxSessions(n int) DialerOption {
	return func(dl *Dialer) { dl.maxSessions = n }
}

// NewDialer returns a Dialer that checks host keys with hostKeys.
func NewDialer(hostKeys *KnownHosts, opts ...DialerOption) *Dialer {
	d := &Dialer{
		hostKeys:          hostKeys,
		connectTimeout:    15 * time.Second,
		keepAliveInterval: 10 * time.Second,
		keepAliveMax:      3,
		maxSessions:       8,
		bastions:          map[string]*conn{},
	}
	for _, o := range opts {
		o(d)
	}
	if d.maxSessions < 2 {
		d.maxSessions = 2
	}
	return d
}

// Dial connects to a host, checks its key and logs in. The Client keeps the
// connection for every later step and reconnects if it was lost.
func (d *Dialer) Dial(ctx context.Context, cfg Config) (*Client, error) {
	c := newClient(d, cfg)
	if _, err := c.connection(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the bastion connections (Clients are closed by their owners).
func (d *Dialer) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for k, b := range d.bastions {
		errs = append(errs, b.close())
		delete(d.bastions, k)
	}
	return errors.Join(errs...)
}

// ErrAuth matches a login that the host refused.
var ErrAuth = errors.New("authentication failed")

// conn is one live SSH connection with its keepalive.
type conn struct {
	client *gossh.Client
	nc     net.Conn      // under client: close half-closes it first
	dead   chan struct{} // closed when the connection ended
	// closing is closed when close begins: keepalives stop then, since
	// they cannot be sent on the half-closed connection.
	closing   chan struct{}
	closeOnce sync.Once
	mu        sync.Mutex
	reason    error // why it ended, when we know
}

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

func (c *conn) lost() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason != nil {
		return c.reason
	}
	return errors.New("connection closed by the host")
}

// lostCause says why err happened when it is because the connection ended
// (nil otherwise). An EOF may arrive just before the connection is seen
// to be dead, so it waits a moment for that.
func (c *conn) lostCause(err error) error {
	c.mu.Lock()
	r := c.reason
	c.mu.Unlock()
	if r != nil {
		return r
	}
	if errors.Is(err, io.EOF) {
		select {
		case <-c.dead:
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !c.alive() {
		return c.lost()
	}
	return nil
}

// setReason records why the connection ends, unless that is known already.
func (c *conn) setReason(reason error) {
	c.mu.Lock()
	if c.reason == nil {
		c.reason = reason
	}
	c.mu.Unlock()
}

func (c *conn) closeWith(reason error) error {
	c.setReason(reason)
	return c.client.Close()
}

// closeGrace bounds how long close waits for the host to end its side.
const closeGrace = time.Second

// close ends the connection as OpenSSH's client does: it stops writing,
// lets the host close its side, then closes. Closing at once resets the
// connection when the host still sends (a channel's close, a keepalive's
// answer), and sshd then logs a read error instead of the session's end.
func (c *conn) close() error {
	// Known before the host ends its side, so that nothing takes that
	// for the host closing the connection.
	reason := errors.New("connection closed")
	c.setReason(reason)
	c.closeOnce.Do(func() { close(c.closing) })
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok && c.alive() && cw.CloseWrite() == nil {
		select {
		case <-c.dead:
		case <-time.After(closeGrace):
		}
	}
	err := c.closeWith(reason)
	if err != nil && strings.Contains(err.Error(), "use of closed network connection") {
		return nil
	}
	return err
}

// connect dials cfg (through its bastion, if any) and logs in.
func (d *Dialer) connect(ctx context.Context, cfg Config) (*conn, error) {
	host := displayHost(cfg.addr())
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("host %s: %w", host, err)
	}
	if d.hostKeys == nil {
		// Never connect without checking the host key.
		return nil, fmt.Errorf("host %s: no known-hosts checker given to the dialer", host)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d.connectTimeout,
		fmt.Errorf("%w: no answer within the connect timeout (%s)", context.DeadlineExceeded, d.connectTimeout))
	defer cancel()
	algos := d.hostKeys.Algorithms(cfg.addr())
	c, err := d.handshake(ctx, cfg, algos)
	if algos != nil && errors.Is(err, errNoCommonHostKeyAlgo) {
		// The host has no key of the recorded types (reinstalled with
		// another key type): ask for any, so that the error shows both keys.
		c, err = d.handshake(ctx, cfg, nil)
	}
	return c, err
}

var errNoCommonHostKeyAlgo = errors.New("no common host key algorithm")

// handshake dials cfg (through its bastion, if any), checks the host key
// and logs in.
func (d *Dialer) handshake(ctx context.Context, cfg Config, algos []string) (*conn, error) {
	host := displayHost(cfg.addr())
	var nc net.Conn
	var err error
	via := ""
	if cfg.Bastion != nil {
		via = " via bastion " + displayHost(cfg.Bastion.addr())
		var b *conn
		b, err = d.bastion(ctx, *cfg.Bastion)
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", host, err)
		}
		nc, err = b.client.DialContext(ctx, "tcp", cfg.addr())
	} else {
		var nd net.Dialer
		nc, err = nd.DialContext(ctx, "tcp", cfg.addr())
	}
	if err != nil {
		return nil, fmt.Errorf("host %s: connecting%s: %w", host, via, deadlineCause(ctx, err))
	}

	methods, release, names, err := cfg.authMethods()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("host %s: %w", host, err)
	}
	defer release()
	var keyErr error
	ccfg := &gossh.ClientConfig{
		User: cfg.user(),
		Auth: methods,
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error {
			keyErr = d.hostKeys.Check(cfg.addr(), key)
			return keyErr
		},
		HostKeyAlgorithms: algos,
	}
	// The handshake has no context of its own: a deadline bounds it and
	// cancellation closes the socket under it.
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	sc, chans, reqs, err := gossh.NewClientConn(nc, cfg.addr(), ccfg)
	stopped := stop()
	if err != nil {
		nc.Close()
		switch {
		case keyErr != nil:
			return nil, keyErr // already names the host
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("host %s%s: %w as %s (tried %s)", host, via, ErrAuth, cfg.user(), strings.Join(names, ", "))
		case !stopped || ctx.Err() != nil:
			return nil, fmt.Errorf("host %s%s: SSH handshake: %w", host, via, context.Cause(ctx))
		}
		err = deadlineCause(ctx, err)
		var ne *gossh.AlgorithmNegotiationError
		if errors.As(err, &ne) && ne.What == "host key" {
			return nil, fmt.Errorf("host %s%s: SSH handshake: %w: %w", host, via, errNoCommonHostKeyAlgo, err)
		}
		return nil, fmt.Errorf("host %s%s: SSH handshake: %w", host, via, err)
	}
	nc.SetDeadline(time.Time{})
	c := &conn{client: gossh.NewClient(sc, chans, reqs), nc: nc, dead: make(chan struct{}), closing: make(chan struct{})}
	go func() {
		c.client.Wait()
		close(c.dead)
	}()
	go d.keepAlive(c)
	return c, nil
}

// deadlineCause replaces a socket timeout that is really the context's
// deadline (the socket's copy of it may fire a moment earlier) with the
// context's cause, so callers see context.DeadlineExceeded and why.
func deadlineCause(ctx context.Context, err error) error {
	var ne net.Error
	if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 100*time.Millisecond {
			<-ctx.Done()
		}
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// bastion returns the shared connection to a jump host, opening it if needed.
func (d *Dialer) bastion(ctx context.Context, cfg Config) (*conn, error) {
	key := cfg.user() + "@" + cfg.addr()
	d.mu.Lock()
	defer d.mu.Unlock() // one dial at a time per Dialer: bastions are few
	if b, ok := d.bastions[key]; ok && b.alive() {
		return b, nil
	}
	if cfg.Bastion != nil {
		return nil, fmt.Errorf("bastion %s: a bastion behind a bastion is not supported", displayHost(cfg.addr()))
	}
	b, err := d.connect(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("bastion: %w", err)
	}
	d.bastions[key] = b
	return b, nil
}

// keepAlive pings the server and drops a connection that stopped answering,
// so steps fail with a clear reason instead of hanging on a dead network.
func (d *Dialer) keepAlive(c *conn) {
	if d.keepAliveInterval <= 0 {
		return
	}
	t := time.NewTicker(d.keepAliveInterval)
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-c.dead:
			return
		case <-c.closing:
			return
		case <-t.C:
		}
		answered := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			answered <- err
		}()
		select {
		case <-c.dead:
			return
		case <-c.closing:
			return
		case err := <-answered:
			if err != nil {
				c.closeWith(fmt.Errorf("connection lost: %w", err))
				return
			}
			missed = 0
		case <-time.After(d.keepAliveInterval):
			missed++
			if missed >= d.keepAliveMax {
				c.closeWith(fmt.Errorf("connection lost: no answer to %d keepalives in %s", missed, time.Duration(missed+1)*d.keepAliveInterval))
				return
			}
		}
	}
}
