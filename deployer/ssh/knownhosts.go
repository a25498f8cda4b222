package ssh

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// UnknownKeyPolicy says what to do with a host key that no known_hosts file lists.
type UnknownKeyPolicy int

const (
	// RefuseUnknown fails the connection (--unattended without
	// --accept-new-host-keys).
	RefuseUnknown UnknownKeyPolicy = iota
	// AcceptNew records the key in the site file and goes on.
	AcceptNew
)

// KnownHostsOptions configure host key checking.
type KnownHostsOptions struct {
	// SiteFile is the site's known_hosts (.sealpack/known_hosts beside the
	// Clusterfile): read, and where accepted keys are recorded.
	SiteFile string
	// UserFiles are read and never written (DefaultUserKnownHosts).
	// Missing files are skipped.
	UserFiles []string
	// Unknown is the policy for unknown keys when Ask is nil.
	Unknown UnknownKeyPolicy
	// Ask, when set, decides about an unknown key (the wizard asks the
	// user); a yes records it like AcceptNew.
	Ask func(host, fingerprint string) bool
}

// DefaultUserKnownHosts is ~/.ssh/known_hosts (nothing when there is no home).
func DefaultUserKnownHosts() []string {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil
	}
	return []string{filepath.Join(home, ".ssh", "known_hosts")}
}

var (
	// ErrHostKeyUnknown matches a HostKeyError about a key no file lists.
	ErrHostKeyUnknown = errors.New("unknown host key")
	// ErrHostKeyChanged matches a HostKeyError about a key that differs
	// from the one recorded.
	ErrHostKeyChanged = errors.New("host key changed")
)

// HostKeyError is a host key that was refused.
type HostKeyError struct {
	Host string
	// Offered is the SHA256 fingerprint of the key the host offered, and
	// OfferedType its type as OpenSSH's messages name it (ED25519, ECDSA,
	// RSA): the host's /etc/ssh/ssh_host_<type>_key.pub is that key.
	Offered     string
	OfferedType string
	// Known are the fingerprints recorded for the host (empty when unknown),
	// KnownTypes their types, File and Line where the first of them is.
	Known      []string
	KnownTypes []string
	File       string
	Line       int
	// SiteFile is where accepted keys go (named in the advice).
	SiteFile string
}

func (e *HostKeyError) Error() string {
	if len(e.Known) == 0 {
		return fmt.Sprintf("host %s: unknown %s host key %s: pass --accept-new-host-keys to trust it (it is then recorded in %s)",
			e.Host, e.OfferedType, e.Offered, e.SiteFile)
	}
	known := make([]string, len(e.Known))
	for i, fp := range e.Known {
		known[i] = fp
		if i < len(e.KnownTypes) {
			known[i] = e.KnownTypes[i] + " " + fp
		}
	}
	return fmt.Sprintf("host %s: HOST KEY CHANGED: known %s, now offered %s %s (remove the line in %s if the host was reinstalled)",
		e.Host, strings.Join(known, ", "), e.OfferedType, e.Offered, e.File)
}

// KeyFile is where the host keeps the public key it offered, for the user
// to compare fingerprints (ssh-keygen -lf FILE on the host).
func (e *HostKeyError) KeyFile() string { return HostKeyFile(e.OfferedType) }

// HostKeyFile is the public host key file of a key type (KeyTypeName's
// names) in OpenSSH's default place.
func HostKeyFile(typeName string) string {
	return "/etc/ssh/ssh_host_" + strings.ToLower(strings.TrimSuffix(typeName, "-SK")) + "_key.pub"
}

// KeyTypeName names a key type (gossh.PublicKey.Type()) as OpenSSH's
// messages do: ssh-ed25519 is ED25519, ecdsa-sha2-nistp256 is ECDSA.
func KeyTypeName(keyType string) string {
	switch {
	case keyType == gossh.KeyAlgoED25519:
		return "ED25519"
	case keyType == gossh.KeyAlgoSKED25519:
		return "ED25519-SK"
	case keyType == gossh.KeyAlgoSKECDSA256:
		return "ECDSA-SK"
	case strings.HasPrefix(keyType, "ecdsa-sha2-"):
		return "ECDSA"
	case keyType == gossh.KeyAlgoRSA:
		return "RSA"
	case keyType == gossh.InsecureKeyAlgoDSA:
		return "DSA"
	}
	return keyType
}

// Is makes errors.Is(err, ErrHostKeyUnknown / ErrHostKeyChanged) work.
func (e *HostKeyError) Is(target error) bool {
	if len(e.Known) == 0 {
		return target == ErrHostKeyUnknown
	}
	return target == ErrHostKeyChanged
}

