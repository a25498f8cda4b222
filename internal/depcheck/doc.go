// Package depcheck holds the import rules of DESIGN.md section 1 in code, so
// that they are kept by `go test` rather than by memory.
//
// The rules are allow-lists (rules.go): each package tree names what its
// files may import, and anything else fails. A deny-list only stops the
// mistakes someone thought of; an allow-list also stops the ones nobody did
// (payload importing cobra, packer importing a test harness). Test files get
// their own, wider list, because tests may use the harnesses of
// internal/testhost and friends that product code must not.
//
// Direct imports are checked per package. For the few things that must stay
// out of a whole binary (helm and buildkit out of the installer), bans check
// the transitive closure, since an allowed external module could pull them in.
//
// A new package needs a rule (an uncovered package fails), and a rule or an
// entry that names no package fails too: a typo must not turn a rule off.
package depcheck
