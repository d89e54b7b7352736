package api

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// tenancyFixture makes, in an organization, the resource a parameterized
// route addresses, and gives a valid body for each method that takes one, so
// that the request reaches the lookup instead of failing validation.
type tenancyFixture struct {
	create    func(b *bundle, org uuid.UUID) map[string]string // path parameter → id
	bodies    map[string]string                                // method → valid body
	unchanged func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string)
}

// tenancyFixtures has one entry per /v1 route with a path parameter; a new
// route without one fails TestOtherOrganizationsResourcesAreNotFound.
var tenancyFixtures = map[string]tenancyFixture{
	"/v1/payment-intents/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": b.intent(org, "tenancy-"+uuid.NewString()).Intent.ID.String()}
		},
	},
	"/v1/reconciliation-rules/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": b.rule(org, "victim").ID.String()}
		},
		bodies: map[string]string{"PATCH": `{"name":"hijacked"}`},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			r, err := ruleset.New(b.pool).Get(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err, "the rule was not deleted")
			require.Equal(t, "victim", r.Name)
		},
	},
	"/v1/reconciliation-cases/:id":         caseFixture(""),
	"/v1/reconciliation-cases/:id/notes":   caseFixture(`{"note":"hijacked"}`),
	"/v1/reconciliation-cases/:id/resolve": caseFixture(""),
	"/v1/reconciliation-cases/:id/reopen":  caseFixture(""),
	"/v1/reconciliation-cases/:id/archive": caseFixture(""),
	"/v1/reconciliation-cases/:id/rerun":   caseFixture(""),
	"/v1/reconciliation-cases/:id/links":   caseFixture(`{"flowLegId":"` + uuid.NewString() + `"}`),
	"/v1/reconciliation-cases/:id/links/:linkId": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			ref := "tenancy-" + uuid.NewString()
			r := b.intent(org, ref)
			b.evidence(org, "provider", `{"provider":"p","providerTransferId":"`+ref+`","status":"completed",`+
				`"amount":{"amount":"100","currency":"USDC"},"externalReference":"`+ref+`"}`)
			links, err := b.q.MatchLinksForCases(context.Background(), db.MatchLinksForCasesParams{OrganizationID: org, CaseIds: []string{r.Case.ID.String()}})
			require.NoError(b.t, err)
			require.Len(b.t, links, 1)
			return map[string]string{"id": r.Case.ID.String(), "linkId": links[0].ID.String()}
		},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			links, err := b.q.MatchLinksForCases(context.Background(), db.MatchLinksForCasesParams{OrganizationID: org, CaseIds: []string{ids["id"]}})
			require.NoError(t, err)
			require.Len(t, links, 1)
			require.Equal(t, "active", links[0].Status)
		},
	},
	"/v1/evidence/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			out := b.evidence(org, "provider", `{"provider":"p","providerTransferId":"tr_`+uuid.NewString()+`","status":"completed",`+
				`"amount":{"amount":"5","currency":"USD"}}`)
			return map[string]string{"id": out.RawRecordID.String()}
		},
	},
	"/v1/api-keys/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			_, k := b.apiKey(org)
			return map[string]string{"id": k.ID.String()}
		},
		bodies: map[string]string{"PATCH": `{"name":"hijacked"}`},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			k, err := apikey.New(b.pool).Get(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err)
			require.Equal(t, "test key", k.Name)
			require.Nil(t, k.RevokedAt)
		},
	},
	"/v1/webhook-endpoints/:id":               webhookEndpointFixture(`{"url":"https://hijack.example.com/"}`),
	"/v1/webhook-endpoints/:id/deliveries":    webhookEndpointFixture(""),
	"/v1/webhook-endpoints/:id/rotate-secret": webhookEndpointFixture(""),
	"/v1/webhook-endpoints/:id/test":          webhookEndpointFixture(""),
	"/v1/import-profiles/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			p, err := importer.New(b.pool, slog.Default()).CreateProfile(context.Background(), org, importer.ProfileInput{
				Name: "victim", RecordType: importer.RecordBankStatement,
				Settings: statement.Profile{Fields: []statement.FieldMapping{{Column: "amount", Path: "amount"}}},
			}, nil)
			require.NoError(b.t, err)
			return map[string]string{"id": p.ID.String()}
		},
		bodies: map[string]string{"PATCH": `{"name":"hijacked"}`},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			p, err := importer.New(b.pool, slog.Default()).GetProfile(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err, "the profile was not deleted")
			require.Equal(t, "victim", p.Name)
		},
	},
	"/v1/internal-accounts/:id":                               expectedFixture("account", map[string]string{"PATCH": `{"name":"hijacked"}`}),
	"/v1/counterparties/:id":                                  expectedFixture("counterparty", map[string]string{"PATCH": `{"name":"hijacked"}`}),
	"/v1/expected-payments/:id":                               expectedFixture("payment", map[string]string{"PATCH": `{"description":"hijacked"}`}),
	"/v1/expected-payments/:id/reconcile":                     expectedFixture("payment", map[string]string{"POST": `{"transaction_ids":["` + uuid.NewString() + `"]}`}),
	"/v1/expected-payments/:id/unreconcile":                   expectedFixture("payment", nil),
	"/v1/transactions/:id":                                    expectedFixture("transaction", map[string]string{"PATCH": `{"posted":true}`}),
	"/v1/ledgers/:id":                                         ledgerFixture(nil),
	"/v1/ledgers/:id/accounts":                                ledgerFixture(map[string]string{"POST": `{"name":"x","code":"9","currency":"EUR"}`}),
	"/v1/ledgers/:id/entries":                                 ledgerFixture(map[string]string{"POST": `{"entries":[{"account":"1200","direction":"debit","amount":"1","currency":"EUR","booking_date":"2026-03-02","external_id":"hijack"}]}`}),
	"/v1/ledgers/:id/reconcile":                               ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID":                  ledgerFixture(map[string]string{"PATCH": `{"note":"hijacked"}`}),
	"/v1/ledgers/reconciliation/runs/:runID/sources/upload":   ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/sources":          ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/sources/:fileID":  ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/auto-match":       ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/manual-match":     ledgerFixture(map[string]string{"POST": `{"source_entry_ids":["` + uuid.NewString() + `"],"ledger_entry_ids":["` + uuid.NewString() + `"]}`}),
	"/v1/ledgers/reconciliation/runs/:runID/matches":          ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/items":            ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/gl-only":          ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/gl-all":           ledgerFixture(nil),
	"/v1/ledgers/reconciliation/runs/:runID/discrepancies":    ledgerFixture(nil),
	"/v1/ledgers/reconciliation/matches/:matchID/accept":      ledgerFixture(nil),
	"/v1/ledgers/reconciliation/matches/:matchID/reject":      ledgerFixture(nil),
	"/v1/ledgers/reconciliation/matches/:matchID/note":        ledgerFixture(map[string]string{"PATCH": `{"note":"hijacked"}`}),
	"/v1/ledgers/reconciliation/items/:itemID/close":          ledgerFixture(map[string]string{"POST": `{"reason":"hijacked"}`}),
	"/v1/ledgers/reconciliation/items/:itemID/reopen":         ledgerFixture(nil),
	"/v1/ledgers/reconciliation/discrepancies/:discrepancyID": ledgerFixture(map[string]string{"PATCH": `{"status":"closed"}`}),
	"/v1/import-batches/:id":                                  importBatchFixture(),
	"/v1/import-batches/:id/raw-records":                      importBatchFixture(),
	"/v1/webhook-deliveries/:id":                              webhookDeliveryFixture(),
	"/v1/webhook-deliveries/:id/retry":                        webhookDeliveryFixture(),
}

