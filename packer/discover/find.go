package discover

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
)

// Options tune Find.
type Options struct {
	// KubeVersion is the Kubernetes version charts render for ("v1.30.4");
	// empty means DefaultKubeVersion. See KubeVersion.
	KubeVersion string
	// IncludeExtras adds the extras (references outside pod-spec image
	// fields) to Result.Images. sealpack build sets it unless told
	// --skip-extra-images; the library leaves the guesses out unless asked.
	IncludeExtras bool
}

// Find walks the rootfs at root and returns every image it references:
//   - the pod-spec images of every *.yaml / *.yml document (workload kinds by
//     their pod-spec path, *List kinds item by item, and any other object's
//     containers lists in a pod-spec shape); documents that do not parse are
//     skipped with a warning;
//   - the same for every Helm chart (a directory with Chart.yaml, or a
//     packaged .tgz) rendered with its default values for opts.KubeVersion;
//     its files are not read as plain YAML;
//   - every entry of every images.txt.
//
// It fails on I/O errors, an invalid images.txt entry, and a chart that does
// not render: those images would be missing from the installer.
func Find(ctx context.Context, root string, opts Options) (*Result, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("image discovery: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("image discovery: %s is not a directory", root)
	}
	return FindFS(ctx, os.DirFS(root), opts)
}

// FindFS is Find over a file system (the build's view of its rootfs, which
// need not exist as a directory).
func FindFS(ctx context.Context, fsys fs.FS, opts Options) (*Result, error) {
	kv := opts.KubeVersion
	if kv == "" {
		kv = DefaultKubeVersion
	}
	caps, err := capabilities(kv)
	if err != nil {
		return nil, err
	}
	w := &finder{fsys: fsys, caps: caps, c: newCollector()}
	if err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("image discovery: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return w.visit(p, d)
	}); err != nil {
		return nil, err
	}
	r := w.c.result(opts.IncludeExtras)
	r.KubeVersion = caps.KubeVersion.String()
	return r, nil
}

type finder struct {
	fsys fs.FS
	caps *chartutil.Capabilities
	c    *collector
}

func (w *finder) visit(p string, d fs.DirEntry) error {
	rel := p
	if d.IsDir() {
		if w.exists(path.Join(p, "oci-layout")) {
			return fs.SkipDir // an OCI image layout (images/): blobs, no manifests
		}
		if w.exists(path.Join(p, "Chart.yaml")) {
			if err := w.chart(p, rel); err != nil {
				return err
			}
			return fs.SkipDir // templates/ are not plain YAML
		}
		return nil
	}
	// Symlinks are skipped: a target inside the rootfs is read where it is.
	if !d.Type().IsRegular() {
		return nil
	}
	name := d.Name()
	switch ext := strings.ToLower(path.Ext(name)); {
	case name == "images.txt":
		return w.imagesTxt(p, rel)
	case ext == ".yaml" || ext == ".yml":
		data, err := fs.ReadFile(w.fsys, p)
		if err != nil {
			return fmt.Errorf("image discovery: %w", err)
		}
		w.c.scanStream(data, Source{File: rel})
	case (ext == ".tgz" || strings.HasSuffix(name, ".tar.gz")) && isChartArchive(w.fsys, p):
		return w.chart(p, rel)
	}
	return nil
}

func (w *finder) chart(p, rel string) error {
	files, err := renderChart(w.fsys, p, w.caps)
	if err != nil {
		return fmt.Errorf("helm chart %s: %w", rel, err)
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		w.c.scanStream([]byte(files[name]), Source{File: rel, Template: name})
	}
	return nil
}

func (w *finder) imagesTxt(p, rel string) error {
	data, err := fs.ReadFile(w.fsys, p)
	if err != nil {
		return fmt.Errorf("image discovery: %w", err)
	}
	entries, err := parseImageList(data, rel)
	if err != nil {
		return err
	}
	for _, e := range entries {
		w.c.add(false, e.ref, Source{File: rel, Doc: -1, Line: e.line, Raw: e.raw})
	}
	return nil
}

func (w *finder) exists(p string) bool {
	_, err := fs.Stat(w.fsys, p)
	return err == nil
}
