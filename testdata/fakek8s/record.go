package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

const callsFile = "/var/lib/fakek8s/calls.jsonl"

// call is one line of calls.jsonl.
type call struct {
	Time       string            `json:"time"`
	Host       string            `json:"host"`
	PID        int               `json:"pid"`
	Command    string            `json:"command"`
	Argv       []string          `json:"argv"`
	Cwd        string            `json:"cwd"`
	Env        map[string]string `json:"env,omitempty"`
	Exit       *int              `json:"exit,omitempty"`
	DurationMS int64             `json:"durationMs"`
	Daemon     bool              `json:"daemon,omitempty"`
}

// secretFlags take a secret value; it never reaches calls.jsonl.
var secretFlags = map[string]bool{
	"--certificate-key": true, "--token": true, "--discovery-token": true,
	"--tls-bootstrap-token": true, "--password": true, "--client-key": true,
}

var tokenRE = regexp.MustCompile(`^([a-z0-9]{6})\.([a-z0-9]{16})$`)

// redactArg hides a secret and keeps what identifies it without revealing
// it: the public ID of a bootstrap token.
func redactArg(v string) string {
	if m := tokenRE.FindStringSubmatch(v); m != nil {
		return m[1] + ".<redacted>"
	}
	return "<redacted>"
}

func redactArgv(argv []string) []string {
	out := make([]string, len(argv))
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		out[i] = a
		if name, val, ok := strings.Cut(a, "="); ok && secretFlags[name] {
			out[i] = name + "=" + redactArg(val)
			continue
		}
		if secretFlags[a] && i+1 < len(argv) {
			out[i+1] = redactArg(argv[i+1])
			i++
			continue
		}
		if tokenRE.MatchString(a) {
			out[i] = redactArg(a) // "kubeadm token create <token>"
		}
	}
	return out
}

// recordedEnv keeps the variables that tell how a command was called;
// values whose names suggest a secret are hidden.
func recordedEnv() map[string]string {
	out := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		keep := k == "KUBECONFIG" || k == "HOME" || k == "USER" || k == "SUDO_USER" ||
			strings.HasPrefix(k, "SEALPACK_") || strings.HasPrefix(k, "FAKEK8S_")
		if !keep {
			continue
		}
		up := strings.ToUpper(k)
		for _, s := range []string{"PASSW", "SECRET", "TOKEN", "KEY", "CREDENTIAL"} {
			if strings.Contains(up, s) {
				v = "<redacted>"
			}
		}
		out[k] = v
	}
	return out
}

// record appends one line to calls.jsonl; exit < 0 means still running. A
// failure to record is reported but does not change the command's result.
func (p *program) record(start time.Time, exit int) {
	if p.env == nil {
		return
	}
	cwd, _ := os.Getwd()
	host, _ := p.env.hostname()
	c := call{
		Time:       start.UTC().Format(time.RFC3339Nano),
		Host:       host,
		PID:        os.Getpid(),
		Command:    p.name,
		Argv:       redactArgv(append([]string{p.name}, p.args...)),
		Cwd:        cwd,
		Env:        recordedEnv(),
		DurationMS: time.Since(start).Milliseconds(),
		Daemon:     exit < 0,
	}
	if exit >= 0 {
		c.Exit = &exit
	}
	line, err := json.Marshal(c)
	if err != nil {
		return
	}
	if err := appendLine(p.env.path(callsFile), append(line, '\n')); err != nil {
		p.warnf("fakek8s: recording the call: %v", err)
	}
}

// appendLine appends under an exclusive lock, so concurrent invocations
// never interleave lines.
func appendLine(path string, line []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	_, err = f.Write(line)
	return err
}

func (p *program) warnf(format string, args ...any) {
	if p.stderr != nil {
		_, _ = p.stderr.Write([]byte(strings.TrimRight(fmt.Sprintf(format, args...), "\n") + "\n"))
	}
}

// sortedKeys returns a map's keys in order (for stable output).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
