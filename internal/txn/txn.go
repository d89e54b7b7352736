// Package txn runs a service's write in one Postgres transaction with a hook
// for the caller: the api completes its idempotency claim in the hook, so the
// stored response commits (or rolls back) with the write itself.
package txn

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Finish runs inside the write transaction, after the write, before commit.
type Finish[T any] func(ctx context.Context, tx pgx.Tx, out T) error

// Run runs write and then finish (when not nil) in one transaction.
func Run[T any](ctx context.Context, pool *pgxpool.Pool, write func(pgx.Tx) (T, error), finish Finish[T]) (T, error) {
	var out T
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		if out, err = write(tx); err != nil {
			return err
		}
		if finish != nil {
			return finish(ctx, tx, out)
		}
		return nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}
