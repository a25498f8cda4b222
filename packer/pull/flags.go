package pull

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// mirror is where a registry's images are pulled from instead.
type mirror struct {
	scheme string // "http", "https" or "" (decided as for any host)
	host   string // host[:port]
	prefix string // repository path prefix ("proxy" for harbor/proxy/library/nginx)
}

func (m mirror) String() string {
	s := m.host
	if m.scheme != "" {
		s = m.scheme + "://" + s
	}
	if m.prefix != "" {
		s += "/" + m.prefix
	}
	return s
}

// ParseMirror parses a --registry-mirror value,
// REGISTRY=[http[s]://]HOST[:PORT][/PATH], into the keys of Options.Mirrors.
func ParseMirror(s string) (registry, mirrorURL string, err error) {
	reg, m, ok := strings.Cut(s, "=")
	if !ok || reg == "" || m == "" {
		return "", "", fmt.Errorf("registry mirror %q: want REGISTRY=[http[s]://]HOST[:PORT][/PATH], e.g. docker.io=http://127.0.0.1:5000", s)
	}
	host, err := checkHost(reg)
	if err != nil {
		return "", "", fmt.Errorf("registry mirror %q: %w", s, err)
	}
	mm, err := parseMirrorURL(m)
	if err != nil {
		return "", "", fmt.Errorf("registry mirror %q: %w", s, err)
	}
	return host, mm.String(), nil
}

// ParseAuth parses a --registry-auth value, HOST=USER:PASSWORD (the password
// may hold ':' and '=').
func ParseAuth(s string) (host string, cred authn.Basic, err error) {
	h, userpass, ok := strings.Cut(s, "=")
	if !ok || h == "" {
		// The value may hold a password: never echo it.
		return "", authn.Basic{}, errors.New("registry auth: want HOST=USER:PASSWORD (value not shown, it may hold a password)")
	}
	user, pass, ok := strings.Cut(userpass, ":")
	if !ok {
		return "", authn.Basic{}, fmt.Errorf("registry auth for %q: want HOST=USER:PASSWORD (no ':' after the user)", h)
	}
	if user == "" {
		return "", authn.Basic{}, fmt.Errorf("registry auth for %q: empty user name", h)
	}
	host, err = checkHost(h)
	if err != nil {
		return "", authn.Basic{}, fmt.Errorf("registry auth for %q: %w", h, err)
	}
	return host, authn.Basic{Username: user, Password: pass}, nil
}

// checkHost validates a registry host[:port] and returns its canonical form.
func checkHost(h string) (string, error) {
	if strings.Contains(h, "://") || strings.Contains(h, "/") {
		return "", fmt.Errorf("%q is not a registry host (want host[:port], no scheme or path)", h)
	}
	if _, err := name.NewRegistry(h, name.StrictValidation); err != nil {
		return "", fmt.Errorf("%q is not a registry host: %w", h, err)
	}
	return canonicalHost(h), nil
}

// canonicalHost folds Docker Hub's several host names into one.
func canonicalHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return h
}

func parseMirrorURL(s string) (mirror, error) {
	var m mirror
	rest := s
	if scheme, r, ok := strings.Cut(s, "://"); ok {
		switch scheme {
		case "http", "https":
		default:
			return m, fmt.Errorf("mirror %q: scheme %q (want http or https)", s, scheme)
		}
		m.scheme, rest = scheme, r
	}
	u, err := url.Parse("//" + rest)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return m, fmt.Errorf("mirror %q: want [http[s]://]host[:port][/path]", s)
	}
	host, err := checkHost(u.Host)
	if err != nil {
		return m, fmt.Errorf("mirror %q: %w", s, err)
	}
	m.host = host
	m.prefix = strings.Trim(u.Path, "/")
	if m.prefix != "" {
		if _, err := name.NewRepository(m.host+"/"+m.prefix, name.StrictValidation); err != nil {
			return m, fmt.Errorf("mirror %q: path %q: %w", s, m.prefix, err)
		}
	}
	return m, nil
}
