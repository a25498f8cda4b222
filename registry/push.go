package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/sealpack/sealpack/payload"
)

// PushOptions configures Push.
type PushOptions struct {
	// Username and Password log in with basic credentials; when Username is
	// empty, credentials come from the docker config (~/.docker/config.json,
	// $DOCKER_CONFIG, credential helpers), else the push is anonymous.
	Username, Password string
	// Insecure allows plain HTTP and unverified TLS. Loopback registries are
	// spoken to over plain HTTP without it.
	Insecure bool
	// RootCAs, when not nil, are the CAs the registry's certificate is
	// checked against instead of the system's.
	RootCAs *x509.CertPool
	// Jobs is the number of blobs uploaded at once (default 4).
	Jobs int
	// Out receives one line per step; nil discards them.
	Out io.Writer
}

// pushItem is one image to push and where.
type pushItem struct {
	img  image
	dest name.Reference
}

// Push copies every image carried by r into the registry target
// ("harbor.corp:443/project" or "127.0.0.1:5000"), under the repository path
// of each image (docker.io/library/nginx:1.27 goes to
// <target>/library/nginx:1.27), keeping digests. It stops at the first image
// that fails; pushing again skips the blobs already there.
func Push(ctx context.Context, s Store, target string, opts PushOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	cat, err := loadCatalog(s)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	items, err := planPush(cat, target, opts.Insecure)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	if len(items) == 0 {
		fmt.Fprintln(out, "push: the installer carries no images")
		return nil
	}
	ropts := remoteOptions(ctx, opts)
	for i, it := range items {
		fmt.Fprintf(out, "[%d/%d] %s -> %s (%s)\n", i+1, len(items), it.img.Ref, it.dest, payload.HumanBytes(cat.size(it.img.Descriptor.Digest, 0)))
		start := time.Now()
		dg, err := pushOne(cat, it, out, ropts)
		if err != nil {
			return fmt.Errorf("pushing %s to %s: %w%s", it.img.Ref, it.dest, err, hint(err))
		}
		fmt.Fprintf(out, "[%d/%d] pushed %s@%s in %s\n", i+1, len(items), it.dest.Context(), dg, time.Since(start).Round(time.Millisecond))
	}
	fmt.Fprintf(out, "pushed %d images to %s\n", len(items), target)
	return nil
}

// hint says what to do about a refusal the user can fix.
func hint(err error) string {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return ""
	}
	switch terr.StatusCode {
	case http.StatusUnauthorized:
		return " (credentials missing or refused: give --username and --password, or log in with docker login)"
	case http.StatusForbidden:
		return " (the credentials may not push there: check the project and the account's role)"
	}
	return ""
}

// planPush names the destination of every image and refuses two images that
// would land on the same tag.
func planPush(cat *catalog, target string, insecure bool) ([]pushItem, error) {
	host, prefix, err := splitTarget(target)
	if err != nil {
		return nil, err
	}
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	var items []pushItem
	seen := map[string]image{}
	for _, img := range cat.images {
		repo := host + "/" + strings.TrimPrefix(prefix+"/"+img.Path, "/")
		var ref name.Reference
		if img.Tag != "" {
			ref, err = name.NewTag(repo+":"+img.Tag, nopts...)
		} else {
			ref, err = name.NewDigest(repo+"@"+img.Descriptor.Digest, nopts...)
		}
		if err != nil {
			return nil, fmt.Errorf("image %s: destination: %w", img.Ref, err)
		}
		key := ref.String()
		if prev, dup := seen[key]; dup {
			if prev.Descriptor.Digest == img.Descriptor.Digest {
				continue // the same image under two source names
			}
			return nil, fmt.Errorf("%s and %s would both be pushed to %s: push them to different targets", prev.Ref, img.Ref, key)
		}
		seen[key] = img
		items = append(items, pushItem{img: img, dest: ref})
	}
	return items, nil
}

// splitTarget splits "host[:port][/prefix]" (a scheme is tolerated).
func splitTarget(target string) (host, prefix string, err error) {
	t := strings.TrimSuffix(target, "/")
	t = strings.TrimPrefix(strings.TrimPrefix(t, "https://"), "http://")
	host, prefix, _ = strings.Cut(t, "/")
	if host == "" {
		return "", "", fmt.Errorf("target %q: no registry host", target)
	}
	if _, err := name.NewRegistry(host, name.StrictValidation); err != nil {
		return "", "", fmt.Errorf("target %q: %w", target, err)
	}
	if prefix != "" {
		if _, err := name.NewRepository(host+"/"+prefix, name.StrictValidation); err != nil {
			return "", "", fmt.Errorf("target %q: repository prefix %q: %w", target, prefix, err)
		}
	}
	return host, prefix, nil
}