// ledgerFixture is a ledger with an account, two GL entries and a manual
// run whose uploaded statement was auto-matched: one suggested match, one
// unmatched line, one discrepancy. Another organization's requests change
// none of it.
// expectedFixture makes an internal account, a counterparty, an expected
// payment and a transaction in org, and names the one of kind; unchanged
// checks each is as it was made.
func expectedFixture(kind string, bodies map[string]string) tenancyFixture {
	return tenancyFixture{
		bodies: bodies,
		create: func(b *bundle, org uuid.UUID) map[string]string {
			t, ctx := b.t, context.Background()
			svc := expected.New(b.pool)
			a, err := svc.CreateAccount(ctx, org, expected.AccountInput{Name: "victim", Currency: "USD", Metadata: []byte("{}")}, nil)
			require.NoError(t, err)
			c, err := svc.CreateCounterparty(ctx, org, expected.CounterpartyInput{Name: "victim", Accounts: []byte("[]"), Metadata: []byte("{}")}, nil)
			require.NoError(t, err)
			dir, lo, hi := "credit", int64(100), int64(100)
			p, err := svc.CreatePayment(ctx, org, expected.PaymentInput{Direction: &dir, AmountLowerBound: &lo, AmountUpperBound: &hi,
				InternalAccountID: &a.ID, CounterpartyID: &c.ID, Metadata: []byte("{}")}, nil)
			require.NoError(t, err)
			tx, err := svc.CreateTransaction(ctx, org, expected.TransactionInput{InternalAccountID: a.ID, Direction: "credit", Amount: 100,
				AsOfDate: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Posted: true, Metadata: []byte("{}")}, nil)
			require.NoError(t, err)
			_, err = svc.MatchPending(ctx, org, "")
			require.NoError(t, err)
			return map[string]string{"id": map[string]string{"account": a.ID.String(), "counterparty": c.ID.String(),
				"payment": p.Payment.ID.String(), "transaction": tx.Transaction.ID.String()}[kind], "payment": p.Payment.ID.String(),
				"transaction": tx.Transaction.ID.String()}
		},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			svc, ctx := expected.New(b.pool), context.Background()
			p, txs, err := svc.GetPayment(ctx, org, uuid.MustParse(ids["payment"]))
			require.NoError(t, err)
			require.Equal(t, "reconciled", p.Status)
			require.Nil(t, p.Description)
			require.Len(t, txs, 1)
			tr, err := svc.GetTransaction(ctx, org, uuid.MustParse(ids["transaction"]))
			require.NoError(t, err)
			require.Nil(t, tr.DiscardedAt)
		},
	}
}

