package sbom

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xeipuuv/gojsonschema"

	"github.com/sealpack/sealpack/packer/pull"
	"github.com/sealpack/sealpack/payload"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Validate checks a bill against CycloneDX's own 1.5 JSON schema, as shipped
// in the cyclonedx-go module, with the two schemas it refers to. They are
// added under their own $id (http://cyclonedx.org/schema/...), so nothing is
// fetched: bom-1.5's relative references resolve against its $id. (The
// module names the signature schema jsf-0.82.schemax.json.)
func Validate(t testing.TB, bill []byte) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/CycloneDX/cyclonedx-go: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "schema")
	sl := gojsonschema.NewSchemaLoader()
	for _, name := range []string{"spdx.schema.json", "jsf-0.82.schemax.json"} {
		if err := sl.AddSchemas(gojsonschema.NewReferenceLoader("file://" + filepath.Join(dir, name))); err != nil {
			t.Fatalf("schema %s: %v", name, err)
		}
	}
	schema, err := sl.Compile(gojsonschema.NewReferenceLoader("file://" + filepath.Join(dir, "bom-1.5.schema.json")))
	if err != nil {
		t.Fatalf("CycloneDX 1.5 schema: %v", err)
	}
	res, err := schema.Validate(gojsonschema.NewBytesLoader(bill))
	if err != nil {
		t.Fatalf("validating the bill: %v", err)
	}
	for _, e := range res.Errors() {
		t.Errorf("the bill is not valid CycloneDX 1.5: %s", e)
	}
}

