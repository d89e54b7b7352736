package main

// The fleet on one machine (issue on scale-out): two api processes, three
// workers and one scheduler against one Postgres and one Redis, driven by a
// mixed workload spread over both apis, with every write sent twice under
// its Idempotency-Key and evidence sent once more under a new key. The
// final database must hold every accepted request exactly once and every
// case evaluated once per piece of evidence that changed it.

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/client"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/ledger"
)

// fleetEvidence is the evidence of intent i: provider (USD), on-chain (USDC)
// or bank (EUR) in turn, each naming the intent's externalReference.
func fleetEvidence(i int) (path, ref, currency string, body map[string]any) {
	ref = fmt.Sprintf("fleet_%04d", i)
	amount := map[string]any{"amount": "25.00"}
	switch i % 3 {
	case 0:
		amount["currency"] = "USD"
		return "/v1/evidence/provider", ref, "USD", map[string]any{
			"provider": "acmepay", "providerTransferId": "tr_" + ref, "status": "completed",
			"amount": amount, "externalReference": ref,
		}
	case 1:
		amount["currency"] = "USDC"
		return "/v1/evidence/onchain", ref, "USDC", map[string]any{
			"chainFamily": "evm", "chainId": 1, "txHash": fmt.Sprintf("0x%064x", i), "status": "confirmed",
			"amount": amount, "toAddress": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "externalReference": ref,
		}
	default:
		amount["currency"] = "EUR"
		return "/v1/evidence/bank", ref, "EUR", map[string]any{
			"direction": "credit", "amount": amount, "status": "booked", "bookingDate": "2026-11-20",
			"bankReference": "BR-" + ref, "externalReference": ref,
		}
	}
}

