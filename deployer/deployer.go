// Package deployer installs the cluster carried in a payload onto the hosts a
// Clusterfile names, over SSH: preflight, distribute, host init, registry,
// kubeadm init and join, apps, verify. Each phase is one file; the ordered
// list is built in one place (installPhases); every step is recorded on the
// jump host so that a re-run resumes where the last one stopped.
package deployer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sealpack/sealpack/deployer/clusterfile"
	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/payload"
)

// Options are what a run needs beyond the cluster description.
type Options struct {
	Payload *payload.Reader
	// StateDir holds state.json, known_hosts and logs/: .sealpack beside the
	// Clusterfile.
	StateDir string
	// RegistryPort is the port of the installer's embedded registry on the
	// jump host; each host is given the jump host address that routes to it.
	RegistryPort int
	// AcceptNewHostKeys records host keys seen for the first time instead of
	// refusing them.
	AcceptNewHostKeys bool
	// DryRun connects and runs preflight, then reports the plan; no host changes.
	DryRun bool
	// AllowDowngrade installs an installer whose version is older than the
	// one installed; without it that is refused.
	AllowDowngrade bool
	// Concurrency caps the hosts worked on at once (default 10).
	Concurrency int
	// Sink receives progress events; it must be safe for concurrent use.
	Sink event.Sink
	// ReadyTimeout bounds how long verify waits for nodes to be Ready.
	ReadyTimeout time.Duration
	// WaitTimeout bounds how long verify then waits for every workload to
	// be rolled out (default 10 minutes).
	WaitTimeout time.Duration
	// AcceptHostKeys are keys the user accepted (the wizard): host IP to the
	// SHA256 fingerprint shown. A host offering that key for the first time
	// is trusted and recorded.
	AcceptHostKeys map[string]string
	// ConnectTimeout bounds connecting to and logging in to a host
	// (default 15s).
	ConnectTimeout time.Duration
	// KeepAlive is the interval of SSH keepalives; a host that misses three
	// in a row is taken for lost (default 10s).
	KeepAlive time.Duration
	// Dial opens a connection to a host; nil means SSH. Unit tests give
	// one that hands out sshtest recorders.
	Dial Dialer
	// ClusterRegistry gives each master a registry of its own, seeded with
	// the carried images and served by the installer program, so that they
	// stay pullable after the installer has exited. False: the hosts pull
	// from the installer only while it runs.
	ClusterRegistry bool
	// APIServerBalancer runs the installer program on every node of a
	// cluster of several masters whose Clusterfile names no
	// controlPlaneEndpoint, balancing over the masters' apiservers (see
	// apiserverlb.go). False: such a cluster's endpoint is master0's address
	// (for installers that are no program, as in tests).
	APIServerBalancer bool
	// PushImages copies every carried image into the registry at target
	// (host[:port]), keeping repository paths: for the site's registry
	// (spec.registry.externalRegistry). The installer program passes
	// registry.Push; progress lines go to out.
	PushImages func(ctx context.Context, target string, auth RegistryAuth, out io.Writer) error
	// Stats, when not nil, is filled with where the time of the run went.
	Stats *Stats
}

// run is the state shared by the phases of one invocation.
type run struct {
	opts    Options
	cluster *clusterfile.Cluster
	hosts   []clusterfile.Host // every host of the cluster
	targets []string           // IPs this invocation works on (all, or joined/deleted ones)
	leaving map[string]bool    // hosts this invocation deletes
	master0 string
	state   *State
	logs    *logs
	ssh     *sshDialer // nil when Options.Dial was given
	red     *redactor
	clock   *remoteClock
	// ca signs the masters' registry certificates (registryCA).
	caOnce sync.Once
	ca     *registryCA
	caErr  error
	// ep is the control-plane endpoint (endpoint()).
	epOnce sync.Once
	ep     clusterfile.Endpoint
	epErr  error

	// life ends with the run: registry forwards live that long.
	life context.Context
	end  context.CancelFunc

	mu         sync.Mutex
	conns      map[string]Remote
	registries map[string]string // registry address by host, once opened
	facts      map[string]*hostFacts
	// certKey is the control-plane certificate key, kept in memory only.
	certKey string
	// kubeUp is the Kubernetes upgrade preflight found to do, nil if none;
	// kubeUpgrades: this run may do one (Apply; a join must not).
	kubeUp       *kubeUpgrade
	kubeUpgrades bool
}

