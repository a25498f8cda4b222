package registry

import (
	"context"
	"reflect"

	"github.com/sirupsen/logrus"
)

// dcontextLoggerKey names the context key under which distribution looks up
// its logger (internal/dcontext.loggerKey). That package is internal, so the
// key cannot be built here; without it every request logs to logrus's
// process-wide standard logger, which a library must not take over.
const (
	dcontextPkg       = "github.com/distribution/distribution/v3/internal/dcontext"
	dcontextLoggerKey = "loggerKey"
)

// loggerContext answers distribution's logger lookups with this registry's
// own logger; everything else goes to the parent context.
type loggerContext struct {
	context.Context
	entry *logrus.Entry
}

func withLogger(ctx context.Context, entry *logrus.Entry) context.Context {
	return loggerContext{Context: ctx, entry: entry}
}

func (c loggerContext) Value(key any) any {
	if t := reflect.TypeOf(key); t != nil && t.Name() == dcontextLoggerKey && t.PkgPath() == dcontextPkg {
		return c.entry
	}
	return c.Context.Value(key)
}
