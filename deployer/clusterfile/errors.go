package clusterfile

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error that Parse returns for a Clusterfile
// it cannot accept; test with errors.Is.
var ErrInvalid = errors.New("invalid Clusterfile")

// FieldError is one problem at one place of a Clusterfile. Its text is
// "FILE:LINE: FIELD: MESSAGE", like a compiler's.
type FieldError struct {
	File  string // the name given to Parse
	Line  int    // 1-based; 0 when the problem has no single place
	Field string // path such as spec.hosts[1].ips[0]; "" for a whole document
	Msg   string
}

func (e *FieldError) Error() string { return position(e.File, e.Line, e.Field) + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Warning names a field or document that sealer knows and sealpack ignores.
type Warning struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (w Warning) String() string { return position(w.File, w.Line, w.Field) + w.Msg }

func position(file string, line int, field string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		fmt.Fprintf(&b, ":%d", line)
	}
	b.WriteString(": ")
	if field != "" {
		b.WriteString(field)
		b.WriteString(": ")
	}
	return b.String()
}

// maxErrors bounds how many problems one Parse reports: enough to fix a
// file in one pass, not a wall of text for a file that is not a Clusterfile.
const maxErrors = 20

// report collects the problems and warnings of one Parse.
type report struct {
	file     string
	errs     []error
	dropped  int
	warnings []Warning
}

func (r *report) errorf(line int, field, format string, args ...any) {
	if len(r.errs) >= maxErrors {
		r.dropped++
		return
	}
	r.errs = append(r.errs, &FieldError{File: r.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (r *report) warnf(line int, field, format string, args ...any) {
	r.warnings = append(r.warnings, Warning{File: r.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// err returns every problem found, joined, or nil.
func (r *report) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	errs := r.errs
	if r.dropped > 0 {
		errs = append(errs[:len(errs):len(errs)], fmt.Errorf("%s: %d more problems not shown: %w", r.file, r.dropped, ErrInvalid))
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
