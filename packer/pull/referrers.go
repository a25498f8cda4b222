package pull

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// AnnotationReferrers, on an image's entry in images/index.json, lists the
// digests (comma-separated) of the referrers carried with it: attestations,
// SBOMs, signatures that name the image as their OCI subject. They are not
// entries of their own, so that the embedded registry does not take them
// for images; each manifest's subject says what it refers to.
const AnnotationReferrers = "dev.sealpack.referrers"

// maxReferrers bounds the referrers carried per manifest.
const maxReferrers = 64

// addReferrers finds the referrers of r's manifests (the index's and every
// platform's it carries) through the OCI referrers API, or its tag-schema
// fallback, and adds their manifests, configs and layers to r, all kept in
// memory (they are small documents). A registry that cannot list them is
// warned about, not fatal: a build must not depend on optional extras.
func (c *client) addReferrers(ctx context.Context, r *resolved) error {
	for _, subject := range r.subjects {
		var list []string
		_, err := c.retry(ctx, "referrers of "+r.ref.name, func() error {
			idx, err := remote.Referrers(r.ref.src.repo.Digest(subject), remote.Reuse(c.puller), remote.WithContext(ctx))
			if err != nil {
				return err
			}
			m, err := idx.IndexManifest()
			if err != nil {
				return err
			}
			list = list[:0]
			for _, d := range m.Manifests {
				list = append(list, d.Digest.String())
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.printf("warning: %s: cannot list the referrers of %s (attestations not carried): %s", r.ref.name, subject, describe(err))
			continue
		}
		sort.Strings(list) // the registry's order is not the same every time
		if len(list) > maxReferrers {
			return &PullError{Image: r.ref.name, Err: fmt.Errorf("%d referrers of %s, more than %d", len(list), subject, maxReferrers)}
		}
		for _, d := range list {
			if err := c.addReferrer(ctx, r, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// addReferrer adds one referrer manifest and its blobs.
func (c *client) addReferrer(ctx context.Context, r *resolved, digest string) error {
	if !validDigest(digest) {
		return &PullError{Image: r.ref.name, Err: fmt.Errorf("referrer %q: not a sha256 digest", digest)}
	}
	if slices.Contains(r.refs, digest) {
		return nil // a referrer of two of the image's manifests
	}
	data, _, err := c.manifest(ctx, r.ref, digest)
	if err != nil {
		return err
	}
	m, err := parseManifest(data)
	if err != nil {
		return &PullError{Image: r.ref.name, What: "referrer " + digest, Err: err}
	}
	if m.isIndex() {
		return &PullError{Image: r.ref.name, What: "referrer " + digest, Err: errors.New("an index as a referrer is not supported")}
	}
	r.refs = append(r.refs, digest)
	r.extra = append(r.extra, &blob{digest: digest, size: int64(len(data)), mediaType: m.MediaType, data: data, ref: r.ref})
	for _, d := range append([]descDoc{{m.Config.Digest.String(), m.Config.Size}}, layerDocs(m)...) {
		if !validDigest(d.digest) {
			return &PullError{Image: r.ref.name, Err: fmt.Errorf("referrer %s: blob %q: not a sha256 digest", digest, d.digest)}
		}
		b, err := c.smallBlob(ctx, r.ref, d.digest, d.size)
		if err != nil {
			return err
		}
		r.extra = append(r.extra, &blob{digest: d.digest, size: d.size, data: b, ref: r.ref})
	}
	return nil
}

type descDoc struct {
	digest string
	size   int64
}

func layerDocs(m *manifestDoc) []descDoc {
	out := make([]descDoc, 0, len(m.Layers))
	for _, l := range m.Layers {
		out = append(out, descDoc{l.Digest.String(), l.Size})
	}
	return out
}

// referrerList is the AnnotationReferrers value for r ("" for none).
func referrerList(r *resolved) string { return strings.Join(r.refs, ",") }

// keepDocs hands every document of res held in memory, and the layout's
// index.json, to keep (Options.Docs).
func keepDocs(keep func(string, []byte), res []*resolved, indexDigest string, index []byte) {
	if keep == nil {
		return
	}
	for _, r := range res {
		for _, b := range slices.Concat(r.blobs, r.extra) {
			if b.data != nil {
				keep(b.digest, b.data)
			}
		}
	}
	keep(indexDigest, index)
}
