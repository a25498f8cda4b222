package deployer

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sealpack/sealpack/deployer/event"
)

// redactor hides secrets in anything that is logged or reported: the
// Clusterfile's passwords and passphrases, and kubeadm's bootstrap tokens and
// certificate keys, which grant a host the right to join the cluster.
// Secrets learnt during the run (the certificate key) are added as they
// come: output is logged line by line, and kubeadm prints the key on a line
// of its own, which no pattern can tell from any other hex string.
type redactor struct {
	mu      sync.Mutex
	secrets []string
	r       *strings.Replacer
}

var kubeadmSecrets = regexp.MustCompile(`(--token[ =]|--certificate-key[ =]|certificateKey: ?|token: ?"?|Using certificate key:\s*)[a-z0-9.]{6,}`)

func newRedactor(secrets ...string) *redactor {
	r := &redactor{}
	r.add(secrets...)
	return r
}

// add hides more secrets from now on.
func (r *redactor) add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 3 && !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so a secret that contains another is hidden whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	var pairs []string
	for _, s := range r.secrets {
		pairs = append(pairs, s, "******")
	}
	r.r = strings.NewReplacer(pairs...)
}

func (r *redactor) redact(s string) string {
	r.mu.Lock()
	rep := r.r
	r.mu.Unlock()
	return kubeadmSecrets.ReplaceAllString(rep.Replace(s), "${1}******")
}

// logs writes one file per host under .sealpack/logs/, every line starting
// with a timestamp and the host, and mirrors each line as a Log event.
type logs struct {
	mu    sync.Mutex
	dir   string
	files map[string]*os.File
	red   *redactor
	sink  event.Sink
	phase func() string
}

func newLogs(dir string, red *redactor, sink event.Sink) (*logs, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	return &logs{dir: dir, files: map[string]*os.File{}, red: red, sink: sink}, nil
}

// Path is the log file of host.
func (l *logs) Path(host string) string { return filepath.Join(l.dir, host+".log") }

// Printf logs a line for host (host "" is the jump host's own log: sealpack.log).
func (l *logs) Printf(phase, host, format string, args ...any) {
	msg := l.red.redact(fmt.Sprintf(format, args...))
	name := host
	if name == "" {
		name = "sealpack"
	}
	l.mu.Lock()
	f, ok := l.files[name]
	if !ok {
		var err error
		f, err = os.OpenFile(filepath.Join(l.dir, name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err == nil {
			l.files[name] = f
		}
	}
	if f != nil {
		for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
			fmt.Fprintf(f, "%s %s [%s] %s\n", time.Now().UTC().Format(time.RFC3339), name, phase, line)
		}
	}
	l.mu.Unlock()
	if l.sink != nil {
		for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
			l.sink(event.Event{Time: time.Now(), Type: event.Log, Phase: phase, Host: host, Message: line})
		}
	}
}

func (l *logs) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var first error
	for _, f := range l.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	l.files = map[string]*os.File{}
	return first
}
