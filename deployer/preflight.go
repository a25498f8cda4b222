package deployer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sealpack/sealpack/deployer/event"
	"github.com/sealpack/sealpack/deployer/ssh"
	"github.com/sealpack/sealpack/payload"
)

// preflight connects to every host and checks it, read-only. All problems of
// all hosts are reported together, and nothing changes anywhere unless every
// host passes.
type preflight struct{}

func (preflight) Name() string { return event.Preflight }

// The ports a Kubernetes host must have free.
var (
	masterPorts = []int{6443, 2379, 2380, 10250, 10257, 10259}
	nodePorts   = []int{10250}
)

const (
	minMasterCPUs  = 2
	minMasterMemMB = 1700 // kubeadm's own preflight threshold
	maxClockSkew   = 30 * time.Second
)

// markerPath records on a host which cluster sealpack installed there, so a
// re-run knows that the ports in use are its own.
const markerPath = stateDir + "/cluster"

const factsScript = `set +e
echo "hostname=$(hostname)"
echo "os=$(uname -s)"
echo "arch=$(uname -m)"
echo "cpus=$(grep -c ^processor /proc/cpuinfo)"
echo "mem_kb=$(awk '/^MemTotal:/{print $2}' /proc/meminfo)"
mkdir -p /var/lib 2>/dev/null
echo "disk_kb=$(df -Pk /var/lib | awk 'NR==2{print $4}')"
echo "swap=$(awk 'NR>1' /proc/swaps | wc -l)"
echo "time=$(date +%s)"
echo "marker=$(cat ` + markerPath + ` 2>/dev/null)"
for f in /proc/net/tcp /proc/net/tcp6; do
  [ -r $f ] && awk 'NR>1 && $4=="0A"{print "listen=" $2}' $f
done
exit 0
`

type facts struct {
	hostname, os, arch, marker string
	cpus, memKB, diskKB, swap  int64
	clock                      time.Time
	listening                  map[int]bool
}