func ledgerFixture(bodies map[string]string) tenancyFixture {
	return tenancyFixture{
		bodies: bodies,
		create: func(b *bundle, org uuid.UUID) map[string]string {
			t, ctx := b.t, context.Background()
			svc := ledger.New(b.pool)
			l, err := svc.CreateLedger(ctx, org, ledger.LedgerInput{Name: "victim", Metadata: []byte("{}")}, nil)
			require.NoError(t, err)
			_, err = svc.CreateAccount(ctx, org, l.ID, ledger.AccountInput{Name: "Bank", Code: "1200", Currency: "EUR", NormalBalance: "debit"}, nil)
			require.NoError(t, err)
			day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
			ref := "INV-1001"
			_, err = svc.AddEntries(ctx, org, l.ID, []ledger.EntryInput{
				{Account: "1200", Direction: "debit", Amount: decimal.RequireFromString("100"), Currency: "EUR", BookingDate: day, ExternalID: "A", Reference: &ref},
				{Account: "1200", Direction: "debit", Amount: decimal.RequireFromString("7"), Currency: "EUR", BookingDate: day, ExternalID: "B"},
			}, nil)
			require.NoError(t, err)
			key := uuid.NewString()
			rc, err := svc.CreateRun(ctx, org, ledger.RunInput{LedgerID: l.ID, Mode: ledger.ModeManual, SourceType: "upload", IdempotencyKey: &key,
				WindowDays: 3, CreatedBy: "test"}, nil)
			require.NoError(t, err)
			r := rc.Run
			sub, err := svc.SubmitSource(ctx, org, ledger.SourceUpload{RunID: r.ID, FileName: "s.csv", Format: "csv", CreatedBy: "test",
				Content: []byte("booking_date,amount,currency,reference\n2026-03-02,100.00,EUR,INV-1001\n2026-03-02,55.00,EUR,\n")}, nil)
			require.NoError(t, err)
			w := ledger.NewWorker(b.pool, nil, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(b.redis)), slog.New(slog.NewJSONHandler(io.Discard, nil)))
			require.NoError(t, w.ParseSource(ctx, ledger.Task{OrganizationID: org, RunID: r.ID, SourceID: sub.Source.ID}, sub.Job.ID))
			require.NoError(t, w.AutoMatch(ctx, ledger.Task{OrganizationID: org, RunID: r.ID}, ledger.NewAutoMatchJob(r, "").ID))
			matches, err := svc.Matches(ctx, org, r.ID, nil, 10, 0)
			require.NoError(t, err)
			require.Len(t, matches.Rows, 1)
			items, err := svc.Items(ctx, org, r.ID, 10, 0)
			require.NoError(t, err)
			disc, err := svc.Discrepancies(ctx, org, r.ID, ledger.DiscrepancyFilter{}, 10, 0)
			require.NoError(t, err)
			require.NotEmpty(t, disc.Rows)
			return map[string]string{"id": l.ID.String(), "runID": r.ID.String(), "fileID": sub.Source.ID.String(),
				"matchID": matches.Rows[0].ID.String(), "itemID": items.Rows[0].ID.String(), "discrepancyID": disc.Rows[0].ID.String()}
		},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			ctx, svc := context.Background(), ledger.New(b.pool)
			r, err := svc.GetRun(ctx, org, uuid.MustParse(ids["runID"]))
			require.NoError(t, err, "the run was not deleted")
			require.Nil(t, r.Note)
			require.Equal(t, ledger.RunCompleted, r.Status, "no second auto-match ran")
			m, err := svc.GetMatch(ctx, org, uuid.MustParse(ids["matchID"]))
			require.NoError(t, err)
			require.Equal(t, ledger.MatchSuggested, m.Status)
			require.Nil(t, m.Note)
			_, err = svc.GetSource(ctx, org, r.ID, uuid.MustParse(ids["fileID"]))
			require.NoError(t, err, "the source was not deleted")
			items, err := svc.Items(ctx, org, r.ID, 10, 0)
			require.NoError(t, err)
			for _, it := range items.Rows {
				require.Nil(t, it.ClosedAt)
			}
			entries, err := svc.Accounts(ctx, org, uuid.MustParse(ids["id"]))
			require.NoError(t, err)
			require.Len(t, entries, 1, "no account was added")
			all, err := svc.GLEntries(ctx, org, r.ID, false, 10, 0)
			require.NoError(t, err)
			require.EqualValues(t, 2, all.Total, "no entry was booked")
			disc, err := svc.Discrepancies(ctx, org, r.ID, ledger.DiscrepancyFilter{}, 10, 0)
			require.NoError(t, err)
			for _, d := range disc.Rows {
				require.Equal(t, "open", d.Status)
			}
		},
	}
}