func TestFleetLosesAndDoublesNothing(t *testing.T) {
	t.Parallel()
	const intents = 240
	dbURL := dbtest.EmptyDatabaseURL(t)
	_, redisURL := dbtest.Redis(t)
	env := map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "RECONLAYER_METRICS_ADDR": "off",
		"RECONLAYER_SESSION_SECRET":         adminSecret,
		"RECONLAYER_EVIDENCE_WAIT":          "10s",
		"RECONLAYER_RATE_LIMIT_PER_MINUTE":  "1000000",
		"RECONLAYER_WORKER_CONCURRENCY":     "8",
		"RECONLAYER_DATABASE_MAX_CONNS":     "8",
		"RECONLAYER_WEBHOOK_ALLOW_INSECURE": "true", "RECONLAYER_WEBHOOK_ALLOW_PRIVATE": "true",
	}
	e2eMigrateUp(t, env)
	_, api1 := e2eStartServing(t, "api-1", env, "api")
	_, api2 := e2eStartServing(t, "api-2", env, "api")
	for i := 1; i <= 3; i++ {
		e2eStart(t, fmt.Sprintf("worker-%d", i), env, "worker")
	}
	e2eStart(t, "scheduler", env, "scheduler")
	org, key := e2eOrgAndKey(t, dbURL)
	clients := []*e2eClient{newE2EClient(api1, key), newE2EClient(api2, key)}
	pool := e2ePool(t, dbURL)

	// A webhook receiver counting each event id it is sent.
	var mu sync.Mutex
	seen := map[string]int{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		seen[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	e2eWebhookEndpoint(t, api1, dbURL, org, receiver.URL+"/hooks", "*")

	// send posts body twice under one Idempotency-Key, through one api and
	// then the other: both answers must be the same.
	send := func(i int, path string, body any) (int, error) {
		idem := uuid.NewString()
		hdr := map[string]string{"Idempotency-Key": idem}
		first, _, b1, err := clients[i%2].do(http.MethodPost, path, body, hdr)
		if err != nil {
			return 0, err
		}
		again, _, b2, err := clients[(i+1)%2].do(http.MethodPost, path, body, hdr)
		if err != nil {
			return 0, err
		}
		if first != again || string(b1) != string(b2) {
			return 0, fmt.Errorf("%s replayed under its key answered %d %s, then %d %s", path, first, b1, again, b2)
		}
		if first >= 300 {
			return 0, fmt.Errorf("%s answered %d: %s", path, first, b1)
		}
		return first, nil
	}
	var accepted, duplicates atomic.Int64
	work := make(chan int)
	errs := make(chan error, intents)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				path, ref, currency, ev := fleetEvidence(i)
				intent := map[string]any{"externalReference": ref, "sourceAmount": "25.00", "sourceCurrency": currency, "paymentType": "other"}
				if _, err := send(i, "/v1/payment-intents", intent); err != nil {
					errs <- err
					continue
				}
				if _, err := send(i, path, ev); err != nil {
					errs <- err
					continue
				}
				accepted.Add(1)
				// The same evidence under a new key: a duplicate, not a second record.
				code, _, b, err := clients[i%2].do(http.MethodPost, path, ev, nil)
				if err != nil || code != http.StatusOK {
					errs <- fmt.Errorf("evidence %s again answered %d %s (%v)", ref, code, b, err)
					continue
				}
				duplicates.Add(1)
			}
		}()
	}
	start := time.Now()
	for i := 0; i < intents; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	require.False(t, t.Failed())

	// An import and a ledger run, through the other api.
	fixtureFile := "../../../shared/fixtures/statements/camt053/camt_parser__valid_example.xml"
	content, err := os.ReadFile(fixtureFile)
	require.NoError(t, err)
	_, err = send(1, "/v1/import-batches", map[string]any{
		"originalFileName": "valid_example.xml", "contentBase64": base64.StdEncoding.EncodeToString(content),
	})
	require.NoError(t, err)
	c := clients[1]
	ref := "EndToEndReference"
	ledgerID := e2eLedger(t, c, []ledger.EntryInput{{Account: "1200", Direction: "credit", Amount: decimal.RequireFromString("2.00"),
		Currency: "EUR", BookingDate: time.Date(2013, 12, 27, 0, 0, 0, 0, time.UTC), Reference: &ref, ExternalID: "GL-2"}})
	runID := e2eRunWithSource(t, c, ledgerID, "automatic", "statement.xml", content)
	t.Logf("workload sent in %s", time.Since(start).Round(time.Millisecond))

	// Everything settles: every evidence record placed, the batch matched,
	// the run completed, every webhook event sent.
	require.Eventually(t, func() bool {
		return e2eCount(t, pool, `SELECT count(*) FROM raw_records WHERE match_status = 'queued'`) == 0 &&
			e2eCount(t, pool, `SELECT count(*) FROM import_batches WHERE status <> 'completed'`) == 0 &&
			e2eCount(t, pool, `SELECT count(*) FROM ledger_runs WHERE id = $1 AND status = 'completed'`, runID) == 1 &&
			e2eCount(t, pool, `SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'`) == 0
	}, 3*time.Minute, 250*time.Millisecond, "the fleet did not settle")

	n := int(accepted.Load())
	require.Equal(t, intents, n)
	require.Equal(t, n, e2eCount(t, pool, `SELECT count(*) FROM payment_intents`))
	require.Equal(t, n, e2eCount(t, pool, `SELECT count(*) FROM reconciliation_cases`))
	present := e2eCount(t, pool, `SELECT count(*) FROM raw_records WHERE import_batch_id IS NULL`)
	dups := e2eCount(t, pool, `SELECT count(*) FROM (SELECT source, source_ref FROM raw_records
		WHERE import_batch_id IS NULL GROUP BY 1, 2 HAVING count(*) > 1) d`) +
		e2eCount(t, pool, `SELECT count(*) FROM (SELECT raw_record_id FROM flow_legs GROUP BY 1 HAVING count(*) > 1) d`) +
		e2eCount(t, pool, `SELECT count(*) FROM (SELECT flow_leg_id, case_id FROM match_links GROUP BY 1, 2 HAVING count(*) > 1) d`) +
		e2eCount(t, pool, `SELECT count(*) FROM (SELECT raw_record_id FROM audit_events WHERE event_type = 'evidence.received'
			GROUP BY 1 HAVING count(*) > 1) d`) +
		e2eCount(t, pool, `SELECT count(*) FROM (SELECT case_id, event_type FROM event_outbox WHERE event_type LIKE 'reconciliation_case.%'
			GROUP BY 1, 2 HAVING count(*) > 1) d`)
	fmt.Printf("fleet: 2 api, 3 workers, 1 scheduler: accepted %d evidence (+%d duplicates answered 200), present %d, duplicates %d\n",
		n, duplicates.Load(), present, dups)
	require.Equal(t, n, present)
	require.Zero(t, dups)

	// Each case matched its one evidence record and was evaluated once for it.
	require.Equal(t, n, e2eCount(t, pool, `SELECT count(*) FROM match_links WHERE status = 'active'`))
	require.Zero(t, e2eCount(t, pool, `SELECT count(*) FROM reconciliation_cases c
		WHERE (SELECT count(*) FROM audit_events a WHERE a.case_id = c.id AND a.event_type = 'case.evaluated') <> 1`),
		"a case evaluated other than once")
	require.Zero(t, e2eCount(t, pool, `SELECT count(*) FROM reconciliation_cases WHERE verdict IS NULL`), "a case never evaluated")
	require.Equal(t, n/3, e2eCount(t, pool, `SELECT count(*) FROM reconciliation_cases WHERE reconciliation_status = 'reconciled'`),
		"the provider-evidenced third reconciles; the others are evaluated and stay open")
	require.Equal(t, 5, e2eCount(t, pool, `SELECT count(*) FROM raw_records WHERE import_batch_id IS NOT NULL`))
	require.Equal(t, 1, e2eCount(t, pool, `SELECT count(*) FROM ledger_matches WHERE run_id = $1`, runID))

	// Every event sent once to the receiver.
	events := e2eCount(t, pool, `SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'`)
	require.Positive(t, events)
	mu.Lock()
	defer mu.Unlock()
	twice := 0
	for id, k := range seen {
		if k > 1 {
			twice++
			t.Errorf("webhook %s received %d times", id, k)
		}
	}
	fmt.Printf("fleet: webhook events delivered %d, received %d, received twice %d\n", events, len(seen), twice)
	require.Equal(t, events, len(seen))
}

