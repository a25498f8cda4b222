package packer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sealpack/sealpack/packer/kubefile"
	"github.com/sealpack/sealpack/payload"
)

// dirMetaFile is the metadata an extracted image directory may carry (written
// by `extract`): FROM of the directory inherits it besides the files. It is
// not part of the rootfs.
const dirMetaFile = ".sealpack.json"

// dirMeta is the content of dirMetaFile; its fields are named as in the
// payload index, so the index itself (in JSON) is a valid dirMeta.
type dirMeta struct {
	Platform string            `json:"platform"`
	Labels   map[string]string `json:"labels"`
	Env      []string          `json:"env"`
	Cmds     []string          `json:"cmds"`
	Apps     []payload.App     `json:"apps"`
	Launch   []string          `json:"launch"`
	Images   []payload.Image   `json:"images"`
}

// from sets up the base: nothing (scratch), another installer, an image
// directory, or an installer in a registry (IsRegistryRef, when no such
// path exists). Relative paths are relative to the build context.
func (b *builder) from(ctx context.Context, f kubefile.From) error {
	if f.Ref == "scratch" {
		return nil
	}
	p := f.Ref
	if !filepath.IsAbs(p) {
		p = filepath.Join(b.ctxDir, p)
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) && IsRegistryRef(f.Ref) {
		return b.fromRegistry(ctx, f)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return kubefile.Errorf(f.Pos, "FROM %s: no such installer or image directory (%s); use FROM scratch, a .run installer, an extracted image directory or a registry reference (registry.example.com/bases/k8s:v1.34)", f.Ref, p)
	}
	if err != nil {
		return kubefile.Errorf(f.Pos, "FROM %s: %w", f.Ref, err)
	}
	if st.IsDir() {
		return b.fromDir(f, p)
	}
	return b.fromInstaller(f, p)
}

func (b *builder) fromInstaller(f kubefile.From, p string) error {
	r, err := payload.Open(p)
	if err != nil {
		return kubefile.Errorf(f.Pos, "FROM %s: not a usable sealpack installer: %w", f.Ref, err)
	}
	b.base = r
	idx := r.Index()
	if idx.Platform != b.opts.Platform {
		return kubefile.Errorf(f.Pos, "FROM %s: the installer is for %s, this build is for %s (--platform)", f.Ref, idx.Platform, b.opts.Platform)
	}
	for _, file := range idx.Files {
		e := &entry{typ: file.Type, mode: file.Mode.Perm(), size: file.Size, blob: file.Digest, target: file.Target}
		if file.Type != payload.TypeFile {
			e.blob = ""
		}
		if err := b.root.put(file.Path, e, false); err != nil {
			return kubefile.Errorf(f.Pos, "FROM %s: %w", f.Ref, err)
		}
	}
	b.inherit(dirMeta{Labels: idx.Labels, Env: idx.Env, Cmds: idx.Cmds, Apps: idx.Apps, Launch: idx.Launch, Images: idx.Images})
	fmt.Fprintf(b.log, "  base %s: %d files, %d images, %d CMD lines\n", f.Ref, len(idx.Files), len(idx.Images), len(idx.Cmds))
	return nil
}

func (b *builder) fromDir(f kubefile.From, dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return kubefile.Errorf(f.Pos, "FROM %s: %w", f.Ref, err)
	}
	var meta dirMeta
	raw, err := os.ReadFile(filepath.Join(real, dirMetaFile))
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &meta); err != nil {
			return kubefile.Errorf(f.Pos, "FROM %s: %s: %w", f.Ref, dirMetaFile, err)
		}
		if meta.Platform != "" && meta.Platform != b.opts.Platform {
			return kubefile.Errorf(f.Pos, "FROM %s: the image is for %s, this build is for %s (--platform)", f.Ref, meta.Platform, b.opts.Platform)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return kubefile.Errorf(f.Pos, "FROM %s: %w", f.Ref, err)
	}
	skip := func(abs string) bool {
		return abs == filepath.Join(real, dirMetaFile) || b.excluded(abs)
	}
	if err := b.addTree(real, "", nil, skip); err != nil {
		return kubefile.Errorf(f.Pos, "FROM %s: %w", f.Ref, err)
	}
	b.inherit(meta)
	fmt.Fprintf(b.log, "  base %s: %d files\n", f.Ref, len(b.root.entries))
	return nil
}

func (b *builder) inherit(m dirMeta) {
	for k, v := range m.Labels {
		b.labels[k] = v
	}
	b.env = append(b.env, m.Env...)
	b.cmds = append(b.cmds, m.Cmds...)
	b.apps.inherit(m.Apps, m.Launch)
	b.inherited = append(b.inherited, m.Images...)
}