// hostFacts are what preflight learnt about a host.
type hostFacts struct {
	Hostname string
	Arch     string
	Sealpack bool // this host carries an earlier sealpack install of this cluster
}

func (r *run) host(ip string) clusterfile.Host {
	for _, h := range r.hosts {
		if h.IP == ip {
			return h
		}
	}
	return clusterfile.Host{IP: ip}
}

func (r *run) conn(ip string) Remote {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns[ip]
}

func (r *run) emit(e event.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if e.Message != "" {
		e.Message = r.red.redact(e.Message)
	}
	if r.opts.Sink != nil {
		r.opts.Sink(e)
	}
}

// phase is one step of an install, run over hosts.
type phase interface {
	Name() string
	Run(ctx context.Context, r *run) error
}

// totaler is implemented by phases whose progress is not counted in hosts
// (distribute counts bytes).
type totaler interface {
	Total(r *run) int64
}

// planner is implemented by phases that can say what they would change.
type planner interface {
	Plan(r *run) []string
}

func newRun(c *clusterfile.Cluster, opts Options) (*run, error) {
	if opts.Payload == nil {
		return nil, errors.New("deployer: no payload")
	}
	if opts.StateDir == "" {
		return nil, errors.New("deployer: no state directory")
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 10
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 5 * time.Minute
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = 10 * time.Minute
	}
	hosts := c.Hosts()
	m0, ok := c.Master0()
	if !ok {
		return nil, errors.New("the Clusterfile names no master")
	}
	st, err := LoadState(opts.StateDir, c.Name)
	if err != nil {
		return nil, err
	}
	red := newRedactor(secretsOf(c)...)
	r := &run{opts: opts, cluster: c, hosts: hosts, master0: m0.IP, state: st, red: red,
		conns: map[string]Remote{}, facts: map[string]*hostFacts{}, clock: newRemoteClock(), registries: map[string]string{}}
	r.life, r.end = context.WithCancel(context.Background())
	for _, h := range hosts {
		r.targets = append(r.targets, h.IP)
	}
	r.logs, err = newLogs(filepath.Join(opts.StateDir, "logs"), red, r.emit)
	if err != nil {
		return nil, err
	}
	if r.opts.Dial == nil {
		r.ssh = &sshDialer{opts: &r.opts}
		r.opts.Dial = r.ssh.dial
	}
	return r, nil
}

func (r *run) close() {
	r.end()
	r.mu.Lock()
	// In parallel: each waits for its host to end the connection.
	var wg sync.WaitGroup
	for _, c := range r.conns {
		wg.Go(func() { c.Close() })
	}
	wg.Wait()
	r.conns = map[string]Remote{}
	r.mu.Unlock()
	if r.ssh != nil {
		r.ssh.close()
	}
	r.logs.Close()
}

// runPhases runs phases in order, reporting each; the first failure stops the run.
func (r *run) runPhases(ctx context.Context, phases []phase) error {
	begin := time.Now()
	if st := r.opts.Stats; st != nil {
		defer func() {
			st.mu.Lock()
			st.Total = time.Since(begin)
			st.mu.Unlock()
		}()
	}
	for _, p := range phases {
		if err := ctx.Err(); err != nil {
			return err
		}
		total := int64(len(r.targets))
		if t, ok := p.(totaler); ok {
			total = t.Total(r)
		}
		r.emit(event.Event{Type: event.PhaseStart, Phase: p.Name(), Total: total})
		start := time.Now()
		if r.opts.DryRun {
			// Every phase says what it would do, "nothing" included, so
			// that the plan accounts for all of them.
			var lines []string
			if pl, ok := p.(planner); ok {
				lines = pl.Plan(r)
			}
			if len(lines) == 0 {
				lines = []string{"nothing to do"}
			}
			for _, line := range lines {
				r.emit(event.Event{Type: event.Plan, Phase: p.Name(), Message: line})
			}
			if p.Name() != event.Preflight {
				r.emit(event.Event{Type: event.PhaseSkip, Phase: p.Name(), Message: "dry run"})
				continue
			}
		}
		r.clock.take()
		err := p.Run(ctx, r)
		took := r.account(p.Name(), time.Since(start))
		if err != nil {
			r.logs.Printf(p.Name(), "", "%s failed after %s: %v", p.Name(), took, err)
			r.emit(event.Event{Type: event.PhaseFail, Phase: p.Name(), Message: err.Error()})
			return fmt.Errorf("%s: %w", p.Name(), err)
		}
		r.logs.Printf(p.Name(), "", "%s done in %s", p.Name(), took)
		r.emit(event.Event{Type: event.PhaseDone, Phase: p.Name()})
	}
	return nil
}

