package artifact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
)

func TestPushPullByteIdentical(t *testing.T) {
	for _, tc := range []struct {
		name  string
		split int64
	}{
		{"single file", 0},
		{"split in parts", 3 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry(t, "", "")
			in := writeInstaller(t, t.TempDir(), "linux/amd64", someFiles(1), tc.split)
			o := access(t, reg, "", "")
			ref := reg.host + "/apps/demo:1.0"
			res, err := Push(context.Background(), ref, []string{in}, o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Sent != res.Layers || res.SentBytes == 0 {
				t.Errorf("first push sent %d of %d blobs (%d bytes)", res.Sent, res.Layers, res.SentBytes)
			}
			out := filepath.Join(t.TempDir(), "pulled.run")
			pr, err := Pull(context.Background(), ref, out, "", o)
			if err != nil {
				t.Fatal(err)
			}
			sameFiles(t, in, out)
			verifies(t, out)
			if tc.split > 0 && len(pr.Parts) < 2 {
				t.Errorf("split installer pulled as %d parts", len(pr.Parts))
			}
			if st, err := os.Stat(out); err != nil || st.Mode().Perm()&0o100 == 0 {
				t.Errorf("pulled installer is not executable: %v %v", st.Mode(), err)
			}
			leftovers(t, filepath.Dir(out))
		})
	}
}

// leftovers fails when a pull left temporary files in dir.
func leftovers(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".*pulling*"))
	if len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestSkopeoSeesArtifact: another client reads what push wrote as an OCI
