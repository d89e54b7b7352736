package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// What the client adds to a request over hand-written net/http, as the
// evidence load generator sends it: a pre-encoded body, a fresh
// Idempotency-Key, respond-async, the answer discarded.
func BenchmarkPost(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"accepted":true,"status":"queued"}`)
	}))
	b.Cleanup(srv.Close)
	body := `{"provider":"acmepay","providerTransferId":"tr_1","status":"completed","amount":{"amount":"10.00","currency":"USD"}}`
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	ctx := context.Background()

	b.Run("net/http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/evidence/provider", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer rl_live_x")
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", newIdempotencyKey())
			req.Header.Set("Prefer", "respond-async")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("client", func(b *testing.B) {
		c := New(srv.URL, WithCredential("rl_live_x"), WithHTTPClient(hc), WithRetry(RetryPolicy{MaxAttempts: 1}))
		opts := []RequestOption{PreferAsync()}
		raw := []byte(body)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Do(ctx, http.MethodPost, "/v1/evidence/provider", raw, io.Discard, opts...); err != nil {
				b.Fatal(err)
			}
		}
	})
}
