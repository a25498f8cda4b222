package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PullError is the failure of one image: its name as carried, the registry
// that answered (a mirror's host when one is used) and what went wrong.
type PullError struct {
	Image    string // full reference, e.g. docker.io/library/nginx:1.27
	Registry string // host asked; empty when the failure is not a registry's answer
	What     string // the part that failed when not the image's manifest: "blob sha256:..."
	Err      error
	Attempts int    // tries made, when more than one
	Hint     string // what the user may do about it
}

func (e *PullError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pull %s: ", e.Image)
	if e.What != "" {
		b.WriteString(e.What + ": ")
	}
	b.WriteString(describe(e.Err))
	if e.Registry != "" {
		fmt.Fprintf(&b, " (from %s)", e.Registry)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, ", gave up after %d attempts", e.Attempts)
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

func (e *PullError) Unwrap() error { return e.Err }

// describe renders a registry's answer in its own words (the error codes of
// the distribution API), a network failure by its cause, anything else as is.
func describe(err error) string {
	var te *transport.Error
	if errors.As(err, &te) {
		if len(te.Errors) > 0 {
			var parts []string
			for _, d := range te.Errors {
				parts = append(parts, fmt.Sprintf("%s: %s", d.Code, d.Message))
			}
			return strings.Join(parts, "; ")
		}
		return fmt.Sprintf("HTTP %d %s", te.StatusCode, http.StatusText(te.StatusCode))
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "cannot reach the registry: " + op.Error()
	}
	return err.Error()
}

// statusOf returns the HTTP status of a registry's answer, or 0.
func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// transient reports whether err may go away on retry: a registry that is
// overloaded or restarting, a connection refused, reset or cut short.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var p permanent
	if errors.As(err, &p) {
		return false
	}
	if s := statusOf(err); s != 0 {
		switch s {
		case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
			http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