// KnownHosts checks host keys for every connection of a run. It is safe for
// concurrent use; decisions about unknown keys are taken one at a time.
type KnownHosts struct {
	opts  KnownHostsOptions
	mu    sync.Mutex
	files []string // existing files, site file first
	db    gossh.HostKeyCallback
}

// NewKnownHosts reads the known_hosts files. A file that cannot be parsed
// is an error naming it and the line.
func NewKnownHosts(opts KnownHostsOptions) (*KnownHosts, error) {
	if opts.SiteFile == "" {
		return nil, errors.New("known hosts: no site file given")
	}
	k := &KnownHosts{opts: opts}
	if err := k.reload(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *KnownHosts) reload() error {
	var files []string
	for _, f := range append([]string{k.opts.SiteFile}, k.opts.UserFiles...) {
		if _, err := os.Stat(f); err == nil {
			files = append(files, f)
		} else if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("known hosts: %w", err)
		}
	}
	k.files = files
	if len(files) == 0 {
		k.db = nil
		return nil
	}
	db, err := knownhosts.New(files...)
	if err != nil {
		return fmt.Errorf("known hosts: %w", err)
	}
	k.db = db
	return nil
}

// lookup checks key for addr ("host:port") against the files: nil when
// known, a *knownhosts.KeyError otherwise.
func (k *KnownHosts) lookup(addr string, key gossh.PublicKey) error {
	if k.db == nil {
		return &knownhosts.KeyError{}
	}
	// The remote address only matters for lines that name IPs without a
	// hostname; the address we dialed is the name users write.
	return k.db(addr, placeholderAddr{}, key)
}

// placeholderAddr stands for the remote TCP address, which knownhosts only
// uses when no hostname is given (tunnelled connections have none anyway).
type placeholderAddr struct{}

func (placeholderAddr) Network() string { return "tcp" }
func (placeholderAddr) String() string  { return "0.0.0.0:0" }

// Algorithms lists the host key algorithms recorded for addr, so the
// handshake asks for a key type we can check (a host with both RSA and
// Ed25519 keys would otherwise offer whichever the client prefers, and a
// key of another type reads as a changed key). Empty when none is known.
func (k *KnownHosts) Algorithms(addr string) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var ke *knownhosts.KeyError
	if !errors.As(k.lookup(addr, probeKey), &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		for _, a := range algorithmsFor(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// probeKey matches no recorded key, so a lookup lists what is known.
var probeKey = func() gossh.PublicKey {
	k, _ := gossh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	return k
}()

func algorithmsFor(keyType string) []string {
	if keyType == gossh.KeyAlgoRSA {
		return []string{gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA}
	}
	return []string{keyType}
}

// Check verifies the key a host offers at addr ("host:port"): a known key
// passes, a changed key is always refused, an unknown one follows the policy.
func (k *KnownHosts) Check(addr string, key gossh.PublicKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.lookup(addr, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		// A revoked key (@revoked) or a malformed address.
		return fmt.Errorf("host %s: %w", displayHost(addr), err)
	}
	offered, offeredType := gossh.FingerprintSHA256(key), KeyTypeName(key.Type())
	if len(ke.Want) > 0 {
		e := &HostKeyError{Host: displayHost(addr), Offered: offered, OfferedType: offeredType, SiteFile: k.opts.SiteFile,
			File: ke.Want[0].Filename, Line: ke.Want[0].Line}
		for _, w := range ke.Want {
			e.Known = append(e.Known, gossh.FingerprintSHA256(w.Key))
			e.KnownTypes = append(e.KnownTypes, KeyTypeName(w.Key.Type()))
		}
		return e
	}
	accept := k.opts.Unknown == AcceptNew
	if k.opts.Ask != nil {
		accept = k.opts.Ask(displayHost(addr), offered)
	}
	if !accept {
		return &HostKeyError{Host: displayHost(addr), Offered: offered, OfferedType: offeredType, SiteFile: k.opts.SiteFile}
	}
	if err := k.record(addr, key); err != nil {
		return fmt.Errorf("host %s: recording its key: %w", displayHost(addr), err)
	}
	return nil
}

// record appends the key to the site file.
func (k *KnownHosts) record(addr string, key gossh.PublicKey) error {
	if err := os.MkdirAll(filepath.Dir(k.opts.SiteFile), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(k.opts.SiteFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(addr)}, key) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return k.reload()
}

// displayHost is "10.0.0.3" for port 22 and "10.0.0.3:2222" otherwise.
func displayHost(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "22" {
		if err != nil {
			return addr
		}
		return host
	}
	return addr
}
