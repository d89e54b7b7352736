// Package idempotency implements the Idempotency-Key contract (DESIGN §3):
// the first request with a key claims it under a lease, the write it guards
// completes the claim in the same transaction, retries replay the stored
// response, and a different body or a concurrent retry is refused.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/db"
)

var (
	// ErrConflict: the key was used with a different request body.
	ErrConflict = errors.New("idempotency key reused with a different request body")
	// ErrInProgress: the first request with this key is still running.
	ErrInProgress = errors.New("a request with this idempotency key is still being processed")
	// ErrLeaseLost: the claim expired and another request took the key over;
	// the write must roll back and leave the key to its new owner.
	ErrLeaseLost = errors.New("idempotency claim lost to another request")
)

// Store keeps idempotency records in Postgres.
type Store struct {
	pool  *pgxpool.Pool
	q     *db.Queries
	lease time.Duration
	ttl   time.Duration
}

// NewStore builds a store. lease is how long a claim blocks retries before it
// is presumed dead; ttl is how long a completed response is kept.
func NewStore(pool *pgxpool.Pool, lease, ttl time.Duration) *Store {
	return &Store{pool: pool, q: db.New(pool), lease: lease, ttl: ttl}
}

// Request identifies one use of a key.
type Request struct {
	OrganizationID uuid.UUID
	Operation      string // method and path: the same key on another path is another record
	Key            string
	Fingerprint    []byte
}

// Claim is the right to run the request once.
type Claim struct {
	store *Store
	req   Request
	token uuid.UUID
	done  bool
}

// Replay is a stored response to answer verbatim.
type Replay struct {
	Status int
	Body   []byte
}

// Begin claims the key, or returns the stored response to replay, or
// ErrConflict / ErrInProgress.
func (s *Store) Begin(ctx context.Context, r Request) (*Claim, *Replay, error) {
	// A record released between the claim attempt and the read is retried.
	for range 3 {
		token := uuid.New()
		_, err := s.q.ClaimIdempotencyKey(ctx, db.ClaimIdempotencyKeyParams{
			OrganizationID: r.OrganizationID, Operation: r.Operation, Key: r.Key,
			Fingerprint: r.Fingerprint, ClaimToken: token,
			LeaseSeconds: s.lease.Seconds(), TtlSeconds: s.ttl.Seconds(),
		})
		if err == nil {
			return &Claim{store: s, req: r, token: token}, nil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		rec, err := s.q.GetIdempotencyRecord(ctx, db.GetIdempotencyRecordParams{
			OrganizationID: r.OrganizationID, Operation: r.Operation, Key: r.Key,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read idempotency record: %w", err)
		}
		switch {
		case !bytes.Equal(rec.Fingerprint, r.Fingerprint):
			return nil, nil, ErrConflict
		case rec.Status == "completed" && rec.ResponseStatus != nil:
			return nil, &Replay{Status: int(*rec.ResponseStatus), Body: rec.ResponseBody}, nil
		default:
			return nil, nil, ErrInProgress
		}
	}
	return nil, nil, ErrInProgress
}

// Complete records the response inside the write's own transaction, so the
// stored response exists exactly when the write committed.
func (c *Claim) Complete(ctx context.Context, tx pgx.Tx, status int, body []byte) error {
	return c.complete(ctx, c.store.q.WithTx(tx), status, body)
}

func (c *Claim) complete(ctx context.Context, q *db.Queries, status int, body []byte) error {
	st := int32(status)
	n, err := q.CompleteIdempotencyKey(ctx, db.CompleteIdempotencyKeyParams{
		OrganizationID: c.req.OrganizationID, Operation: c.req.Operation, Key: c.req.Key,
		ClaimToken: c.token, ResponseStatus: &st, ResponseBody: body,
	})
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	c.done = true
	return nil
}

// Completed tells whether Complete succeeded (its transaction may still roll back).
func (c *Claim) Completed() bool { return c.done }

// Release gives the key up when the request did not complete (a validation
// failure, an error, a rolled-back write) so that a retry runs afresh.
func (c *Claim) Release(ctx context.Context) error {
	return c.store.q.ReleaseIdempotencyKey(ctx, db.ReleaseIdempotencyKeyParams{
		OrganizationID: c.req.OrganizationID, Operation: c.req.Operation, Key: c.req.Key, ClaimToken: c.token,
	})
}

// DeleteExpired removes expired records in batches and returns how many went.
func (s *Store) DeleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := s.q.DeleteExpiredIdempotencyRecords(ctx, 5000)
		total += n
		if err != nil {
			return total, fmt.Errorf("delete expired idempotency records: %w", err)
		}
		if n < 5000 {
			return total, nil
		}
	}
}

