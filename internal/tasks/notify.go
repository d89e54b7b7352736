package tasks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Waiter lets an api process wait for the outcome of a task it enqueued
// without polling: the process subscribes to a channel of its own, names the
// channel in the task, and the worker publishes the outcome there once its
// transaction has committed. A process that is not subscribed (Redis away)
// has no channel, and callers answer at once instead of waiting.
type Waiter struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger

	mu      sync.Mutex
	ready   bool
	waiting map[string]chan []byte
}

// NewWaiter builds a waiter with a channel name unique to this process.
func NewWaiter(rdb redis.UniversalClient, logger *slog.Logger) *Waiter {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return &Waiter{rdb: rdb, log: logger, channel: "reconlayer:outcomes:" + hex.EncodeToString(b), waiting: map[string]chan []byte{}}
}

// Run subscribes and delivers outcomes until ctx ends. go-redis re-subscribes
// by itself after a reconnect; outcomes published in between are lost, and
// their waiters time out (the work itself is not affected).
func (w *Waiter) Run(ctx context.Context) {
	ps := w.rdb.Subscribe(ctx)
	// Receive does not return on cancellation by itself: closing does.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	defer ps.Close()
	if err := ps.Subscribe(ctx, w.channel); err != nil && ctx.Err() == nil {
		w.log.Warn("outcome channel: subscribe", "err", err.Error())
	}
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			w.setReady(m.Kind == "subscribe")
		case *redis.Message:
			key, body, ok := bytes.Cut([]byte(m.Payload), []byte{'\n'})
			if ok {
				w.deliver(string(key), body)
			}
		case error:
			w.setReady(false)
		}
		if err != nil {
			// The connection broke: Receive reconnects and re-subscribes on
			// the next call; until then nobody should wait on us. Pause so
			// that a Redis that is down is not dialed in a tight loop.
			w.setReady(false)
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
}

func (w *Waiter) setReady(v bool) {
	w.mu.Lock()
	w.ready = v
	w.mu.Unlock()
}

func (w *Waiter) deliver(key string, body []byte) {
	w.mu.Lock()
	ch, ok := w.waiting[key]
	delete(w.waiting, key)
	w.mu.Unlock()
	if ok {
		ch <- body
	}
}

// Register prepares to receive the outcome for key. It returns the channel to
// name in the task ("" when this process is not subscribed: do not wait), the
// outcome channel, and a cancel func that must be called when done waiting.
func (w *Waiter) Register(key string) (string, <-chan []byte, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ready {
		return "", nil, func() {}
	}
	ch := make(chan []byte, 1)
	w.waiting[key] = ch
	return w.channel, ch, func() {
		w.mu.Lock()
		if w.waiting[key] == ch {
			delete(w.waiting, key)
		}
		w.mu.Unlock()
	}
}

// Channel is where this process hears outcomes, for a task recorded before
// its waiter registers (the key is known only once the write is done); ""
// when not subscribed.
func (w *Waiter) Channel() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ready {
		return ""
	}
	return w.channel
}

// Ready reports whether the process is subscribed.
func (w *Waiter) Ready() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ready
}

// Publish sends a task's outcome to a waiting api process. Losing it only
// makes that process answer 202, so errors are the caller's to log.
func Publish(ctx context.Context, rdb redis.UniversalClient, channel, key string, outcome []byte) error {
	if channel == "" {
		return nil
	}
	msg := make([]byte, 0, len(key)+1+len(outcome))
	msg = append(append(append(msg, key...), '\n'), outcome...)
	return rdb.Publish(ctx, channel, msg).Err()
}