// manifest of the installer's artifact type, stub, data and index layers.
func TestSkopeoSeesArtifact(t *testing.T) {
	bin, err := exec.LookPath("skopeo")
	if err != nil {
		t.Skip("skopeo is not installed (apt-get install -y skopeo; make deps)")
	}
	reg := newRegistry(t, "", "")
	in := writeInstaller(t, t.TempDir(), "linux/amd64", someFiles(2), 0)
	ref := reg.host + "/apps/demo:1.0"
	if _, err := Push(context.Background(), ref, []string{in}, access(t, reg, "", "")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	raw, err := exec.CommandContext(ctx, bin, "inspect", "--raw", "--tls-verify=false", "docker://"+ref).Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v", err)
	}
	var m struct {
		MediaType    string                               `json:"mediaType"`
		ArtifactType string                               `json:"artifactType"`
		Config       struct{ MediaType string }           `json:"config"`
		Layers       []struct{ MediaType, Digest string } `json:"layers"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.ArtifactType != ArtifactType || m.Config.MediaType != ConfigType || m.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("skopeo sees %s", raw)
	}
	r, _ := payload.Open(in)
	defer r.Close()
	if n := len(m.Layers); n < 4 || m.Layers[0].MediaType != StubLayerType || m.Layers[n-1].MediaType != IndexLayerType || m.Layers[1].MediaType != DataLayerType {
		t.Fatalf("layers %+v", m.Layers)
	}
	// Raw image layers are layers of their own, named by their digest.
	f, _ := r.File("images/blobs/layera.gz")
	found := false
	for _, l := range m.Layers {
		found = found || l.Digest == f.Digest
	}
	if !found {
		t.Errorf("the raw blob %s is not a layer of its own: %+v", f.Digest, m.Layers)
	}
}

func TestMultiPlatform(t *testing.T) {
	reg := newRegistry(t, "", "")
	dir := t.TempDir()
	amd := writeInstaller(t, dir, "linux/amd64", someFiles(3), 0)
	arm := writeInstaller(t, dir, "linux/arm64", someFiles(4), 0)
	o := access(t, reg, "", "")
	ref := reg.host + "/apps/demo:multi"
	res, err := Push(context.Background(), ref, []string{amd, arm}, o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("platforms %v", res.Platforms)
	}
	for _, tc := range []struct{ platform, want string }{{"linux/arm64", arm}, {"linux/amd64", amd}} {
		out := filepath.Join(t.TempDir(), "pulled.run")
		if _, err := Pull(context.Background(), ref, out, tc.platform, o); err != nil {
			t.Fatal(err)
		}
		sameFiles(t, tc.want, out)
	}
	out := filepath.Join(t.TempDir(), "pulled.run")
	_, err = Pull(context.Background(), ref, out, "linux/riscv64", o)
	if !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), "linux/amd64, linux/arm64") {
		t.Errorf("wrong platform: %v, want ErrPlatform listing linux/amd64, linux/arm64", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output written for a wrong platform: %v", err)
	}
	if _, err := Push(context.Background(), ref, []string{amd, amd}, o); err == nil || !strings.Contains(err.Error(), "both for linux/amd64") {
		t.Errorf("two installers of one platform: %v", err)
	}
}

// TestDescribeReadsNoLayer: inspect of a reference fetches the config blob
// and nothing else.
func TestDescribeReadsNoLayer(t *testing.T) {
	reg := newRegistry(t, "", "")
	in := writeInstaller(t, t.TempDir(), "linux/amd64", someFiles(5), 0)
	o := access(t, reg, "", "")
	ref := reg.host + "/apps/demo:1.0"
	if _, err := Push(context.Background(), ref, []string{in}, o); err != nil {
		t.Fatal(err)
	}
	reg.reset()
	a, err := Describe(context.Background(), ref, "", o)
	if err != nil {
		t.Fatal(err)
	}
	got := reg.blobFetches()
	if len(got) != 1 || got[a.Manifest.Config.Digest.String()] != 1 {
		t.Errorf("blob GETs %v, want only the config %s", got, a.Manifest.Config.Digest)
	}
	r, _ := payload.Open(in)
	defer r.Close()
	want, _ := json.Marshal(r.Report())
	have, _ := json.Marshal(a.Config.Report)
	if string(want) != string(have) {
		t.Errorf("report from the registry\n%s\nwant the installer's\n%s", have, want)
	}
}

func TestPullErrors(t *testing.T) {
	reg := newRegistry(t, "", "")
	in := writeInstaller(t, t.TempDir(), "linux/amd64", someFiles(6), 0)
	o := access(t, reg, "", "")
	ref := reg.host + "/apps/demo:1.0"
	if _, err := Push(context.Background(), ref, []string{in}, o); err != nil {
		t.Fatal(err)
	}
	a, err := Describe(context.Background(), ref, "", o)
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt the biggest data layer in the registry's storage, keeping its size.
	victim := a.Manifest.Layers[1]
	for _, l := range a.Manifest.Layers[1 : len(a.Manifest.Layers)-1] {
		if l.Size > victim.Size {
			victim = l
		}
	}
	f, err := os.OpenFile(reg.blobFile(victim.Digest.String()), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("corrupt!"), victim.Size/2); err != nil {
		t.Fatal(err)
	}
	f.Close()

	for _, tc := range []struct {
		name, ref, platform, want string
	}{
		{"unknown tag", reg.host + "/apps/demo:nope", "", "MANIFEST_UNKNOWN"},
		{"unknown repository", reg.host + "/apps/other:1.0", "", "apps/other:1.0: MANIFEST_UNKNOWN"},
		{"wrong platform", ref, "linux/arm64", "no installer for linux/arm64 (--platform): the reference has linux/amd64"},
		{"corrupt layer", ref, "", victim.Digest.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "pulled.run")
			_, err := Pull(context.Background(), tc.ref, out, tc.platform, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one that says %q", err, tc.want)
			}
			t.Logf("%s: %v", tc.name, err)
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				t.Errorf("files left after a failed pull: %v", ents)
			}
		})
	}
}

func TestPushPullAuth(t *testing.T) {
	reg := newRegistry(t, "alice", "s3cret")
	in := writeInstaller(t, t.TempDir(), "linux/amd64", someFiles(7), 0)
	ref := reg.host + "/apps/demo:1.0"
	_, err := Push(context.Background(), ref, []string{in}, access(t, reg, "", ""))
	if pull.StatusOf(err) != 401 || !strings.Contains(err.Error(), "--registry-auth "+reg.host) {
		t.Fatalf("push without credentials: %v, want a 401 that names --registry-auth", err)
	}
	o := access(t, reg, "alice", "s3cret")
	if _, err := Push(context.Background(), ref, []string{in}, o); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "pulled.run")
	if _, err := Pull(context.Background(), ref, out, "", o); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, in, out)
}

// TestDerivedPushSendsOnlyNew: an installer built FROM one already pushed
// sends its new layers and little else (counted on the registry's side),
// and its new layers are little more than its new chunks.
func TestDerivedPushSendsOnlyNew(t *testing.T) {
	files := someFiles(8)
	for i := range 40 {
		files[fmt.Sprintf("share/small/%02d.txt", i)] = []byte(strings.Repeat(fmt.Sprintf("small file %d\n", i), 50+i))
	}
	base := buildKubefile(t, "FROM scratch\nLABEL org.opencontainers.image.title=base\nCOPY . /\nCMD echo base\n", files, nil)
	child := buildKubefile(t, "FROM "+base+"\nLABEL org.opencontainers.image.title=child\nCOPY new /share/\nRUN echo changed >> etc/config.yaml\nCMD echo child\n",
		map[string][]byte{"new/extra.txt": []byte("new file\n"), "new/layer.gz": someFiles(9)["images/blobs/layera.gz"]}, nil)

	reg := newRegistry(t, "", "")
	o := access(t, reg, "", "")
	ref := reg.host + "/apps/demo"
	if _, err := Push(context.Background(), ref+":base", []string{base}, o); err != nil {
		t.Fatal(err)
	}
	ba, err := Describe(context.Background(), ref+":base", "", o)
	if err != nil {
		t.Fatal(err)
	}
	reg.reset()
	res, err := Push(context.Background(), ref+":child", []string{child}, o)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := Describe(context.Background(), ref+":child", "", o)
	if err != nil {
		t.Fatal(err)
	}
	inBase := map[string]bool{}
	for _, l := range ba.Manifest.Layers {
		inBase[l.Digest.String()] = true
	}
	newBytes := ca.Manifest.Config.Size
	var all int64
	for _, l := range ca.Manifest.Layers {
		all += l.Size
		if !inBase[l.Digest.String()] {
			newBytes += l.Size
			inBase[l.Digest.String()] = true
		}
	}
	// The referrers (the bill of materials, attached beside the artifact)
	// are documents about it, not its blobs: counted apart.
	sent := reg.uploadedBytes() - res.ReferrerBytes
	t.Logf("derived push: %d bytes sent for %d bytes of new blobs (%.3fx), the installer's layers hold %d; %d of %d blobs sent; referrers %d bytes",
		sent, newBytes, float64(sent)/float64(newBytes), all, res.Sent, res.Layers, res.ReferrerBytes)
	if sent == 0 || float64(sent) > 1.05*float64(newBytes) {
		t.Errorf("sent %d bytes, want at most 1.05 x %d (the new blobs)", sent, newBytes)
	}
	newChunks := newChunkBytes(t, base, child)
	t.Logf("new chunks %d bytes, new data layers %d bytes", newChunks, newBytes)
	if newBytes > all/3 {
		t.Errorf("new blobs are %d of %d bytes: the base's layers were not reused", newBytes, all)
	}
}

// newChunkBytes is the stored size of the chunks of child that base lacks.
func newChunkBytes(t *testing.T, base, child string) int64 {
	t.Helper()
	hashes := func(p string) map[string]int64 {
		r, err := payload.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		m := map[string]int64{}
		for _, b := range r.Index().Blobs {
			for _, c := range b.Chunks {
				m[c.SHA256] = c.Stored
			}
		}
		return m
	}
	b, c := hashes(base), hashes(child)
	var n int64
	for h, s := range c {
		if _, ok := b[h]; !ok {
			n += s
		}
	}
	return n
}

// A pushed installer carries its bill of materials and its signature as OCI
// referrers of its manifest, found through the referrers API or its tag
// fallback, byte for byte as the installer holds them.
func TestPushAttachesReferrers(t *testing.T) {
	path := buildKubefile(t, "FROM scratch\nLABEL org.opencontainers.image.title=signed\nCOPY . /\n", someFiles(3), nil)
	envelope := []byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"test","sig":"c2ln"}]}`)
	if err := payload.SignFile(path, func([32]byte, *payload.Index) ([]byte, error) { return envelope, nil }); err != nil {
		t.Fatal(err)
	}
	r, err := payload.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bill, err := r.SBOM()
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry(t, "", "")
	o := access(t, reg, "", "")
	res, err := Push(context.Background(), reg.host+"/apps/signed:1", []string{path}, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Referrers) != 2 {
		t.Fatalf("push attached %d referrers, want the bill and the signature", len(res.Referrers))
	}
	subject, err := name.NewDigest(reg.host + "/apps/signed@" + res.Digest)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Referrers(subject, o.Access.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{SBOMType: bill, SignatureType: envelope}
	for _, d := range im.Manifests {
		data, ok := want[d.ArtifactType]
		if !ok {
			t.Errorf("unexpected referrer %s (%s)", d.Digest, d.ArtifactType)
			continue
		}
		img, err := remote.Image(subject.Context().Digest(d.Digest.String()), o.Access.Options()...)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil || len(layers) != 1 {
			t.Fatalf("%s: layers %d, %v", d.ArtifactType, len(layers), err)
		}
		rc, err := layers[0].Compressed()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, data) {
			t.Errorf("%s referrer holds %d bytes, not the installer's %d", d.ArtifactType, len(got), len(data))
		}
		delete(want, d.ArtifactType)
	}
	for typ := range want {
		t.Errorf("no %s referrer found for %s", typ, subject)
	}
}
