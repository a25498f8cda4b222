package deployer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// State records the steps a run has completed, on the jump host beside the
// Clusterfile (.sealpack/state.json), so that re-running the same command
// after any failure or a kill -9 resumes without redoing finished steps.
// It is rewritten atomically after every step; it never holds secrets.
type State struct {
	mu   sync.Mutex
	path string
	data stateFile
}

type stateFile struct {
	Cluster string `json:"cluster"`
	// Installed is the installer of the last install that completed.
	Installed *InstallerID `json:"installed,omitempty"`
	// Endpoint is the controlPlaneEndpoint kubeadm init was given: later
	// runs keep it, whatever the Clusterfile's masters have become.
	Endpoint string                `json:"endpoint,omitempty"`
	Steps    map[string]stepRecord `json:"steps"`
}

type stepRecord struct {
	At time.Time `json:"at"`
	// Inputs is the sha256 of what the step was given (the files it sent,
	// the script and environment it ran, the command); empty for steps
	// done once whatever they are given (kubeadm init and join).
	Inputs string `json:"inputs,omitempty"`
	// By is the digest of the installer that did the step.
	By string `json:"by,omitempty"`
}

// InstallerID names an installer: the digest of its index (which covers
// every byte), and its title and version labels.
type InstallerID struct {
	Digest  string `json:"digest"`
	Title   string `json:"title,omitempty"`
	Version string `json:"version,omitempty"`
}

func (id InstallerID) String() string {
	name := id.Title
	if name == "" {
		name = "an untitled installer"
	}
	if id.Version != "" {
		name += " " + id.Version
	}
	return name
}

// LoadState reads the state in dir, or starts an empty one for cluster. A
// state of another cluster name is an error: the directory belongs to it.
func LoadState(dir, cluster string) (*State, error) {
	s := &State{path: filepath.Join(dir, "state.json"), data: stateFile{Cluster: cluster, Steps: map[string]stepRecord{}}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &s.data); err != nil {
		return nil, fmt.Errorf("%s: %w (remove it to start over)", s.path, err)
	}
	if s.data.Steps == nil {
		s.data.Steps = map[string]stepRecord{}
	}
	if s.data.Cluster != cluster {
		// After a reset nothing is left of the old cluster: the directory
		// is free for another.
		if len(s.data.Steps) == 0 && s.data.Installed == nil {
			s.data.Cluster = cluster
			return s, nil
		}
		return nil, fmt.Errorf("%s records cluster %q, the Clusterfile names %q: reset %q with its own Clusterfile first, keep each Clusterfile in a directory of its own, or remove %s if that cluster no longer exists", s.path, s.data.Cluster, cluster, s.data.Cluster, s.path)
	}
	return s, nil
}

func key(step, host string) string { return step + "/" + host }

// Done reports whether step completed on host ("" for cluster-wide steps),
// whatever it was given.
func (s *State) Done(step, host string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.data.Steps[key(step, host)]
	return ok
}

// Current reports whether step completed on host with these inputs; when it
// did with others, why says so (the step runs again).
func (s *State) Current(step, host, inputs string) (done bool, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.data.Steps[key(step, host)]
	switch {
	case !ok:
		return false, ""
	case rec.Inputs == inputs:
		return true, ""
	case rec.Inputs == "":
		return false, "recorded without its inputs (by an older sealpack): done again"
	default:
		return false, fmt.Sprintf("its inputs changed since it was done (%s): done again", rec.At.Format(time.RFC3339))
	}
}

// Mark records step as completed on host and saves the state.
func (s *State) Mark(step, host string) error { return s.MarkInputs(step, host, "", "") }

// MarkInputs records step as completed on host with inputs, by installer
// digest by, and saves the state.
func (s *State) MarkInputs(step, host, inputs, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Steps[key(step, host)] = stepRecord{At: time.Now().UTC(), Inputs: inputs, By: by}
	return s.save()
}

// Installed is the installer of the last completed install, nil if none.
func (s *State) Installed() *InstallerID {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.data.Installed == nil {
		return nil
	}
	id := *s.data.Installed
	return &id
}

// SetInstalled records id as the installer of a completed install.
func (s *State) SetInstalled(id InstallerID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Installed = &id
	return s.save()
}

// Endpoint is the controlPlaneEndpoint the cluster was made with, "" before.
func (s *State) Endpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.Endpoint
}

// SetEndpoint records the controlPlaneEndpoint given to kubeadm init.
func (s *State) SetEndpoint(e string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.Endpoint = e
	return s.save()
}

// Forget drops every record of host (after delete or reset of that host), or
// of every host when host is "*".
func (s *State) Forget(host string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.data.Steps {
		if host == "*" || strings.HasSuffix(k, "/"+host) {
			delete(s.data.Steps, k)
		}
	}
	if host == "*" {
		s.data.Installed = nil
		s.data.Endpoint = ""
	}
	return s.save()
}

// Steps lists the recorded steps, sorted (for tests and --dry-run plans).
func (s *State) Steps() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.data.Steps {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *State) save() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s.data, "", "  ")
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("saving %s: %w", s.path, err)
	}
	return os.Rename(tmp, s.path)
}

// StepRecord is one recorded step, for status.
type StepRecord struct {
	Step, Host string
	At         time.Time
	// By is the digest of the installer that did it ("" before sealpack
	// recorded it).
	By string
}

// Records lists the recorded steps, by host then step.
func (s *State) Records() []StepRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StepRecord, 0, len(s.data.Steps))
	for k, rec := range s.data.Steps {
		i := strings.LastIndex(k, "/")
		out = append(out, StepRecord{Step: k[:i], Host: k[i+1:], At: rec.At, By: rec.By})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Host != out[j].Host {
			return out[i].Host < out[j].Host
		}
		return out[i].At.Before(out[j].At)
	})
	return out
}
