package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/resource"
)

func TestExportJSONHasTheSeedShape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org, "exports:read")
	r := b.intent(org, "order-1")
	b.intent(org, "order-2")
	_, err := b.pool.Exec(context.Background(), "UPDATE reconciliation_cases SET verdict = 'matched' WHERE id = $1", r.Case.ID)
	require.NoError(t, err)

	rec := b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, []string{"exportedAt", "filters", "items", "total"}, sortedKeys(doc))
	_, err = time.Parse(time.RFC3339, doc["exportedAt"].(string))
	require.NoError(t, err)
	require.Equal(t, map[string]any{"from": nil, "to": nil, "status": nil, "reconciliationStatus": nil,
		"externalReference": nil, "verdicts": []any{}, "exceptionType": nil, "slaRisk": nil, "paymentIntentId": nil}, doc["filters"])
	require.EqualValues(t, 2, doc["total"])
	items := doc["items"].([]any)
	require.Len(t, items, 2)
	item := items[1].(map[string]any)
	require.Equal(t, []string{"case", "evidence"}, sortedKeys(item))
	c := item["case"].(map[string]any)
	requireKeys(t, c, seedCaseFields)
	require.Equal(t, "order-1", c["paymentIntent"].(map[string]any)["externalReference"])
	require.Len(t, c["auditEvents"], 1, "the export carries each case's audit trail")
	require.Equal(t, map[string]any{"caseId": c["id"], "paymentIntentId": c["paymentIntentId"],
		"rawRecords": []any{}, "flowLegs": []any{}, "matchLinks": []any{}}, item["evidence"])

	// Filters narrow the export and are echoed.
	rec = b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?verdict=matched&status=open&from=2020-01-01", token: key})
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.EqualValues(t, 1, doc["total"])
	require.Len(t, doc["items"], 1)
	f := doc["filters"].(map[string]any)
	require.Equal(t, []any{"matched"}, f["verdicts"])
	require.Equal(t, "open", f["status"])
	require.Equal(t, "2020-01-01", f["from"])

	envelope(t, b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?format=xml", token: key}), 400, "invalid_request")
	envelope(t, b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?verdict=good", token: key}), 400, "invalid_request")
	e := envelope(t, b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?offset=3", token: key}), 400, "invalid_request")
	require.Equal(t, []string{"offset"}, e.Issues[0].Path, "an export is never paged: paging parameters are refused, not ignored")
}

// More cases than one export page: every case once, total equal to items.
func TestExportStreamsEveryPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org, "exports:read")
	b.bulkCases(org, 2500)
	b.bulkCases(b.org("Other"), 10)

	rec := b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases", token: key})
	require.Equal(t, 200, rec.Code)
	var doc struct {
		Total int `json:"total"`
		Items []struct {
			Case struct {
				ID          string `json:"id"`
				AuditEvents []any  `json:"auditEvents"`
			} `json:"case"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.Equal(t, 2500, doc.Total)
	require.Len(t, doc.Items, 2500)
	seen := map[string]bool{}
	for _, it := range doc.Items {
		require.False(t, seen[it.Case.ID])
		seen[it.Case.ID] = true
		require.Len(t, it.Case.AuditEvents, 1)
	}

	rec = b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?format=csv", token: key})
	rows, err := csv.NewReader(rec.Body).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2501, "header + one row per case")
}

// The export reads pages of cases on one connection and their audit events,
// legs and links on a second: both must read the snapshot the export began
// with, or a page could show an audit event (or a case) written after the
// total was counted.
func TestExportReadsOneSnapshotOnBothConnections(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	b.bulkCases(org, 5000) // five pages
	ctx := context.Background()
	var oldest db.ReconciliationCase
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT id, payment_intent_id FROM reconciliation_cases
		WHERE organization_id = $1 ORDER BY created_at, id LIMIT 1`, org).Scan(&oldest.ID, &oldest.PaymentIntentID))

	emitted, batches := 0, 0
	var oldestAudit []db.AuditEvent
	err := cases.New(b.pool, nil).Export(ctx, db.ListCasesParams{OrganizationID: org, Verdicts: []string{}},
		func(n int64) error { require.EqualValues(t, 5000, n); return nil }, // called on this goroutine
		func(batch cases.ExportBatch) error {
			if batches == 0 {
				// Committed while the export runs, before the last page (the
				// oldest cases) has been read by either connection.
				// (emit runs on the export's goroutine: errors are returned,
				// not required, which would stop only that goroutine.)
				if _, err := audit.Append(ctx, b.q, audit.Event{OrganizationID: org, CaseID: &oldest.ID,
					PaymentIntentID: &oldest.PaymentIntentID, Type: "case.note_added", Actor: "test", Message: "late"}); err != nil {
					return err
				}
				if _, err := b.pool.Exec(ctx, `INSERT INTO payment_intents (organization_id, external_reference,
					source_amount, source_currency, destination_amount, destination_currency, payment_type, direction)
					VALUES ($1, 'late', 1, 'USD', 1, 'USD', 'stablecoin', 'debit')`, org); err != nil {
					return err
				}
				if _, err := b.pool.Exec(ctx, `INSERT INTO reconciliation_cases (organization_id, payment_intent_id,
					expected_amount, expected_currency, required_legs_total, coverage_provider, coverage_chain,
					coverage_bank, coverage_file, rule_snapshot_id)
					SELECT organization_id, id, 1, 'USD', 2, 'missing', 'missing', 'not_required', 'not_required', (SELECT rule_snapshot_id FROM reconciliation_cases WHERE id = $2)
					FROM payment_intents WHERE organization_id = $1 AND external_reference = 'late'`, org, oldest.ID); err != nil {
					return err
				}
			}
			batches++
			emitted += len(batch.Cases)
			if a, ok := batch.Audit[oldest.ID]; ok {
				oldestAudit = a
			}
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, 5, batches)
	require.Equal(t, 5000, emitted, "the case created during the export is not in it")
	require.Len(t, oldestAudit, 1, "the audit event written during the export is not in it")
	require.Equal(t, "payment_intent.created", oldestAudit[0].EventType)

	var now int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE case_id = $1`, oldest.ID).Scan(&now))
	require.Equal(t, 2, now, "the late event was committed")
}

func TestExportCSVQuotesAndDefusesFormulas(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org, "exports:read")
	r := b.intent(org, `=HYPERLINK("http://evil","click")`)
	_, err := b.pool.Exec(context.Background(),
		`UPDATE payment_intents SET beneficiary_name = $2, source_amount = 12.5 WHERE id = $1`, r.Intent.ID, "Lovelace, \"Ada\"\nLondon")
	require.NoError(t, err)
	_, err = b.pool.Exec(context.Background(), `UPDATE reconciliation_cases SET notes = '@SUM(A1:A9)', unexplained_delta = -3.25 WHERE id = $1`, r.Case.ID)
	require.NoError(t, err)
	b.intent(org, "+1-555-0100")

	rec := b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?format=csv", token: key})
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "text/csv; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Header().Get("Content-Disposition"), "attachment")
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	require.NoError(t, err, "RFC 4180: commas, quotes and newlines survive a round trip")
	require.Equal(t, csvHeader, rows[0])
	require.Len(t, rows, 3)
	col := func(row []string, name string) string {
		for i, h := range csvHeader {
			if h == name {
				return row[i]
			}
		}
		t.Fatalf("no column %s", name)
		return ""
	}
	evil := rows[2] // oldest last
	require.Equal(t, `'=HYPERLINK("http://evil","click")`, col(evil, "externalReference"))
	require.Equal(t, "Lovelace, \"Ada\"\nLondon", col(evil, "beneficiaryName"))
	require.Equal(t, "'@SUM(A1:A9)", col(evil, "notes"))
	require.Equal(t, "-3.25", col(evil, "unexplainedDelta"), "amounts stay numbers")
	require.Equal(t, "12.5", col(evil, "sourceAmount"))
	require.Equal(t, "'+1-555-0100", col(rows[1], "externalReference"))
	require.Equal(t, "missing", col(evil, "coverageProvider"))
}

// countingWriter is an http.ResponseWriter that keeps only the byte count.
type countingWriter struct {
	h http.Header
	n atomic.Int64
}

func (w *countingWriter) Header() http.Header         { return w.h }
func (w *countingWriter) Write(p []byte) (int, error) { w.n.Add(int64(len(p))); return len(p), nil }
func (w *countingWriter) WriteHeader(int)             {}
func (w *countingWriter) Flush()                      {}

// BenchmarkExportCases measures the export through the real router and
// database: rows/s and the peak Go heap while it streams. Run it with
// `make bench` or: go test -run '^$' -bench ExportCases -benchtime 3x ./api/
func BenchmarkExportCases(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		bd := setup(b)
		org := bd.org("Bench")
		key, _ := bd.apiKey(org, "exports:read")
		bd.bulkCases(org, n)
		// Measure steady state, not the first read of freshly written pages
		// (hint bits) nor a plan made without statistics.
		_, err := bd.pool.Exec(context.Background(), "VACUUM ANALYZE payment_intents, reconciliation_cases, audit_events")
		require.NoError(b, err)
		for _, format := range []string{"json", "csv"} {
			b.Run(fmt.Sprintf("%s/cases=%d", format, n), func(b *testing.B) {
				// runtime/metrics reads the heap without stopping the world
				// (runtime.ReadMemStats would, and would slow what it measures).
				var peak atomic.Uint64
				stop := make(chan struct{})
				go func() {
					sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
					t := time.NewTicker(5 * time.Millisecond)
					defer t.Stop()
					for {
						select {
						case <-stop:
							return
						case <-t.C:
							metrics.Read(sample)
							if v := sample[0].Value.Uint64(); v > peak.Load() {
								peak.Store(v)
							}
						}
					}
				}()
				var bytes int64
				b.ResetTimer()
				for range b.N {
					w := &countingWriter{h: http.Header{}}
					r := httptest.NewRequest("GET", "/v1/exports/reconciliation-cases?format="+format, nil)
					r.Header.Set("Authorization", "Bearer "+key)
					bd.router.ServeHTTP(w, r)
					bytes = w.n.Load()
				}
				b.StopTimer()
				close(stop)
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(bytes)/(1<<20), "MiB/export")
			})
		}
	}
}

