package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/expected"
)

// internalAccount creates an internal account of org in currency.
func (b *bundle) internalAccount(org uuid.UUID, name, currency string) db.InternalAccount {
	b.t.Helper()
	a, err := expected.New(b.pool).CreateAccount(context.Background(), org, expected.AccountInput{Name: name, Currency: currency, Metadata: []byte("{}")}, nil)
	require.NoError(b.t, err)
	return a
}

// expectPayment creates an expected credit of 900.00 to 1,100.00 on
// account with two rule variables (exactly 1,000.00 with invoice INV-7;
// or 900.00 to 1,100.00 of type ach in March 2026), as the api stores them.
func (b *bundle) expectPayment(org uuid.UUID, account db.InternalAccount, description string) db.ExpectedPayment {
	b.t.Helper()
	ach := "ach"
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	vars := []expected.VariableInput{
		{Direction: "credit", AmountLowerBound: 100000, AmountUpperBound: 100000, InternalAccountID: account.ID, CustomIdentifiers: map[string]string{"invoice": "INV-7"}},
		{Direction: "credit", AmountLowerBound: 90000, AmountUpperBound: 110000, InternalAccountID: account.ID, Type: &ach, DateLowerBound: &from, DateUpperBound: &to},
	}
	raw, err := json.Marshal([]map[string]any{
		{"direction": "credit", "amount_lower_bound": 100000, "amount_upper_bound": 100000, "internal_account_id": account.ID, "custom_identifiers": map[string]string{"invoice": "INV-7"}},
		{"direction": "credit", "amount_lower_bound": 90000, "amount_upper_bound": 110000, "internal_account_id": account.ID, "type": "ach",
			"date_lower_bound": "2026-03-01", "date_upper_bound": "2026-03-31"},
	})
	require.NoError(b.t, err)
	created, err := expected.New(b.pool).CreatePayment(context.Background(), org, expected.PaymentInput{
		Description: &description, Metadata: []byte(`{"customer":"Globex"}`), Variables: vars, RawVariables: raw,
	}, nil)
	require.NoError(b.t, err)
	return created.Payment
}

// transaction records a posted transaction on account (currency "" : the
// account's).
func (b *bundle) transaction(org uuid.UUID, account db.InternalAccount, direction string, amount int64, currency, description string) db.Transaction {
	b.t.Helper()
	in := expected.TransactionInput{InternalAccountID: account.ID, Direction: direction, Amount: amount, AsOfDate: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC),
		Posted: true, VendorDescription: &description, Metadata: []byte("{}")}
	if currency != "" {
		in.Currency = &currency
	}
	t, err := expected.New(b.pool).CreateTransaction(context.Background(), org, in, nil)
	require.NoError(b.t, err)
	return t.Transaction
}

func TestConsoleExpectedPaymentList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	usd, eur := b.internalAccount(acme, "Operating USD", "USD"), b.internalAccount(acme, "Treasury EUR", "EUR")
	for i := range 25 {
		b.expectPayment(acme, usd, fmt.Sprintf("Invoice %02d", i))
	}
	euro := b.expectPayment(acme, eur, "Euro invoice")
	theirs := b.expectPayment(other, b.internalAccount(other, "Their account", "USD"), "Their invoice")

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get("/console/expected-payments")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `<a href="/console/expected-payments" aria-current="page">Expected payments</a>`)
	require.Equal(t, 25, strings.Count(p.Body, `<tr id="ep-`))
	row := rowHTML(t, p, "ep-"+euro.ID.String())
	require.Contains(t, row, ">Euro invoice</a>")
	require.Contains(t, row, "900.00 EUR to 1,100.00 EUR")
	require.Contains(t, row, "Any date", "one variable has no dates")
	require.Contains(t, row, "Treasury EUR")
	require.Equal(t, "Unreconciled", p.text("ep-"+euro.ID.String()+"-status"))
	require.NotContains(t, p.Body, theirs.ID.String())
	require.NotContains(t, p.Body, "Their account", "nor their account among the choices")
	require.Contains(t, p.Body, `<option value="`+usd.ID.String()+`">Operating USD (USD)</option>`)

	// The next keyset page holds the oldest one.
	p = c.get(linkOf(t, p, "next-page"))
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, 1, strings.Count(p.Body, `<tr id="ep-`))
	require.Contains(t, p.Body, ">Invoice 00</a>")
	require.Empty(t, p.text("next-page"))
	require.Equal(t, "/console/expected-payments", linkOf(t, p, "first-page"))

	p = c.get("/console/expected-payments?internal_account_id=" + eur.ID.String())
	require.Equal(t, 1, strings.Count(p.Body, `<tr id="ep-`))
	require.Contains(t, p.Body, `<option value="`+eur.ID.String()+`" selected>Treasury EUR (EUR)</option>`)
	p = c.get("/console/expected-payments?status=unreconciled&direction=credit")
	require.Equal(t, 25, strings.Count(p.Body, `<tr id="ep-`))
	p = c.get("/console/expected-payments?status=reconciled")
	require.Equal(t, "No expected payment matches the filters.", p.text("no-expected"))
	p = c.get("/console/expected-payments?direction=debit")
	require.Equal(t, "No expected payment matches the filters.", p.text("no-expected"))

	for _, bad := range []string{"?status=paid", "?direction=sideways", "?internal_account_id=usd", "?cursor=abc"} {
		p = c.get("/console/expected-payments" + bad)
		requireHTML(t, p, http.StatusBadRequest)
		require.Contains(t, p.Body, `id="error"`, bad)
	}
}

