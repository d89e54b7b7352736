package api

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/intent"
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

	// No case matches: an empty export, in both formats.
	rec = b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?verdict=delayed", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	require.EqualValues(t, 0, doc["total"])
	require.Equal(t, []any{}, doc["items"])
	require.True(t, strings.HasSuffix(rec.Body.String(), `,"items":[]}`+"\n"), rec.Body.String())
	rec = b.do(req{method: "GET", path: "/v1/exports/reconciliation-cases?verdict=delayed&format=csv", token: key})
	require.Equal(t, strings.Join(csvHeader, ",")+"\n", rec.Body.String())

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
	b.bulkCases(org, 5000) // several pages
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
	require.GreaterOrEqual(t, batches, 5, "several pages, the late writes made after the first")
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

// exportItem is an item of the JSON export as the resource structs shape it
// (seed 001): the export writes it by hand (jsonItem), and the tests compare
// it with these structs encoded and decode it into them.
type exportItem struct {
	Case     resource.Case `json:"case"`
	Evidence evidenceJSON  `json:"evidence"`
}

// evidenceJSON is the evidence bundle of one exported case.
type evidenceJSON struct {
	CaseID          string               `json:"caseId"`
	PaymentIntentID string               `json:"paymentIntentId"`
	RawRecords      []resource.RawRecord `json:"rawRecords"`
	FlowLegs        []resource.FlowLeg   `json:"flowLegs"`
	MatchLinks      []resource.MatchLink `json:"matchLinks"`
}

// exportedBatches runs the export of org's cases and keeps every batch.
func exportedBatches(t *testing.T, b *bundle, org uuid.UUID) []cases.ExportBatch {
	t.Helper()
	var out []cases.ExportBatch
	err := cases.New(b.pool, nil).Export(context.Background(), db.ListCasesParams{OrganizationID: org, Verdicts: []string{}},
		func(int64) error { return nil },
		func(batch cases.ExportBatch) error { out = append(out, batch); return nil })
	require.NoError(t, err)
	return out
}

// exportFixture is an organization with a case whose every optional field
// is set, weird text included, with audit events, legs, links and raw
// records whose every optional field is set or not, and a case with none.
func exportFixture(t *testing.T) (*bundle, uuid.UUID) {
	t.Helper()
	b := setup(t)
	org := b.org("Acme")
	ctx := context.Background()
	weird := "<script>alert(\"x\")</script> & ünïcødé ✓ \\ \"q\" \b\f\x01\x1f\x7f \u2028\u2029 \t\r\n"
	str := func(s string) *string { return &s }
	full := b.intent(org, "=formula, \"quoted\"\n"+weird, func(in *intent.CreateInput) {
		in.SourceAmount = decimal.RequireFromString("12345678901234567890.123456789012345678")
		in.DestinationAmount = decimal.RequireFromString("-0.000000000000000001")
		in.PaymentSubtype, in.Stablecoin, in.Chain = str("+sub"), str("USDC"), str(" ethereum")
		in.BeneficiaryAccount, in.BeneficiaryName = str(`\.`), str("Lovelace, \"Ada\"\nLondon "+weird)
		in.Metadata = []byte(`{"html": "<&>"}`)
	})
	b.intent(org, "plain")
	r := b.rule(org, "Custom")
	_, err := b.pool.Exec(ctx, `UPDATE reconciliation_cases SET verdict = 'needs_review', exception_type = 'fee_out_of_tolerance',
		actual_amount = 99.9, unexplained_delta = -0.000000000000000001, provider_fee = 12345678901234567890.5,
		network_fee = 0, developer_fee = 1.10, fx_spread = 1e6, rounding_delta = -3.25, sla_risk = true,
		required_legs_present = 1, coverage_provider = 'present', notes = $2, rule_id = $3, version = 7,
		resolved_at = '2026-01-02 03:04:05.123456+05', reconciled_at = '1999-12-31 23:59:59+00',
		last_run_at = '2026-11-21 10:00:00.5+00', status = 'resolved', reconciliation_status = 'reconciled'
		WHERE id = $1`, full.Case.ID, "@SUM(A1:A9) "+weird, r.ID)
	require.NoError(t, err)
	_, err = audit.Append(ctx, b.q, audit.Event{OrganizationID: org, CaseID: &full.Case.ID, PaymentIntentID: &full.Intent.ID,
		Type: "case.note_added", Actor: "user:ü", Message: "<b>bold</b> " + weird,
		Payload: map[string]any{"nested": map[string]any{"k": []any{1.5, "x", nil, true}}, "html": "<&>\u2028", "w": weird}})
	require.NoError(t, err)

	var raws [2]uuid.UUID
	for i, payload := range []string{`{"a": "<&>", "n": 1.50, "u": "` + "\u2028\u2029" + `", "e": "\b\f\u0001", "l": [ 1, {} ]}`, `[]`} {
		require.NoError(t, b.pool.QueryRow(ctx, `INSERT INTO raw_records (organization_id, source, source_ref, payload,
			row_number, signature_valid, match_status, processed_at)
			VALUES ($1, 'provider', $2, $3::jsonb, $4, $5, 'matched', $6) RETURNING id`, org, fmt.Sprintf("ref-%d", i), payload,
			[]any{int32(7), nil}[i], []any{false, nil}[i], []any{time.Date(2026, 5, 6, 7, 8, 9, 1000, time.UTC), nil}[i]).
			Scan(&raws[i]))
	}
	_, err = b.pool.Exec(ctx, `INSERT INTO flow_legs (organization_id, raw_record_id, case_id, type, status, source_status,
		provider, provider_transfer_id, tx_hash, chain_id, bank_reference, end_to_end_id, amount, currency,
		destination_amount, destination_currency, fx_rate, provider_fee, network_fee, developer_fee, external_reference,
		occurred_at)
		VALUES ($1, $2, $4, 'provider_transfer', 'settled', $5, 'acme', 'tr_1', '0xabc', '1', 'BR-1', 'E2E', 100.5, 'USD',
			92.25, 'EUR', 0.92, 1, 0.5, 0.25, 'order-1', '2026-03-04 05:06:07.891+00'),
		($1, $3, $4, 'bank_settlement', 'pending', 'booked', NULL, NULL, NULL, NULL, NULL, NULL, 0.000000000000000001, 'USD',
			5, NULL, NULL, NULL, NULL, NULL, NULL, '2026-03-04 05:06:08+00')`, org, raws[0], raws[1], full.Case.ID, weird)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `INSERT INTO match_links (organization_id, case_id, flow_leg_id, raw_record_id, status, strategy,
		score, reason, created_by, ended_at, ended_by)
		SELECT organization_id, case_id, id, raw_record_id,
			CASE WHEN type = 'bank_settlement' THEN 'active' ELSE 'unlinked' END,
			'manual', CASE WHEN type = 'bank_settlement' THEN 1 ELSE 0.9800 END, $2, 'user:<x>',
			CASE WHEN type = 'bank_settlement' THEN NULL ELSE '2026-04-05 06:07:08+00'::timestamptz END,
			CASE WHEN type = 'bank_settlement' THEN NULL ELSE 'user:&' END
		FROM flow_legs WHERE case_id = $1`, full.Case.ID, weird)
	require.NoError(t, err)
	return b, org
}

