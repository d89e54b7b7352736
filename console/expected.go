package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/resource"
)

// The Expected payments page group: money the organization expects
// (seed 004), filtered as the api's list, and one expected payment with its
// rule variables, what is reconciled to it, and transactions to reconcile
// to it or take off it by hand (the service behind the api's
// reconcile/unreconcile routes).

const expectedPath = Prefix + "/expected-payments"

const (
	expectedPerPage = 25
	// accountChoices bounds the internal account filter's choices.
	accountChoices = 100
	// linkedShown bounds the transactions listed as reconciled to one
	// expected payment, and candidatesShown those offered to reconcile.
	linkedShown     = 100
	candidatesShown = 20
)

var (
	expectedStatuses = []string{expected.StatusUnreconciled, expected.StatusPartiallyReconciled, expected.StatusTentativelyReconciled,
		expected.StatusReconciled, expected.StatusArchived}
	directions = []string{"credit", "debit"}
)

var expectedNotices = map[string]string{
	"reconciled":   "Transaction reconciled to this expected payment.",
	"unreconciled": "Transaction taken off this expected payment; the matcher will not offer it here again.",
}

func (s *Console) routeExpectedPayments(in *gin.RouterGroup) {
	in.GET("/expected-payments", s.listExpected)
	in.GET("/expected-payments/:id", s.showExpected)
	in.POST("/expected-payments/:id/reconcile", s.relinkExpected(true))
	in.POST("/expected-payments/:id/unreconcile", s.relinkExpected(false))
}

// minorAmount writes an amount of minor units in its currency's decimals
// (100000 USD → "1,000.00 USD"); a currency of unknown decimals is written
// in minor units.
func minorAmount(units int64, currency string) string {
	cur, ok := money.LookupCurrency(strings.ToUpper(currency))
	if !ok {
		return formatCount(units) + " " + currency + " (minor units)"
	}
	return moneyText(decimal.New(units, -cur.Decimals), currency)
}

// moneyText writes an amount with its currency ("1,234.50 EUR").
func moneyText(d decimal.Decimal, currency string) string {
	return strings.TrimSpace(numberText(d, currency) + " " + currency)
}

// numberText writes an amount with thousands separators and its
// currency's decimals ("1,234.50"); as many decimals as it has when the
// currency is unknown or it has more.
func numberText(d decimal.Decimal, currency string) string {
	places := max(-d.Exponent(), 0)
	if cur, ok := money.LookupCurrency(strings.ToUpper(currency)); ok {
		places = max(places, cur.Decimals)
	}
	whole, frac, _ := strings.Cut(d.Abs().StringFixed(places), ".")
	out := whole
	if n, err := strconv.ParseInt(whole, 10, 64); err == nil {
		out = formatCount(n)
	}
	if frac != "" {
		out += "." + frac
	}
	if d.IsNegative() {
		out = "-" + out
	}
	return out
}

// amountRange is "a" when the bounds are equal, else "a to b".
func amountRange(lo, hi int64, currency string) string {
	if lo == hi {
		return minorAmount(lo, currency)
	}
	return minorAmount(lo, currency) + " to " + minorAmount(hi, currency)
}

func dateRange(lo, hi *string) string {
	switch {
	case lo != nil && hi != nil && *lo == *hi:
		return *lo
	case lo != nil && hi != nil:
		return *lo + " to " + *hi
	case lo != nil:
		return "from " + *lo
	case hi != nil:
		return "until " + *hi
	}
	return "Any date"
}

// List.

type expectedListData struct {
	Statuses, Directions, Accounts []option
	Status, Direction, AccountID   string
	Problems                       formProblems
	Payments                       []expectedRow
	Next, First                    string
}

type expectedRow struct {
	ID                                      uuid.UUID
	Description, Direction, Status, Account string
	Amount, Reconciled, Dates               string
	Overdue                                 bool
	CreatedAt                               time.Time
}