// An expected payment's page: its variables and amounts, and transactions
// reconciled to it or taken off it by hand.
func TestConsoleExpectedPayment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	usd := b.internalAccount(acme, "Operating USD", "USD")
	e := b.expectPayment(acme, usd, "Invoice INV-7")
	t1 := b.transaction(acme, usd, "credit", 60000, "", "First half")
	t2 := b.transaction(acme, usd, "credit", 40000, "", "Second half")
	t3 := b.transaction(acme, usd, "credit", 50000, "", "Too much")
	debit := b.transaction(acme, usd, "debit", 5000, "", "A fee going out")
	euros := b.transaction(acme, usd, "credit", 1000, "EUR", "In euros")
	theirAccount := b.internalAccount(other, "Their account", "USD")
	theirs := b.expectPayment(other, theirAccount, "Their invoice")
	theirTx := b.transaction(other, theirAccount, "credit", 1000, "", "Their money")
	path := "/console/expected-payments/" + e.ID.String()

	c := b.client()
	c.mustSignIn("ops@acme.example", password)
	p := c.get(path)
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, "<h1>Invoice INV-7</h1>")
	for id, want := range map[string]string{"ep-status": "Unreconciled", "ep-amount": "900.00 USD to 1,100.00 USD", "ep-reconciled": "0.00 USD",
		"ep-unreconciled": "900.00 USD"} {
		require.Equal(t, want, p.text(id), id)
	}
	require.Contains(t, p.Body, "<dt>Metadata: customer</dt><dd>Globex</dd>")
	vars := p.Body[strings.Index(p.Body, `<table id="variables">`):]
	vars = vars[:strings.Index(vars, "</table>")]
	require.Contains(t, vars, "<caption>2 rule variables</caption>")
	require.Contains(t, vars, "<code>invoice</code> = INV-7")
	require.Contains(t, vars, `<td class="num">1,000.00 USD</td>`)
	require.Contains(t, vars, "2026-03-01 to 2026-03-31")
	require.Contains(t, vars, "<td>ach</td>")
	require.Contains(t, vars, "Operating USD (USD)")
	require.Equal(t, "No transaction is reconciled to this payment.", p.text("no-linked"))
	// Offered: unreconciled credits in USD on the account.
	for _, tx := range []db.Transaction{t1, t2, t3} {
		require.Equal(t, "Reconcile", p.text("reconcile-"+tx.ID.String()))
	}
	require.NotContains(t, p.Body, "candidate-"+debit.ID.String())
	require.NotContains(t, p.Body, "candidate-"+euros.ID.String())
	token := p.csrf()

	reconcile := func(tx string) page {
		return c.post(path+"/reconcile", url.Values{"csrf_token": {token}, "transaction_id": {tx}})
	}
	p = reconcile(t1.ID.String())
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=reconciled#transactions", p.location())
	p = c.get(strings.TrimSuffix(p.location(), "#transactions"))
	require.Equal(t, "Transaction reconciled to this expected payment.", p.text("notice"))
	require.Equal(t, "Partially reconciled", p.text("ep-status"))
	require.Equal(t, "600.00 USD", p.text("ep-reconciled"))
	require.Equal(t, "300.00 USD", p.text("ep-unreconciled"))
	linked := rowHTML(t, p, "linked-"+t1.ID.String())
	require.Contains(t, linked, "First half")
	require.Contains(t, linked, "Manual")
	require.Equal(t, "Unreconcile", p.text("unreconcile-"+t1.ID.String()))
	require.NotContains(t, p.Body, "candidate-"+t1.ID.String(), "no longer offered")
	require.Equal(t, e.ID.String(), b.value(`SELECT expected_payment_id::text FROM transactions WHERE id = $1`, t1.ID))

	p = reconcile(t2.ID.String())
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	p = c.get(path)
	require.Equal(t, "Reconciled", p.text("ep-status"))
	require.Equal(t, "1,000.00 USD", p.text("ep-reconciled"))
	require.Equal(t, "0.00 USD", p.text("ep-unreconciled"))
	require.Equal(t, "Manual", p.text("ep-method")[:len("Manual")])

	// Refusals re-render the page with the service's reason, and change nothing.
	for _, tc := range []struct {
		tx, msg string
		status  int
	}{
		{t3.ID.String(), "These transactions would bring amount_reconciled to 150000, above amount_upper_bound 110000.", http.StatusBadRequest},
		{euros.ID.String(), "Transaction " + euros.ID.String() + " is in EUR; the expected payment is in USD.", http.StatusBadRequest},
		{theirTx.ID.String(), "No transaction " + theirTx.ID.String() + " in this organization.", http.StatusBadRequest},
		{"not-an-id", "Give the id of a transaction (a UUID, as the api shows it).", http.StatusBadRequest},
	} {
		p = reconcile(tc.tx)
		requireHTML(t, p, tc.status)
		require.Equal(t, tc.msg, p.text("error"), tc.tx)
		require.Contains(t, p.Body, `value="`+tc.tx+`"`, "what was typed is kept")
		require.Equal(t, "Reconciled", p.text("ep-status"))
	}
	require.Equal(t, "<nil>", b.value(`SELECT expected_payment_id::text FROM transactions WHERE id = $1`, t3.ID))
	p = c.post(path+"/unreconcile", url.Values{"csrf_token": {token}, "transaction_id": {t3.ID.String()}})
	requireHTML(t, p, http.StatusBadRequest)
	require.Equal(t, "Transaction "+t3.ID.String()+" is not reconciled to this expected payment.", p.text("error"))

	// Take the first half off: partly reconciled again.
	p = c.post(path+"/unreconcile", url.Values{"csrf_token": {token}, "transaction_id": {t1.ID.String()}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=unreconciled#transactions", p.location())
	p = c.get(path + "?notice=unreconciled")
	require.Contains(t, p.text("notice"), "Transaction taken off this expected payment")
	require.Equal(t, "Partially reconciled", p.text("ep-status"))
	require.Equal(t, "400.00 USD", p.text("ep-reconciled"))
	require.NotContains(t, p.Body, "linked-"+t1.ID.String())
	require.Equal(t, "<nil>", b.value(`SELECT expected_payment_id::text FROM transactions WHERE id = $1`, t1.ID))

	// Without the token: 403, nothing changes.
	p = c.post(path+"/reconcile", url.Values{"transaction_id": {t1.ID.String()}})
	requireHTML(t, p, http.StatusForbidden)
	p = c.post(path+"/unreconcile", url.Values{"transaction_id": {t2.ID.String()}}, "Sec-Fetch-Site", "cross-site")
	requireHTML(t, p, http.StatusForbidden)
	require.Equal(t, "<nil>", b.value(`SELECT expected_payment_id::text FROM transactions WHERE id = $1`, t1.ID))
	require.Equal(t, e.ID.String(), b.value(`SELECT expected_payment_id::text FROM transactions WHERE id = $1`, t2.ID))

	// Another organization's expected payment is not found, to read or change.
	for _, tc := range []struct{ method, path string }{
		{"GET", "/console/expected-payments/" + theirs.ID.String()},
		{"GET", "/console/expected-payments/" + uuid.NewString()},
		{"GET", "/console/expected-payments/nope"},
		{"POST", "/console/expected-payments/" + theirs.ID.String() + "/reconcile"},
		{"POST", "/console/expected-payments/" + theirs.ID.String() + "/unreconcile"},
	} {
		if tc.method == "GET" {
			p = c.get(tc.path)
		} else {
			p = c.post(tc.path, url.Values{"csrf_token": {token}, "transaction_id": {t1.ID.String()}})
		}
		requireHTML(t, p, http.StatusNotFound)
		require.Equal(t, "Page not found", p.text("error-title"), tc.path)
		require.NotContains(t, p.Body, "Their invoice")
	}
	require.Equal(t, "<nil>", b.value(`SELECT expected_payment_id::text FROM transactions WHERE id = $1`, t1.ID))
}
