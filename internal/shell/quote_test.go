package shell

import (
	"os/exec"
	"testing"
)

// What the shell reads back is the word given, whatever it holds.
func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", "it's", `"$HOME"`, "`id`", "x;rm -rf /", "tab\there", "new\nline", "*", "~root", "--flag=v", "ünï"} {
		for name, q := range map[string]func(string) string{"Quote": Quote, "QuoteIfNeeded": QuoteIfNeeded} {
			out, err := exec.Command("sh", "-c", "printf %s "+q(s)).Output()
			if err != nil || string(out) != s {
				t.Errorf("%s(%q): the shell read %q (%v)", name, s, out, err)
			}
		}
	}
	if got := QuoteIfNeeded("/var/lib/sealpack/admin.conf"); got != "/var/lib/sealpack/admin.conf" {
		t.Errorf("a safe path is quoted: %s", got)
	}
}
