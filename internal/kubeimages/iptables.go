package main

import (
	"archive/tar"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// kube-proxy and flanneld exec iptables, iptables-save, iptables-restore and
// their ip6tables twins. The images carry this build machine's iptables
// (Debian's package: one multi-call binary, symlinks through
// /etc/alternatives), its extension modules, which it dlopens per match or
// target, and every library either of them loads.
var (
	iptablesNeeded = []string{
		"/usr/sbin/iptables", "/usr/sbin/iptables-save", "/usr/sbin/iptables-restore",
		"/usr/sbin/ip6tables", "/usr/sbin/ip6tables-save", "/usr/sbin/ip6tables-restore",
	}
	// The explicit backends, for whoever picks one by name; legacy only if
	// this machine has it.
	iptablesOptional = []string{
		"/usr/sbin/xtables-nft-multi",
		"/usr/sbin/iptables-nft", "/usr/sbin/iptables-nft-save", "/usr/sbin/iptables-nft-restore",
		"/usr/sbin/ip6tables-nft", "/usr/sbin/ip6tables-nft-save", "/usr/sbin/ip6tables-nft-restore",
		"/usr/sbin/xtables-legacy-multi",
		"/usr/sbin/iptables-legacy", "/usr/sbin/iptables-legacy-save", "/usr/sbin/iptables-legacy-restore",
		"/usr/sbin/ip6tables-legacy", "/usr/sbin/ip6tables-legacy-save", "/usr/sbin/ip6tables-legacy-restore",
	}
	// Where libxtables looks for extensions (its XTABLES_LIBDIR). Missing
	// their libraries shows only when a rule uses them: libxt_statistic.so
	// needs libm.so.6, else kube-proxy fails with "Couldn't load match
	// 'statistic'" on its first Service with more than one endpoint.
	xtablesDir = "/usr/lib/x86_64-linux-gnu/xtables"
)

// iptablesTree collects this machine's iptables for an image.
func iptablesTree() (tree, error) {
	t := tree{}
	for _, p := range iptablesNeeded {
		if err := t.host(p); err != nil {
			return nil, fmt.Errorf("copying iptables from this machine (apt-get install iptables): %w", err)
		}
	}
	for _, p := range iptablesOptional {
		if err := t.host(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("copying iptables from this machine: %w", err)
		}
	}
	exts, err := filepath.Glob(filepath.Join(xtablesDir, "*.so"))
	if err != nil {
		return nil, err
	}
	if len(exts) == 0 {
		return nil, fmt.Errorf("copying iptables from this machine: no extension modules in %s (apt-get install iptables)", xtablesDir)
	}
	for _, p := range exts {
		if err := t.host(p); err != nil {
			return nil, fmt.Errorf("copying iptables extensions: %w", err)
		}
	}
	if err := t.withLibraries(); err != nil {
		return nil, fmt.Errorf("copying the libraries of iptables: %w", err)
	}
	return t, nil
}

// withLibraries adds the shared libraries that the host ELF files in t load.
// ldd gives the whole closure, so one round suffices.
func (t tree) withLibraries() error {
	var elfs []string
	for _, n := range t {
		if n.kind == tar.TypeReg && isELF(n.src) {
			elfs = append(elfs, n.src)
		}
	}
	sort.Strings(elfs)
	libs, err := libraries(elfs)
	if err != nil {
		return err
	}
	for _, l := range libs {
		if err := t.host(l); err != nil {
			return err
		}
	}
	return nil
}

func isELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 4)
	_, err = f.Read(magic)
	return err == nil && string(magic) == "\x7fELF"
}
