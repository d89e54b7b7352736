package api

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/expected"
)

// seedExamples reads the example request bodies of seed 004 as written:
// every block from a line "{" to the line "}" that closes it.
func seedExamples(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "shared", "seeds", "004_ff2659675993723a.txt"))
	require.NoError(t, err)
	defer f.Close()
	var out []string
	var cur []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "{":
			cur = []string{line}
		case cur != nil:
			cur = append(cur, line)
			if strings.TrimRight(line, " ") == "}" {
				out = append(out, strings.Join(cur, "\n"))
				cur = nil
			}
		}
	}
	require.NoError(t, sc.Err())
	require.Len(t, out, 4, "seed 004 has four example bodies")
	return out
}

type epBody struct {
	ID                   string   `json:"id"`
	Status               string   `json:"status"`
	Direction            string   `json:"direction"`
	Currency             string   `json:"currency"`
	AmountLowerBound     int64    `json:"amount_lower_bound"`
	AmountUpperBound     int64    `json:"amount_upper_bound"`
	AmountReconciled     int64    `json:"amount_reconciled"`
	InternalAccountID    string   `json:"internal_account_id"`
	DateUpperBound       *string  `json:"date_upper_bound"`
	ReconciliationMethod *string  `json:"reconciliation_method"`
	TransactionIDs       []string `json:"transaction_ids"`
	Overdue              bool     `json:"overdue"`
}

type txBody struct {
	ID                   string  `json:"id"`
	Reconciled           bool    `json:"reconciled"`
	ExpectedPaymentID    *string `json:"expected_payment_id"`
	ReconciliationMethod *string `json:"reconciliation_method"`
	ReconciliationReason *string `json:"reconciliation_reason"`
	ReviewReason         *string `json:"review_reason"`
	Posted               bool    `json:"posted"`
	Currency             string  `json:"currency"`
}

// epWorld is an organization with two USD internal accounts.
type epWorld struct {
	b        *bundle
	org      uuid.UUID
	key      string
	accountA string
	accountB string
}

func newEPWorld(t *testing.T, b *bundle) *epWorld {
	w := &epWorld{b: b, org: b.org("Treasury " + uuid.NewString()[:8])}
	w.key, _ = b.apiKey(w.org, "expected_payments:read", "expected_payments:write")
	w.accountA = w.account(t, `{"name":"Operating","currency":"USD","account_number":"1000`+uuid.NewString()[:6]+`","routing_number":"021000021"}`)
	w.accountB = w.account(t, `{"name":"Payroll","currency":"USD"}`)
	return w
}

