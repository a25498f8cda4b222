package packer

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// buildBase writes testdata/base (with a multi-chunk text file and a random
// one) as an installer and returns its path.
func buildBase(t *testing.T) string {
	t.Helper()
	ctxDir := testContext(t, "base")
	writeBig(t, filepath.Join(ctxDir, "share", "big.txt"), 9<<20)
	writeRandom(t, filepath.Join(ctxDir, "share", "random.bin"), 1<<20)
	out := filepath.Join(t.TempDir(), "base.run")
	mustBuild(t, opts(ctxDir, out))
	return out
}

func TestFromInstaller(t *testing.T) {
	base := buildBase(t)
	ctxDir := testContext(t, "child")
	out := filepath.Join(t.TempDir(), "child.run")
	o := opts(ctxDir, out)
	o.BuildArgs = map[string]string{"BASE": base}
	var log strings.Builder
	o.Log = &log
	mustBuild(t, o)
	// The RUN changed data.txt only: the other base files are copied as they
	// are stored (after being written out for the RUN and found unchanged).
	if !strings.Contains(log.String(), ": 2 files to compress, 3 stored from the base") {
		t.Errorf("log does not show 2 files compressed and 3 copied:\n%s", log.String())
	}

	br, r := open(t, base), open(t, out)
	idx := r.Index()
	checkGolden(t, "child.golden", listing(idx))
	if got := readFile(t, r, "share/data.txt"); got != "base data\nchanged\n" {
		t.Errorf("data.txt %q, want the RUN's change", got)
	}
	// Blobs the RUN did not touch are copied as stored: same chunks, same
	// hashes of the stored bytes (never recompressed).
	for _, p := range []string{"share/big.txt", "share/random.bin", "bin/tool"} {
		bf, _ := br.File(p)
		cf, _ := r.File(p)
		if bf == nil || cf == nil || bf.Digest != cf.Digest {
			t.Fatalf("%s: base %v, child %v", p, bf, cf)
		}
		bb, _ := br.Blob(bf.Digest)
		cb, _ := r.Blob(cf.Digest)
		if len(bb.Chunks) != len(cb.Chunks) {
			t.Fatalf("%s: %d chunks in the base, %d in the child", p, len(bb.Chunks), len(cb.Chunks))
		}
		for i := range bb.Chunks {
			if bb.Chunks[i].SHA256 != cb.Chunks[i].SHA256 || bb.Chunks[i].Zstd != cb.Chunks[i].Zstd {
				t.Errorf("%s chunk %d was stored differently", p, i)
			}
		}
	}
	if bf, _ := r.File("share/big.txt"); bf != nil {
		if b, _ := r.Blob(bf.Digest); len(b.Chunks) < 2 {
			t.Errorf("big.txt has %d chunks; the test wants several", len(b.Chunks))
		}
	}
	if err := r.Verify(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// The base's ENV takes part in expansions and RUN; its labels, CMDs and
// images carry over, CMDs first.
func TestFromInstallerInherits(t *testing.T) {
	base := buildBase(t)
	ctxDir := t.TempDir()
	kf := "FROM " + base + "\nLABEL seen=$BASE_HOME\nRUN test \"$PATH_EXTRA\" = /base/bin\nCMD echo mine\n"
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte(kf), 0o644)
	out := filepath.Join(t.TempDir(), "x.run")
	mustBuild(t, opts(ctxDir, out))
	idx := open(t, out).Index()
	if idx.Labels["seen"] != "/base" || idx.Labels["base.only"] != "yes" {
		t.Errorf("labels %v", idx.Labels)
	}
	if want := []string{"echo base-first", "echo base-second", "echo mine"}; !reflect.DeepEqual(idx.Cmds, want) {
		t.Errorf("cmds %q, want %q", idx.Cmds, want)
	}
	if want := []string{"BASE_HOME=/base", "PATH_EXTRA=/base/bin"}; !reflect.DeepEqual(idx.Env, want) {
		t.Errorf("env %q, want %q", idx.Env, want)
	}
}

func TestFromDirectory(t *testing.T) {
	base := buildBase(t)
	br := open(t, base)
	for _, withMeta := range []bool{true, false} {
		name := "files-only"
		if withMeta {
			name = "with-metadata"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "image")
			if err := br.Extract(context.Background(), dir, nil); err != nil {
				t.Fatal(err)
			}
			if withMeta {
				idx := br.Index()
				// extract's metadata has the index's field names; the index itself fits.
				raw, _ := json.Marshal(idx)
				os.WriteFile(filepath.Join(dir, ".sealpack.json"), raw, 0o644)
			}
			ctxDir := t.TempDir()
			os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM ../image-link\nLABEL own=1\nCMD echo mine\n"), 0o644)
			// FROM is relative to the context; it may lie outside it.
			if err := os.Symlink(dir, filepath.Join(ctxDir, "..", "image-link")); err != nil && !os.IsExist(err) {
				t.Fatal(err)
			}
			out := filepath.Join(t.TempDir(), "fromdir.run")
			mustBuild(t, opts(ctxDir, out))
			r := open(t, out)
			idx := r.Index()
			if _, ok := r.File(".sealpack.json"); ok {
				t.Error(".sealpack.json became part of the rootfs")
			}
			for _, p := range []string{"bin/tool", "share/big.txt", "share/data.txt", "tool-link"} {
				bf, _ := br.File(p)
				cf, ok := r.File(p)
				if !ok || cf.Digest != bf.Digest || cf.Mode != bf.Mode || cf.Type != bf.Type || cf.Target != bf.Target {
					t.Errorf("%s: got %+v, base %+v", p, cf, bf)
				}
			}
			if withMeta {
				if idx.Labels["base.only"] != "yes" || idx.Labels["own"] != "1" || len(idx.Cmds) != 3 {
					t.Errorf("metadata not inherited: labels %v cmds %q", idx.Labels, idx.Cmds)
				}
			} else if len(idx.Labels) != 1 || len(idx.Cmds) != 1 {
				t.Errorf("labels %v cmds %q: only the Kubefile's expected", idx.Labels, idx.Cmds)
			}
		})
	}
}

func TestFromWrongPlatform(t *testing.T) {
	base := buildBase(t)
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Kubefile"), []byte("FROM "+base+"\n"), 0o644)
	o := opts(ctxDir, filepath.Join(t.TempDir(), "arm.run"))
	o.Platform = "linux/arm64"
	_, err := Build(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "Kubefile:1: FROM") || !strings.Contains(err.Error(), "is for linux/amd64, this build is for linux/arm64") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(o.Output); err == nil {
		t.Error("output written")
	}
}
