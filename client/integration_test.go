package client_test

// The client against the real server: api.NewRouter over a per-test
// database, with the outcome waiter and a real asynq worker, served over
// HTTP. Every exchange goes through the spec validator, and every route the
// client knows is exercised at least once (checked in TestMain).

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/api"
	"github.com/reconlayer/reconlayer/client"
	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/metrics"
	"github.com/reconlayer/reconlayer/internal/spectest"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/worker"
)

var sessionSecret = []byte("client-test-session-secret-0123456789")

// exercised records every request the integration tests sent, as "METHOD
// /path", for the coverage check in TestMain.
var exercised struct {
	sync.Mutex
	requests []string
}

type recorder struct{ next http.RoundTripper }

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	exercised.Lock()
	exercised.requests = append(exercised.requests, req.Method+" "+req.URL.EscapedPath())
	exercised.Unlock()
	return r.next.RoundTrip(req)
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	// Only a run of the whole package exercises everything.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		if missed := unexercised(); len(missed) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: routes of the client no integration test called:\n  %s\n", strings.Join(missed, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

func unexercised() []string {
	exercised.Lock()
	defer exercised.Unlock()
	var missed []string
	for _, tmpl := range client.RouteTemplates() {
		re := regexp.MustCompile("^" + regexp.MustCompile(`\\\{[A-Za-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")
		if !slices.ContainsFunc(exercised.requests, re.MatchString) {
			missed = append(missed, tmpl)
		}
	}
	return missed
}

// bundle is a running server and clients of one organization.
type bundle struct {
	pool    *pgxpool.Pool
	url     string
	org     string
	key     string         // an API key with every scope
	api     *client.Client // with key
	session *client.Client // with a dashboard session
	hc      *http.Client   // validates every exchange against the spec
}

func setup(t *testing.T) *bundle {
	t.Helper()
	rdb, _ := dbtest.Redis(t)
	pool := dbtest.Postgres(t)
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	opts := api.DefaultOptions()
	opts.Session = auth.SessionConfig{HS256Secret: sessionSecret}
	// Webhook receivers in tests listen on loopback over http.
	opts.Webhooks = egress.Policy{AllowPrivate: true, AllowInsecure: true}
	// On a busy test machine the worker may take longer than the default
	// 2 s; the answers are the same, only later.
	opts.EvidenceWait = 20 * time.Second

	ctx, cancel := context.WithCancel(context.Background())
	waiter := tasks.NewWaiter(rdb, logger)
	waiterDone := make(chan struct{})
	go func() { waiter.Run(ctx); close(waiterDone) }()
	cfg := worker.Config{Concurrency: 4, ShutdownTimeout: 5 * time.Second, Webhooks: worker.DefaultWebhookConfig()}
	cfg.Webhooks.Policy = opts.Webhooks
	w := worker.New(cfg, worker.Deps{Logger: logger, Pool: pool, Redis: rdb, Metrics: metrics.New()})
	workerDone := make(chan struct{})
	go func() { _ = w.Run(ctx); close(workerDone) }()
	t.Cleanup(func() { cancel(); <-workerDone; <-waiterDone })
	require.Eventually(t, waiter.Ready, 10*time.Second, 10*time.Millisecond, "outcome channel subscribed")

	srv := httptest.NewServer(api.NewRouter(api.Deps{Logger: logger, Pool: pool, Redis: rdb, Metrics: metrics.New(), Waiter: waiter, Options: opts}))
	t.Cleanup(srv.Close)

	doc, err := api.Spec()
	require.NoError(t, err)
	v, err := spectest.New(doc)
	require.NoError(t, err)
	b := &bundle{pool: pool, url: srv.URL, hc: &http.Client{Transport: recorder{v.Transport(t, nil)}}}

	org, err := db.New(pool).CreateOrganization(context.Background(), "Acme")
	require.NoError(t, err)
	b.org = org.ID.String()
	k, err := apikey.New(pool).Create(context.Background(), apikey.CreateInput{OrganizationID: org.ID, Name: "test key"}, nil)
	require.NoError(t, err)
	b.key = k.Plaintext
	session, err := auth.SignSession(sessionSecret, "user_1", []string{b.org}, time.Hour, time.Now())
	require.NoError(t, err)
	b.api = b.client(b.key)
	b.session = b.client(session)
	return b
}

// client is a client of the bundle's server with token whose exchanges are
// checked against the spec.
func (b *bundle) client(token string, opts ...client.Option) *client.Client {
	return client.New(b.url, append([]client.Option{client.WithCredential(token), client.WithHTTPClient(b.hc)}, opts...)...)
}

func fixture(t *testing.T, format, name string) []byte {
	t.Helper()
	content, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "statements", format, name))
	require.NoError(t, err)
	return content
}

// eventually polls f until it holds, failing the test after a minute.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	require.Eventually(t, f, time.Minute, 50*time.Millisecond, what)
}

func apiError(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	var e *client.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, status, e.StatusCode, "%v", err)
	require.Equal(t, code, e.Code, "%v", err)
	return e
}

// The README's walkthrough and the case workflow, through typed methods:
// keys and webhook endpoints with a session, then an intent, its evidence,
// the case and its actions, lists, exports.
func TestReconLayerFamily(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	// API keys: a session manages them; an API key may not.
	created, err := b.session.CreateAPIKey(ctx, client.CreateAPIKeyParams{Name: "ci", Scopes: []string{"payment_intents:read"}, Metadata: map[string]any{"team": "ops"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(created.PlaintextKey, "rl_live_"))
	require.Equal(t, "active", created.Status)
	keys, err := b.session.ListAPIKeys(ctx, client.ListParams{Limit: 10})
	require.NoError(t, err)
	require.Equal(t, 2, keys.Total)
	require.Equal(t, created.ID, keys.Items[0].ID)
	require.Empty(t, keys.Items[0].PlaintextKey)
	revoked, err := b.session.RevokeAPIKey(ctx, created.ID)
	require.NoError(t, err)
	require.Equal(t, "revoked", revoked.Status)
	require.NotNil(t, revoked.RevokedAt)
	_, err = b.api.ListAPIKeys(ctx, client.ListParams{})
	apiError(t, err, http.StatusForbidden, client.CodeForbidden)
	_, err = b.client(created.PlaintextKey).ListPaymentIntents(ctx, client.ListPaymentIntentsParams{})
	apiError(t, err, http.StatusUnauthorized, client.CodeUnauthorized)

	// A webhook endpoint, with its secret shown once.
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(receiver.Close)
	endpoint, err := b.session.CreateWebhookEndpoint(ctx, client.CreateWebhookEndpointParams{URL: receiver.URL + "/hooks", SubscribedEvents: []string{"*"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(endpoint.Secret, "whsec_"))
	endpoints, err := b.session.ListWebhookEndpoints(ctx, client.ListWebhookEndpointsParams{Status: "active"})
	require.NoError(t, err)
	require.Len(t, endpoints.Items, 1)
	require.Empty(t, endpoints.Items[0].Secret)

	// An intent; sent again under its key, the stored answer is replayed.
	intent := client.CreatePaymentIntentParams{ExternalReference: "order_1001", SourceAmount: "100.00", SourceCurrency: "USD", PaymentType: "other",
		References: []client.Reference{{Type: "invoice", Value: "INV-1"}}, Metadata: map[string]any{"customer": "cus_1"}}
	var resp *client.Response
	pi, err := b.api.CreatePaymentIntent(ctx, intent, client.IdempotencyKey("intent-1001"), client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.False(t, resp.Replayed())
	require.Equal(t, "created", pi.Outcome)
	require.Nil(t, pi.Verdict)
	rl, ok := resp.RateLimit()
	require.True(t, ok)
	require.Equal(t, 300, rl.Limit)
	again, err := b.api.CreatePaymentIntent(ctx, intent, client.IdempotencyKey("intent-1001"), client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.True(t, resp.Replayed())
	require.Equal(t, pi, again)
	// Under a new key: the same intent, reused; with other fields, a conflict.
	reused, err := b.api.CreatePaymentIntent(ctx, intent)
	require.NoError(t, err)
	require.Equal(t, "reused", reused.Outcome)
	require.Equal(t, pi.PaymentIntentID, reused.PaymentIntentID)
	conflicting := intent
	conflicting.SourceAmount = "101.00"
	_, err = b.api.CreatePaymentIntent(ctx, conflicting)
	conflict := apiError(t, err, http.StatusConflict, client.CodePaymentIntentConflict)
	var details struct {
		PaymentIntentID string `json:"paymentIntentId"`
	}
	require.NoError(t, conflict.DecodeDetails(&details))
	require.Equal(t, pi.PaymentIntentID, details.PaymentIntentID)
	// The same key with another body is refused, not retried.
	_, err = b.api.CreatePaymentIntent(ctx, conflicting, client.IdempotencyKey("intent-1001"))
	apiError(t, err, http.StatusConflict, client.CodeIdempotencyKeyConflict)
	_, err = b.api.CreatePaymentIntent(ctx, client.CreatePaymentIntentParams{ExternalReference: "order_x", SourceCurrency: "USD", PaymentType: "other"})
	invalid := apiError(t, err, http.StatusBadRequest, client.CodeInvalidRequest)
	require.Contains(t, invalid.Issues, client.Issue{Path: []string{"sourceAmount"}, Message: invalid.Issues[0].Message})

	// The provider's report matches it (the server waits for the worker).
	receipt, err := b.api.SubmitProviderEvidence(ctx, client.ProviderEvidence{Provider: "acmepay", ProviderTransferID: "tr_1001", Status: "completed",
		Amount: client.Money{Amount: "100.00", Currency: "USD"}, ExternalReference: "order_1001",
		Fees: &client.EvidenceFees{ProviderFee: "0"}, Payload: []byte(`{"raw":true}`)}, client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "matched", receipt.Status)
	require.Equal(t, []string{pi.CaseID}, receipt.MatchedCaseIDs)
	dup, err := b.api.SubmitProviderEvidence(ctx, client.ProviderEvidence{Provider: "acmepay", ProviderTransferID: "tr_1001", Status: "completed",
		Amount: client.Money{Amount: "100.00", Currency: "USD"}, ExternalReference: "order_1001",
		Fees: &client.EvidenceFees{ProviderFee: "0"}, Payload: []byte(`{"raw":true}`)}, client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.True(t, dup.Duplicate)
	require.Equal(t, receipt.RawRecordID, dup.RawRecordID)

	cs, err := b.api.GetCase(ctx, pi.CaseID)
	require.NoError(t, err)
	require.Equal(t, "reconciled", cs.ReconciliationStatus)
	require.Equal(t, "matched", *cs.Verdict)
	require.Len(t, cs.FlowLegs, 1)
	require.Equal(t, "100", cs.FlowLegs[0].Amount)
	require.NotEmpty(t, cs.AuditEvents)

	detail, err := b.api.GetPaymentIntent(ctx, pi.PaymentIntentID)
	require.NoError(t, err)
	require.Equal(t, "order_1001", detail.ExternalReference)
	require.Equal(t, client.Money{Amount: "100", Currency: "USD"}, detail.Source)
	require.Equal(t, []client.Reference{{Type: "invoice", Value: "INV-1"}}, detail.References)
	require.Equal(t, pi.CaseID, detail.Case.ID)

	// A second intent, short-paid on chain: a case to work by hand.
	short, err := b.api.CreatePaymentIntent(ctx, client.CreatePaymentIntentParams{ExternalReference: "order_1002", SourceAmount: "100.00",
		SourceCurrency: "USD", DestinationAmount: "100.00", DestinationCurrency: "USDC", PaymentType: "other"})
	require.NoError(t, err)
	onchain, err := b.api.SubmitOnchainEvidence(ctx, client.OnchainEvidence{ChainFamily: "evm", ChainID: "1", TxHash: "0x" + strings.Repeat("ab", 32),
		Status: "confirmed", Amount: client.Money{Amount: "97.50", Currency: "USDC"}, ToAddress: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
		ExternalReference: "order_1002"})
	require.NoError(t, err)
	require.Equal(t, []string{short.CaseID}, onchain.MatchedCaseIDs)
	// Bank evidence answered at once, polled where the 202 says.
	queued, err := b.api.SubmitBankEvidence(ctx, client.BankEvidence{Direction: "credit", Amount: client.Money{Amount: "12.00", Currency: "EUR"},
		Status: "booked", BookingDate: "2026-11-20", BankReference: "BR-1"}, client.PreferAsync(), client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, "queued", queued.Status)
	require.Equal(t, queued.StatusURL, resp.Location())
	eventually(t, "the bank evidence is processed", func() bool {
		ev, err := b.api.GetEvidence(ctx, queued.RawRecordID)
		require.NoError(t, err)
		return ev.Status != "queued"
	})

	// Lists: by filter, by offset, by cursor.
	intents, err := b.api.ListPaymentIntents(ctx, client.ListPaymentIntentsParams{ExternalReference: "order_1002"})
	require.NoError(t, err)
	require.Len(t, intents.Items, 1)
	require.Equal(t, short.PaymentIntentID, intents.Items[0].ID)
	page, err := b.api.ListCases(ctx, client.ListCasesParams{ListParams: client.ListParams{Limit: 1}})
	require.NoError(t, err)
	require.Equal(t, 2, page.Total)
	require.Equal(t, short.CaseID, page.Items[0].ID, "newest first")
	require.NotEmpty(t, page.NextCursor)
	next, err := b.api.ListCases(ctx, client.ListCasesParams{ListParams: client.ListParams{Limit: 1, Cursor: page.NextCursor}})
	require.NoError(t, err)
	require.Equal(t, pi.CaseID, next.Items[0].ID)
	byOffset, err := b.api.ListCases(ctx, client.ListCasesParams{ListParams: client.ListParams{Limit: 1, Offset: 1}})
	require.NoError(t, err)
	require.Equal(t, pi.CaseID, byOffset.Items[0].ID)
	matched, err := b.api.ListCases(ctx, client.ListCasesParams{CaseFilter: client.CaseFilter{Verdict: []string{"matched", "delayed"}, SLARisk: client.Ptr(false)}})
	require.NoError(t, err)
	require.Len(t, matched.Items, 1)
	require.Equal(t, pi.CaseID, matched.Items[0].ID)
	_, err = b.api.ListCases(ctx, client.ListCasesParams{ListParams: client.ListParams{Limit: 1000}})
	apiError(t, err, http.StatusBadRequest, client.CodeInvalidRequest)

	// The case's life by hand.
	cs, err = b.api.AddCaseNote(ctx, short.CaseID, "Asked the customer about the 2.50.")
	require.NoError(t, err)
	require.Equal(t, "Asked the customer about the 2.50.", *cs.Notes)
	cs, err = b.api.ResolveCase(ctx, short.CaseID, "Customer paid the rest by card.")
	require.NoError(t, err)
	require.Equal(t, "resolved", cs.Status)
	cs, err = b.api.ReopenCase(ctx, short.CaseID, "")
	require.NoError(t, err)
	require.Equal(t, "open", cs.Status)
	cs, err = b.api.RerunCase(ctx, short.CaseID)
	require.NoError(t, err)
	require.NotNil(t, cs.LastRunAt)
	cs, err = b.api.ArchiveCase(ctx, short.CaseID, "")
	require.NoError(t, err)
	require.Equal(t, "archived", cs.Status)
	_, err = b.api.RerunCase(ctx, short.CaseID)
	apiError(t, err, http.StatusConflict, "invalid_case_transition")
	_, err = b.api.GetCase(ctx, uuid.NewString())
	apiError(t, err, http.StatusNotFound, client.CodeNotFound)

	// Exports.
	export, err := b.api.ExportCases(ctx, client.CaseFilter{ExternalReference: "order_1001"})
	require.NoError(t, err)
	require.Equal(t, 1, export.Total)
	require.Equal(t, pi.CaseID, export.Items[0].Case.ID)
	require.Len(t, export.Items[0].Evidence.RawRecords, 1)
	require.Len(t, export.Items[0].Evidence.MatchLinks, 1)
	require.Equal(t, "order_1001", *export.Filters.ExternalReference)
	var csv bytes.Buffer
	resp, err = b.api.ExportCasesCSV(ctx, client.CaseFilter{}, &csv)
	require.NoError(t, err)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/csv")
	require.Len(t, strings.Split(strings.TrimSpace(csv.String()), "\n"), 3, "a header and two cases")
}

func TestImports(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	profile, err := b.api.CreateImportProfile(ctx, client.CreateImportProfileParams{Name: "Bank CSV", RecordType: "bank_statement",
		ImportProfileSettings: client.ImportProfileSettings{
			Delimiter: ";", DateFormat: "DD.MM.YYYY", DecimalSeparator: ",", ThousandsSeparator: ".", HeaderRow: client.Ptr(true),
			Fields: []client.FieldMapping{{Column: "Datum", Path: "bookingDate"}, {Column: "Betrag", Path: "amount"},
				{Column: "Referenz", Path: "bankReference"}, {Column: "Name", Path: "counterpartyName"}},
			Defaults: map[string]string{"currency": "EUR"},
		}})
	require.NoError(t, err)
	require.Equal(t, "Bank CSV", profile.Name)
	require.Len(t, profile.Fields, 4)

	csv := "Datum;Betrag;Referenz;Name\n01.11.2026;1.250,00;R-1;Alice GmbH\n02.11.2026;-99,90;R-2;Bob AG\n03.11.2026;abc;R-3;Carol\n"
	batch, err := b.api.CreateImportBatch(ctx, client.CreateImportBatchParams{ImportProfileID: profile.ID, OriginalFileName: "umsatz.csv", Content: csv})
	require.NoError(t, err)
	require.False(t, batch.Duplicate)
	require.Equal(t, "csv", batch.Format)

	camt := fixture(t, "camt053", "camt_parser__valid_example.xml")
	var resp *client.Response
	uploaded, err := b.api.UploadImportBatch(ctx, client.UploadImportBatchParams{File: client.File{Name: "statement.xml", Content: camt}}, client.CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Equal(t, "statement.xml", uploaded.OriginalFileName)
	// The same file again is the same batch.
	again, err := b.api.CreateImportBatch(ctx, client.CreateImportBatchParams{OriginalFileName: "statement.xml", ContentBase64: camt})
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, uploaded.ID, again.ID)

	for _, id := range []string{batch.ID, uploaded.ID} {
		eventually(t, "the batch completes", func() bool {
			got, err := b.api.GetImportBatch(ctx, id)
			require.NoError(t, err)
			require.NotEqual(t, "failed", got.Status, "%v", got.Error)
			return got.Status == "completed"
		})
	}
	got, err := b.api.GetImportBatch(ctx, batch.ID)
	require.NoError(t, err)
	require.Equal(t, client.ImportCounts{Total: 3, Valid: 2, Invalid: 1, Matched: got.Counts.Matched}, got.Counts)
	rows, err := b.api.ListImportRows(ctx, batch.ID, client.ListImportRowsParams{ValidationStatus: "invalid"})
	require.NoError(t, err)
	require.Len(t, rows.Items, 1)
	require.Equal(t, 4, *rows.Items[0].RowNumber, "the header is row 1")
	require.NotEmpty(t, rows.Items[0].ValidationErrors)
}

func TestLedgerRuns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	ledger, err := b.api.CreateLedger(ctx, client.CreateLedgerParams{Name: "Books", Currency: "EUR"})
	require.NoError(t, err)
	account, err := b.api.CreateLedgerAccount(ctx, ledger.ID, client.CreateLedgerAccountParams{Name: "Bank", Code: "1200", Currency: "EUR"})
	require.NoError(t, err)
	require.Equal(t, ledger.ID, account.LedgerID)
	added, err := b.api.AddLedgerEntries(ctx, ledger.ID, []client.LedgerEntryInput{
		{Account: "1200", Direction: "credit", Amount: "2.00", Currency: "EUR", BookingDate: "2013-12-27", Reference: "EndToEndReference", ExternalID: "GL-2"},
		{Account: "1200", Direction: "debit", Amount: "7.00", Currency: "EUR", BookingDate: "2013-12-27", ExternalID: "GL-3"},
	})
	require.NoError(t, err)
	require.Equal(t, 2, added.Created)
	accounts, err := b.api.ListLedgerAccounts(ctx, client.ListLedgerAccountsParams{LedgerID: ledger.ID})
	require.NoError(t, err)
	require.Len(t, accounts.Items, 1)
	require.NotNil(t, accounts.Items[0].UnreconciledCount)

	// A manual run: auto-match when asked, and leave matches suggested.
	run, err := b.api.CreateLedgerRun(ctx, client.CreateLedgerRunParams{LedgerID: ledger.ID, Mode: "manual", SourceType: "upload",
		IdempotencyKey: "run-" + uuid.NewString(), Note: "December"})
	require.NoError(t, err)
	require.Equal(t, "pending", run.Status)
	up, err := b.api.UploadLedgerSource(ctx, run.ID, client.UploadLedgerSourceParams{
		File: client.File{Name: "statement.xml", Content: fixture(t, "camt053", "camt_parser__valid_example.xml")}, IdempotencyKey: "file-1"})
	require.NoError(t, err)
	require.Equal(t, "processed", up.Status)
	require.Equal(t, run.ID, up.SourceFile.RunID)
	require.NotNil(t, up.Imported)

	var resp *client.Response
	auto, err := b.api.AutoMatchLedgerRun(ctx, run.ID, client.PreferWait(20*time.Second), client.CaptureResponse(&resp))
	require.NoError(t, err)
	if resp.StatusCode == http.StatusAccepted {
		eventually(t, "the run completes", func() bool {
			r, err := b.api.GetLedgerRun(ctx, run.ID)
			require.NoError(t, err)
			return r.Status == "completed"
		})
	} else {
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		require.Equal(t, 1, *auto.Matched)
	}
	got, err := b.api.GetLedgerRun(ctx, run.ID)
	require.NoError(t, err)
	require.Equal(t, "completed", got.Status)
	require.Equal(t, 1, got.MatchedCount)
	matches, err := b.api.ListLedgerMatches(ctx, run.ID, client.ListLedgerMatchesParams{Status: "suggested"})
	require.NoError(t, err)
	require.Len(t, matches.Items, 1)
	require.Equal(t, "2", strings.TrimRight(strings.TrimRight(matches.Items[0].Amount, "0"), "."))
	discrepancies, err := b.api.ListLedgerDiscrepancies(ctx, run.ID, client.ListLedgerDiscrepanciesParams{LedgerListParams: client.LedgerListParams{Limit: 100}})
	require.NoError(t, err)
	require.NotEmpty(t, discrepancies.Items, "the statement's other lines and GL-3 are unmatched")
}

func TestExpectedPayments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()

	account, err := b.api.CreateInternalAccount(ctx, client.CreateInternalAccountParams{Name: "Operating", Currency: "USD", AccountNumber: "123456789", RoutingNumber: "021000021"})
	require.NoError(t, err)
	require.Equal(t, "internal_account", account.Object)
	cp, err := b.api.CreateCounterparty(ctx, client.CreateCounterpartyParams{Name: "Alice GmbH", Accounts: []client.CounterpartyAccount{{IBAN: "DE89370400440532013000"}}})
	require.NoError(t, err)
	require.Len(t, cp.Accounts, 1)

	ep, err := b.api.CreateExpectedPayment(ctx, client.CreateExpectedPaymentParams{Direction: "credit", Currency: "USD",
		AmountLowerBound: client.Ptr[int64](100000), AmountUpperBound: client.Ptr[int64](100000), InternalAccountID: account.ID,
		CounterpartyID: cp.ID, DateLowerBound: "2026-11-01", DateUpperBound: "2026-11-30", Description: "Invoice 7", ExternalID: "inv-7"})
	require.NoError(t, err)
	require.Equal(t, "unreconciled", ep.Status)

	tx, err := b.api.CreateTransaction(ctx, client.CreateTransactionParams{InternalAccountID: account.ID, Direction: "credit", Amount: 100000,
		Currency: "USD", AsOfDate: "2026-11-20", VendorDescription: "INVOICE 7"})
	require.NoError(t, err)
	require.True(t, tx.Posted)
	eventually(t, "the transaction reconciles the payment", func() bool {
		got, err := b.api.GetExpectedPayment(ctx, ep.ID)
		require.NoError(t, err)
		return got.Status == "reconciled"
	})
	got, err := b.api.GetExpectedPayment(ctx, ep.ID)
	require.NoError(t, err)
	require.Equal(t, []string{tx.ID}, got.TransactionIDs)
	require.Equal(t, "automatic", *got.ReconciliationMethod)

	for i := range 2 {
		_, err := b.api.CreateExpectedPayment(ctx, client.CreateExpectedPaymentParams{Direction: "debit", Currency: "USD",
			AmountLowerBound: client.Ptr[int64](int64(i + 1)), AmountUpperBound: client.Ptr[int64](int64(i + 1)), InternalAccountID: account.ID})
		require.NoError(t, err)
	}
	first, err := b.api.ListExpectedPayments(ctx, client.ListExpectedPaymentsParams{CursorParams: client.CursorParams{PerPage: 2}})
	require.NoError(t, err)
	require.Len(t, first.Items, 2)
	require.Equal(t, 2, first.PerPage)
	require.NotEmpty(t, first.AfterCursor)
	rest, err := b.api.ListExpectedPayments(ctx, client.ListExpectedPaymentsParams{CursorParams: client.CursorParams{PerPage: 2, AfterCursor: first.AfterCursor}})
	require.NoError(t, err)
	require.Len(t, rest.Items, 1)
	require.Equal(t, ep.ID, rest.Items[0].ID, "newest first")
	require.Empty(t, rest.AfterCursor)

	txs, err := b.api.ListTransactions(ctx, client.ListTransactionsParams{InternalAccountID: account.ID, Reconciled: client.Ptr(true)})
	require.NoError(t, err)
	require.Len(t, txs.Items, 1)
	require.Equal(t, ep.ID, *txs.Items[0].ExpectedPaymentID)
}

// The raw Do reaches routes the typed methods do not cover, with the same
// credentials, keys and error handling.
func TestDoForOtherRoutes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var overview struct {
		Counts struct {
			Total int `json:"total"`
		} `json:"counts"`
	}
	resp, err := b.api.Do(ctx, http.MethodGet, "/v1/dashboard/overview?from=2026-01-01", nil, &overview)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Zero(t, overview.Counts.Total)
	require.NotEmpty(t, resp.RequestID())

	resp, err = b.api.Do(ctx, http.MethodPost, "/v1/reconciliation-rules", map[string]any{"name": "Fast", "priority": 10}, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.Contains(t, string(resp.Body), `"name":"Fast"`)
	require.NotEmpty(t, resp.IdempotencyKey)

	resp, err = b.api.Do(ctx, http.MethodGet, "/v1/no-such-route", nil, nil)
	e := apiError(t, err, http.StatusNotFound, client.CodeNotFound)
	require.Equal(t, 1, resp.Attempts)
	require.True(t, errors.Is(err, e))
}
