package discover

import (
	"context"
	"testing"
)

// BenchmarkFindCorpus runs Find over every case of the visible corpus (one
// iteration = all cases, the chart rendered through Helm included).
func BenchmarkFindCorpus(b *testing.B) {
	cases := loadCorpus(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		for _, tc := range cases {
			if _, err := Find(ctx, tc.dir, Options{IncludeExtras: true}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkFindCorpusDir runs Find once over the whole visible directory,
// as a build does over a rootfs.
func BenchmarkFindCorpusDir(b *testing.B) {
	loadCorpus(b) // skips when the corpus is absent
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Find(ctx, corpusDir, Options{IncludeExtras: true}); err != nil {
			b.Fatal(err)
		}
	}
}
