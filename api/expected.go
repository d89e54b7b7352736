package api

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// Expected payments (seed 004, DESIGN §6) speak snake_case, take integer
// minor units, and page by cursor: a list answers a JSON array, with
// X-After-Cursor naming where the next page starts (absent on the last).

// routeExpected registers internal accounts, counterparties, expected
// payments and transactions.
func (s *server) routeExpected(v1 *gin.RouterGroup) {
	read, write := requireScope("expected_payments:read"), requireScope("expected_payments:write")
	ia := v1.Group("/internal-accounts")
	ia.POST("", write, s.idempotent, s.createInternalAccount)
	ia.GET("", read, s.listInternalAccounts)
	ia.GET("/:id", read, byID("Internal account", s.expected.GetAccount, resource.RenderInternalAccount))
	ia.PATCH("/:id", write, s.updateInternalAccount)

	cp := v1.Group("/counterparties")
	cp.POST("", write, s.idempotent, s.createCounterparty)
	cp.GET("", read, s.listCounterparties)
	cp.GET("/:id", read, byID("Counterparty", s.expected.GetCounterparty, resource.RenderCounterparty))
	cp.PATCH("/:id", write, s.updateCounterparty)
	cp.DELETE("/:id", write, s.deleteCounterparty)

	ep := v1.Group("/expected-payments")
	ep.POST("", write, s.idempotent, s.createExpectedPayment)
	ep.GET("", read, s.listExpectedPayments)
	ep.GET("/:id", read, s.getExpectedPayment)
	ep.PATCH("/:id", write, s.updateExpectedPayment)
	ep.DELETE("/:id", write, s.archiveExpectedPayment)
	ep.POST("/:id/reconcile", write, s.idempotent, s.relinkExpectedPayment(true))
	ep.POST("/:id/unreconcile", write, s.idempotent, s.relinkExpectedPayment(false))

	tx := v1.Group("/transactions")
	tx.POST("", write, s.idempotent, s.createTransaction)
	tx.GET("", read, s.listTransactions)
	tx.GET("/:id", read, byID("Transaction", s.expected.GetTransaction, resource.RenderTransaction))
	tx.PATCH("/:id", write, s.updateTransaction)
	tx.DELETE("/:id", write, s.discardTransaction)
}

var directions = []string{"credit", "debit"}

// date reads an optional YYYY-MM-DD field.
func date(v *string, path []string, is *issues) *time.Time {
	if v == nil {
		return nil
	}
	d, err := time.Parse(time.DateOnly, *v)
	if err != nil {
		is.Add(path, "Must be a date (YYYY-MM-DD).")
		return nil
	}
	return &d
}

func enumField(v *string, values []string, path []string, required bool, is *issues) {
	switch {
	case v == nil && required:
		is.Add(path, "Required; one of %s.", strings.Join(values, ", "))
	case v != nil && !slices.Contains(values, *v):
		is.Add(path, "Must be one of %s.", strings.Join(values, ", "))
	}
}

func stringMap(m map[string]string, path string, maxKeys int, is *issues) {
	if len(m) > maxKeys {
		is.Add([]string{path}, "At most %d keys.", maxKeys)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if strings.TrimSpace(k) == "" || validate.Chars(k) > 100 {
			is.Add([]string{path, k}, "Keys must be 1 to 100 characters, not all spaces.")
		}
		if validate.Chars(m[k]) > 500 {
			is.Add([]string{path, k}, "Values must be at most 500 characters.")
		}
	}
}

func metadataJSON(m map[string]string) []byte {
	if m == nil {
		m = map[string]string{}
	}
	b, _ := json.Marshal(m)
	return b
}

// optUUID reads an optional id field; a malformed one is an issue.
func optUUID(v *string, path []string, is *issues) *uuid.UUID {
	if v == nil {
		return nil
	}
	id, err := uuid.Parse(*v)
	if err != nil {
		is.Add(path, "Must be a UUID.")
		return nil
	}
	return &id
}

