package pull

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Size limits for what is held in memory: manifests and image configs.
const (
	maxManifest = 4 << 20
	maxConfig   = 64 << 20
	maxBackoff  = 30 * time.Second
)

// client talks to registries for one Store: one puller (it reuses each
// repository's token), our retries, the cache, and the log.
type client struct {
	cfg    *config
	keys   authn.Keychain
	puller *remote.Puller
	cache  *cache
	log    *logger
}

func newClient(cfg *config, c *cache, log *logger) (*client, error) {
	keys := keychain{auth: cfg.auth, next: cfg.keychain}
	p, err := remote.NewPuller(
		remote.WithAuthFromKeychain(keys),
		remote.WithJobs(cfg.jobs),
		remote.WithUserAgent("sealpack"),
		// Retries are ours: they cover whole transfers and tell 404 from 503.
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
		remote.WithRetryBackoff(remote.Backoff{Steps: 1}),
	)
	if err != nil {
		return nil, err
	}
	return &client{cfg: cfg, keys: keys, puller: p, cache: c, log: log}, nil
}

// keychain puts --registry-auth credentials before the docker config.
type keychain struct {
	auth map[string]authn.Basic
	next authn.Keychain
}

func (k keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if b, ok := k.auth[canonicalHost(r.RegistryStr())]; ok {
		return &authn.Basic{Username: b.Username, Password: b.Password}, nil
	}
	return k.next.Resolve(r)
}

// origin is where an image's bytes come from.
type origin struct {
	repo name.Repository // the mirror's repository when one is used
	host string          // the host asked, for messages
}

func (c *client) originOf(named reference.Named) (origin, error) {
	host, path := canonicalHost(reference.Domain(named)), reference.Path(named)
	insecure := c.cfg.insecure[host]
	if m, ok := c.cfg.mirrors[host]; ok {
		host = m.host
		insecure = m.scheme == "http" || (m.scheme == "" && c.cfg.insecure[m.host])
		if m.prefix != "" {
			path = m.prefix + "/" + path
		}
	}
	var opts []name.Option
	if insecure || loopback(host) {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(host+"/"+path, opts...)
	if err != nil {
		return origin{}, err
	}
	return origin{repo: repo, host: host}, nil
}

// loopback reports whether host[:port] is this machine, which is spoken to
// over plain HTTP (ggcr alone knows only 127.0.0.1 and localhost with a port).
func loopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback()
	}
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// retry runs f until it succeeds, fails for good, or the retries are spent,
// waiting longer each time.
func (c *client) retry(ctx context.Context, what string, f func() error) (attempts int, err error) {
	wait := c.cfg.backoff
	for attempts = 1; ; attempts++ {
		err = f()
		if err == nil || attempts > c.cfg.retries || !transient(err) || ctx.Err() != nil {
			return attempts, err
		}
		c.log.printf("retrying %s in %s: %s", what, wait, describe(err))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return attempts, ctx.Err()
		}
		wait = min(2*wait, maxBackoff)
	}
}

// fail builds the error for an image whose registry answered err.
func (c *client) fail(img *imageRef, what string, attempts int, err error) *PullError {
	e := &PullError{Image: img.name, Registry: img.src.host, What: what, Err: err, Attempts: attempts}
	if s := statusOf(err); s == 401 || s == 403 {
		e.Hint = c.authHint(img.src)
	}
	return e
}

func (c *client) authHint(o origin) string {
	host := o.repo.RegistryStr()
	if _, ok := c.cfg.auth[canonicalHost(host)]; ok {
		return fmt.Sprintf("the --registry-auth credentials for %s were refused", o.host)
	}
	if a, err := c.cfg.keychain.Resolve(o.repo); err == nil && a != authn.Anonymous {
		return fmt.Sprintf("the docker config's credentials for %s were refused", o.host)
	}
	return fmt.Sprintf("no credentials for %s: give --registry-auth %s=USER:PASSWORD or run docker login %s", o.host, o.host, o.host)
}

