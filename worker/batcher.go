package worker

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// batcher is group commit for evidence:match: the match tasks running at the
// same time in this worker are handed to matcher.ProcessMany together, so a
// burst of evidence costs a few statements per batch rather than a dozen per
// record. A lone task waits at most linger for company. Each task still
// completes only when its record is committed, so asynq's guarantees hold.
type batcher struct {
	m        *matcher.Service
	reqs     chan batchReq
	max      int
	linger   time.Duration
	parallel chan struct{}
}

type batchReq struct {
	org, id uuid.UUID
	reply   chan batchResult
}

type batchResult struct {
	out matcher.Outcome
	err error
}

func newBatcher(m *matcher.Service, max, parallel int, linger time.Duration) *batcher {
	return &batcher{m: m, reqs: make(chan batchReq), max: max, linger: linger, parallel: make(chan struct{}, parallel)}
}

// match matches one raw record as part of whatever batch it joins.
func (b *batcher) match(ctx context.Context, org, id uuid.UUID) (matcher.Outcome, error) {
	r := batchReq{org: org, id: id, reply: make(chan batchResult, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return matcher.Outcome{}, ctx.Err()
	}
	select {
	case res := <-r.reply:
		return res.out, res.err
	case <-ctx.Done():
		// The batch goes on and commits; a retry of the task finds the
		// record processed and reports its outcome.
		return matcher.Outcome{}, ctx.Err()
	}
}

// run gathers requests into batches until ctx ends, then waits for the
// batches in flight.
func (b *batcher) run(ctx context.Context) {
	defer func() {
		for range cap(b.parallel) {
			b.parallel <- struct{}{}
		}
	}()
	for {
		// A free slot first, then the batch: while every slot is busy,
		// requests pile up, and the next batch takes them all.
		b.parallel <- struct{}{}
		var batch []batchReq
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-ctx.Done():
			<-b.parallel
			return
		}
		timer := time.NewTimer(b.linger)
	gather:
		for len(batch) < b.max {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		go func() {
			defer func() { <-b.parallel }()
			b.process(batch)
		}()
	}
}

func (b *batcher) process(batch []batchReq) {
	// Not the requests' contexts: the batch outlives any one of them.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ids := make([]uuid.UUID, len(batch))
	for i, r := range batch {
		ids[i] = r.id
	}
	outs, err := b.m.ProcessMany(ctx, ids)
	for _, r := range batch {
		if out, ok := outs[r.id]; ok {
			r.reply <- batchResult{out: out}
			continue
		}
		if err == nil {
			r.reply <- batchResult{err: matcher.ErrRawRecordNotFound}
			continue
		}
		// The batch failed (a lost race, a bad record): each record on its
		// own, so that one record's failure is only its own.
		out, perr := b.m.Process(ctx, r.org, r.id, tasks.EvidenceMatchID(r.id))
		if perr != nil {
			perr = fmt.Errorf("%w (its batch failed first: %v)", perr, err)
		}
		r.reply <- batchResult{out: out, err: perr}
	}
}