// account records where the time of a phase went, and says it for the log:
// "1.2s (hosts busy 1.1s in 3 operations, the busiest host 0.5s)".
func (r *run) account(name string, wall time.Duration) string {
	remote, busiest, calls := r.clock.take()
	if st := r.opts.Stats; st != nil {
		st.mu.Lock()
		st.Phases = append(st.Phases, PhaseStats{Name: name, Wall: wall, Remote: remote, Busiest: busiest, Calls: calls})
		st.mu.Unlock()
	}
	return fmt.Sprintf("%s (hosts busy %s in %d operations, the busiest host %s)", wall.Round(time.Millisecond), remote.Round(time.Millisecond), calls, busiest.Round(time.Millisecond))
}

// step runs fn on host unless the state says it is done, then records it.
func (r *run) step(ctx context.Context, phase, host, inputs string, fn func(ctx context.Context) error) error {
	done, why := r.state.Current(phase, host, inputs)
	if done {
		r.emit(event.Event{Type: event.HostSkip, Phase: phase, Host: host, Message: "already done"})
		return nil
	}
	if why != "" {
		r.logs.Printf(phase, host, "%s", why)
	}
	r.emit(event.Event{Type: event.HostStart, Phase: phase, Host: host, Message: why})
	if err := fn(ctx); err != nil {
		r.emit(event.Event{Type: event.HostFail, Phase: phase, Host: host, Message: err.Error()})
		return err
	}
	r.emit(event.Event{Type: event.HostDone, Phase: phase, Host: host})
	return r.state.MarkInputs(phase, host, inputs, r.opts.Payload.Digest())
}

// exec runs a script on host as root, logging its output to the host's log.
func (r *run) exec(ctx context.Context, phase, host, script string, env map[string]string) (string, error) {
	return r.execLogged(ctx, phase, host, script, env, true)
}

// execQuiet is exec for a command whose output holds a secret that is only
// known once parsed: the output is not logged.
func (r *run) execQuiet(ctx context.Context, phase, host, script string, env map[string]string) (string, error) {
	return r.execLogged(ctx, phase, host, script, env, false)
}

func (r *run) execLogged(ctx context.Context, phase, host, script string, env map[string]string, logOutput bool) (string, error) {
	c := r.conn(host)
	if c == nil {
		return "", r.notConnected(host)
	}
	var logf func(string)
	if logOutput {
		r.logs.Printf(phase, host, "$ %s", firstLine(script))
		logf = func(line string) { r.logs.Printf(phase, host, "%s", line) }
	} else {
		r.logs.Printf(phase, host, "$ %s (output not logged: it holds a secret)", firstLine(script))
	}
	out, err := c.Run(ctx, script, env, logf)
	if err != nil {
		r.logs.Printf(phase, host, "failed: %v", err)
	}
	return out, err
}

// notConnected is the error of an operation on a host whose connection
// the run does not have (it was lost, or never made).
func (r *run) notConnected(ip string) error {
	return fmt.Errorf("host %s: not connected: the SSH connection was lost or never made; check that the host is up and reachable, then run the same command again (it resumes)", ip)
}

// putFile writes data to path on host atomically: beside it, then renamed.
func (r *run) putFile(ctx context.Context, host string, data []byte, path string, mode uint32) error {
	c := r.conn(host)
	if c == nil {
		return r.notConnected(host)
	}
	if err := c.WriteFile(ctx, bytes.NewReader(data), path+partSuffix, mode, 0); err != nil {
		return err
	}
	return c.Rename(ctx, path+partSuffix, path)
}

func firstLine(s string) string {
	s = strings.TrimLeft(s, " \t\n")
	for i, c := range s {
		if c == '\n' {
			return s[:i] + " ..."
		}
	}
	return s
}

// secretsOf lists every secret of the Clusterfile, to be hidden from logs.
func secretsOf(c *clusterfile.Cluster) []string {
	var out []string
	add := func(s clusterfile.SSH) {
		out = append(out, s.Passwd, s.SudoPasswd, s.PKPasswd)
		if b := s.Bastion; b != nil {
			out = append(out, b.Passwd, b.PKPasswd)
		}
	}
	add(c.SSH)
	for _, h := range c.Hosts() {
		add(h.SSH)
	}
	out = append(out, c.Registry.Password)
	if e := c.Registry.External; e != nil {
		out = append(out, e.Password)
	}
	return out
}
