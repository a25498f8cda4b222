package pull

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sealpack/sealpack/payload"
)

// Options configures Store. The zero value of every field but Platforms has a
// sensible default.
type Options struct {
	// Platforms to carry, "os/arch[/variant]", at least one. For an image
	// index, the manifest of each is carried (with the index itself).
	Platforms []string
	// Mirrors maps a registry host ("docker.io") to a mirror,
	// "[http[s]://]host[:port][/path]", that its images are pulled from
	// instead; images keep their canonical names. A mirror that fails does not
	// fall back to the registry: a build machine behind a proxy has no other way out.
	Mirrors map[string]string
	// Insecure lists registry hosts spoken to over plain HTTP. Loopback hosts
	// (127.0.0.1, localhost, ::1) always are.
	Insecure []string
	// Auth holds credentials per registry host (--registry-auth); they win
	// over the Keychain.
	Auth map[string]authn.Basic
	// Keychain supplies other credentials; nil means the docker config
	// (~/.docker/config.json, or DOCKER_CONFIG, with credential helpers).
	Keychain authn.Keychain
	// CacheDir is a blob cache (CacheDir/blobs/sha256/<hex>) shared by builds,
	// so a rebuild downloads no blob it already has. Empty: blobs stream from
	// the registry straight into the payload and nothing else is written.
	CacheDir string
	// Jobs is the number of parallel downloads; 0 means 4.
	Jobs int
	// Retries is the number of further attempts after a transient failure
	// (5xx, 429, a refused or reset connection); 0 means 3, negative none.
	// 401, 403 and 404 fail at once.
	Retries int
	// Backoff is the wait before the first retry, doubled each time; 0 means 1s.
	Backoff time.Duration
	// Progress gets plain progress lines; nil means none.
	Progress io.Writer
	// Reuse are installers whose stored layers are copied instead of
	// downloaded (the installer being rebuilt): a rebuild fetches no layer it
	// already carried, and nothing but the new installer is written. Copied
	// layers are hashed again on the way, so a damaged file fails the build.
	// It is called once, and only when a layer must be obtained: opening an
	// installer reads its index, which a build without images need not pay.
	Reuse func() []*payload.Reader
	// Base is the images/index.json of images already carried (a FROM
	// installer's): their entries stay in the index written, unless pulled
	// again. Their blobs must already be in the rootfs.
	Base []byte
	// OnProgress, when set, gets the bytes of layers obtained so far out of
	// the total (for a progress bar). Calls are serialized.
	OnProgress func(done, total int64)
	// NoReferrers leaves the images' referrers (attestations, SBOMs,
	// signatures) behind; by default they are looked for and carried.
	NoReferrers bool
	// Docs, when set, is handed every small document stored (manifests,
	// configs, referrers' blobs, images/index.json) with its digest, so the
	// build's bill of materials reads them from memory, not the payload.
	Docs func(digest string, data []byte)
}

// config is Options checked and with defaults applied.
type config struct {
	platforms []platform
	mirrors   map[string]mirror // by canonical registry host
	insecure  map[string]bool   // canonical hosts
	auth      map[string]authn.Basic
	keychain  authn.Keychain
	cacheDir  string
	jobs      int
	retries   int
	backoff   time.Duration
	log       io.Writer
	onBytes   func(done, total int64)
	// noReferrers: Options.NoReferrers
	noReferrers bool
}

func (o Options) config() (*config, error) {
	c := &config{
		mirrors:  map[string]mirror{},
		insecure: map[string]bool{},
		auth:     map[string]authn.Basic{},
		keychain: o.Keychain,
		cacheDir: o.CacheDir,
		jobs:     o.Jobs,
		retries:  o.Retries,
		backoff:  o.Backoff,
		log:      o.Progress,
		onBytes:  o.OnProgress,

		noReferrers: o.NoReferrers,
	}
	if len(o.Platforms) == 0 {
		return nil, errors.New("no platform given (want os/arch, e.g. linux/amd64)")
	}
	seen := map[platform]bool{}
	for _, s := range o.Platforms {
		p, err := parsePlatform(s)
		if err != nil {
			return nil, err
		}
		if !seen[p.normal()] {
			seen[p.normal()] = true
			c.platforms = append(c.platforms, p)
		}
	}
	for reg, m := range o.Mirrors {
		host, err := checkHost(reg)
		if err != nil {
			return nil, fmt.Errorf("registry mirror %s=%s: %w", reg, m, err)
		}
		mm, err := parseMirrorURL(m)
		if err != nil {
			return nil, fmt.Errorf("registry mirror %s=%s: %w", reg, m, err)
		}
		c.mirrors[host] = mm
	}
	for _, h := range o.Insecure {
		host, err := checkHost(h)
		if err != nil {
			return nil, fmt.Errorf("insecure registry %q: %w", h, err)
		}
		c.insecure[host] = true
	}
	for h, cred := range o.Auth {
		host, err := checkHost(h)
		if err != nil {
			return nil, fmt.Errorf("registry auth for %q: %w", h, err)
		}
		c.auth[host] = cred
	}
	if c.keychain == nil {
		c.keychain = authn.DefaultKeychain
	}
	if c.jobs <= 0 {
		c.jobs = 4
	}
	switch {
	case c.retries == 0:
		c.retries = 3
	case c.retries < 0:
		c.retries = 0
	}
	if c.backoff <= 0 {
		c.backoff = time.Second
	}
	return c, nil
}
