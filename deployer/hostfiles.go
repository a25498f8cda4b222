package deployer

// The commands distribute runs on a host: few, whatever the number of files.

import (
	"bufio"
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/sealpack/sealpack/internal/shell"
	"github.com/sealpack/sealpack/payload"
)

// place verifies copies on the host and renames them into place.
func place(ctx context.Context, c Remote, root string, copies []payload.File) error {
	if err := verifyParts(ctx, c, root, copies); err != nil {
		return err
	}
	return eachUntilError(ctx, len(copies), 16, func(ctx context.Context, i int) error {
		dst := path.Join(root, copies[i].Path)
		if err := c.Rename(ctx, dst+partSuffix, dst); err != nil {
			return fmt.Errorf("putting %s in place: %w", copies[i].Path, err)
		}
		return nil
	})
}

// survey makes the rootfs directories on the host and reports what is
// there: the sha256 of the files already in place and the sizes of partial
// copies, by rootfs path. One command, however many files.
func survey(ctx context.Context, c Remote, root string, files []payload.File) (have map[string]string, parts map[string]int64, err error) {
	dirs := map[string]bool{}
	var paths []string
	for _, f := range files {
		dirs[path.Dir(f.Path)] = true
		if f.Type == payload.TypeFile {
			paths = append(paths, f.Path)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%smkdir -p %s && cd %[2]s || exit 1\n", hashFunc, shell.Quote(root))
	writeBatched(&b, "mkdir -p", sortedKeys(dirs), "")
	writeBatched(&b, "spk_sha256", paths, " 2>/dev/null")
	fmt.Fprintf(&b, "find . -name '*%s' -type f -exec stat -c 'part %%s %%n' {} + 2>/dev/null\ntrue\n", partSuffix)
	out, err := c.Run(ctx, b.String(), nil, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("checking files: %w", err)
	}
	have, parts = map[string]string{}, map[string]int64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "part "); ok {
			size, name, _ := strings.Cut(rest, " ")
			n, err := strconv.ParseInt(size, 10, 64)
			if err == nil {
				parts[strings.TrimSuffix(strings.TrimPrefix(name, "./"), partSuffix)] = n
			}
		} else if sum, p, ok := parseSum(line); ok {
			have[p] = sum
		}
	}
	return have, parts, nil
}

// verifyParts checks the sha256 of every copy on the host before it is put
// in place; a bad one is removed, so that the next run copies it again.
func verifyParts(ctx context.Context, c Remote, root string, copies []payload.File) error {
	if len(copies) == 0 {
		return nil
	}
	var paths []string
	for _, f := range copies {
		paths = append(paths, f.Path+partSuffix)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%scd %s || exit 1\n", hashFunc, shell.Quote(root))
	writeBatched(&b, "spk_sha256", paths, " 2>/dev/null")
	// A missing copy is reported below, by name, like a bad one.
	b.WriteString("true\n")
	out, err := c.Run(ctx, b.String(), nil, nil)
	if err != nil {
		return fmt.Errorf("verifying the copies: %w", err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if sum, p, ok := parseSum(line); ok {
			got[strings.TrimSuffix(p, partSuffix)] = sum
		}
	}
	var bad []string
	for _, f := range copies {
		if got[f.Path] != hexDigest(f.Digest) {
			bad = append(bad, f.Path)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	var rm strings.Builder
	fmt.Fprintf(&rm, "cd %s || exit 1\n", shell.Quote(root))
	writeBatched(&rm, "rm -f", suffixed(bad, partSuffix), "")
	c.Run(ctx, rm.String(), nil, nil)
	return fmt.Errorf("checksum mismatch after copy (removed, a re-run copies them again): %s", strings.Join(bad, ", "))
}

func suffixed(list []string, suffix string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = s + suffix
	}
	return out
}

// hashFunc defines spk_sha256, which prints "<sha256>  <file>" lines like
// sha256sum: with openssl when the host has it (several times faster,
// with the CPU's SHA instructions), else sha256sum.
const hashFunc = `if command -v openssl >/dev/null 2>&1; then spk_sha256() { openssl sha256 -r "$@"; }; else spk_sha256() { sha256sum "$@"; }; fi
`

// parseSum reads a line of sha256sum ("<hex>  <file>") or of openssl
// sha256 -r ("<hex> *<file>").
func parseSum(line string) (sum, file string, ok bool) {
	if len(line) < 67 || line[64] != ' ' || line[65] != ' ' && line[65] != '*' {
		return "", "", false
	}
	return line[:64], line[66:], true
}

// dupScript makes, under root, the copies of contents that are already on
// the host at another path (source, destination), each put in place whole.
func dupScript(root string, dups [][2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\ncd %s\n", shell.Quote(root))
	for _, d := range dups {
		fmt.Fprintf(&b, "cp -f %s %s && mv -f %[2]s %s\n", shell.Quote(d[0]), shell.Quote(d[1]+partSuffix), shell.Quote(d[1]))
	}
	return b.String()
}

// finishScript makes the symlinks, sets every file's mode and installs
// bin/* into /usr/local/bin (an executable is hard-linked when the
// filesystem allows: the same bytes need not be written twice).
func finishScript(files []payload.File) string {
	var b strings.Builder
	fmt.Fprintf(&b, "set -e\ncd %s\n", RootfsDir)
	modes := map[string][]string{}
	for _, f := range files {
		switch f.Type {
		case payload.TypeSymlink:
			fmt.Fprintf(&b, "ln -sfn %s %s\n", shell.Quote(f.Target), shell.Quote(f.Path))
		case payload.TypeFile:
			m := fmt.Sprintf("%04o", f.Mode.Perm())
			modes[m] = append(modes[m], f.Path)
		}
	}
	for _, m := range sortedKeys(modes) {
		writeBatched(&b, "chmod "+m, modes[m], "")
	}
	// A host whose kubelet is not the carried one is a node of a cluster
	// being upgraded: its kubeadm, kubelet and kubectl stay until the
	// upgrade-kubernetes phase gets to it, one host at a time.
	b.WriteString(`held=
if [ -x /usr/local/bin/kubelet ] && [ -x bin/kubelet ] && [ "$(/usr/local/bin/kubelet --version 2>&1)" != "$(bin/kubelet --version 2>&1)" ]; then
  held=" kubeadm kubelet kubectl "
fi
if [ -d bin ]; then
  for f in bin/*; do
    [ -f "$f" ] || continue
    case "$held" in *" ${f##*/} "*) continue ;; esac
    t=/usr/local/bin/${f##*/}
    { [ -x "$f" ] && ln -f "$f" "$t" 2>/dev/null; } || install -m 0755 "$f" "$t"
  done
fi
`)
	return b.String()
}

// writeBatched writes "cmd args... suffix" lines with the quoted args, a
// few hundred per line so that no command line is too long for the host.
func writeBatched(b *strings.Builder, cmd string, args []string, suffix string) {
	for len(args) > 0 {
		n := min(len(args), 500)
		b.WriteString(cmd)
		for _, a := range args[:n] {
			b.WriteString(" ")
			b.WriteString(shell.Quote(a))
		}
		b.WriteString(suffix + "\n")
		args = args[n:]
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
