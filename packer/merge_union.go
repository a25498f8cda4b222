package packer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
)

// union is what the merged installer carries, with where each part came from.
type union struct {
	files     map[string]owned
	blobsFrom [][]string // per input: the digests of the files it gives first
	labels    map[string]string
	env       []string
	cmds      []string
	images    []payload.Image
	apps      []payload.App
	launch    []string
	layout    *v1.IndexManifest // images/index.json, the union of the inputs'
	layoutRaw []byte            // as stored, once addLayoutIndex ran
	notes     []string
}

type owned struct {
	f    payload.File
	from string
}

func unite(ins []input) (*union, error) {
	u := &union{files: map[string]owned{}, blobsFrom: make([][]string, len(ins)), labels: map[string]string{}}
	imageFrom := map[string]owned{}
	for i, in := range ins {
		idx := in.r.Index()
		for _, f := range idx.Files {
			if f.Path == pull.IndexFile {
				continue // written anew from the union below
			}
			if err := u.addFile(i, in.name, f); err != nil {
				return nil, err
			}
		}
		for _, im := range idx.Images {
			prev, ok := imageFrom[im.Name]
			switch {
			case !ok:
				imageFrom[im.Name] = owned{f: payload.File{Digest: im.Digest}, from: in.name}
				u.images = append(u.images, im)
			case prev.f.Digest != im.Digest:
				return nil, fmt.Errorf("image %s: %s carries %s, %s carries %s: rebuild one of them so that both carry the same",
					im.Name, prev.from, prev.f.Digest, in.name, im.Digest)
			}
		}
		if err := u.addApps(in.name, idx); err != nil {
			return nil, err
		}
		if err := u.addLayout(in); err != nil {
			return nil, err
		}
		for k, v := range idx.Labels {
			u.labels[k] = v
		}
		u.env = mergeEnv(u.env, idx.Env)
		u.addCmds(in.name, idx.Cmds)
	}
	return u, nil
}

// addFile adds one rootfs entry of input i. The same path may come from
// several inputs (two apps FROM one base) when it is the same thing.
func (u *union) addFile(i int, name string, f payload.File) error {
	prev, ok := u.files[f.Path]
	if !ok {
		u.files[f.Path] = owned{f: f, from: name}
		if f.Type == payload.TypeFile && f.Digest != "" {
			u.blobsFrom[i] = append(u.blobsFrom[i], f.Digest)
		}
		return nil
	}
	p := prev.f
	switch {
	case p.Type != f.Type:
		return fmt.Errorf("%s: a %s in %s, a %s in %s", f.Path, p.Type, prev.from, f.Type, name)
	case p.Type == payload.TypeDir:
		return nil // directories merge; the first one's mode stays
	case p.Digest != f.Digest:
		return fmt.Errorf("%s: %s and %s carry different content (%s and %s); rename it in one, or build both FROM one base that has it",
			f.Path, prev.from, name, p.Digest, f.Digest)
	case p.Target != f.Target:
		return fmt.Errorf("%s: a symlink to %s in %s, to %s in %s", f.Path, p.Target, prev.from, f.Target, name)
	case p.Mode != f.Mode:
		return fmt.Errorf("%s: mode %v in %s, %v in %s", f.Path, p.Mode, prev.from, f.Mode, name)
	}
	return nil
}

// addApps adds an input's applications: an app of a name another input has
// must be the same app; the default launch lists follow each other.
func (u *union) addApps(name string, idx *payload.Index) error {
	for _, a := range idx.Apps {
		i := slices.IndexFunc(u.apps, func(b payload.App) bool { return b.Name == a.Name })
		switch {
		case i < 0:
			u.apps = append(u.apps, a)
		case u.apps[i].Kind != a.Kind || u.apps[i].Size != a.Size || !slices.Equal(u.apps[i].Launch, a.Launch):
			return fmt.Errorf("app %s: %s carries another app of that name than an earlier installer", a.Name, name)
		}
	}
	for _, l := range idx.Launch {
		if !slices.Contains(u.launch, l) {
			u.launch = append(u.launch, l)
		}
	}
	return nil
}