func importBatchFixture() tenancyFixture {
	return tenancyFixture{create: func(b *bundle, org uuid.UUID) map[string]string {
		sub, err := importer.New(b.pool, slog.Default()).Submit(context.Background(), importer.Upload{
			OrganizationID: org, Format: "mt940", FileName: "victim.sta", Content: []byte(uuid.NewString()), CreatedBy: "test",
		}, nil)
		require.NoError(b.t, err)
		return map[string]string{"id": sub.Batch.ID.String()}
	}}
}

// webhookDeliveryFixture makes a ping delivery; another organization's
// retry makes no attempt.
func webhookDeliveryFixture() tenancyFixture {
	return tenancyFixture{
		create: func(b *bundle, org uuid.UUID) map[string]string {
			e := tenancyEndpoint(b, org)
			// No worker runs: the ping stays queued, unattempted.
			d, err := webhook.NewService(b.pool, webhook.NewEnqueuer(asynq.NewClientFromRedisClient(b.redis), time.Second), slog.Default()).
				Test(context.Background(), org, e.ID, nil)
			require.NoError(b.t, err)
			return map[string]string{"id": d.ID.String()}
		},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			d, err := b.q.GetWebhookDelivery(context.Background(), db.GetWebhookDeliveryParams{OrganizationID: org, ID: uuid.MustParse(ids["id"])})
			require.NoError(t, err)
			require.Zero(t, d.WebhookDelivery.AttemptCount)
			pending, err := asynq.NewInspectorFromRedisClient(b.redis).ListPendingTasks(webhook.Queue, asynq.PageSize(1000))
			require.NoError(t, err)
			for _, task := range pending {
				require.NotContains(t, task.ID, ids["id"]+":manual", "no retry was queued")
			}
		},
	}
}

