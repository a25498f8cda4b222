package depcheck

import (
	"slices"
	"strings"
	"testing"
)

// A rule or an entry that names no package is an error: skipping it would
// turn the rule off without a word. So is a package no rule covers (a new
// top-level folder, say) and a package two rules cover.
func TestRulesMustNameRealPackages(t *testing.T) {
	index := func(rs []rule, pkg string) int {
		return slices.IndexFunc(rs, func(r rule) bool { return r.pkg == pkg })
	}
	cases := []struct {
		name   string
		break_ func(g *graph, rs []rule, bs []ban) ([]rule, []ban)
		want   string
	}{
		{"misspelt package", func(_ *graph, rs []rule, bs []ban) ([]rule, []ban) {
			rs[index(rs, "payload")].pkg = "payloads"
			return rs, bs
		}, "rule payloads: package payloads names no package"},
		{"misspelt project import", func(_ *graph, rs []rule, bs []ban) ([]rule, []ban) {
			i := index(rs, "tui/...")
			rs[i].imports = append(rs[i].imports, "deployer/events")
			return rs, bs
		}, "rule tui/...: allowed import deployer/events names no package"},
		{"misspelt external import", func(_ *graph, rs []rule, bs []ban) ([]rule, []ban) {
			i := index(rs, "payload")
			rs[i].imports = append(rs[i].imports, "github.com/klauspost/compres/zstd")
			return rs, bs
		}, "rule payload: allowed import github.com/klauspost/compres/zstd names no package"},
		{"misspelt test import", func(_ *graph, rs []rule, bs []ban) ([]rule, []ban) {
			i := index(rs, "deployer/...")
			rs[i].tests = append(rs[i].tests, "internal/testhosts")
			return rs, bs
		}, "rule deployer/...: allowed test import internal/testhosts names no package"},
		{"misspelt ban", func(_ *graph, rs []rule, bs []ban) ([]rule, []ban) {
			bs[0].pkg = "stubs"
			return rs, bs
		}, "rule stubs: banned closure of stubs names no package"},
		{"misspelt banned package", func(_ *graph, rs []rule, bs []ban) ([]rule, []ban) {
			bs[0].banned = append(bs[0].banned, "helm.sh/helm/v4/...")
			return rs, bs
		}, "rule stub: banned package helm.sh/helm/v4/... names no package"},
		{"package without a rule", func(g *graph, rs []rule, bs []ban) ([]rule, []ban) {
			g.add("common")
			return rs, bs
		}, "common: no rule covers it"},
		{"package under two rules", func(g *graph, rs []rule, bs []ban) ([]rule, []ban) {
			g.add("packer/pull")
			return append(rs, rule{pkg: "packer/pull", imports: []string{std}}), bs
		}, "packer/pull: covered by 2 rules (packer/... and packer/pull)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := synthetic(rules, bans)
			rs, bs := tc.break_(g, cloneRules(rules), cloneBans(bans))
			got := check(g, rs, bs)
			if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, tc.want) }) {
				t.Errorf("want a problem starting with %q, got:\n%s", tc.want, strings.Join(got, "\n"))
			}
		})
	}
}