// fixture is a small installer's index: files of every type, one image of
// one manifest with an attestation, one multi-platform index of which one
// platform is carried.
func fixture() (Input, map[string]string) {
	docs := map[string]string{
		"sha256:" + strings.Repeat("1", 64): `{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:` + strings.Repeat("c", 64) + `"},"layers":[{"digest":"sha256:` + strings.Repeat("a", 64) + `"},{"digest":"sha256:` + strings.Repeat("b", 64) + `"}]}`,
		"sha256:" + strings.Repeat("2", 64): `{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"sha256:` + strings.Repeat("3", 64) + `","platform":{"os":"linux","architecture":"amd64"}},{"digest":"sha256:` + strings.Repeat("4", 64) + `","platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}`,
		"sha256:" + strings.Repeat("3", 64): `{"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:` + strings.Repeat("d", 64) + `"},"layers":[{"digest":"sha256:` + strings.Repeat("e", 64) + `"}]}`,
		"sha256:" + strings.Repeat("5", 64): `{"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:` + strings.Repeat("6", 64) + `"},"layers":[{"digest":"sha256:` + strings.Repeat("7", 64) + `"}],"subject":{"digest":"sha256:` + strings.Repeat("1", 64) + `"}}`,
		"sha256:" + strings.Repeat("9", 64): `{"manifests":[` +
			`{"digest":"sha256:` + strings.Repeat("1", 64) + `","annotations":{"` + pull.AnnotationRef + `":"docker.io/acme/api:2","` + pull.AnnotationReferrers + `":"sha256:` + strings.Repeat("5", 64) + `"}},` +
			`{"digest":"sha256:` + strings.Repeat("2", 64) + `","annotations":{"` + pull.AnnotationRef + `":"docker.io/library/nginx:1.27"}}]}`,
	}
	blob := func(c string) payload.File {
		return payload.File{Path: pull.BlobDir + "/" + strings.Repeat(c, 64), Type: payload.TypeFile, Mode: 0o644, Size: 10, Digest: "sha256:" + strings.Repeat(c, 64)}
	}
	files := []payload.File{
		{Path: "bin", Type: payload.TypeDir, Mode: 0o755},
		{Path: "bin/tool", Type: payload.TypeFile, Mode: 0o755, Size: 5, Digest: "sha256:" + strings.Repeat("f", 64)},
		{Path: "etc/link", Type: payload.TypeSymlink, Mode: 0o777, Target: "../bin/tool"},
		{Path: "images", Type: payload.TypeDir, Mode: 0o755},
		blob("1"), blob("2"), blob("3"), blob("5"), blob("a"), blob("b"), blob("c"), blob("d"), blob("e"), blob("6"), blob("7"),
		{Path: pull.IndexFile, Type: payload.TypeFile, Mode: 0o644, Size: 10, Digest: "sha256:" + strings.Repeat("9", 64)},
	}
	in := Input{
		Name: "sealpack installer", Platform: "linux/amd64",
		Labels: map[string]string{payload.LabelTitle: "my app", payload.LabelVersion: "1.2.0"},
		Files:  files,
		Images: []payload.Image{
			{Name: "docker.io/acme/api:2", Digest: "sha256:" + strings.Repeat("1", 64), Platform: "linux/amd64", Size: 30},
			{Name: "docker.io/library/nginx:1.27", Digest: "sha256:" + strings.Repeat("2", 64), Platform: "linux/amd64", Size: 20},
		},
	}
	in.Read = func(d string) ([]byte, error) {
		if s, ok := docs[d]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
	return in, docs
}

func TestBillGolden(t *testing.T) {
	in, _ := fixture()
	bill, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	Validate(t, bill)
	// The bill is compact JSON (a file costs half the bytes and time it
	// would indented); the golden file is indented to be read.
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, bill, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "bill.golden.json")
	if *update {
		os.WriteFile(golden, pretty.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("the bill differs from %s (go test -update to accept):\n%s", golden, pretty.Bytes())
	}
	again, _ := Build(in)
	if !bytes.Equal(bill, again) {
		t.Error("two bills of one input differ")
	}
}

func TestBillContent(t *testing.T) {
	in, _ := fixture()
	bill, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc Doc
	if err := json.Unmarshal(bill, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SpecVersion != "1.5" || !strings.HasPrefix(doc.SerialNumber, "urn:uuid:") || doc.SerialNumber == placeholder {
		t.Errorf("specVersion %q, serial %q", doc.SpecVersion, doc.SerialNumber)
	}
	if m := doc.Metadata.Component; m.Name != "my app" || m.Version != "1.2.0" || m.Prop(PropPlatform) != "linux/amd64" {
		t.Errorf("metadata.component = %+v", m)
	}
	files, images := doc.Split()
	if len(files) != len(in.Files)-2 || files["bin/tool"].Hash() != strings.Repeat("f", 64) || files["etc/link"].Prop(PropTarget) != "../bin/tool" {
		t.Errorf("files: %+v", files)
	}
	api := images["docker.io/acme/api:2"]
	if got := api.Props(PropLayer); len(got) != 2 || got[0] != "sha256:"+strings.Repeat("a", 64) {
		t.Errorf("api layers %v", got)
	}
	if len(api.Components) != 1 || api.Components[0].Type != "data" || api.Components[0].Prop(PropArtifactType) != "application/spdx+json" {
		t.Errorf("api's attestation: %+v", api.Components)
	}
	if !strings.HasPrefix(api.PURL, "pkg:oci/api@sha256%3A1111") || !strings.Contains(api.PURL, "repository_url=docker.io%2Facme%2Fapi") {
		t.Errorf("purl %s", api.PURL)
	}
	nginx := images["docker.io/library/nginx:1.27"]
	if len(nginx.Components) != 1 || nginx.Components[0].Prop(PropPlatform) != "linux/amd64" || len(nginx.Components[0].Props(PropLayer)) != 1 {
		t.Errorf("nginx: the carried platform only, with its layer: %+v", nginx.Components)
	}
}

func TestBillErrors(t *testing.T) {
	for name, breakIt := range map[string]func(in *Input){
		"no index.json": func(in *Input) { in.Files = in.Files[:3] },
		"image not in index.json": func(in *Input) {
			in.Images = append(in.Images, payload.Image{Name: "docker.io/x/y:1", Digest: "sha256:" + strings.Repeat("8", 64)})
		},
		"unreadable manifest": func(in *Input) {
			read := in.Read
			in.Read = func(d string) ([]byte, error) {
				if d == "sha256:"+strings.Repeat("3", 64) {
					return nil, os.ErrPermission
				}
				return read(d)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			in, _ := fixture()
			breakIt(&in)
			if _, err := Build(in); err == nil || !strings.Contains(err.Error(), "bill of materials") {
				t.Errorf("err = %v, want one naming the bill of materials", err)
			}
		})
	}
}