// addLayout adds the input's images/index.json entries, named by the image
// reference they carry.
func (u *union) addLayout(in input) error {
	if _, ok := in.r.File(pull.IndexFile); !ok {
		return nil
	}
	raw, err := in.r.ReadFile(pull.IndexFile)
	if err != nil {
		return fmt.Errorf("%s: %s: %w", in.name, pull.IndexFile, err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return fmt.Errorf("%s: %s: %w", in.name, pull.IndexFile, err)
	}
	if u.layout == nil {
		u.layout = &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{}}
	}
	for _, d := range idx.Manifests {
		ref := d.Annotations[pull.AnnotationRef]
		dup := false
		for _, have := range u.layout.Manifests {
			if have.Annotations[pull.AnnotationRef] == ref && ref != "" {
				dup = true
				if have.Digest != d.Digest {
					return fmt.Errorf("image %s: two of the installers carry different manifests (%s, and %s in %s)", ref, have.Digest, d.Digest, in.name)
				}
			}
		}
		if !dup {
			u.layout.Manifests = append(u.layout.Manifests, d)
		}
	}
	return nil
}

// addLayoutIndex stores the merged images/index.json.
func (u *union) addLayoutIndex(ctx context.Context, w *payload.Writer) error {
	if u.layout == nil {
		return nil
	}
	sort.SliceStable(u.layout.Manifests, func(i, j int) bool {
		return u.layout.Manifests[i].Annotations[pull.AnnotationRef] < u.layout.Manifests[j].Annotations[pull.AnnotationRef]
	})
	raw, err := json.MarshalIndent(u.layout, "", "  ")
	if err != nil {
		return err
	}
	raw = append(raw, '\n')
	u.layoutRaw = raw
	ds, err := w.Add(ctx, []payload.Source{{Name: pull.IndexFile, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}}})
	if err != nil {
		return err
	}
	u.files[pull.IndexFile] = owned{f: payload.File{Path: pull.IndexFile, Type: payload.TypeFile, Mode: 0o644, Size: int64(len(raw)), Digest: ds[0]}}
	return nil
}

// addCmds appends an input's CMD lines. A line that an earlier input runs
// already (both built FROM one base) runs once, where it first came.
func (u *union) addCmds(name string, cmds []string) {
	for _, c := range cmds {
		if slices.Contains(u.cmds, c) {
			u.notes = append(u.notes, fmt.Sprintf("  CMD %s of %s runs once: an earlier installer has it", c, name))
			continue
		}
		u.cmds = append(u.cmds, c)
	}
}

// mergeEnv adds KEY=value entries; a later value of a key replaces the
// earlier one in its place.
func mergeEnv(have, add []string) []string {
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, h := range have {
			if hk, _, _ := strings.Cut(h, "="); hk == k {
				have[i], replaced = kv, true
			}
		}
		if !replaced {
			have = append(have, kv)
		}
	}
	return have
}

func (u *union) fileList() []payload.File {
	out := make([]payload.File, 0, len(u.files))
	for _, o := range u.files {
		out = append(out, o.f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// read returns a blob of the merged installer by digest, for its bill: the
// new images/index.json, else from the first input that carries it.
func (u *union) read(ins []input) func(string) ([]byte, error) {
	return func(d string) ([]byte, error) {
		if f, ok := u.files[pull.IndexFile]; ok && f.f.Digest == d {
			return u.layoutRaw, nil
		}
		for _, in := range ins {
			if _, ok := in.r.Blob(d); ok {
				rc, err := in.r.Open(d)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", in.name, err)
				}
				defer rc.Close()
				return io.ReadAll(rc)
			}
		}
		return nil, fmt.Errorf("%s is in none of the installers", d)
	}
}
