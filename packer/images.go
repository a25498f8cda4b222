package packer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/sealpack/sealpack/packer/discover"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
)

// ErrDryRun ends a build whose image list was printed (--dry-run): nothing
// was pulled and no installer was written.
var ErrDryRun = errors.New("dry run: nothing pulled, no installer written")

// ImageOptions configure the image step of a build.
type ImageOptions struct {
	// KubeVersion is the Kubernetes version charts render for; empty: the
	// image's (etc/kubeadm.yaml, label), else the newest known.
	KubeVersion string
	// Add are extra references (--image-list files, read by the caller).
	Add []string
	// Ignore drops references matching these patterns (--ignore-image).
	Ignore []string
	// SkipExtras leaves out the references found only outside pod-spec
	// image fields (container args and env, YAML embedded in ConfigMaps,
	// custom resources), which are carried by default: the software pulls
	// them at run time, and an air-gapped site has nowhere to pull from.
	// The log names every extra either way, with where it was found.
	SkipExtras bool
	// Pull configures the pulls; its Platforms default to the build's.
	Pull pull.Options
	// DryRun, when set, receives the final list (one reference per line) and
	// the build stops with ErrDryRun before pulling anything.
	DryRun io.Writer
}

// NewImageStep returns the image step that finds every image the rootfs
// references (manifests, charts, images.txt, IMAGE lines), pulls those not
// inherited from FROM, and stores them as the OCI layout under images/.
func NewImageStep(o ImageOptions) ImageStep {
	return func(ctx context.Context, req ImageRequest) (ImageResult, error) {
		version, source := discover.KubeVersionFS(req.Rootfs, nil, o.KubeVersion)
		fmt.Fprintf(req.Log, "images: charts render for Kubernetes %s (%s)\n", version, source)
		found, err := discover.FindFS(ctx, req.Rootfs, discover.Options{KubeVersion: version, IncludeExtras: !o.SkipExtras})
		if err != nil {
			return ImageResult{}, err
		}
		for _, w := range found.Warnings {
			fmt.Fprintf(req.Log, "warning: %s: %s\n", w.Source, w.Message)
		}
		refs := found.Refs()
		for _, l := range req.Lines {
			n, err := discover.Normalize(l.Ref)
			if err != nil {
				return ImageResult{}, fmt.Errorf("%s: IMAGE %s: %w", l.Pos, l.Ref, err)
			}
			refs = append(refs, n)
		}
		refs, err = discover.Filter(refs, o.Add, o.Ignore)
		if err != nil {
			return ImageResult{}, err
		}
		reportExtras(req.Log, found.ExtraOnly(), refs, o.SkipExtras)
		if o.DryRun != nil {
			for _, r := range refs {
				fmt.Fprintln(o.DryRun, r)
			}
			return ImageResult{}, ErrDryRun
		}
		// Images the FROM installer carries are already in the rootfs.
		var todo []string
		for _, r := range refs {
			if !slices.ContainsFunc(req.Inherited, func(im payload.Image) bool { return im.Name == r }) {
				todo = append(todo, r)
			}
		}
		if len(todo) == 0 {
			return ImageResult{Images: req.Inherited}, nil
		}
		po := o.Pull
		if len(po.Platforms) == 0 {
			po.Platforms = []string{req.Platform}
		}
		if len(req.Inherited) > 0 {
			base, err := fs.ReadFile(req.Rootfs, pull.IndexFile)
			if err != nil {
				return ImageResult{}, fmt.Errorf("the FROM installer's images: %w", err)
			}
			po.Base = base
		}
		docs := map[string][]byte{}
		po.Docs = func(d string, data []byte) { docs[d] = data }
		files, images, err := pull.Store(ctx, todo, req.Writer, po)
		if err != nil {
			return ImageResult{}, explainExtras(err, found.ExtraOnly())
		}
		// The installer carries the inherited images and the new ones.
		for _, im := range req.Inherited {
			if !slices.ContainsFunc(images, func(n payload.Image) bool { return n.Name == im.Name }) {
				images = append(images, im)
			}
		}
		slices.SortFunc(images, func(a, b payload.Image) int { return strings.Compare(a.Name, b.Name) })
		return ImageResult{Files: files, Images: images, Docs: docs}, nil
	}
}
