package main

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sealpack/sealpack/internal/progress"
	"github.com/sealpack/sealpack/packer"
	"github.com/sealpack/sealpack/packer/discover"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
	"github.com/spf13/cobra"
)

// imageFlags are the build flags of the image step.
type imageFlags struct {
	dryRun        bool
	mirrors       []string
	insecure      []string
	auth          []string
	imageLists    []string
	ignore        []string
	kubeVersion   string
	skipExtras    bool
	includeExtras bool // deprecated, a no-op: extras are carried by default
	cacheDir      string
	jobs          int
}

func (f *imageFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the images the installer would carry (one per line on stdout) and stop: nothing is pulled or written (RUN instructions still run: what they write may name images)")
	fl.StringArrayVar(&f.mirrors, "registry-mirror", nil, "pull a registry's images from a mirror, keeping their names: docker.io=http://127.0.0.1:5000; repeatable")
	fl.StringArrayVar(&f.insecure, "insecure-registry", nil, "speak plain HTTP to this registry host (loopback always is); repeatable")
	fl.StringArrayVar(&f.auth, "registry-auth", nil, "credentials for a registry: HOST=USER:PASSWORD (else the docker config); repeatable")
	fl.StringArrayVar(&f.imageLists, "image-list", nil, "a file of extra image references, one per line; repeatable")
	fl.StringArrayVar(&f.ignore, "ignore-image", nil, "do not carry images matching this pattern (glob or prefix); repeatable")
	fl.StringVar(&f.kubeVersion, "kube-version", "", "Kubernetes version Helm charts render for (default: the image's, else the newest known)")
	fl.BoolVar(&f.skipExtras, "skip-extra-images", false, "do not carry images named only outside pod-spec image fields (container args and env, YAML embedded in ConfigMaps, custom resources); the build names each one it leaves out")
	// Kept, hidden, so that scripts written when extras were opt-in still
	// run; step says it is deprecated, on stderr. (cobra's MarkDeprecated
	// prints on the command's output, which may be stdout, and stdout of a
	// dry run holds nothing but image references.)
	fl.BoolVar(&f.includeExtras, "include-extra-images", false, "deprecated: extra images are carried by default")
	_ = fl.MarkHidden("include-extra-images") // fails only for an undefined flag
	fl.StringVar(&f.cacheDir, "cache-dir", "", "keep pulled layers in this blob cache, shared by builds (one more copy on disk; a rebuild to the same output reuses the old installer's layers without it)")
	fl.IntVar(&f.jobs, "jobs", 4, "parallel downloads")
}

// deprecatedIncludeExtras is said when --include-extra-images is given.
const deprecatedIncludeExtras = "warning: --include-extra-images is deprecated: extra images are carried by default now, so it does nothing; --skip-extra-images leaves them out"

// step builds the image step for platforms (the first is the installer's).
// The installer at output, when there is one, lends its layers: a rebuild
// downloads none it carried. quiet (-q) leaves out the pull's progress.
func (f *imageFlags) step(cmd *cobra.Command, platforms []string, output string, quiet bool) (packer.ImageStep, func(), error) {
	if cmd.Flags().Changed("include-extra-images") {
		fmt.Fprintln(cmd.ErrOrStderr(), deprecatedIncludeExtras)
	}
	o := packer.ImageOptions{KubeVersion: f.kubeVersion, Ignore: f.ignore, SkipExtras: f.skipExtras}
	for _, file := range f.imageLists {
		refs, err := discover.ReadImageList(file)
		if err != nil {
			return nil, nil, fmt.Errorf("--image-list: %w", err)
		}
		o.Add = append(o.Add, refs...)
	}
	if f.dryRun {
		o.DryRun = cmd.OutOrStdout()
		return packer.NewImageStep(o), func() {}, nil
	}
	o.Pull = pull.Options{Platforms: platforms, Insecure: f.insecure, Jobs: f.jobs, Mirrors: map[string]string{}, Auth: map[string]authn.Basic{},
		CacheDir: f.cacheDir}
	var prev *payload.Reader
	o.Pull.Reuse = func() []*payload.Reader {
		if r, err := payload.Open(output); err == nil {
			prev = r
			return []*payload.Reader{r}
		}
		return nil
	}
	closePrev := func() {
		if prev != nil {
			prev.Close()
		}
	}
	for _, m := range f.mirrors {
		reg, url, err := pull.ParseMirror(m)
		if err != nil {
			return nil, nil, err
		}
		o.Pull.Mirrors[reg] = url
	}
	for _, a := range f.auth {
		host, cred, err := pull.ParseAuth(a)
		if err != nil {
			return nil, nil, err
		}
		o.Pull.Auth[host] = cred
	}
	finish := closePrev
	switch {
	case quiet:
	case progress.IsTerminal(cmd.ErrOrStderr()):
		var bar func()
		o.Pull.OnProgress, bar = progress.Follow(cmd.ErrOrStderr(), "pulling images")
		finish = func() { bar(); closePrev() }
	default:
		o.Pull.Progress = cmd.ErrOrStderr()
	}
	return packer.NewImageStep(o), finish, nil
}

// splitPlatforms reads --platform: one platform, or several joined by ","
// for clusters of mixed hosts (the first is the installer program's).
func splitPlatforms(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if err := packer.ValidPlatform(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