// Fingerprint is the SHA-256 of the canonical form of a request body: JSON
// is re-encoded with sorted keys and no insignificant whitespace, so that
// the same document sent twice with other formatting is the same request.
// A body that is not JSON is hashed as it is.
func Fingerprint(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		if canon, err := json.Marshal(v); err == nil {
			body = canon
		}
	}
	h := sha256.Sum256(body)
	return h[:]
}

// FingerprintRequest is the fingerprint of a request body sent with
// contentType: a multipart/form-data body's is its form's
// (FingerprintMultipart); any other body's, or a form that cannot be read
// (the handler refuses it, and a refusal is not stored), is Fingerprint.
func FingerprintRequest(contentType string, body []byte) []byte {
	if mt, params, err := mime.ParseMediaType(contentType); err == nil && mt == "multipart/form-data" && params["boundary"] != "" {
		if fp, err := FingerprintMultipart(bytes.NewReader(body), params["boundary"]); err == nil {
			return fp
		}
	}
	return Fingerprint(body)
}

// FingerprintMultipart is the SHA-256 of the canonical form of a
// multipart/form-data body: each part as its form field name, its file name
// (empty for a plain field) and the SHA-256 of its content, the parts in
// sorted order. The boundary, the order of the parts and how their headers
// are written (a part's Content-Type included) are left out: a client that
// retries an upload draws a fresh boundary (curl does, every time), and the
// retry is still the same request. Contents are hashed as they stream by,
// so a large file is never copied.
func FingerprintMultipart(body io.Reader, boundary string) ([]byte, error) {
	mr := multipart.NewReader(body, boundary)
	var parts [][sha256.Size]byte
	content := sha256.New()
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read multipart body: %w", err)
		}
		content.Reset()
		if _, err := io.Copy(content, p); err != nil {
			return nil, fmt.Errorf("read multipart body: %w", err)
		}
		// Each string is length-prefixed, so that no two parts encode alike.
		var entry []byte
		for _, s := range []string{p.FormName(), p.FileName()} {
			entry = binary.AppendUvarint(entry, uint64(len(s)))
			entry = append(entry, s...)
		}
		parts = append(parts, sha256.Sum256(content.Sum(entry)))
	}
	slices.SortFunc(parts, func(a, b [sha256.Size]byte) int { return bytes.Compare(a[:], b[:]) })
	h := sha256.New()
	h.Write([]byte("multipart/form-data\n"))
	for _, p := range parts {
		h.Write(p[:])
	}
	return h.Sum(nil), nil
}

// CompleteAfter records the response outside the write's transaction, for
// writes whose response is only known after commit (evidence waits for the
// matcher). If the process dies in between, the key frees itself after the
// lease and a retry finds the write by its business key instead.
func (c *Claim) CompleteAfter(ctx context.Context, status int, body []byte) error {
	return c.complete(ctx, c.store.q, status, body)
}

// Completion identifies the claim to a write that records the response
// itself, in its own statement (evidence intake does, to save round trips).
type Completion struct {
	OrganizationID uuid.UUID
	Operation      string
	Key            string
	Token          uuid.UUID
}

// Completion returns what a write needs to complete c itself; call
// Completed on c when the write reports it did.
func (c *Claim) Completion() Completion {
	return Completion{OrganizationID: c.req.OrganizationID, Operation: c.req.Operation, Key: c.req.Key, Token: c.token}
}

// MarkCompleted records that a write completed the claim itself.
func (c *Claim) MarkCompleted() { c.done = true }
