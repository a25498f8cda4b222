package kubefile

import (
	"strings"

	"github.com/sealpack/sealpack/internal/shell"
)

// ShellJoin joins args into one POSIX shell command line that sh -c splits
// back into exactly these words (how a JSON-form CMD is stored).
func ShellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shell.QuoteIfNeeded(a)
	}
	return strings.Join(q, " ")
}