func parseFacts(out string) (*facts, error) {
	f := &facts{listening: map[int]bool{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		switch k {
		case "hostname":
			f.hostname = v
		case "os":
			f.os = v
		case "arch":
			f.arch = v
		case "marker":
			f.marker = v
		case "cpus":
			f.cpus = n
		case "mem_kb":
			f.memKB = n
		case "disk_kb":
			f.diskKB = n
		case "swap":
			f.swap = n
		case "time":
			f.clock = time.Unix(n, 0)
		case "listen": // hex address:port from /proc/net/tcp
			if i := strings.LastIndexByte(v, ':'); i >= 0 {
				if p, err := strconv.ParseInt(v[i+1:], 16, 32); err == nil {
					f.listening[int(p)] = true
				}
			}
		}
	}
	if f.hostname == "" || f.arch == "" {
		return nil, fmt.Errorf("could not read the host's facts (is it Linux with a POSIX shell?)")
	}
	return f, nil
}

// goArch maps uname -m to Go's names, which the payload's platform uses.
func goArch(m string) string {
	switch m {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return m
}

// Plan: preflight changes nothing; it runs in a dry run too.
func (preflight) Plan(r *run) []string {
	var out []string
	for _, h := range r.hosts {
		out = append(out, fmt.Sprintf("%s: connect as %s, check the host key, platform, CPU, memory, disk, swap, clock and ports (read-only)", h.IP, h.SSH.User))
	}
	return out
}

func (p preflight) Run(ctx context.Context, r *run) error {
	c := &checks{r: r, facts: map[string]*facts{}}
	// Every host the Clusterfile names is connected and its key checked, even
	// those this invocation does not change.
	all := make([]string, 0, len(r.hosts))
	for _, h := range r.hosts {
		all = append(all, h.IP)
	}
	parallel(ctx, all, r.opts.Concurrency, func(ctx context.Context, ip string) error {
		return p.survey(ctx, r, ip, c)
	})
	c.hostnames()
	r.mu.Lock()
	for ip, f := range c.facts {
		r.facts[ip] = &hostFacts{Hostname: f.hostname, Arch: goArch(f.arch), Sealpack: f.marker == r.cluster.Name}
	}
	r.mu.Unlock()
	if len(c.problems) == 0 && r.state.Done(event.InitMaster0, r.master0) {
		// An installed cluster: the Kubernetes it runs against the one carried.
		st, msg, err := r.checkKubeVersion(ctx)
		if err == nil && r.pendingKubeUpgrade() != nil && !r.kubeUpgrades {
			st, msg = event.Fail, msg+": upgrade the cluster first (the same command as the install, with this installer), then join"
			err = errors.New(msg)
		}
		c.checked(r.master0, "kubernetes", st, err, msg)
	}
	if len(c.problems) > 0 {
		sort.Slice(c.problems, func(i, j int) bool { return c.problems[i].Error() < c.problems[j].Error() })
		return fmt.Errorf("%d problem(s), nothing was changed on any host:\n%w", len(c.problems), errors.Join(c.problems...))
	}
	return nil
}

// checks collects what preflight found, from every host at once.
type checks struct {
	r        *run
	mu       sync.Mutex
	problems []error
	facts    map[string]*facts
}

// checked reports a check; a failure keeps its cause, so that callers can
// tell an unknown host key or a refused sudo with errors.As.
func (c *checks) checked(host, check string, status event.Status, cause error, msg string) {
	msg = strings.TrimPrefix(msg, "host "+host+": ") // the check names the host already
	c.r.emit(event.Event{Type: event.Check, Phase: event.Preflight, Host: host, Check: check, Status: status, Message: msg})
	c.r.logs.Printf(event.Preflight, host, "check %s: %s: %s", check, status, msg)
	if status == event.Fail {
		c.mu.Lock()
		c.problems = append(c.problems, &checkError{text: fmt.Sprintf("host %s: %s: %s", host, check, msg), cause: cause})
		c.mu.Unlock()
	}
}

// report is checked with a formatted message, whose first error argument
// is the cause.
func (c *checks) report(host, check string, status event.Status, format string, args ...any) {
	var cause error
	for _, a := range args {
		if err, ok := a.(error); ok && cause == nil {
			cause = err
		}
	}
	c.checked(host, check, status, cause, fmt.Sprintf(format, args...))
}

// survey connects to host ip, reads its facts and checks them.
func (p preflight) survey(ctx context.Context, r *run, ip string, c *checks) error {
	r.emit(event.Event{Type: event.HostStart, Phase: event.Preflight, Host: ip})
	if err := r.connect(ctx, ip); err != nil {
		if msg, ok := hostKeyProblem(err); ok {
			c.checked(ip, "hostkey", event.Fail, err, msg)
		} else if errors.Is(err, ssh.ErrAuth) {
			c.report(ip, "auth", event.Fail, "%v", err)
		} else {
			c.report(ip, "connect", event.Fail, "%v", err)
		}
		return err
	}
	c.report(ip, "connect", event.OK, "reachable, authenticated, host key verified")
	start := time.Now()
	// The facts are this program's to read (marker=, listen=0100007F:1F90):
	// they stay out of the host's log, whose lines users see; the checks
	// below say what they found.
	out, err := r.conn(ip).Run(ctx, factsScript, nil, nil)
	if err != nil {
		c.report(ip, "sudo", event.Fail, "cannot run commands as root: %v", err)
		return err
	}
	f, err := parseFacts(out)
	if err != nil {
		c.report(ip, "facts", event.Fail, "%v", err)
		return err
	}
	// The host's clock is compared with the jump host's, allowing for the
	// round trip.
	f.clock = f.clock.Add(time.Since(start) / 2)
	c.mu.Lock()
	c.facts[ip] = f
	c.mu.Unlock()
	p.checkHost(r, ip, f, c.report)
	r.emit(event.Event{Type: event.HostDone, Phase: event.Preflight, Host: ip})
	return nil
}

// hostnames fails hosts of one name: Kubernetes names nodes by hostname, so
// they would collide.
func (c *checks) hostnames() {
	byName := map[string][]string{}
	for ip, f := range c.facts {
		// The names they will have: HOSTNAME plugins set them in host-init.
		name, err := c.r.futureHostname(ip, f.hostname)
		if err != nil {
			c.report(ip, "hostname", event.Fail, "%v", err)
		}
		byName[name] = append(byName[name], ip)
	}
	for name, ips := range byName {
		if len(ips) > 1 {
			sort.Strings(ips)
			for _, ip := range ips {
				c.report(ip, "hostname", event.Fail, "hostname %q is also used by %s: Kubernetes names nodes by hostname", name, strings.Join(without(ips, ip), ", "))
			}
		}
	}
}

func (p preflight) checkHost(r *run, ip string, f *facts, report func(host, check string, st event.Status, format string, args ...any)) {
	h := r.host(ip)
	isMaster := h.IsMaster()
	wantOS, wantArch, _ := strings.Cut(r.opts.Payload.Index().Platform, "/")
	if got := strings.ToLower(f.os); got != wantOS || goArch(f.arch) != wantArch {
		report(ip, "platform", event.Fail, "host is %s/%s, this installer is for %s/%s", got, goArch(f.arch), wantOS, wantArch)
	} else {
		report(ip, "platform", event.OK, "%s/%s", wantOS, wantArch)
	}
	if isMaster && f.cpus < minMasterCPUs {
		report(ip, "cpu", event.Fail, "%d CPU(s), a master needs at least %d", f.cpus, minMasterCPUs)
	} else {
		report(ip, "cpu", event.OK, "%d CPU(s)", f.cpus)
	}
	if mb := f.memKB / 1024; isMaster && mb < minMasterMemMB {
		report(ip, "memory", event.Fail, "%d MiB, a master needs at least %d MiB", mb, minMasterMemMB)
	} else {
		report(ip, "memory", event.OK, "%d MiB", mb)
	}
	need := r.distributeBytes(ip)
	if isMaster && r.inClusterRegistry() {
		need += r.seedBytes() // the images the cluster registry serves
	}
	if free := f.diskKB * 1024; free < need+need/10 {
		report(ip, "disk", event.Fail, "%s free under /var/lib, %s needed", payload.HumanBytes(free), payload.HumanBytes(need+need/10))
	} else {
		report(ip, "disk", event.OK, "%s free under /var/lib, %s needed", payload.HumanBytes(free), payload.HumanBytes(need))
	}
	if f.swap > 0 {
		report(ip, "swap", event.Fail, "swap is on: the kubelet refuses to start (swapoff -a, and remove it from /etc/fstab)")
	} else {
		report(ip, "swap", event.OK, "off")
	}
	if skew := time.Since(f.clock); skew > maxClockSkew || skew < -maxClockSkew {
		report(ip, "clock", event.Fail, "clock differs from the jump host's by %s (certificates would not be valid): sync the clocks", skew.Round(time.Second))
	} else {
		report(ip, "clock", event.OK, "in sync with the jump host")
	}
	ports := nodePorts
	if isMaster {
		ports = masterPorts
		if r.inClusterRegistry() {
			ports = append(append([]int(nil), masterPorts...), r.cluster.RegistryPort())
		}
	}
	var busy []string
	for _, port := range ports {
		if f.listening[port] {
			busy = append(busy, strconv.Itoa(port))
		}
	}
	switch {
	case len(busy) == 0:
		report(ip, "ports", event.OK, "free")
	case f.marker == r.cluster.Name:
		report(ip, "ports", event.OK, "in use by this cluster, installed by sealpack earlier: %s", strings.Join(busy, ", "))
	default:
		report(ip, "ports", event.Fail, "in use by another program: %s (is Kubernetes already installed here?)", strings.Join(busy, ", "))
	}
}

// checkError is a failed check as preflight reports it, with its cause.
type checkError struct {
	text  string
	cause error
}

func (e *checkError) Error() string { return e.text }
func (e *checkError) Unwrap() error { return e.cause }

func without(list []string, x string) []string {
	var out []string
	for _, s := range list {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

// connect dials host ip once per run; later phases reuse the connection.
func (r *run) connect(ctx context.Context, ip string) error {
	if r.conn(ip) != nil {
		return nil
	}
	done := r.clock.start(ip)
	c, err := r.opts.Dial(ctx, r.host(ip))
	done()
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.conns[ip] = &timedRemote{Remote: c, host: ip, clock: r.clock}
	r.mu.Unlock()
	return nil
}