// The export encodes items with goccy/go-json for speed; it must write the
// very bytes encoding/json writes (HTML escaping, unicode, raw JSON payloads
// with their whitespace, times, nulls), or the export would differ from the
// case read.
func TestExportEncodingMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	r := b.intent(org, `<script>alert("x")</script> & ünïcødé ✓ \ "quoted"`)
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `UPDATE reconciliation_cases SET notes = $2, verdict = 'needs_review',
		unexplained_delta = -0.000000000000000001, provider_fee = 12345678901234567890.5 WHERE id = $1`,
		r.Case.ID, "line1\nline2\ttab \u2028 <>&")
	require.NoError(t, err)
	_, err = audit.Append(ctx, b.q, audit.Event{OrganizationID: org, CaseID: &r.Case.ID, PaymentIntentID: &r.Intent.ID,
		Type: "case.note_added", Actor: "user:ü", Message: "<b>bold</b>",
		Payload: map[string]any{"nested": map[string]any{"k": []any{1.5, "x", nil, true}}, "html": "<&>"}})
	require.NoError(t, err)

	bundle, err := cases.New(b.pool, matcher.New(b.pool)).Get(ctx, org, r.Case.ID)
	require.NoError(t, err)
	item := exportItem{
		Case: resource.CaseOf(bundle),
		Evidence: evidenceJSON{CaseID: r.Case.ID.String(), PaymentIntentID: r.Intent.ID.String(),
			RawRecords: resource.MapSlice(bundle.Links, func(l db.MatchLink) resource.RawRecord {
				return resource.RawRecord{ID: l.RawRecordID.String(), Payload: json.RawMessage(`{"a":"<&>","n":1.50}`)}
			}),
			FlowLegs: resource.MapSlice(bundle.Legs, resource.RenderLeg), MatchLinks: resource.MapSlice(bundle.Links, resource.RenderLink)},
	}
	std, err := json.Marshal(item)
	require.NoError(t, err)
	fast, err := gojson.Marshal(item)
	require.NoError(t, err)
	require.Equal(t, string(std), string(fast))
}
