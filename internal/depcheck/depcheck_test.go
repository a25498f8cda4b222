package depcheck

import "testing"

// The module as it is, tests included, holds every rule and ban.
func TestImportRules(t *testing.T) {
	g, err := loadGraph()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range check(g, rules, bans) {
		t.Error(p)
	}
}