// e2eLedger books entries (on account 1200, which it opens) in a new
// ledger, 10,000 a request, and returns the ledger's id.
func e2eLedger(t *testing.T, c *e2eClient, entries []ledger.EntryInput) string {
	t.Helper()
	ctx := context.Background()
	var resp *client.Response
	l, err := c.api.CreateLedger(ctx, client.CreateLedgerParams{Name: "Books"}, client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", resp.Body)
	_, err = c.api.CreateLedgerAccount(ctx, l.ID, client.CreateLedgerAccountParams{Name: "Bank", Code: "1200", Currency: "EUR"}, client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	for start := 0; start < len(entries); start += client.MaxLedgerEntriesPerRequest {
		batch := make([]client.LedgerEntryInput, 0, client.MaxLedgerEntriesPerRequest)
		for _, e := range entries[start:min(start+client.MaxLedgerEntriesPerRequest, len(entries))] {
			in := client.LedgerEntryInput{Account: e.Account, Direction: e.Direction, Amount: e.Amount.String(), Currency: e.Currency,
				BookingDate: e.BookingDate.Format(time.DateOnly), ExternalID: e.ExternalID}
			if e.Reference != nil {
				in.Reference = *e.Reference
			}
			batch = append(batch, in)
		}
		_, err := c.api.AddLedgerEntries(ctx, l.ID, batch, client.CaptureResponse(&resp))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", resp.Body)
	}
	return l.ID
}

// e2eRunWithSource opens a ledger run in mode and uploads file as its
// source, with seed 003's idempotency_key fields beside the client's
// Idempotency-Key header.
func e2eRunWithSource(t *testing.T, c *e2eClient, ledgerID, mode, name string, file []byte) string {
	t.Helper()
	ctx := context.Background()
	var resp *client.Response
	run, err := c.api.CreateLedgerRun(ctx, client.CreateLedgerRunParams{
		LedgerID: ledgerID, Mode: mode, SourceType: "upload", IdempotencyKey: "run-" + uuid.NewString(),
	}, client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", resp.Body)
	_, err = c.api.UploadLedgerSource(ctx, run.ID, client.UploadLedgerSourceParams{
		File: client.File{Name: name, Content: file}, IdempotencyKey: "file-" + uuid.NewString(),
	}, client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode, "%s", resp.Body)
	return run.ID
}