// listExpected answers GET /console/expected-payments: a keyset page of
// expected payments, newest first, by status, direction and internal
// account.
func (s *Console) listExpected(c *gin.Context) {
	var probs formProblems
	status := enumParam(c, "status", "Status", expectedStatuses, &probs)
	direction := enumParam(c, "direction", "Direction", directions, &probs)
	accountID := strings.TrimSpace(c.Query("internal_account_id"))
	f := expected.PaymentFilter{Status: orNil(status), Direction: orNil(direction)}
	if accountID != "" {
		if id, err := uuid.Parse(accountID); err != nil {
			probs.add("Internal account: %q is not an account id.", accountID)
			accountID = ""
		} else {
			f.InternalAccountID = &id
		}
	}
	pg := cursorParam(c, expectedPerPage, &probs)
	ctx, org := c.Request.Context(), principal(c).OrganizationID

	accounts, err := s.expected.ListAccounts(ctx, org, nil, expected.Page{Limit: accountChoices})
	if err != nil {
		s.fail(c, err)
		return
	}
	names := map[uuid.UUID]string{}
	ids, labels := []string{}, map[string]string{}
	for _, a := range accounts[:min(len(accounts), accountChoices)] {
		names[a.ID] = a.Name
		ids, labels[a.ID.String()] = append(ids, a.ID.String()), a.Name+" ("+a.Currency+")"
	}
	d := expectedListData{
		Statuses: options(expectedStatuses, humanize, status), Directions: options(directions, humanize, direction),
		Accounts: options(ids, func(id string) string { return labels[id] }, accountID),
		Status:   status, Direction: direction, AccountID: accountID, Problems: probs,
	}
	v := view{Title: "Expected payments", Section: "expected-payments", Data: &d}
	if len(probs) > 0 {
		s.render(c, http.StatusBadRequest, "expected_payments.html", v)
		return
	}
	p := expected.Page{Limit: expectedPerPage}
	if pg.After != nil {
		p.BeforeAt, p.BeforeID, p.HasCursor = pg.After.CreatedAt, pg.After.ID, true
	}
	rows, err := s.expected.ListPayments(ctx, org, f, p)
	if err != nil {
		s.fail(c, err)
		return
	}
	filters := queryOf("status", status, "direction", direction, "internal_account_id", accountID)
	if len(rows) > expectedPerPage {
		rows = rows[:expectedPerPage]
		last := rows[len(rows)-1]
		q := queryOf("status", status, "direction", direction, "internal_account_id", accountID,
			"cursor", encodeListCursor(last.CreatedAt, last.ID))
		d.Next = withQuery(expectedPath, q)
	}
	if pg.After != nil {
		d.First = withQuery(expectedPath, filters)
	}
	for _, e := range rows {
		name, ok := names[e.InternalAccountID]
		if !ok {
			if a, err := s.expected.GetAccount(ctx, org, e.InternalAccountID); err == nil {
				name, names[a.ID] = a.Name, a.Name
			} else {
				name = e.InternalAccountID.String()
			}
		}
		r := resource.RenderExpectedPayment(e, nil)
		d.Payments = append(d.Payments, expectedRow{
			ID: e.ID, Description: textOf(e.Description), Direction: e.Direction, Status: e.Status, Account: name,
			Amount: amountRange(e.AmountLowerBound, e.AmountUpperBound, e.Currency), Reconciled: minorAmount(e.AmountReconciled, e.Currency),
			Dates: dateRange(r.DateLowerBound, r.DateUpperBound), Overdue: r.Overdue, CreatedAt: e.CreatedAt,
		})
	}
	s.render(c, http.StatusOK, "expected_payments.html", v)
}

// One expected payment.

type expectedData struct {
	P              resource.ExpectedPayment
	Account        string
	Amount         string
	Dates          string
	Reconciled     string
	Unreconciled   string
	Metadata       []keyValue
	Variables      []ruleVariable
	Linked         []txnRow
	LinkedMore     bool
	Candidates     []txnRow
	Changeable     bool // not archived: transactions may be reconciled or taken off
	Error          string
	TypedID        string // what a refused reconcile was given
	CandidatesNote string
}

type keyValue struct{ Key, Value string }

type ruleVariable struct {
	N                                 int
	Direction, Amount, Account, Dates string
	Currency, Type                    string
	Identifiers                       []keyValue
}

type txnRow struct {
	ID                                           uuid.UUID
	Date, Direction, Amount, Description, Method string
	Posted                                       bool
	Reason                                       string
}

// storedVariable is a reconciliation rule variable as the api stores it.
type storedVariable struct {
	Direction         string            `json:"direction"`
	AmountLowerBound  int64             `json:"amount_lower_bound"`
	AmountUpperBound  int64             `json:"amount_upper_bound"`
	InternalAccountID uuid.UUID         `json:"internal_account_id"`
	DateLowerBound    *string           `json:"date_lower_bound"`
	DateUpperBound    *string           `json:"date_upper_bound"`
	Currency          *string           `json:"currency"`
	Type              *string           `json:"type"`
	CustomIdentifiers map[string]string `json:"custom_identifiers"`
}

