package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestFollow(t *testing.T) {
	var out bytes.Buffer
	on, finish := Follow(&out, "images")
	on(0, 0) // the start: nothing known yet
	on(0, 2<<20)
	on(1<<20, 2<<20)
	on(1<<20, 3<<20) // one more download
	on(3<<20, 3<<20)
	finish()
	if s := out.String(); !strings.Contains(s, "images") || !strings.Contains(s, "3.0/3.0 MiB") {
		t.Errorf("bar output %q", s)
	}
}