func tenancyEndpoint(b *bundle, org uuid.UUID) db.WebhookEndpoint {
	e, err := webhook.NewService(b.pool, nil, slog.Default()).Create(context.Background(),
		webhook.CreateInput{OrganizationID: org, URL: "https://victim.example.com/hooks", SubscribedEvents: []string{"*"}}, nil)
	require.NoError(b.t, err)
	return e.Endpoint
}

// webhookEndpointFixture makes an endpoint; whatever another organization
// tries, it keeps its URL, secret and status, and gets no ping.
func webhookEndpointFixture(body string) tenancyFixture {
	return tenancyFixture{
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": tenancyEndpoint(b, org).ID.String()}
		},
		bodies: map[string]string{"PATCH": body},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			e, err := b.q.GetWebhookEndpoint(context.Background(), db.GetWebhookEndpointParams{OrganizationID: org, ID: uuid.MustParse(ids["id"])})
			require.NoError(t, err, "the endpoint was not deleted")
			require.Equal(t, "https://victim.example.com/hooks", e.Url)
			require.Equal(t, "active", e.Status)
			require.Nil(t, e.PreviousSecret, "the secret was not rotated")
			n, err := b.q.CountWebhookDeliveries(context.Background(), db.CountWebhookDeliveriesParams{OrganizationID: org, EndpointID: e.ID})
			require.NoError(t, err)
			require.Zero(t, n, "no ping was sent")
		},
	}
}

// caseFixture makes a case; whatever another organization tries, it stays
// open at version 1.
func caseFixture(postBody string) tenancyFixture {
	return tenancyFixture{
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": b.intent(org, "tenancy-"+uuid.NewString()).Case.ID.String()}
		},
		bodies: map[string]string{"POST": postBody},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			c, err := cases.New(b.pool, matcher.New(b.pool)).Get(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err)
			require.Equal(t, "open", c.Row.ReconciliationCase.Status)
			require.EqualValues(t, 1, c.Row.ReconciliationCase.Version)
			require.Nil(t, c.Row.ReconciliationCase.Notes)
		},
	}
}

var pathParam = regexp.MustCompile(`:([A-Za-z]+)`)

// A request with organization A's credential for organization B's resource
// id is 404 — indistinguishable from an id that exists nowhere — for every
// route that takes an id, found by walking the router's route table.
func TestOtherOrganizationsResourcesAreNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	orgA, orgB := b.org("A"), b.org("B")
	tokA := b.session("user_a", orgA)
	checked := 0
	for _, rt := range b.router.Routes() {
		if !isV1(rt.Path) || !strings.Contains(rt.Path, ":") {
			continue
		}
		fx, ok := tenancyFixtures[rt.Path]
		if !ok {
			t.Errorf("route %s %s takes an id but has no entry in tenancyFixtures", rt.Method, rt.Path)
			continue
		}
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			ids := fx.create(b, orgB)
			path := pathParam.ReplaceAllStringFunc(rt.Path, func(m string) string {
				id, ok := ids[m[1:]]
				require.True(t, ok, "fixture gives no id for %s", m)
				return id
			})
			r := req{method: rt.Method, path: path, token: tokA, body: fx.bodies[rt.Method]}
			if rt.Method == "POST" {
				r.headers = map[string]string{"Idempotency-Key": uuid.NewString()}
			}
			envelope(t, b.do(r), 404, "not_found")
			if fx.unchanged != nil {
				fx.unchanged(t, b, orgB, ids)
			}
		})
		checked++
	}
	require.Positive(t, checked)
}