// cursorPage reads per_page (1–100, default 25) and after_cursor.
func cursorPage(q query) expected.Page {
	p := expected.Page{Limit: defaultLimit}
	if v, ok := q.c.GetQuery("per_page"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			q.is.Add([]string{"per_page"}, "Must be a whole number from 1 to %d.", maxLimit)
		} else {
			p.Limit = n
		}
	}
	if v, ok := q.c.GetQuery("after_cursor"); ok {
		if cur, ok := decodeCursor(v, "after_cursor", q.is); ok {
			p.BeforeAt, p.BeforeID, p.HasCursor = cur.CreatedAt, cur.ID, true
		}
	}
	return p
}

// cursorQuery is newQuery for a cursor-paged list.
func cursorQuery(c *gin.Context, is *issues, allowed ...string) query {
	return newQuery(c, is, append(allowed, "per_page", "after_cursor")...)
}

// respondCursor answers a page as a JSON array; rows holds up to one row
// more than the page, which says another page follows.
func respondCursor[T, J any](c *gin.Context, rows []T, err error, p expected.Page, key func(T) (time.Time, uuid.UUID), render func(T) J) {
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if len(rows) > p.Limit {
		rows = rows[:p.Limit]
		c.Header("X-After-Cursor", encodeCursor(key(rows[len(rows)-1])))
	}
	c.Header("X-Per-Page", strconv.Itoa(p.Limit))
	c.JSON(http.StatusOK, resource.MapSlice(rows, render))
}

// Internal accounts.

type internalAccountRequest struct {
	Name          string            `json:"name"`
	Currency      string            `json:"currency"`
	AccountNumber *string           `json:"account_number"`
	RoutingNumber *string           `json:"routing_number"`
	IBAN          *string           `json:"iban"`
	BIC           *string           `json:"bic"`
	Metadata      map[string]string `json:"metadata"`
}

func (r *internalAccountRequest) validate(is *issues) {
	if strings.TrimSpace(r.Name) == "" || validate.Chars(r.Name) > 200 {
		is.Add([]string{"name"}, "Required; 1 to 200 characters.")
	}
	validate.Currency(r.Currency, []string{"currency"}, is)
	validate.OptString(r.AccountNumber, []string{"account_number"}, 34, is)
	validate.OptString(r.RoutingNumber, []string{"routing_number"}, 34, is)
	validate.OptString(r.BIC, []string{"bic"}, 11, is)
	if r.IBAN != nil {
		*r.IBAN = strings.ToUpper(strings.ReplaceAll(*r.IBAN, " ", ""))
		if n := len(*r.IBAN); n < 15 || n > 34 {
			is.Add([]string{"iban"}, "Must be an IBAN (15 to 34 letters and digits).")
		}
	}
	stringMap(r.Metadata, "metadata", 50, is)
}

