package deployer

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// parallel runs fn for every host, at most limit at a time, and returns the
// errors of all hosts joined in host order, each prefixed with its host. It
// waits for every started host even when one fails: a half-done host must not
// be left running unobserved.
func parallel(ctx context.Context, hosts []string, limit int, fn func(ctx context.Context, host string) error) error {
	if limit <= 0 {
		limit = len(hosts)
	}
	sem := make(chan struct{}, max(limit, 1))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = fmt.Errorf("host %s: %w", h, ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, h); err != nil {
				errs[i] = fmt.Errorf("host %s: %w", h, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// eachUntilError runs fn for items 0..n-1, at most limit at a time, and
// stops at the first error: the items running are cancelled, no more start.
// It returns that first error.
func eachUntilError(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}
