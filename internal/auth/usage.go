package auth

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
)

// UsageRecorder coalesces lastUsedAt: requests mark their key in memory and
// a flush writes all marked keys in one statement, so a key used a thousand
// times a second costs one write per interval, not a thousand.
type UsageRecorder struct {
	q        *db.Queries
	interval time.Duration
	mu       sync.Mutex
	used     map[uuid.UUID]struct{}
}

// NewUsageRecorder flushes every interval once Run is called.
func NewUsageRecorder(q *db.Queries, interval time.Duration) *UsageRecorder {
	return &UsageRecorder{q: q, interval: interval, used: map[uuid.UUID]struct{}{}}
}

// Touch marks a key as used now.
func (u *UsageRecorder) Touch(id uuid.UUID) {
	u.mu.Lock()
	u.used[id] = struct{}{}
	u.mu.Unlock()
}

// Flush writes the marked keys.
func (u *UsageRecorder) Flush(ctx context.Context) error {
	u.mu.Lock()
	if len(u.used) == 0 {
		u.mu.Unlock()
		return nil
	}
	ids := make([]uuid.UUID, 0, len(u.used))
	for id := range u.used {
		ids = append(ids, id)
	}
	u.used = map[uuid.UUID]struct{}{}
	u.mu.Unlock()
	return u.q.TouchAPIKeys(ctx, db.TouchAPIKeysParams{UsedAt: time.Now(), Ids: ids})
}

// Run flushes every interval until ctx ends, then once more.
func (u *UsageRecorder) Run(ctx context.Context) {
	t := time.NewTicker(u.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := u.Flush(fctx); err != nil {
				slog.Warn("flush api key usage", "err", err.Error())
			}
			cancel()
			return
		case <-t.C:
			if err := u.Flush(ctx); err != nil && ctx.Err() == nil {
				slog.Warn("flush api key usage", "err", err.Error())
			}
		}
	}
}