func remoteOptions(ctx context.Context, opts PushOptions) []remote.Option {
	tr := remote.DefaultTransport.(*http.Transport).Clone()
	switch {
	case opts.Insecure:
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it (--insecure)
	case opts.RootCAs != nil:
		tr.TLSClientConfig = &tls.Config{RootCAs: opts.RootCAs, MinVersion: tls.VersionTLS12}
	}
	ro := []remote.Option{remote.WithContext(ctx), remote.WithTransport(tr), remote.WithUserAgent("sealpack")}
	if opts.Jobs > 0 {
		ro = append(ro, remote.WithJobs(opts.Jobs))
	}
	if opts.Username != "" {
		ro = append(ro, remote.WithAuth(&authn.Basic{Username: opts.Username, Password: opts.Password}))
	} else {
		ro = append(ro, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	return ro
}

// pushOne pushes one image and returns the digest it was pushed as.
//
// Registries refuse an index whose manifests are not all present
// (distribution answers MANIFEST_BLOB_UNKNOWN), so an index is pushed whole
// only when every platform it names is carried; else the one carried
// platform's manifest goes under the tag, or, for several, an index of just
// those. Both change the digest the tag points to, which the log says.
func pushOne(cat *catalog, it pushItem, out io.Writer, ro []remote.Option) (string, error) {
	d := it.img.Descriptor
	m, err := cat.manifest(d.Digest)
	if err != nil {
		return "", err
	}
	if !m.isIndex() {
		img, err := cat.image(d)
		if err != nil {
			return "", err
		}
		return d.Digest, remote.Write(it.dest, img, ro...)
	}
	if cat.complete(d.Digest, 0) {
		raw, err := cat.readManifest(d.Digest)
		if err != nil {
			return "", err
		}
		idx, err := newPayloadIndex(cat, raw, mediaTypeOf(d, m))
		if err != nil {
			return "", err
		}
		return d.Digest, remote.WriteIndex(it.dest, idx, ro...)
	}
	var carried []descriptor
	var names []string
	for _, child := range m.Manifests {
		if cat.complete(child.Digest, 1) {
			carried = append(carried, child)
			names = append(names, child.Platform.String())
		}
	}
	switch len(carried) {
	case 0:
		return "", fmt.Errorf("index %s: none of its %d manifests is carried whole", d.Digest, len(m.Manifests))
	case 1:
		child := carried[0]
		if _, byDigest := it.dest.(name.Digest); byDigest {
			it.dest = it.dest.Context().Digest(child.Digest)
		}
		fmt.Fprintf(out, "  %s is carried for %s only (of %d platforms): pushed as that platform's manifest %s instead of the index %s\n",
			it.img.Ref, names[0], len(m.Manifests), child.Digest, d.Digest)
		cm, err := cat.manifest(child.Digest)
		if err != nil {
			return "", err
		}
		if cm.isIndex() {
			raw, err := cat.readManifest(child.Digest)
			if err != nil {
				return "", err
			}
			idx, err := newPayloadIndex(cat, raw, mediaTypeOf(child, cm))
			if err != nil {
				return "", err
			}
			return child.Digest, remote.WriteIndex(it.dest, idx, ro...)
		}
		img, err := cat.image(child)
		if err != nil {
			return "", err
		}
		return child.Digest, remote.Write(it.dest, img, ro...)
	default:
		idx, err := trimIndex(cat, d, carried)
		if err != nil {
			return "", err
		}
		h, err := idx.Digest()
		if err != nil {
			return "", err
		}
		if _, byDigest := it.dest.(name.Digest); byDigest {
			it.dest = it.dest.Context().Digest(h.String())
		}
		fmt.Fprintf(out, "  %s is carried for %s (of %d platforms): pushed as an index of those, %s instead of %s\n",
			it.img.Ref, strings.Join(names, ", "), len(m.Manifests), h, d.Digest)
		return h.String(), remote.WriteIndex(it.dest, idx, ro...)
	}
}

// trimIndex rewrites index d to list only the carried manifests, keeping
// every other field as it was.
func trimIndex(cat *catalog, d descriptor, carried []descriptor) (*payloadIndex, error) {
	raw, err := cat.readManifest(d.Digest)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("index %s: %w", d.Digest, err)
	}
	var all []json.RawMessage
	if err := json.Unmarshal(fields["manifests"], &all); err != nil {
		return nil, fmt.Errorf("index %s: manifests: %w", d.Digest, err)
	}
	keep := map[string]bool{}
	for _, c := range carried {
		keep[c.Digest] = true
	}
	var kept []json.RawMessage
	for _, e := range all {
		var desc descriptor
		if err := json.Unmarshal(e, &desc); err != nil {
			return nil, fmt.Errorf("index %s: manifests: %w", d.Digest, err)
		}
		if keep[desc.Digest] {
			kept = append(kept, e)
		}
	}
	if fields["manifests"], err = json.Marshal(kept); err != nil {
		return nil, err
	}
	trimmed, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	m, _ := cat.manifest(d.Digest)
	return newPayloadIndex(cat, trimmed, mediaTypeOf(d, m))
}

// size is the number of bytes of the carried blobs that manifest d reaches.
func (c *catalog) size(d string, depth int) int64 {
	n, ok := c.s.Stat(d)
	if !ok || depth > maxIndexDepth {
		return 0
	}
	m, err := c.manifest(d)
	if err != nil {
		return n
	}
	var blobs []descriptor
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, l := range append(blobs, m.Layers...) {
		if size, ok := c.s.Stat(l.Digest); ok {
			n += size
		}
	}
	for _, child := range m.Manifests {
		n += c.size(child.Digest, depth+1)
	}
	return n
}