// Every field of an export item, with and without values, is written as the
// resource structs encode: byte for byte what goccy/go-json wrote before the
// export wrote items by hand, and what encoding/json writes but for \b and
// \f (goccy/go-json escapes them as \u0008 and \u000c). The case is read as
// the case endpoint reads it, so the export's own query is checked too.
func TestExportItemMatchesTheResourceEncoding(t *testing.T) {
	t.Parallel()
	b, org := exportFixture(t)
	svc := cases.New(b.pool, matcher.New(b.pool))
	batches := exportedBatches(t, b, org)
	require.Len(t, batches, 1)
	require.Len(t, batches[0].Cases, 2)
	var j jsonItem
	for _, row := range batches[0].Cases {
		bundle, err := svc.Get(context.Background(), org, row.ID)
		require.NoError(t, err)
		bundle.Row.SlaAgeMinutes = row.SlaAgeMinutes // the minute may have turned between the two reads
		item := exportItem{
			Case: resource.CaseOf(bundle),
			Evidence: evidenceJSON{CaseID: row.ID.String(), PaymentIntentID: bundle.Row.PaymentIntent.ID.String(),
				RawRecords: resource.MapSlice(batches[0].Raw[row.ID], resource.RenderRawRecord),
				FlowLegs:   resource.MapSlice(batches[0].Legs[row.ID], resource.RenderLeg),
				MatchLinks: resource.MapSlice(batches[0].Links[row.ID], resource.RenderLink)},
		}
		j.b = j.b[:0]
		j.item(&row, batches[0].Related)
		require.NoError(t, j.err)
		goccy, err := gojson.Marshal(item)
		require.NoError(t, err)
		require.Equal(t, string(goccy), string(j.b))
		std, err := json.Marshal(item)
		require.NoError(t, err)
		require.Equal(t, string(std), strings.NewReplacer(`\u0008`, `\b`, `\u000c`, `\f`).Replace(string(j.b)))

		if row.ID == bundle.Row.ReconciliationCase.ID && row.Notes != nil {
			// The full case: nothing is null, and the evidence is all there.
			var back map[string]any
			require.NoError(t, json.Unmarshal(j.b, &back))
			c := back["case"].(map[string]any)
			for k, v := range c {
				require.NotNil(t, v, k)
			}
			require.Len(t, c["auditEvents"], 2)
			require.Len(t, c["flowLegs"], 2)
			require.Len(t, item.Evidence.RawRecords, 2)
			require.Len(t, item.Evidence.MatchLinks, 2)
			require.Equal(t, "12345678901234567890.5", *item.Case.ProviderFee, "beyond int64")
		}
	}
}

