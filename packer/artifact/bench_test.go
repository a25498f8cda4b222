package artifact

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkPullVsSkopeo: sealpack pull of a 100 MB installer against
// skopeo copy of the same artifact into a dir: (same registry, same run),
// and the bytes a derived installer's push sends against its new blobs.
func BenchmarkPullVsSkopeo(b *testing.B) {
	files := someFiles(20)
	for i := range 12 {
		files[fmt.Sprintf("images/blobs/big%02d.gz", i)] = someFiles(uint64(100 + i))["images/blobs/layerb.gz"] // 5 MiB random each
	}
	for i := range 6 {
		files[fmt.Sprintf("bin/tool%d", i)] = append(someFiles(uint64(200 + i))["share/big.txt"], byte(i))
	}
	in := writeInstaller(b, b.TempDir(), "linux/amd64", files, 0)
	reg := newRegistry(b, "", "")
	o := access(b, reg, "", "")
	ref := reg.host + "/bench/app:1"
	if _, err := Push(context.Background(), ref, []string{in}, o); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(in)
	skopeo, skErr := exec.LookPath("skopeo")
	var ours, theirs time.Duration
	for range b.N {
		out := filepath.Join(b.TempDir(), "pulled.run")
		t0 := time.Now()
		if _, err := Pull(context.Background(), ref, out, "", o); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(t0)
		if skErr == nil {
			dir := b.TempDir()
			t0 = time.Now()
			if out, err := exec.Command(skopeo, "copy", "--insecure-policy", "--quiet", "--src-tls-verify=false", "docker://"+ref, "dir:"+dir).CombinedOutput(); err != nil {
				b.Fatalf("skopeo copy: %v %s", err, out)
			}
			theirs += time.Since(t0)
		}
	}
	mb := float64(st.Size()) / 1e6 * float64(b.N)
	b.ReportMetric(mb/ours.Seconds(), "pull-MB/s")
	if skErr == nil {
		b.ReportMetric(mb/theirs.Seconds(), "skopeo-MB/s")
		b.ReportMetric(theirs.Seconds()/ours.Seconds(), "pull/skopeo-throughput")
	} else {
		b.Logf("reference skipped: skopeo is not installed")
	}
}
