//go:build tools

// Package tools names the command this module builds, so go mod tidy keeps it.
package tools

import _ "github.com/coredns/coredns"