func sortedPairs[V any](m map[string]V, str func(V) string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{k, str(v)})
	}
	slices.SortFunc(out, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

func txnRowOf(t db.Transaction) txnRow {
	r := txnRow{ID: t.ID, Date: resource.Day(t.AsOfDate), Direction: t.Direction, Amount: minorAmount(t.Amount, t.Currency),
		Description: textOf(t.VendorDescription), Method: textOf(t.ReconciliationMethod), Posted: t.Posted, Reason: textOf(t.ReconciliationReason)}
	return r
}

// showExpected answers GET /console/expected-payments/:id.
func (s *Console) showExpected(c *gin.Context) {
	id, err := pathUUID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderExpected(c, id, http.StatusOK, "", "", expectedNotices[c.Query("notice")])
}

func (s *Console) renderExpected(c *gin.Context, id uuid.UUID, status int, errMsg, typed, notice string) {
	ctx, org := c.Request.Context(), principal(c).OrganizationID
	e, txIDs, err := s.expected.GetPayment(ctx, org, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	d, err := s.loadExpected(ctx, org, e, txIDs)
	if err != nil {
		s.fail(c, err)
		return
	}
	d.Error, d.TypedID = errMsg, typed
	title := "Expected payment"
	if e.Description != nil {
		title += " " + *e.Description
	}
	s.render(c, status, "expected_payment.html", view{Title: title, Section: "expected-payments", Notice: notice, Data: d})
}

func (s *Console) loadExpected(ctx context.Context, org uuid.UUID, e db.ExpectedPayment, txIDs []uuid.UUID) (expectedData, error) {
	p := resource.RenderExpectedPayment(e, txIDs)
	d := expectedData{P: p, Amount: amountRange(e.AmountLowerBound, e.AmountUpperBound, e.Currency),
		Dates: dateRange(p.DateLowerBound, p.DateUpperBound), Reconciled: minorAmount(e.AmountReconciled, e.Currency),
		Unreconciled: minorAmount(p.AmountUnreconciled, e.Currency), Changeable: e.Status != expected.StatusArchived}
	accounts := map[uuid.UUID]string{}
	accountName := func(id uuid.UUID) (string, error) {
		if n, ok := accounts[id]; ok {
			return n, nil
		}
		a, err := s.expected.GetAccount(ctx, org, id)
		if err != nil {
			return "", err
		}
		accounts[id] = a.Name + " (" + a.Currency + ")"
		return accounts[id], nil
	}
	var err error
	if d.Account, err = accountName(e.InternalAccountID); err != nil {
		return d, err
	}
	var meta map[string]any
	if json.Unmarshal(e.Metadata, &meta) == nil {
		d.Metadata = sortedPairs(meta, func(v any) string {
			if s, ok := v.(string); ok {
				return s
			}
			b, _ := json.Marshal(v)
			return string(b)
		})
	}
	var vars []storedVariable
	if len(e.ReconciliationRuleVariables) > 0 {
		_ = json.Unmarshal(e.ReconciliationRuleVariables, &vars) // validated by the api when stored
	}
	for i, v := range vars {
		cur := e.Currency
		if v.Currency != nil {
			cur = *v.Currency
		}
		rv := ruleVariable{N: i + 1, Direction: v.Direction, Amount: amountRange(v.AmountLowerBound, v.AmountUpperBound, cur),
			Dates: dateRange(v.DateLowerBound, v.DateUpperBound), Currency: textOf(v.Currency), Type: textOf(v.Type),
			Identifiers: sortedPairs(v.CustomIdentifiers, func(s string) string { return s })}
		if rv.Account, err = accountName(v.InternalAccountID); err != nil {
			rv.Account = v.InternalAccountID.String()
		}
		d.Variables = append(d.Variables, rv)
	}

	linked, err := s.expected.ListTransactions(ctx, org, expected.TransactionFilter{ExpectedPaymentID: &e.ID}, expected.Page{Limit: linkedShown})
	if err != nil {
		return d, err
	}
	if len(linked) > linkedShown {
		linked, d.LinkedMore = linked[:linkedShown], true
	}
	for _, t := range linked {
		d.Linked = append(d.Linked, txnRowOf(t))
	}
	if d.Changeable {
		// Transactions that could fill it: on its account and direction,
		// reconciled to nothing, newest first.
		no := false
		cands, err := s.expected.ListTransactions(ctx, org, expected.TransactionFilter{InternalAccountID: &e.InternalAccountID,
			Direction: &e.Direction, Reconciled: &no}, expected.Page{Limit: candidatesShown})
		if err != nil {
			return d, err
		}
		if len(cands) > candidatesShown {
			cands = cands[:candidatesShown]
			d.CandidatesNote = "The newest " + strconv.Itoa(candidatesShown) + " are listed; give the id of an older one below."
		}
		for _, t := range cands {
			if strings.EqualFold(t.Currency, e.Currency) {
				d.Candidates = append(d.Candidates, txnRowOf(t))
			}
		}
	}
	return d, nil
}

// relinkExpected is POST …/reconcile and …/unreconcile with one
// transaction_id: the api's relink, by hand.
func (s *Console) relinkExpected(link bool) gin.HandlerFunc {
	notice := map[bool]string{true: "reconciled", false: "unreconciled"}[link]
	return func(c *gin.Context) {
		id, err := pathUUID(c, "id")
		if err != nil {
			s.fail(c, err)
			return
		}
		typed := strings.TrimSpace(c.PostForm("transaction_id"))
		txID, perr := uuid.Parse(typed)
		if perr != nil {
			s.renderExpected(c, id, http.StatusBadRequest, "Give the id of a transaction (a UUID, as the api shows it).", typed, "")
			return
		}
		do := s.expected.Unreconcile
		if link {
			do = s.expected.Reconcile
		}
		_, err = do(c.Request.Context(), principal(c).OrganizationID, id, []uuid.UUID{txID})
		if err != nil {
			if status, msg, ok := actionRefused(err); ok {
				s.renderExpected(c, id, status, msg, typed, "")
				return
			}
			s.fail(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, withQuery(expectedPath+"/"+id.String(), url.Values{"notice": {notice}})+"#transactions")
	}
}
