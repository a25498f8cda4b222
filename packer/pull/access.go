package pull

import (
	"errors"
	"fmt"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Access reaches registries for what is not a container image (installer
// artifacts: sealpack push, pull, FROM of a registry reference) the way
// image pulls reach them: the same mirrors, plain-HTTP hosts and credentials
// (--registry-auth, then the docker config).
type Access struct {
	cfg  *config
	keys keychain
}

// NewAccess checks o (its Platforms may be empty) and returns an Access.
func NewAccess(o Options) (*Access, error) {
	if len(o.Platforms) == 0 {
		o.Platforms = []string{"linux/amd64"} // unused here; config wants one
	}
	cfg, err := o.config()
	if err != nil {
		return nil, err
	}
	return &Access{cfg: cfg, keys: keychain{auth: cfg.auth, next: cfg.keychain}}, nil
}

// Ref parses s (a tag or digest reference naming its registry) into the
// reference to speak to, and the host asked, for messages. Mirrored: a
// mirror set for the registry is used instead (reads, never writes).
func (a *Access) Ref(s string, mirrored bool) (name.Reference, string, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, "", fmt.Errorf("reference %q: %w", s, err)
	}
	named = reference.TagNameOnly(named)
	c := &client{cfg: a.cfg}
	var o origin
	if mirrored {
		o, err = c.originOf(named)
	} else {
		host := canonicalHost(reference.Domain(named))
		var opts []name.Option
		if a.cfg.insecure[host] || loopback(host) {
			opts = append(opts, name.Insecure)
		}
		o.host = host
		o.repo, err = name.NewRepository(host+"/"+reference.Path(named), opts...)
	}
	if err != nil {
		return nil, "", fmt.Errorf("reference %q: %w", s, err)
	}
	if d, ok := named.(reference.Digested); ok {
		if !validDigest(d.Digest().String()) {
			return nil, "", fmt.Errorf("reference %q: only sha256 digests are supported", s)
		}
		return o.repo.Digest(d.Digest().String()), o.host, nil
	}
	return o.repo.Tag(named.(reference.Tagged).Tag()), o.host, nil
}

// Options are the remote options of a request: credentials, user agent and
// parallel jobs.
func (a *Access) Options() []remote.Option {
	return []remote.Option{remote.WithAuthFromKeychain(a.keys), remote.WithUserAgent("sealpack"), remote.WithJobs(a.cfg.jobs)}
}

// Keychain is the credentials' order: --registry-auth, then the docker config.
func (a *Access) Keychain() authn.Keychain { return a.keys }

// Explain renders err, a registry's answer about ref (spoken to at host), in
// the registry's words, with what the user may do about a refusal.
func (a *Access) Explain(ref name.Reference, host string, err error) error {
	if err == nil {
		return nil
	}
	msg := describe(err)
	if s := statusOf(err); s == 401 || s == 403 {
		c := &client{cfg: a.cfg}
		msg += "; " + c.authHint(origin{repo: ref.Context(), host: host})
	}
	return &AccessError{Ref: ref.String(), Registry: host, Msg: msg, Err: err}
}

// AccessError is a registry's refusal or failure for one reference.
type AccessError struct {
	Ref, Registry, Msg string
	Err                error
}

func (e *AccessError) Error() string {
	return fmt.Sprintf("%s: %s (from %s)", e.Ref, e.Msg, e.Registry)
}
func (e *AccessError) Unwrap() error { return e.Err }

// StatusOf is the HTTP status of a registry's answer in err, or 0.
func StatusOf(err error) int {
	var ae *AccessError
	if errors.As(err, &ae) {
		return statusOf(ae.Err)
	}
	return statusOf(err)
}
