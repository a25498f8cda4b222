package clusterfile

import (
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "valid", "sealpack-full.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := Parse("Clusterfile", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMergeKubeadm(b *testing.B) {
	dir := filepath.Join("testdata", "merge", "sealer-ha")
	defaults, _ := os.ReadFile(filepath.Join(dir, "defaults.yaml"))
	cf, _ := os.ReadFile(filepath.Join(dir, "Clusterfile"))
	c, _, err := Parse("Clusterfile", cf)
	if err != nil {
		b.Fatal(err)
	}
	vars := KubeadmVars{Token: testToken, CACertHashes: []string{testCAHash}, CertificateKey: testCertKey}
	for b.Loop() {
		if _, _, err := MergeKubeadm(defaults, c, vars); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateHosts(b *testing.B) {
	data, _ := os.ReadFile(filepath.Join("testdata", "update", "flow.yaml"))
	for b.Loop() {
		if _, err := UpdateHosts(data, nil, []string{"192.168.0.10"}, []string{"192.168.0.7"}); err != nil {
			b.Fatal(err)
		}
	}
}