func (w *epWorld) account(t *testing.T, body string) string {
	rec := lgPost(w.b, w.key, "/v1/internal-accounts", body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[map[string]any](t, rec)["id"].(string)
}

func (w *epWorld) expect(t *testing.T, body string) epBody {
	t.Helper()
	rec := lgPost(w.b, w.key, "/v1/expected-payments", strings.ReplaceAll(body, "<Internal Account ID>", w.accountA))
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[epBody](t, rec)
}

func (w *epWorld) transaction(t *testing.T, body string) txBody {
	t.Helper()
	body = strings.NewReplacer("<A>", w.accountA, "<B>", w.accountB).Replace(body)
	rec := lgPost(w.b, w.key, "/v1/transactions", body)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	return decode[txBody](t, rec)
}

// match runs the matcher as the expected:match task does.
func (w *epWorld) match(t *testing.T) expected.MatchResult {
	t.Helper()
	res, err := expected.New(w.b.pool).MatchPending(context.Background(), w.org, "")
	require.NoError(t, err)
	return res
}

func (w *epWorld) getEP(t *testing.T, id string) epBody {
	t.Helper()
	rec := w.b.do(req{method: "GET", path: "/v1/expected-payments/" + id, token: w.key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[epBody](t, rec)
}

func (w *epWorld) getTx(t *testing.T, id string) txBody {
	t.Helper()
	rec := w.b.do(req{method: "GET", path: "/v1/transactions/" + id, token: w.key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[txBody](t, rec)
}

func tx(account, direction string, amount int64, date string, extra string) string {
	return fmt.Sprintf(`{"internal_account_id":"%s","direction":"%s","amount":%d,"as_of_date":"%s"%s}`, account, direction, amount, date, extra)
}

// TestSeed004ExamplesReconcile feeds each example body of seed 004, as
// written, and checks per example which transactions reconcile to it and
// which must not: boundary amounts, dates one day outside the bounds,
// missing or different custom identifiers, wrong direction, wrong account.
func TestSeed004ExamplesReconcile(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ex := seedExamples(t)
	ids := `,"custom_identifiers":{"buyer_email_address":"[email protected]","payment_id":"abc123"}`
	cases := []struct {
		name     string
		body     string
		must     []string
		mustNot  []string
		currency string
	}{
		{
			name: "expecting to be charged", body: ex[0],
			must: []string{tx("<A>", "debit", 100000, "2024-01-01", "")},
			mustNot: []string{
				tx("<A>", "debit", 99999, "2024-01-01", ""), tx("<A>", "debit", 100001, "2024-01-01", ""),
				tx("<A>", "credit", 100000, "2024-01-01", ""), tx("<B>", "debit", 100000, "2024-01-01", ""),
				tx("<A>", "debit", 100000, "2024-01-01", `,"currency":"EUR"`),
			},
		},
		{
			name: "expecting to receive money", body: ex[1],
			must: []string{tx("<A>", "credit", 20000000, "2030-12-31", "")},
			mustNot: []string{
				tx("<A>", "credit", 19999999, "2024-01-01", ""), tx("<A>", "credit", 20000001, "2024-01-01", ""),
				tx("<A>", "debit", 20000000, "2024-01-01", ""), tx("<B>", "credit", 20000000, "2024-01-01", ""),
			},
		},
		{
			name: "using ranges", body: ex[2],
			must: []string{
				tx("<A>", "credit", 10000, "2024-05-15", ""), tx("<A>", "credit", 11000, "2024-05-22", ""),
				tx("<A>", "credit", 10500, "2024-05-18", ""),
			},
			mustNot: []string{
				tx("<A>", "credit", 9999, "2024-05-18", ""), tx("<A>", "credit", 11001, "2024-05-18", ""),
				tx("<A>", "credit", 10500, "2024-05-14", ""), tx("<A>", "credit", 10500, "2024-05-23", ""),
				tx("<A>", "debit", 10500, "2024-05-18", ""), tx("<B>", "credit", 10500, "2024-05-18", ""),
			},
		},
		{
			name: "using custom identifiers", body: ex[3],
			must: []string{
				tx("<A>", "credit", 10500, "2024-05-18", ids),
				// Compared case-insensitively after trimming.
				tx("<A>", "credit", 11000, "2024-05-22", `,"custom_identifiers":{"buyer_email_address":"  [EMAIL PROTECTED] ","payment_id":"ABC123","extra":"x"}`),
			},
			mustNot: []string{
				tx("<A>", "credit", 10500, "2024-05-18", ""),
				tx("<A>", "credit", 10500, "2024-05-18", `,"custom_identifiers":{"buyer_email_address":"[email protected]"}`),
				tx("<A>", "credit", 10500, "2024-05-18", `,"custom_identifiers":{"buyer_email_address":"[email protected]","payment_id":"abc124"}`),
				tx("<A>", "credit", 10500, "2024-05-14", ids), tx("<A>", "credit", 10500, "2024-05-23", ids),
				tx("<A>", "credit", 11001, "2024-05-18", ids), tx("<A>", "debit", 10500, "2024-05-18", ids),
				tx("<B>", "credit", 10500, "2024-05-18", ids),
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i, m := range c.must {
				w := newEPWorld(t, b)
				ep := w.expect(t, c.body)
				require.Equal(t, "unreconciled", ep.Status)
				require.Equal(t, w.accountA, ep.InternalAccountID, "top-level fields come from the first variable")
				require.Equal(t, "USD", ep.Currency, "the account's currency")
				if strings.Contains(c.body, "date_upper_bound") {
					require.Equal(t, "2024-05-22", *ep.DateUpperBound, "date bounds from the variables too")
				}
				tr := w.transaction(t, m)
				require.False(t, tr.Reconciled)
				require.Equal(t, expected.MatchResult{Transactions: 1, Reconciled: 1}, w.match(t), "must %d", i)
				got := w.getTx(t, tr.ID)
				require.True(t, got.Reconciled, "must %d: %s", i, m)
				require.Equal(t, ep.ID, *got.ExpectedPaymentID)
				require.Equal(t, "automatic", *got.ReconciliationMethod)
				require.Contains(t, *got.ReconciliationReason, "reconciliation_rule_variables[0]")
				after := w.getEP(t, ep.ID)
				require.Equal(t, "reconciled", after.Status)
				require.Equal(t, []string{tr.ID}, after.TransactionIDs)
				require.Equal(t, "automatic", *after.ReconciliationMethod)
			}
			w := newEPWorld(t, b)
			ep := w.expect(t, c.body)
			var txs []txBody
			for _, m := range c.mustNot {
				txs = append(txs, w.transaction(t, m))
			}
			res := w.match(t)
			require.Equal(t, len(c.mustNot), res.Transactions)
			require.Zero(t, res.Reconciled)
			for i, tr := range txs {
				require.False(t, w.getTx(t, tr.ID).Reconciled, "must not %d: %s", i, c.mustNot[i])
			}
			require.Equal(t, "unreconciled", w.getEP(t, ep.ID).Status)
		})
	}
}

// TestExpectedPaymentLifecycle: a transaction that arrived first reconciles
// when its expected payment is created; instalments partially reconcile; a
// pending transaction reconciles tentatively until it posts; a discarded one
// un-reconciles; the tightest bounds win; manual reconcile and unreconcile.
func TestExpectedPaymentLifecycle(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ex := seedExamples(t)

	t.Run("transaction before its expected payment", func(t *testing.T) {
		w := newEPWorld(t, b)
		tr := w.transaction(t, tx("<A>", "credit", 10500, "2024-05-16", ""))
		require.Equal(t, expected.MatchResult{Transactions: 1}, w.match(t))
		ep := w.expect(t, ex[2])
		require.Equal(t, expected.MatchResult{Transactions: 1, Reconciled: 1}, w.match(t))
		require.Equal(t, ep.ID, *w.getTx(t, tr.ID).ExpectedPaymentID)
		require.Equal(t, "reconciled", w.getEP(t, ep.ID).Status)
		// Nothing is left pending: a second run changes nothing.
		require.Equal(t, expected.MatchResult{}, w.match(t))
	})

	t.Run("instalments", func(t *testing.T) {
		w := newEPWorld(t, b)
		ep := w.expect(t, ex[3])
		ids := `,"custom_identifiers":{"buyer_email_address":"[email protected]","payment_id":"abc123"}`
		first := w.transaction(t, tx("<A>", "credit", 6000, "2024-05-16", ids))
		w.match(t)
		got := w.getEP(t, ep.ID)
		require.Equal(t, "partially_reconciled", got.Status)
		require.EqualValues(t, 6000, got.AmountReconciled)
		// 6000 more would overshoot the upper bound: not taken.
		over := w.transaction(t, tx("<A>", "credit", 6000, "2024-05-17", ids))
		second := w.transaction(t, tx("<A>", "credit", 4500, "2024-05-18", ids))
		w.match(t)
		got = w.getEP(t, ep.ID)
		require.Equal(t, "reconciled", got.Status)
		require.EqualValues(t, 10500, got.AmountReconciled)
		require.ElementsMatch(t, []string{first.ID, second.ID}, got.TransactionIDs)
		require.False(t, w.getTx(t, over.ID).Reconciled)
	})

	t.Run("pending, posted, discarded", func(t *testing.T) {
		w := newEPWorld(t, b)
		ep := w.expect(t, ex[2])
		tr := w.transaction(t, tx("<A>", "credit", 10500, "2024-05-16", `,"posted":false`))
		w.match(t)
		require.Equal(t, "tentatively_reconciled", w.getEP(t, ep.ID).Status)
		rec := w.b.do(req{method: "PATCH", path: "/v1/transactions/" + tr.ID, token: w.key, body: `{"posted":true}`})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.True(t, decode[txBody](t, rec).Posted)
		require.Equal(t, "reconciled", w.getEP(t, ep.ID).Status)

		// Another fitting transaction waits, unreconciled; when the first
		// disappears, the payment reopens and takes it.
		spare := w.transaction(t, tx("<A>", "credit", 10700, "2024-05-17", ""))
		w.match(t)
		require.False(t, w.getTx(t, spare.ID).Reconciled)
		rec = w.b.do(req{method: "DELETE", path: "/v1/transactions/" + tr.ID, token: w.key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.False(t, decode[txBody](t, rec).Reconciled)
		require.Equal(t, "unreconciled", w.getEP(t, ep.ID).Status)
		w.match(t)
		got := w.getEP(t, ep.ID)
		require.Equal(t, "reconciled", got.Status)
		require.Equal(t, []string{spare.ID}, got.TransactionIDs)
		rec = w.b.do(req{method: "DELETE", path: "/v1/transactions/" + tr.ID, token: w.key})
		envelope(t, rec, http.StatusConflict, CodeInvalidStateTransition)

		// Events for each status change, in order.
		rows, err := w.b.pool.Query(context.Background(),
			`SELECT event_type FROM event_outbox WHERE organization_id = $1 AND event_type LIKE 'expected_payment.%' ORDER BY created_at, id`, w.org)
		require.NoError(t, err)
		var events []string
		for rows.Next() {
			var e string
			require.NoError(t, rows.Scan(&e))
			events = append(events, e)
		}
		require.Equal(t, []string{"expected_payment.tentatively_reconciled", "expected_payment.reconciled",
			"expected_payment.unreconciled", "expected_payment.reconciled"}, events)
	})

	t.Run("tightest bounds first, then oldest", func(t *testing.T) {
		w := newEPWorld(t, b)
		wide := w.expect(t, ex[2])
		narrow := w.expect(t, `{"reconciliation_rule_variables":[{"direction":"credit","amount_lower_bound":10400,"amount_upper_bound":10600,"internal_account_id":"<Internal Account ID>"}]}`)
		wideToo := w.expect(t, ex[2])
		t1 := w.transaction(t, tx("<A>", "credit", 10500, "2024-05-16", ""))
		t2 := w.transaction(t, tx("<A>", "credit", 10500, "2024-05-16", ""))
		t3 := w.transaction(t, tx("<A>", "credit", 10500, "2024-05-16", ""))
		w.match(t)
		got1 := w.getTx(t, t1.ID)
		require.Equal(t, narrow.ID, *got1.ExpectedPaymentID)
		require.Contains(t, *got1.ReconciliationReason, "chosen over 2 other")
		require.Equal(t, wide.ID, *w.getTx(t, t2.ID).ExpectedPaymentID, "dates bound the wide one: tighter than none")
		require.Equal(t, wideToo.ID, *w.getTx(t, t3.ID).ExpectedPaymentID)
	})

	t.Run("manual reconcile and unreconcile", func(t *testing.T) {
		w := newEPWorld(t, b)
		ep := w.expect(t, ex[2])
		small := w.transaction(t, tx("<A>", "credit", 4000, "2024-05-16", ""))
		other := w.transaction(t, tx("<A>", "credit", 7000, "2024-05-16", ""))
		big := w.transaction(t, tx("<A>", "credit", 8000, "2024-05-16", ""))
		w.match(t)
		require.False(t, w.getTx(t, small.ID).Reconciled)
		rec := lgPost(w.b, w.key, "/v1/expected-payments/"+ep.ID+"/reconcile", `{"transaction_ids":["`+small.ID+`","`+big.ID+`"]}`)
		e := envelope(t, rec, http.StatusBadRequest, CodeInvalidRequest)
		require.Contains(t, e.Message, "above amount_upper_bound 11000")
		rec = lgPost(w.b, w.key, "/v1/expected-payments/"+ep.ID+"/reconcile", `{"transaction_ids":["`+small.ID+`"]}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got := decode[epBody](t, rec)
		require.Equal(t, "partially_reconciled", got.Status)
		require.Equal(t, "manual", *got.ReconciliationMethod)
		require.Equal(t, []string{small.ID}, got.TransactionIDs)
		rec = lgPost(w.b, w.key, "/v1/expected-payments/"+ep.ID+"/reconcile", `{"transaction_ids":["`+other.ID+`"]}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "reconciled", decode[epBody](t, rec).Status)
		rec = lgPost(w.b, w.key, "/v1/expected-payments/"+ep.ID+"/unreconcile", "")
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got = decode[epBody](t, rec)
		require.Equal(t, "unreconciled", got.Status)
		require.Empty(t, got.TransactionIDs)
		require.Nil(t, got.ReconciliationMethod)
		require.False(t, w.getTx(t, small.ID).Reconciled)

		// Archived: no longer matched; archiving needs nothing reconciled.
		rec = w.b.do(req{method: "DELETE", path: "/v1/expected-payments/" + ep.ID, token: w.key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		require.Equal(t, "archived", decode[epBody](t, rec).Status)
		w.transaction(t, tx("<A>", "credit", 10500, "2024-05-16", ""))
		require.Equal(t, expected.MatchResult{Transactions: 1}, w.match(t))
	})

	t.Run("overdue", func(t *testing.T) {
		w := newEPWorld(t, b)
		ep := w.expect(t, `{"direction":"credit","amount_lower_bound":500,"amount_upper_bound":500,"internal_account_id":"<Internal Account ID>","date_upper_bound":"2024-01-31"}`)
		n, err := expected.New(w.b.pool).MarkOverdue(context.Background(), mustDate(t, "2024-02-01"), 1000)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, 1)
		require.True(t, w.getEP(t, ep.ID).Overdue)
		var events int
		require.NoError(t, w.b.pool.QueryRow(context.Background(),
			`SELECT count(*) FROM event_outbox WHERE organization_id = $1 AND event_type = 'expected_payment.overdue'`, w.org).Scan(&events))
		require.Equal(t, 1, events)
		_, err = expected.New(w.b.pool).MarkOverdue(context.Background(), mustDate(t, "2024-02-02"), 1000)
		require.NoError(t, err)
		require.NoError(t, w.b.pool.QueryRow(context.Background(),
			`SELECT count(*) FROM event_outbox WHERE organization_id = $1 AND event_type = 'expected_payment.overdue'`, w.org).Scan(&events))
		require.Equal(t, 1, events, "marked once")
	})
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	require.NoError(t, err)
	return d
}

// TestExpectedPaymentsRefuseBadInput: each bad body names its field and
// stores nothing.
func TestExpectedPaymentsRefuseBadInput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := newEPWorld(t, b)
	other := newEPWorld(t, b)
	cases := []struct {
		body string
		path string
	}{
		{`{}`, "direction"},
		{`{"direction":"sideways","amount_lower_bound":1,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>"}`, "direction"},
		{`{"direction":"credit","amount_lower_bound":5,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>"}`, "amount_lower_bound"},
		{`{"direction":"credit","amount_lower_bound":-1,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>"}`, "amount_lower_bound"},
		{`{"direction":"credit","amount_lower_bound":1.5,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>"}`, "amount_lower_bound"},
		{`{"direction":"credit","amount_lower_bound":1,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>","date_lower_bound":"2024-05-23","date_upper_bound":"2024-05-22"}`, "date_lower_bound"},
		{`{"direction":"credit","amount_lower_bound":1,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>","date_upper_bound":"22/05/2024"}`, "date_upper_bound"},
		{`{"direction":"credit","amount_lower_bound":1,"amount_upper_bound":2,"internal_account_id":"` + other.accountA + `"}`, "internal_account_id"},
		{`{"reconciliation_rule_variables":[]}`, "reconciliation_rule_variables"},
		{`{"reconciliation_rule_variables":[{"direction":"credit","amount_lower_bound":1,"internal_account_id":"<Internal Account ID>"}]}`, "reconciliation_rule_variables.0.amount_upper_bound"},
		{`{"reconciliation_rule_variables":[{"direction":"credit","amount_lower_bound":1,"amount_upper_bound":2,"internal_account_id":"` + other.accountA + `"}]}`, "reconciliation_rule_variables.0.internal_account_id"},
		{`{"reconciliation_rule_variables":[{"direction":"debit","amount_lower_bound":1,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>","custom_identifiers":{"payment_id":" "}}]}`, "reconciliation_rule_variables.0.custom_identifiers.payment_id"},
		{`{"amount_upper_bound":5,"reconciliation_rule_variables":[{"direction":"debit","amount_lower_bound":1,"amount_upper_bound":9,"internal_account_id":"<Internal Account ID>"}]}`, "reconciliation_rule_variables.0.amount_lower_bound"},
		{`{"direction":"credit","amount_lower_bound":1,"amount_upper_bound":2,"internal_account_id":"<Internal Account ID>","surprise":1}`, "surprise"},
	}
	for _, c := range cases {
		rec := lgPost(b, w.key, "/v1/expected-payments", strings.ReplaceAll(c.body, "<Internal Account ID>", w.accountA))
		e := envelope(t, rec, http.StatusBadRequest, CodeInvalidRequest)
		var paths []string
		for _, is := range e.Issues {
			paths = append(paths, strings.Join(is.Path, "."))
		}
		require.Contains(t, paths, c.path, c.body)
	}
	rec := b.do(req{method: "GET", path: "/v1/expected-payments", token: w.key})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "[]", strings.TrimSpace(rec.Body.String()), "nothing stored")

	for _, body := range []string{
		`{"direction":"credit","amount":100,"as_of_date":"2024-05-16"}`,
		tx(w.accountA, "credit", 0, "2024-05-16", ""),
		tx(w.accountA, "credit", 100, "2024-13-01", ""),
		tx(other.accountA, "credit", 100, "2024-05-16", ""),
	} {
		envelope(t, lgPost(b, w.key, "/v1/transactions", body), http.StatusBadRequest, CodeInvalidRequest)
	}
	rec = b.do(req{method: "PATCH", path: "/v1/transactions/" + uuid.NewString(), token: w.key, body: `{"posted":true}`})
	envelope(t, rec, http.StatusNotFound, CodeNotFound)
	envelope(t, b.do(req{method: "GET", path: "/v1/expected-payments/" + uuid.NewString(), token: w.key}), http.StatusNotFound, CodeNotFound)
	envelope(t, b.do(req{method: "GET", path: "/v1/internal-accounts/" + other.accountA, token: w.key}), http.StatusNotFound, CodeNotFound)
	// Idempotency-Key is required on creates.
	rec = b.do(req{method: "POST", path: "/v1/internal-accounts", token: w.key, body: `{"name":"x","currency":"USD"}`})
	envelope(t, rec, http.StatusBadRequest, CodeInvalidIdempotencyKey)
}

// TestExpectedPaymentListsPageAndFilter: cursor paging with X-After-Cursor
// and every filter of the list.
func TestExpectedPaymentListsPageAndFilter(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := newEPWorld(t, b)
	cp := lgPost(b, w.key, "/v1/counterparties", `{"name":"Globex","accounts":[{"iban":"DE89370400440532013000"}]}`)
	require.Equal(t, http.StatusCreated, cp.Code, cp.Body.String())
	cpID := decode[map[string]any](t, cp)["id"].(string)
	var ids []string
	for i := range 5 {
		body := fmt.Sprintf(`{"direction":"%s","amount_lower_bound":%d,"amount_upper_bound":%d,"internal_account_id":"%s","type":"%s","external_id":"inv-%d","metadata":{"batch":"%d"}%s}`,
			[]string{"credit", "debit"}[i%2], 100*(i+1), 100*(i+1), []string{w.accountA, w.accountB}[i%2], []string{"ach", "wire"}[i%2], i, i%2,
			map[bool]string{true: `,"counterparty_id":"` + cpID + `"`, false: ""}[i == 3])
		ids = append(ids, w.expect(t, body).ID)
	}
	list := func(q string) ([]epBody, string) {
		rec := b.do(req{method: "GET", path: "/v1/expected-payments" + q, token: w.key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		return decode[[]epBody](t, rec), rec.Header().Get("X-After-Cursor")
	}
	idsOf := func(ps []epBody) []string {
		out := []string{}
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	page, cur := list("?per_page=2")
	require.Equal(t, []string{ids[4], ids[3]}, idsOf(page))
	require.NotEmpty(t, cur)
	page, cur = list("?per_page=2&after_cursor=" + cur)
	require.Equal(t, []string{ids[2], ids[1]}, idsOf(page))
	page, cur = list("?per_page=2&after_cursor=" + cur)
	require.Equal(t, []string{ids[0]}, idsOf(page))
	require.Empty(t, cur, "last page")

	for q, want := range map[string][]string{
		"?direction=debit":                                     {ids[3], ids[1]},
		"?internal_account_id=" + w.accountA:                   {ids[4], ids[2], ids[0]},
		"?type=wire":                                           {ids[3], ids[1]},
		"?external_id=inv-2":                                   {ids[2]},
		"?counterparty_id=" + cpID:                             {ids[3]},
		"?metadata%5Bbatch%5D=1":                               {ids[3], ids[1]},
		"?status=unreconciled&direction=credit":                {ids[4], ids[2], ids[0]},
		"?status=reconciled":                                   {},
		"?created_at_lower_bound=2000-01-01":                   {ids[4], ids[3], ids[2], ids[1], ids[0]},
		"?created_at_upper_bound=2000-01-01":                   {},
		"?metadata%5Bbatch%5D=0&type=ach":                      {ids[4], ids[2], ids[0]},
		"?metadata%5Bbatch%5D=0&type=wire":                     {},
		"?internal_account_id=" + w.accountB + "&per_page=100": {ids[3], ids[1]},
	} {
		page, _ := list(q)
		require.Equal(t, want, idsOf(page), q)
	}
	for _, q := range []string{"?per_page=0", "?per_page=101", "?per_page=-1", "?after_cursor=nope", "?status=lost", "?colour=red",
		"?created_at_lower_bound=yesterday", "?internal_account_id=12"} {
		rec := b.do(req{method: "GET", path: "/v1/expected-payments" + q, token: w.key})
		envelope(t, rec, http.StatusBadRequest, CodeInvalidRequest)
	}

	// PATCH while unreconciled; a duplicate external_id is a conflict.
	rec := b.do(req{method: "PATCH", path: "/v1/expected-payments/" + ids[0], token: w.key, body: `{"amount_upper_bound":150,"description":"March rent"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.EqualValues(t, 150, decode[epBody](t, rec).AmountUpperBound)
	rec = b.do(req{method: "PATCH", path: "/v1/expected-payments/" + ids[0], token: w.key, body: `{"external_id":"inv-1"}`})
	envelope(t, rec, http.StatusConflict, "expected_payment_conflict")

	// Transactions list and filters.
	t1 := w.transaction(t, tx("<A>", "credit", 100, "2024-05-16", `,"type":"ACH"`))
	t2 := w.transaction(t, tx("<B>", "debit", 200, "2024-05-17", `,"posted":false,"type":"wire"`))
	w.match(t)
	rec = b.do(req{method: "GET", path: "/v1/transactions?reconciled=true", token: w.key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	got := decode[[]txBody](t, rec)
	require.Len(t, got, 2, "100 credit on A fits ids[0] (100..150); 200 debit on B fits ids[1]")
	for q, want := range map[string][]string{
		"?posted=false":                      {t2.ID},
		"?internal_account_id=" + w.accountA: {t1.ID},
		"?direction=credit":                  {t1.ID},
		"?as_of_date_start=2024-05-17":       {t2.ID},
		"?as_of_date_end=2024-05-16":         {t1.ID},
		"?expected_payment_id=" + ids[1]:     {t2.ID},
		"?reconciled=false":                  {},
	} {
		rec := b.do(req{method: "GET", path: "/v1/transactions" + q, token: w.key})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var out []string
		for _, r := range decode[[]txBody](t, rec) {
			out = append(out, r.ID)
		}
		require.ElementsMatch(t, want, out, q)
	}
	rec = b.do(req{method: "PATCH", path: "/v1/expected-payments/" + ids[0], token: w.key, body: `{"description":"too late"}`})
	envelope(t, rec, http.StatusConflict, CodeInvalidStateTransition)

	// Internal accounts and counterparties: lists, patches, a counterparty
	// in use cannot be deleted.
	rec = b.do(req{method: "GET", path: "/v1/internal-accounts?per_page=1", token: w.key})
	require.Equal(t, http.StatusOK, rec.Code)
	require.Len(t, decode[[]map[string]any](t, rec), 1)
	require.NotEmpty(t, rec.Header().Get("X-After-Cursor"))
	rec = b.do(req{method: "PATCH", path: "/v1/internal-accounts/" + w.accountB, token: w.key, body: `{"name":"Payroll EU"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "Payroll EU", decode[map[string]any](t, rec)["name"])
	rec = b.do(req{method: "GET", path: "/v1/internal-accounts/" + w.accountB, token: w.key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "Payroll EU", decode[map[string]any](t, rec)["name"])
	rec = b.do(req{method: "DELETE", path: "/v1/counterparties/" + cpID, token: w.key})
	envelope(t, rec, http.StatusConflict, "counterparty_in_use")
	rec = b.do(req{method: "PATCH", path: "/v1/counterparties/" + cpID, token: w.key, body: `{"email":"ap@globex.example"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "Globex", decode[map[string]any](t, rec)["name"])
	rec = b.do(req{method: "GET", path: "/v1/counterparties/" + cpID, token: w.key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "ap@globex.example", decode[map[string]any](t, rec)["email"])
	// One nothing refers to can be deleted.
	rec = lgPost(b, w.key, "/v1/counterparties", `{"name":"Initech"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = b.do(req{method: "DELETE", path: "/v1/counterparties/" + decode[map[string]any](t, rec)["id"].(string), token: w.key})
	require.Equal(t, http.StatusNoContent, rec.Code, rec.Body.String())
	rec = b.do(req{method: "GET", path: "/v1/counterparties?name=glob", token: w.key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Len(t, decode[[]map[string]any](t, rec), 1)
}

// TestPatchKeepsRuleVariables: a patch that leaves the variables out keeps
// matching by them (a regression: the top-level fields replaced them).
func TestPatchKeepsRuleVariables(t *testing.T) {
	t.Parallel()
	b := setup(t)
	w := newEPWorld(t, b)
	ep := w.expect(t, seedExamples(t)[3])
	rec := b.do(req{method: "PATCH", path: "/v1/expected-payments/" + ep.ID, token: w.key, body: `{"description":"May invoice"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"payment_id"`)
	plain := w.transaction(t, tx("<A>", "credit", 10500, "2024-05-18", ""))
	w.match(t)
	require.False(t, w.getTx(t, plain.ID).Reconciled, "still needs the custom identifiers")
	ids := `,"custom_identifiers":{"buyer_email_address":"[email protected]","payment_id":"abc123"}`
	tr := w.transaction(t, tx("<A>", "credit", 10500, "2024-05-18", ids))
	w.match(t)
	require.Equal(t, ep.ID, *w.getTx(t, tr.ID).ExpectedPaymentID)
}
