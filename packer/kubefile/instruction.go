package kubefile

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// unsupported names Dockerfile instructions that have no meaning for an
// installer, with what to do instead.
var unsupported = map[string]string{
	"ADD":         "use COPY (remote URLs and archives are not fetched)",
	"WORKDIR":     "RUN and CMD run in the rootfs directory",
	"USER":        "RUN runs as the user running sealpack build",
	"EXPOSE":      "an installer has no ports",
	"ENTRYPOINT":  "use CMD (every CMD line runs at install time, in order)",
	"VOLUME":      "an installer has no volumes",
	"SHELL":       "RUN and CMD use sh -c",
	"HEALTHCHECK": "an installer has no health check",
	"STOPSIGNAL":  "an installer has no stop signal",
	"ONBUILD":     "use FROM of the installer and add instructions after it",
	"MAINTAINER":  `use LABEL org.opencontainers.image.authors="..."`,
}

// instruction checks one parsed line and converts it.
func instruction(file string, n *parser.Node) (Instruction, error) {
	cmd := strings.ToUpper(n.Value)
	pos := Pos{File: file, Line: n.StartLine}
	in := Instruction{Cmd: cmd, Pos: pos, Original: n.Original, JSON: n.Attributes["json"]}
	if hint, ok := unsupported[cmd]; ok {
		return in, Errorf(pos, "instruction %q is not supported by sealpack: %s", cmd, hint)
	}
	switch cmd {
	case "FROM", "ARG", "ENV", "LABEL", "COPY", "RUN", "CMD", "IMAGE", "APP", "LAUNCH":
	default:
		return in, Errorf(pos, "unknown instruction %q", n.Value)
	}
	if len(n.Heredocs) > 0 {
		return in, Errorf(pos, "%s: heredocs (<<EOF) are not supported", cmd)
	}
	if cmd != "COPY" && len(n.Flags) > 0 {
		return in, Errorf(pos, "%s: unknown flag %s (%s takes no flags)", cmd, n.Flags[0], cmd)
	}
	in.Args = words(n)
	switch cmd {
	case "FROM":
		if len(in.Args) != 1 {
			return in, Errorf(pos, "FROM takes exactly one argument: scratch, an installer (.run) or an image directory (got %d)", len(in.Args))
		}
	case "ARG":
		if len(in.Args) == 0 {
			return in, Errorf(pos, "ARG requires a name: ARG NAME[=default]")
		}
		for _, w := range in.Args {
			if name, _, _ := strings.Cut(w, "="); name == "" {
				return in, Errorf(pos, "ARG %q: missing name", w)
			}
		}
	case "ENV", "LABEL":
		if len(in.Args) == 0 {
			return in, Errorf(pos, "%s requires at least one KEY=VALUE", cmd)
		}
		// buildkit gives key, value, separator triples; keep key, value pairs.
		var kv []string
		for i := 0; i+1 < len(in.Args); i += 3 {
			if in.Args[i] == "" {
				return in, Errorf(pos, "%s: empty key", cmd)
			}
			kv = append(kv, in.Args[i], in.Args[i+1])
		}
		in.Args = kv
	case "COPY":
		if err := copyFlags(&in, n.Flags); err != nil {
			return in, err
		}
		if len(in.Args) < 2 {
			return in, Errorf(pos, "COPY requires at least two arguments: SRC... DEST (got %d)", len(in.Args))
		}
	case "RUN", "CMD":
		if len(in.Args) == 0 || (!in.JSON && strings.TrimSpace(in.Args[0]) == "") {
			return in, Errorf(pos, "%s requires a command", cmd)
		}
	case "IMAGE":
		// buildkit keeps instructions it does not know with no arguments;
		// the words are in the original text.
		args, isJSON, err := imageArgs(rest(n.Original))
		if err != nil {
			return in, Errorf(pos, "IMAGE: %w", err)
		}
		if len(args) == 0 {
			return in, Errorf(pos, "IMAGE requires at least one image reference")
		}
		in.Args, in.JSON = args, isJSON
	case "APP":
		return in, appArgs(&in)
	case "LAUNCH":
		return in, launchArgs(&in)
	}
	return in, nil
}

func copyFlags(in *Instruction, flags []string) error {
	for _, f := range flags {
		name, val, hasVal := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		switch name {
		case "chmod":
			if !hasVal || val == "" {
				return Errorf(in.Pos, "COPY --chmod needs a value, e.g. --chmod=0755")
			}
			if in.Chmod != "" {
				return Errorf(in.Pos, "COPY --chmod given twice")
			}
			if _, err := ParseMode(val); err != nil && !strings.Contains(val, "$") {
				return Errorf(in.Pos, "COPY --chmod=%s: %w", val, err)
			}
			in.Chmod = val
		default:
			return Errorf(in.Pos, "COPY: unknown flag --%s (supported: --chmod)", name)
		}
	}
	return nil
}

// ParseMode reads an octal permission such as 0755 or 644.
func ParseMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("not an octal mode such as 0755")
	}
	return uint32(m), nil
}

// imageArgs reads IMAGE's text: a JSON array of strings, or the text itself
// (one string), which Eval expands and splits into words like a shell would.
func imageArgs(s string) ([]string, bool, error) {
	if strings.HasPrefix(s, "[") {
		var refs []string
		if err := json.Unmarshal([]byte(s), &refs); err != nil {
			// An image reference never starts with "[", so this was meant as JSON.
			return nil, false, fmt.Errorf("not a JSON array of strings: %s", s)
		}
		return refs, true, nil
	}
	if s == "" {
		return nil, false, nil
	}
	return []string{s}, false, nil
}