// manifest returns the manifest that id (a tag or a digest) names and its
// digest. A manifest in the cache costs nothing when named by digest and one
// HEAD request when named by tag.
func (c *client) manifest(ctx context.Context, img *imageRef, id string) ([]byte, string, error) {
	what := ""
	if id != img.tag && id != img.digest {
		what = "manifest " + id
	}
	if validDigest(id) {
		if data, ok := c.cache.read(id, maxManifest); ok {
			return data, id, nil
		}
	} else if c.cache != nil {
		var digest string
		attempts, err := c.retry(ctx, "HEAD "+img.name, func() error {
			d, err := c.puller.Head(ctx, img.src.repo.Tag(id))
			if err == nil {
				digest = d.Digest.String()
			}
			return err
		})
		if data, ok := c.cache.read(digest, maxManifest); err == nil && ok {
			return data, digest, nil
		}
		if err != nil && statusOf(err) == 0 && transient(err) {
			// The registry is unreachable: a GET would only wait again.
			return nil, "", c.fail(img, what, attempts, err)
		}
		// Otherwise the GET below fetches it, or gets the registry's words
		// for the failure (a HEAD answer has no body).
	}
	var ref name.Reference = img.src.repo.Tag(id)
	if validDigest(id) {
		ref = img.src.repo.Digest(id)
	}
	var data []byte
	var digest string
	attempts, err := c.retry(ctx, "manifest of "+img.name, func() error {
		d, err := c.puller.Get(ctx, ref)
		if err == nil {
			data, digest = d.Manifest, d.Digest.String()
		}
		return err
	})
	if err != nil {
		return nil, "", c.fail(img, what, attempts, err)
	}
	if !validDigest(digest) {
		return nil, "", &PullError{Image: img.name, Registry: img.src.host, What: what, Err: fmt.Errorf("manifest digest %q is not sha256", digest)}
	}
	if len(data) > maxManifest {
		return nil, "", &PullError{Image: img.name, Registry: img.src.host, What: what, Err: fmt.Errorf("manifest of %d bytes is too large", len(data))}
	}
	if err := c.cache.put(digest, data); err != nil {
		return nil, "", err
	}
	return data, digest, nil
}

// openBlob starts one download of a blob; reading it to EOF verifies the
// digest.
func (c *client) openBlob(ctx context.Context, src origin, digest string) (io.ReadCloser, error) {
	l, err := c.puller.Layer(ctx, src.repo.Digest(digest))
	if err != nil {
		return nil, err
	}
	return l.Compressed()
}

// smallBlob returns a config blob, from the cache when it has it.
func (c *client) smallBlob(ctx context.Context, img *imageRef, digest string, size int64) ([]byte, error) {
	what := "config " + digest
	if size < 0 || size > maxConfig {
		return nil, &PullError{Image: img.name, What: what, Err: fmt.Errorf("size %d is out of range", size)}
	}
	if data, ok := c.cache.read(digest, size); ok && int64(len(data)) == size {
		return data, nil
	}
	var data []byte
	attempts, err := c.retry(ctx, what, func() error {
		rc, err := c.openBlob(ctx, img.src, digest)
		if err != nil {
			return err
		}
		defer rc.Close()
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(rc, size+1)); err != nil {
			return err
		}
		if int64(buf.Len()) != size {
			return permanent{fmt.Errorf("registry sent %d bytes, the manifest says %d", buf.Len(), size)}
		}
		// Read to EOF so the digest is checked.
		if _, err := io.Copy(io.Discard, rc); err != nil {
			return err
		}
		data = buf.Bytes()
		return nil
	})
	if err != nil {
		return nil, c.fail(img, what, attempts, err)
	}
	if err := c.cache.put(digest, data); err != nil {
		return nil, err
	}
	return data, nil
}