func (s *server) createInternalAccount(c *gin.Context) {
	var req internalAccountRequest
	if !s.bindJSON(c, &req) {
		return
	}
	_, err := s.expected.CreateAccount(c.Request.Context(), mustPrincipal(c).OrganizationID, expected.AccountInput{
		Name: strings.TrimSpace(req.Name), Currency: req.Currency, AccountNumber: req.AccountNumber,
		RoutingNumber: req.RoutingNumber, IBAN: req.IBAN, BIC: req.BIC, Metadata: metadataJSON(req.Metadata),
	}, completeWith(c, status[db.InternalAccount](http.StatusCreated), plain(func(a db.InternalAccount) any { return resource.RenderInternalAccount(a) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) listInternalAccounts(c *gin.Context) {
	var is issues
	q := cursorQuery(c, &is, "currency")
	cur := q.str("currency", 3)
	p := cursorPage(q)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, err := s.expected.ListAccounts(c.Request.Context(), mustPrincipal(c).OrganizationID, cur, p)
	respondCursor(c, rows, err, p, func(a db.InternalAccount) (time.Time, uuid.UUID) { return a.CreatedAt, a.ID }, resource.RenderInternalAccount)
}

type internalAccountPatch struct {
	Name     *string           `json:"name"`
	Metadata map[string]string `json:"metadata"`
}

func (r *internalAccountPatch) validate(is *issues) {
	if r.Name != nil && (strings.TrimSpace(*r.Name) == "" || validate.Chars(*r.Name) > 200) {
		is.Add([]string{"name"}, "1 to 200 characters.")
	}
	stringMap(r.Metadata, "metadata", 50, is)
}

func (s *server) updateInternalAccount(c *gin.Context) {
	id, ok := paramID(c, "id", "Internal account")
	if !ok {
		return
	}
	var req internalAccountPatch
	if !s.bindJSON(c, &req) {
		return
	}
	var meta []byte
	if req.Metadata != nil {
		meta = metadataJSON(req.Metadata)
	}
	a, err := s.expected.UpdateAccount(c.Request.Context(), mustPrincipal(c).OrganizationID, id, req.Name, meta)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderInternalAccount(a))
}

// Counterparties.

type counterpartyAccount struct {
	AccountNumber *string `json:"account_number,omitempty"`
	RoutingNumber *string `json:"routing_number,omitempty"`
	IBAN          *string `json:"iban,omitempty"`
	BIC           *string `json:"bic,omitempty"`
}

type counterpartyRequest struct {
	Name     *string               `json:"name"`
	Email    *string               `json:"email"`
	Accounts []counterpartyAccount `json:"accounts"`
	Metadata map[string]string     `json:"metadata"`
	patch    bool
}

func (r *counterpartyRequest) validate(is *issues) {
	if (r.Name == nil && !r.patch) || (r.Name != nil && (strings.TrimSpace(*r.Name) == "" || validate.Chars(*r.Name) > 200)) {
		is.Add([]string{"name"}, "Required; 1 to 200 characters.")
	}
	if r.Email != nil && (!strings.Contains(*r.Email, "@") || validate.Chars(*r.Email) > 254) {
		is.Add([]string{"email"}, "Must be an email address.")
	}
	if len(r.Accounts) > 20 {
		is.Add([]string{"accounts"}, "At most 20 accounts.")
	}
	for i, a := range r.Accounts {
		p := func(f string) []string { return []string{"accounts", validate.Index(i), f} }
		if a.AccountNumber == nil && a.IBAN == nil {
			is.Add([]string{"accounts", validate.Index(i)}, "Give account_number or iban.")
		}
		validate.OptString(a.AccountNumber, p("account_number"), 34, is)
		validate.OptString(a.RoutingNumber, p("routing_number"), 34, is)
		validate.OptString(a.IBAN, p("iban"), 34, is)
		validate.OptString(a.BIC, p("bic"), 11, is)
	}
	stringMap(r.Metadata, "metadata", 50, is)
}

func (r *counterpartyRequest) input() expected.CounterpartyInput {
	in := expected.CounterpartyInput{Email: r.Email}
	if r.Name != nil {
		in.Name = strings.TrimSpace(*r.Name)
	}
	if r.Accounts != nil || !r.patch {
		in.Accounts, _ = json.Marshal(orEmpty(r.Accounts))
	}
	if r.Metadata != nil || !r.patch {
		in.Metadata = metadataJSON(r.Metadata)
	}
	return in
}

func (s *server) createCounterparty(c *gin.Context) {
	var req counterpartyRequest
	if !s.bindJSON(c, &req) {
		return
	}
	_, err := s.expected.CreateCounterparty(c.Request.Context(), mustPrincipal(c).OrganizationID, req.input(),
		completeWith(c, status[db.Counterparty](http.StatusCreated), plain(func(p db.Counterparty) any { return resource.RenderCounterparty(p) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	respondCompleted(c)
}

func (s *server) listCounterparties(c *gin.Context) {
	var is issues
	q := cursorQuery(c, &is, "name")
	name := q.str("name", 200)
	p := cursorPage(q)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, err := s.expected.ListCounterparties(c.Request.Context(), mustPrincipal(c).OrganizationID, name, p)
	respondCursor(c, rows, err, p, func(r db.Counterparty) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID }, resource.RenderCounterparty)
}

func (s *server) updateCounterparty(c *gin.Context) {
	id, ok := paramID(c, "id", "Counterparty")
	if !ok {
		return
	}
	req := counterpartyRequest{patch: true}
	if !s.bindJSON(c, &req) {
		return
	}
	r, err := s.expected.UpdateCounterparty(c.Request.Context(), mustPrincipal(c).OrganizationID, id, req.input())
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderCounterparty(r))
}

func (s *server) deleteCounterparty(c *gin.Context) {
	id, ok := paramID(c, "id", "Counterparty")
	if !ok {
		return
	}
	if err := s.expected.DeleteCounterparty(c.Request.Context(), mustPrincipal(c).OrganizationID, id); err != nil {
		abort(c, serviceError(err))
		return
	}
	c.Status(http.StatusNoContent)
}

// Expected payments.

type ruleVariableRequest struct {
	Direction         *string           `json:"direction,omitempty"`
	AmountLowerBound  *int64            `json:"amount_lower_bound,omitempty"`
	AmountUpperBound  *int64            `json:"amount_upper_bound,omitempty"`
	InternalAccountID *string           `json:"internal_account_id,omitempty"`
	DateLowerBound    *string           `json:"date_lower_bound,omitempty"`
	DateUpperBound    *string           `json:"date_upper_bound,omitempty"`
	Currency          *string           `json:"currency,omitempty"`
	Type              *string           `json:"type,omitempty"`
	CustomIdentifiers map[string]string `json:"custom_identifiers,omitempty"`
}

type expectedPaymentRequest struct {
	Direction                   *string               `json:"direction"`
	Currency                    *string               `json:"currency"`
	AmountLowerBound            *int64                `json:"amount_lower_bound"`
	AmountUpperBound            *int64                `json:"amount_upper_bound"`
	DateLowerBound              *string               `json:"date_lower_bound"`
	DateUpperBound              *string               `json:"date_upper_bound"`
	InternalAccountID           *string               `json:"internal_account_id"`
	CounterpartyID              *string               `json:"counterparty_id"`
	Type                        *string               `json:"type"`
	Description                 *string               `json:"description"`
	StatementDescriptor         *string               `json:"statement_descriptor"`
	RemittanceInformation       *string               `json:"remittance_information"`
	ExternalID                  *string               `json:"external_id"`
	Metadata                    map[string]string     `json:"metadata"`
	ReconciliationRuleVariables []ruleVariableRequest `json:"reconciliation_rule_variables"`

	patch bool
	in    expected.PaymentInput
}

// bounds checks an amount range and a date range (at path prefix p).
func bounds(lower, upper *int64, dlo, dhi *string, p func(string) []string, is *issues) (*time.Time, *time.Time) {
	for _, b := range []struct {
		v    *int64
		name string
	}{{lower, "amount_lower_bound"}, {upper, "amount_upper_bound"}} {
		if b.v != nil && (*b.v < 0 || *b.v > 1e15) {
			is.Add(p(b.name), "Must be a whole number of minor units from 0 to 10^15.")
		}
	}
	if lower != nil && upper != nil && *lower > *upper {
		is.Add(p("amount_lower_bound"), "Must not be above amount_upper_bound (%d).", *upper)
	}
	lo, hi := date(dlo, p("date_lower_bound"), is), date(dhi, p("date_upper_bound"), is)
	if lo != nil && hi != nil && lo.After(*hi) {
		is.Add(p("date_lower_bound"), "Must not be after date_upper_bound (%s).", *dhi)
	}
	return lo, hi
}

func (r *expectedPaymentRequest) validate(is *issues) {
	top := func(f string) []string { return []string{f} }
	in := &r.in
	enumField(r.Direction, directions, top("direction"), false, is)
	in.DateLowerBound, in.DateUpperBound = bounds(r.AmountLowerBound, r.AmountUpperBound, r.DateLowerBound, r.DateUpperBound, top, is)
	if r.Currency != nil {
		validate.Currency(*r.Currency, top("currency"), is)
	}
	in.InternalAccountID = optUUID(r.InternalAccountID, top("internal_account_id"), is)
	in.CounterpartyID = optUUID(r.CounterpartyID, top("counterparty_id"), is)
	validate.OptString(r.Type, top("type"), 50, is)
	validate.OptString(r.Description, top("description"), 1000, is)
	validate.OptString(r.StatementDescriptor, top("statement_descriptor"), 200, is)
	validate.OptString(r.RemittanceInformation, top("remittance_information"), 1000, is)
	validate.OptString(r.ExternalID, top("external_id"), 255, is)
	stringMap(r.Metadata, "metadata", 50, is)
	if r.ReconciliationRuleVariables == nil && !r.patch {
		for _, f := range []struct {
			given bool
			name  string
		}{{r.Direction != nil, "direction"}, {r.AmountLowerBound != nil, "amount_lower_bound"},
			{r.AmountUpperBound != nil, "amount_upper_bound"}, {r.InternalAccountID != nil, "internal_account_id"}} {
			if !f.given {
				is.Add(top(f.name), "Required when reconciliation_rule_variables are not given.")
			}
		}
	}
	if r.ReconciliationRuleVariables != nil && (len(r.ReconciliationRuleVariables) == 0 || len(r.ReconciliationRuleVariables) > 20) {
		is.Add(top("reconciliation_rule_variables"), "Give 1 to 20 variables, or leave the field out.")
	}
	for i, v := range r.ReconciliationRuleVariables {
		p := func(f string) []string { return []string{"reconciliation_rule_variables", validate.Index(i), f} }
		enumField(v.Direction, directions, p("direction"), true, is)
		for _, f := range []struct {
			given bool
			name  string
		}{{v.AmountLowerBound != nil, "amount_lower_bound"}, {v.AmountUpperBound != nil, "amount_upper_bound"}, {v.InternalAccountID != nil, "internal_account_id"}} {
			if !f.given {
				is.Add(p(f.name), "Required.")
			}
		}
		lo, hi := bounds(v.AmountLowerBound, v.AmountUpperBound, v.DateLowerBound, v.DateUpperBound, p, is)
		acct := optUUID(v.InternalAccountID, p("internal_account_id"), is)
		if v.Currency != nil {
			validate.Currency(*v.Currency, p("currency"), is)
		}
		validate.OptString(v.Type, p("type"), 50, is)
		for k, val := range v.CustomIdentifiers {
			if strings.TrimSpace(k) == "" || validate.Chars(k) > 100 || strings.TrimSpace(val) == "" || validate.Chars(val) > 500 {
				is.Add(append(p("custom_identifiers"), k), "Keys 1 to 100 characters and values 1 to 500, neither blank.")
			}
		}
		if len(v.CustomIdentifiers) > 20 {
			is.Add(p("custom_identifiers"), "At most 20 identifiers.")
		}
		if v.Direction != nil && v.AmountLowerBound != nil && v.AmountUpperBound != nil && acct != nil {
			in.Variables = append(in.Variables, expected.VariableInput{
				Direction: *v.Direction, AmountLowerBound: *v.AmountLowerBound, AmountUpperBound: *v.AmountUpperBound,
				InternalAccountID: *acct, DateLowerBound: lo, DateUpperBound: hi, Currency: v.Currency, Type: v.Type,
				CustomIdentifiers: v.CustomIdentifiers,
			})
		}
	}
	in.Direction, in.Currency, in.AmountLowerBound, in.AmountUpperBound = r.Direction, r.Currency, r.AmountLowerBound, r.AmountUpperBound
	in.Type, in.Description, in.StatementDescriptor = r.Type, r.Description, r.StatementDescriptor
	in.RemittanceInformation, in.ExternalID = r.RemittanceInformation, r.ExternalID
	if r.Metadata != nil || !r.patch {
		in.Metadata = metadataJSON(r.Metadata)
	}
	if r.ReconciliationRuleVariables != nil {
		in.RawVariables, _ = json.Marshal(r.ReconciliationRuleVariables)
	}
}

func (s *server) renderPayment(c *gin.Context, e db.ExpectedPayment) (resource.ExpectedPayment, error) {
	ids, err := s.expected.TransactionIDs(c.Request.Context(), []uuid.UUID{e.ID})
	return resource.RenderExpectedPayment(e, ids[e.ID]), err
}

func (s *server) createExpectedPayment(c *gin.Context) {
	var req expectedPaymentRequest
	if !s.bindJSON(c, &req) {
		return
	}
	res, err := s.expected.CreatePayment(c.Request.Context(), mustPrincipal(c).OrganizationID, req.in,
		completeWith(c, status[expected.Created](http.StatusCreated),
			plain(func(r expected.Created) any { return resource.RenderExpectedPayment(r.Payment, nil) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if res.Job != nil {
		s.enqueueLater(c.Request.Context(), *res.Job)
	}
	respondCompleted(c)
}

func (s *server) getExpectedPayment(c *gin.Context) {
	id, ok := paramID(c, "id", "Expected payment")
	if !ok {
		return
	}
	e, txs, err := s.expected.GetPayment(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderExpectedPayment(e, txs))
}

var expectedStatuses = []string{
	expected.StatusUnreconciled, expected.StatusPartiallyReconciled, expected.StatusTentativelyReconciled,
	expected.StatusReconciled, expected.StatusArchived,
}

func (s *server) listExpectedPayments(c *gin.Context) {
	var is issues
	meta := map[string]string{}
	var metaParams []string
	for name, vs := range c.Request.URL.Query() {
		if k, ok := strings.CutPrefix(name, "metadata["); ok && strings.HasSuffix(k, "]") && len(k) > 1 {
			meta[strings.TrimSuffix(k, "]")] = vs[0]
			metaParams = append(metaParams, name)
		}
	}
	q := cursorQuery(c, &is, append(metaParams, "status", "direction", "internal_account_id", "type", "counterparty_id",
		"external_id", "created_at_lower_bound", "created_at_upper_bound")...)
	f := expected.PaymentFilter{
		Status: q.enum("status", expectedStatuses), Direction: q.enum("direction", directions),
		InternalAccountID: q.uuid("internal_account_id"), Type: q.str("type", 50), CounterpartyID: q.uuid("counterparty_id"),
		ExternalID: q.str("external_id", 255),
	}
	f.CreatedFrom, f.CreatedTo = q.timeRange("created_at_lower_bound", "created_at_upper_bound")
	if len(meta) > 0 {
		f.Metadata, _ = json.Marshal(meta)
	}
	p := cursorPage(q)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	ctx, org := c.Request.Context(), mustPrincipal(c).OrganizationID
	rows, err := s.expected.ListPayments(ctx, org, f, p)
	var txs map[uuid.UUID][]uuid.UUID
	if err == nil {
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		txs, err = s.expected.TransactionIDs(ctx, ids)
	}
	respondCursor(c, rows, err, p, func(r db.ExpectedPayment) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID },
		func(r db.ExpectedPayment) resource.ExpectedPayment {
			return resource.RenderExpectedPayment(r, txs[r.ID])
		})
}

func (s *server) updateExpectedPayment(c *gin.Context) {
	id, ok := paramID(c, "id", "Expected payment")
	if !ok {
		return
	}
	req := expectedPaymentRequest{patch: true}
	if !s.bindJSON(c, &req) {
		return
	}
	res, err := s.expected.UpdatePayment(c.Request.Context(), mustPrincipal(c).OrganizationID, id, req.in)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if res.Job != nil {
		s.enqueueLater(c.Request.Context(), *res.Job)
	}
	c.JSON(http.StatusOK, resource.RenderExpectedPayment(res.Payment, nil))
}

func (s *server) archiveExpectedPayment(c *gin.Context) {
	id, ok := paramID(c, "id", "Expected payment")
	if !ok {
		return
	}
	e, err := s.expected.ArchivePayment(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderExpectedPayment(e, nil))
}

type relinkRequest struct {
	TransactionIDs []string `json:"transaction_ids"`
	required       bool
	ids            []uuid.UUID
}

func (r *relinkRequest) validate(is *issues) {
	if r.required && len(r.TransactionIDs) == 0 {
		is.Add([]string{"transaction_ids"}, "Required; 1 to 100 transaction ids.")
	}
	if len(r.TransactionIDs) > 100 {
		is.Add([]string{"transaction_ids"}, "At most 100 transaction ids.")
	}
	for i, v := range r.TransactionIDs {
		if id := optUUID(&v, []string{"transaction_ids", validate.Index(i)}, is); id != nil {
			r.ids = append(r.ids, *id)
		}
	}
}

// relinkExpectedPayment reconciles transactions to an expected payment by
// hand, or takes them off it (all of them when the body names none).
func (s *server) relinkExpectedPayment(link bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := paramID(c, "id", "Expected payment")
		if !ok {
			return
		}
		req := relinkRequest{required: link}
		if link && !s.bindJSON(c, &req) || !link && !s.bindOptionalJSON(c, &req) {
			return
		}
		do := s.expected.Unreconcile
		if link {
			do = s.expected.Reconcile
		}
		e, err := do(c.Request.Context(), mustPrincipal(c).OrganizationID, id, req.ids)
		if err == nil {
			var out resource.ExpectedPayment
			if out, err = s.renderPayment(c, e); err == nil {
				body, _ := json.Marshal(out)
				s.respondRaw(c, http.StatusOK, body)
				return
			}
		}
		abort(c, serviceError(err))
	}
}

// Transactions.

type transactionRequest struct {
	InternalAccountID         *string           `json:"internal_account_id"`
	Direction                 *string           `json:"direction"`
	Amount                    *int64            `json:"amount"`
	Currency                  *string           `json:"currency"`
	AsOfDate                  *string           `json:"as_of_date"`
	Posted                    *bool             `json:"posted"`
	Type                      *string           `json:"type"`
	VendorDescription         *string           `json:"vendor_description"`
	CustomIdentifiers         map[string]string `json:"custom_identifiers"`
	CounterpartyName          *string           `json:"counterparty_name"`
	CounterpartyAccountNumber *string           `json:"counterparty_account_number"`
	CounterpartyRoutingNumber *string           `json:"counterparty_routing_number"`
	CounterpartyIBAN          *string           `json:"counterparty_iban"`
	ExternalID                *string           `json:"external_id"`
	Metadata                  map[string]string `json:"metadata"`
	in                        expected.TransactionInput
}

func (r *transactionRequest) validate(is *issues) {
	p := func(f string) []string { return []string{f} }
	acct := optUUID(r.InternalAccountID, p("internal_account_id"), is)
	if r.InternalAccountID == nil {
		is.Add(p("internal_account_id"), "Required.")
	}
	enumField(r.Direction, directions, p("direction"), true, is)
	switch {
	case r.Amount == nil:
		is.Add(p("amount"), "Required; a whole number of minor units above 0.")
	case *r.Amount <= 0 || *r.Amount > 1e15:
		is.Add(p("amount"), "Must be a whole number of minor units from 1 to 10^15.")
	}
	if r.Currency != nil {
		validate.Currency(*r.Currency, p("currency"), is)
	}
	asOf := date(r.AsOfDate, p("as_of_date"), is)
	if r.AsOfDate == nil {
		is.Add(p("as_of_date"), "Required; a date (YYYY-MM-DD).")
	}
	validate.OptString(r.Type, p("type"), 50, is)
	validate.OptString(r.VendorDescription, p("vendor_description"), 1000, is)
	validate.OptString(r.CounterpartyName, p("counterparty_name"), 200, is)
	validate.OptString(r.CounterpartyAccountNumber, p("counterparty_account_number"), 34, is)
	validate.OptString(r.CounterpartyRoutingNumber, p("counterparty_routing_number"), 34, is)
	validate.OptString(r.CounterpartyIBAN, p("counterparty_iban"), 34, is)
	validate.OptString(r.ExternalID, p("external_id"), 255, is)
	stringMap(r.CustomIdentifiers, "custom_identifiers", 20, is)
	stringMap(r.Metadata, "metadata", 50, is)
	if acct == nil || asOf == nil || r.Direction == nil || r.Amount == nil {
		return
	}
	posted := r.Posted == nil || *r.Posted
	r.in = expected.TransactionInput{
		InternalAccountID: *acct, Direction: *r.Direction, Amount: *r.Amount, Currency: r.Currency, AsOfDate: *asOf,
		Posted: posted, Type: r.Type, VendorDescription: r.VendorDescription, CustomIdentifiers: r.CustomIdentifiers,
		CounterpartyName: r.CounterpartyName, CounterpartyAccountNumber: r.CounterpartyAccountNumber,
		CounterpartyRoutingNumber: r.CounterpartyRoutingNumber, CounterpartyIBAN: r.CounterpartyIBAN,
		ExternalID: r.ExternalID, Metadata: metadataJSON(r.Metadata),
	}
}

// createTransaction stores a transaction and answers it at once; the
// matcher reconciles it in the background (GET it, or subscribe to
// expected_payment.* webhooks, to learn the outcome).
func (s *server) createTransaction(c *gin.Context) {
	var req transactionRequest
	if !s.bindJSON(c, &req) {
		return
	}
	res, err := s.expected.CreateTransaction(c.Request.Context(), mustPrincipal(c).OrganizationID, req.in,
		completeWith(c, status[expected.TransactionCreated](http.StatusCreated),
			plain(func(r expected.TransactionCreated) any { return resource.RenderTransaction(r.Transaction) }), nil))
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	s.enqueueLater(c.Request.Context(), res.Job)
	respondCompleted(c)
}

func (s *server) listTransactions(c *gin.Context) {
	var is issues
	q := cursorQuery(c, &is, "internal_account_id", "direction", "posted", "reconciled", "expected_payment_id",
		"as_of_date_start", "as_of_date_end", "include_discarded")
	f := expected.TransactionFilter{
		InternalAccountID: q.uuid("internal_account_id"), Direction: q.enum("direction", directions),
		Posted: q.boolean("posted"), Reconciled: q.boolean("reconciled"), ExpectedPaymentID: q.uuid("expected_payment_id"),
		IncludeDiscarded: q.boolean("include_discarded"),
	}
	for _, b := range []struct {
		name string
		dst  **time.Time
	}{{"as_of_date_start", &f.AsOfFrom}, {"as_of_date_end", &f.AsOfTo}} {
		if v, ok := c.GetQuery(b.name); ok {
			*b.dst = date(&v, []string{b.name}, &is)
		}
	}
	p := cursorPage(q)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	rows, err := s.expected.ListTransactions(c.Request.Context(), mustPrincipal(c).OrganizationID, f, p)
	respondCursor(c, rows, err, p, func(r db.Transaction) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID }, resource.RenderTransaction)
}

type transactionPatch struct {
	Posted *bool `json:"posted"`
}

func (r *transactionPatch) validate(is *issues) {
	if r.Posted == nil || !*r.Posted {
		is.Add([]string{"posted"}, "Only posted: true can be set (a pending transaction that posted); DELETE a transaction that disappeared.")
	}
}

func (s *server) updateTransaction(c *gin.Context) {
	s.changeTransaction(c, func(org, id uuid.UUID) (expected.Changed, error) {
		var req transactionPatch
		if err := s.decodeJSON(c, &req); err != nil {
			return expected.Changed{}, err
		}
		return s.expected.PostTransaction(c.Request.Context(), org, id)
	})
}

// discardTransaction records that a transaction disappeared or was
// reversed: it leaves the expected payment it reconciled.
func (s *server) discardTransaction(c *gin.Context) {
	s.changeTransaction(c, func(org, id uuid.UUID) (expected.Changed, error) {
		return s.expected.DiscardTransaction(c.Request.Context(), org, id)
	})
}

func (s *server) changeTransaction(c *gin.Context, do func(org, id uuid.UUID) (expected.Changed, error)) {
	id, ok := paramID(c, "id", "Transaction")
	if !ok {
		return
	}
	res, err := do(mustPrincipal(c).OrganizationID, id)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if res.Job != nil {
		s.enqueueLater(c.Request.Context(), *res.Job)
	}
	c.JSON(http.StatusOK, resource.RenderTransaction(res.Transaction))
}
