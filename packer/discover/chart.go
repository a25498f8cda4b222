package discover

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// Release name and namespace of the render, as `helm template release
// CHART --namespace default` (how the corpus expected lists were made).
const (
	releaseName      = "release"
	releaseNamespace = "default"
)

// capabilities are Helm's client-only capabilities with the Kubernetes
// version set: Helm's default claims v1.20 (its own build sets it with
// ldflags), and charts with a kubeVersion constraint refuse that.
func capabilities(kubeVersion string) (*chartutil.Capabilities, error) {
	kv, err := chartutil.ParseKubeVersion(kubeVersion)
	if err != nil {
		return nil, fmt.Errorf("kubernetes version %q: %w", kubeVersion, err)
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	return caps, nil
}

// renderChart renders a chart directory or archive with its default values,
// as `helm template` does (hooks and test hooks included, NOTES.txt not),
// and returns the rendered templates by name.
func renderChart(fsys fs.FS, chartPath string, caps *chartutil.Capabilities) (map[string]string, error) {
	ch, err := loadChart(fsys, chartPath)
	if err != nil {
		return nil, fmt.Errorf("loading chart: %w", err)
	}
	if err := checkDependencies(ch); err != nil {
		return nil, err
	}
	if c := ch.Metadata.KubeVersion; c != "" && !chartutil.IsCompatibleRange(c, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart %s requires kubeVersion %s, which Kubernetes %s does not meet (set --kube-version)",
			ch.Name(), c, caps.KubeVersion.String())
	}
	vals := map[string]any{}
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, fmt.Errorf("chart %s dependencies: %w", ch.Name(), err)
	}
	opts := chartutil.ReleaseOptions{Name: releaseName, Namespace: releaseNamespace, Revision: 1, IsInstall: true}
	values, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, opts, caps, false)
	if err != nil {
		return nil, fmt.Errorf("chart %s values: %w", ch.Name(), err)
	}
	files, err := engine.Render(ch, values)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s: %w", ch.Name(), err)
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") {
			delete(files, name)
		}
	}
	return files, nil
}

// checkDependencies fails when Chart.yaml names a dependency that is not in
// charts/: the render would silently lack its images (helm template refuses
// too).
func checkDependencies(ch *chart.Chart) error {
	var missing []string
	for _, dep := range ch.Metadata.Dependencies {
		if !slices.ContainsFunc(ch.Dependencies(), func(c *chart.Chart) bool { return c.Name() == dep.Name }) {
			missing = append(missing, dep.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("chart %s: dependencies %s are in Chart.yaml but missing in charts/ (run helm dependency build)",
			ch.Name(), strings.Join(missing, ", "))
	}
	return nil
}

// isChartArchive reports whether a .tgz is a packaged Helm chart. Helm
// writes Chart.yaml first, so only the first entry is read: other archives
// in the rootfs (CNI plugins, binaries) are not decompressed.
func isChartArchive(fsys fs.FS, file string) bool {
	f, err := fsys.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return false
	}
	hdr, err := tar.NewReader(zr).Next()
	if err != nil {
		return false
	}
	dir, base := path.Split(strings.TrimPrefix(hdr.Name, "./"))
	return base == "Chart.yaml" && dir != "" && strings.Count(dir, "/") == 1
}

// loadChart loads a chart directory or archive from fsys, as loader.Load
// does from a path.
func loadChart(fsys fs.FS, p string) (*chart.Chart, error) {
	st, err := fs.Stat(fsys, p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		f, err := fsys.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return loader.LoadArchive(f)
	}
	var files []*loader.BufferedFile
	err = fs.WalkDir(fsys, p, func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		rel := name
		if p != "." {
			rel = strings.TrimPrefix(name, p+"/")
		}
		files = append(files, &loader.BufferedFile{Name: rel, Data: data})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loader.LoadFiles(files)
}
