package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// shutdownGrace is how long requests in flight may finish after ctx ends.
const shutdownGrace = 5 * time.Second

// Serve listens on addr (host:port; port 0 picks a free one) and serves the
// images in s until ctx ends. It returns once the listener is open,
// with the address it listens on and a wait function that blocks until the
// server has stopped: nil after ctx ends, else the reason it failed.
func Serve(ctx context.Context, st Store, addr string, opts ...Option) (string, func() error, error) {
	s, err := newServer(st, opts...)
	if err != nil {
		return "", nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		s.Close()
		return "", nil, fmt.Errorf("registry: listening on %s: %w", addr, err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.tls != nil {
		ln = tls.NewListener(ln, o.tls)
	}
	errLog := s.log.WriterLevel(logrus.WarnLevel)
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(errLog, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	stopped := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(stopped)
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	})
	actual := ln.Addr().String()
	wait := sync.OnceValue(func() error {
		err := <-served
		defer errLog.Close()
		if stop() {
			// Serve failed on its own: ctx never ended, nothing shuts down.
			s.Close()
			return fmt.Errorf("registry on %s: %w", actual, err)
		}
		<-stopped
		s.Close()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("registry on %s: %w", actual, err)
	})
	return actual, wait, nil
}