// String escaping is goccy/go-json's for every byte and for invalid UTF-8.
func TestExportJSONStringEscaping(t *testing.T) {
	t.Parallel()
	var all []string
	for c := range 0x80 {
		all = append(all, "a"+string(rune(c))+"b", string(rune(c)))
	}
	all = append(all, "", "\u2028", "x\u2029y", "\xff", "a\xc3", "\xed\xa0\x80", "\xe2\x80", "ü✓😀", "\U0010ffff")
	for _, s := range all {
		want, err := gojson.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString(nil, s)), "%q", s)
	}
}

func FuzzExportJSONString(f *testing.F) {
	f.Add("<script>\"x\" & \u2028 \b\f\x01")
	f.Add("ü\xff\xe2\x80\xa8")
	f.Fuzz(func(t *testing.T, s string) {
		want, err := gojson.Marshal(s)
		if err != nil {
			t.Skip()
		}
		if got := appendJSONString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: %s, goccy/go-json %s", s, got, want)
		}
	})
}

// csvRecord is the row of strings the export used to build for a case and
// hand to encoding/csv's Writer: the reference appendCSVRow is held to.
func csvRecord(cs db.ReconciliationCase, pi db.PaymentIntent, slaAge int32) []string {
	cell := func(s string) string {
		if s != "" {
			switch s[0] {
			case '=', '+', '-', '@', '\t', '\r':
				return "'" + s
			}
		}
		return s
	}
	opt := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	optTime := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	cov := resource.CoverageOf(cs)
	return []string{
		cs.ID.String(), cs.OrganizationID.String(), pi.ID.String(), cell(pi.ExternalReference), cs.Status,
		cs.ReconciliationStatus, opt(cs.Verdict), opt(cs.ExceptionType), cs.ExpectedAmount.String(),
		cs.ExpectedCurrency, opt(resource.DecStr(cs.ActualAmount)), opt(resource.DecStr(cs.UnexplainedDelta)),
		opt(resource.DecStr(cs.ProviderFee)), opt(resource.DecStr(cs.NetworkFee)), opt(resource.DecStr(cs.DeveloperFee)),
		opt(resource.DecStr(cs.FxSpread)), opt(resource.DecStr(cs.RoundingDelta)), strconv.Itoa(int(slaAge)),
		strconv.FormatBool(cs.SlaRisk), strconv.Itoa(int(cs.RequiredLegsTotal)),
		strconv.Itoa(int(cs.RequiredLegsPresent)), cov.Expected, cov.Provider, cov.Chain, cov.Bank, cov.File,
		pi.PaymentType, cell(opt(pi.PaymentSubtype)), pi.Direction, pi.SourceAmount.String(), pi.SourceCurrency,
		pi.DestinationAmount.String(), pi.DestinationCurrency, cell(opt(pi.Stablecoin)), cell(opt(pi.Chain)),
		cell(opt(pi.BeneficiaryAccount)), cell(opt(pi.BeneficiaryName)), pi.Status, cell(opt(cs.Notes)),
		optTime(cs.ReconciledAt), optTime(cs.LastRunAt), cs.CreatedAt.UTC().Format(time.RFC3339Nano),
		cs.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}

// Every CSV field, set or empty, is what encoding/csv wrote for the row of
// strings the export used to build.
func TestExportCSVRowMatchesEncodingCSV(t *testing.T) {
	t.Parallel()
	b, org := exportFixture(t)
	svc := cases.New(b.pool, matcher.New(b.pool))
	batches := exportedBatches(t, b, org)
	require.Len(t, batches, 1)
	require.Len(t, batches[0].Cases, 2)
	for _, row := range batches[0].Cases {
		bundle, err := svc.Get(context.Background(), org, row.ID)
		require.NoError(t, err)
		var want strings.Builder
		cw := csv.NewWriter(&want)
		require.NoError(t, cw.Write(csvRecord(bundle.Row.ReconciliationCase, bundle.Row.PaymentIntent, row.SlaAgeMinutes)))
		cw.Flush()
		require.Equal(t, want.String(), string(appendCSVRow(nil, &row)))
	}
}

func FuzzExportCSVField(f *testing.F) {
	for _, s := range []string{"", `\.`, " x", "\tx", "=1+2", "-3", "a,b", "\"q\"", "l1\r\nl2", "\u3000wide", "'"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, defuse bool) {
		field := s
		if defuse && s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
			field = "'" + s
		}
		var want strings.Builder
		cw := csv.NewWriter(&want)
		if err := cw.Write([]string{field}); err != nil {
			t.Fatal(err)
		}
		cw.Flush()
		if got := string(appendCSVField(nil, s, defuse)) + "\n"; got != want.String() {
			t.Fatalf("%q (defuse %v): %q, encoding/csv %q", s, defuse, got, want.String())
		}
	})
}
