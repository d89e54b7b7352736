package client

import (
	"context"
	"net/http"
	"time"
)

// The expected-payments family (seed 004) is snake_case, with amounts in
// integer minor units and dates as YYYY-MM-DD.

// InternalAccount is a bank account of the organization's own.
type InternalAccount struct {
	ID            string            `json:"id"`
	Object        string            `json:"object"`
	Name          string            `json:"name"`
	Currency      string            `json:"currency"`
	AccountNumber *string           `json:"account_number"`
	RoutingNumber *string           `json:"routing_number"`
	IBAN          *string           `json:"iban"`
	BIC           *string           `json:"bic"`
	Metadata      map[string]string `json:"metadata"`
	CreatedAt     time.Time         `json:"created_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// CreateInternalAccountParams creates an internal account.
type CreateInternalAccountParams struct {
	Name          string            `json:"name"`
	Currency      string            `json:"currency"`
	AccountNumber string            `json:"account_number,omitempty"`
	RoutingNumber string            `json:"routing_number,omitempty"`
	IBAN          string            `json:"iban,omitempty"`
	BIC           string            `json:"bic,omitempty"`
	Metadata      map[string]string `json:"metadata,omitempty"`
}

// Counterparty is someone the organization pays or is paid by.
type Counterparty struct {
	ID        string                `json:"id"`
	Object    string                `json:"object"`
	Name      string                `json:"name"`
	Email     *string               `json:"email"`
	Accounts  []CounterpartyAccount `json:"accounts"`
	Metadata  map[string]string     `json:"metadata"`
	CreatedAt time.Time             `json:"created_at"`
	UpdatedAt time.Time             `json:"updated_at"`
}

// CounterpartyAccount is a bank account of a counterparty: an IBAN or an
// account number, each optionally with its BIC or routing number.
type CounterpartyAccount struct {
	AccountNumber string `json:"account_number,omitempty"`
	RoutingNumber string `json:"routing_number,omitempty"`
	IBAN          string `json:"iban,omitempty"`
	BIC           string `json:"bic,omitempty"`
}

// CreateCounterpartyParams creates a counterparty.
type CreateCounterpartyParams struct {
	Name     string                `json:"name"`
	Email    string                `json:"email,omitempty"`
	Accounts []CounterpartyAccount `json:"accounts,omitempty"`
	Metadata map[string]string     `json:"metadata,omitempty"`
}

// ReconciliationRuleVariable is one way a transaction satisfies an expected
// payment: all its given fields, and every custom identifier present in the
// transaction.
type ReconciliationRuleVariable struct {
	Direction         string            `json:"direction"` // credit or debit
	AmountLowerBound  int64             `json:"amount_lower_bound"`
	AmountUpperBound  int64             `json:"amount_upper_bound"`
	InternalAccountID string            `json:"internal_account_id"`
	DateLowerBound    *string           `json:"date_lower_bound,omitempty"`
	DateUpperBound    *string           `json:"date_upper_bound,omitempty"`
	Currency          *string           `json:"currency,omitempty"`
	Type              *string           `json:"type,omitempty"`
	CustomIdentifiers map[string]string `json:"custom_identifiers,omitempty"`
}

// CreateExpectedPaymentParams says what money is expected to move: either
// its own direction, bounds, account and dates, or
// ReconciliationRuleVariables.
type CreateExpectedPaymentParams struct {
	Direction                   string                       `json:"direction,omitempty"`
	Currency                    string                       `json:"currency,omitempty"`
	AmountLowerBound            *int64                       `json:"amount_lower_bound,omitempty"`
	AmountUpperBound            *int64                       `json:"amount_upper_bound,omitempty"`
	DateLowerBound              string                       `json:"date_lower_bound,omitempty"`
	DateUpperBound              string                       `json:"date_upper_bound,omitempty"`
	InternalAccountID           string                       `json:"internal_account_id,omitempty"`
	CounterpartyID              string                       `json:"counterparty_id,omitempty"`
	Type                        string                       `json:"type,omitempty"`
	Description                 string                       `json:"description,omitempty"`
	StatementDescriptor         string                       `json:"statement_descriptor,omitempty"`
	RemittanceInformation       string                       `json:"remittance_information,omitempty"`
	ExternalID                  string                       `json:"external_id,omitempty"`
	Metadata                    map[string]string            `json:"metadata,omitempty"`
	ReconciliationRuleVariables []ReconciliationRuleVariable `json:"reconciliation_rule_variables,omitempty"`
}

// ExpectedPayment is money expected to move: status unreconciled,
// partially_reconciled, tentatively_reconciled, reconciled or archived.
type ExpectedPayment struct {
	ID                          string                       `json:"id"`
	Object                      string                       `json:"object"`
	Direction                   string                       `json:"direction"`
	Currency                    string                       `json:"currency"`
	AmountLowerBound            int64                        `json:"amount_lower_bound"`
	AmountUpperBound            int64                        `json:"amount_upper_bound"`
	DateLowerBound              *string                      `json:"date_lower_bound"`
	DateUpperBound              *string                      `json:"date_upper_bound"`
	InternalAccountID           string                       `json:"internal_account_id"`
	CounterpartyID              *string                      `json:"counterparty_id"`
	Type                        *string                      `json:"type"`
	Description                 *string                      `json:"description"`
	StatementDescriptor         *string                      `json:"statement_descriptor"`
	RemittanceInformation       *string                      `json:"remittance_information"`
	ExternalID                  *string                      `json:"external_id"`
	Metadata                    map[string]string            `json:"metadata"`
	ReconciliationRuleVariables []ReconciliationRuleVariable `json:"reconciliation_rule_variables"`
	Status                      string                       `json:"status"`
	AmountReconciled            int64                        `json:"amount_reconciled"`
	AmountUnreconciled          int64                        `json:"amount_unreconciled"`
	ReconciliationMethod        *string                      `json:"reconciliation_method"` // automatic or manual
	ReconciledAt                *time.Time                   `json:"reconciled_at"`
	Overdue                     bool                         `json:"overdue"`
	OverdueAt                   *time.Time                   `json:"overdue_at"`
	TransactionIDs              []string                     `json:"transaction_ids"`
	ArchivedAt                  *time.Time                   `json:"archived_at"`
	CreatedAt                   time.Time                    `json:"created_at"`
	UpdatedAt                   time.Time                    `json:"updated_at"`
}

// ListExpectedPaymentsParams pages expected payments, newest first.
// CreatedAtLowerBound and CreatedAtUpperBound are dates.
type ListExpectedPaymentsParams struct {
	CursorParams
	Status              string `query:"status"`
	Direction           string `query:"direction"`
	InternalAccountID   string `query:"internal_account_id"`
	CounterpartyID      string `query:"counterparty_id"`
	Type                string `query:"type"`
	ExternalID          string `query:"external_id"`
	CreatedAtLowerBound string `query:"created_at_lower_bound"`
	CreatedAtUpperBound string `query:"created_at_upper_bound"`
}

// CreateTransactionParams records money that moved on an internal account.
// Posted nil means posted; false is a pending transaction.
type CreateTransactionParams struct {
	InternalAccountID         string            `json:"internal_account_id"`
	Direction                 string            `json:"direction"` // credit or debit
	Amount                    int64             `json:"amount"`
	Currency                  string            `json:"currency,omitempty"`
	AsOfDate                  string            `json:"as_of_date"`
	Posted                    *bool             `json:"posted,omitempty"`
	Type                      string            `json:"type,omitempty"`
	VendorDescription         string            `json:"vendor_description,omitempty"`
	CustomIdentifiers         map[string]string `json:"custom_identifiers,omitempty"`
	CounterpartyName          string            `json:"counterparty_name,omitempty"`
	CounterpartyAccountNumber string            `json:"counterparty_account_number,omitempty"`
	CounterpartyRoutingNumber string            `json:"counterparty_routing_number,omitempty"`
	CounterpartyIBAN          string            `json:"counterparty_iban,omitempty"`
	ExternalID                string            `json:"external_id,omitempty"`
	Metadata                  map[string]string `json:"metadata,omitempty"`
}

// Transaction is money that moved on an internal account, and the expected
// payment it reconciled to, if any.
type Transaction struct {
	ID                        string            `json:"id"`
	Object                    string            `json:"object"`
	InternalAccountID         string            `json:"internal_account_id"`
	Direction                 string            `json:"direction"`
	Amount                    int64             `json:"amount"`
	Currency                  string            `json:"currency"`
	AsOfDate                  string            `json:"as_of_date"`
	Posted                    bool              `json:"posted"`
	Type                      *string           `json:"type"`
	VendorDescription         *string           `json:"vendor_description"`
	CustomIdentifiers         map[string]string `json:"custom_identifiers"`
	CounterpartyName          *string           `json:"counterparty_name"`
	CounterpartyAccountNumber *string           `json:"counterparty_account_number"`
	CounterpartyRoutingNumber *string           `json:"counterparty_routing_number"`
	CounterpartyIBAN          *string           `json:"counterparty_iban"`
	ExternalID                *string           `json:"external_id"`
	Metadata                  map[string]string `json:"metadata"`
	Reconciled                bool              `json:"reconciled"`
	ExpectedPaymentID         *string           `json:"expected_payment_id"`
	ReconciliationMethod      *string           `json:"reconciliation_method"`
	ReconciliationReason      *string           `json:"reconciliation_reason"`
	ReviewReason              *string           `json:"review_reason"`
	ImportBatchID             *string           `json:"import_batch_id"`
	DiscardedAt               *time.Time        `json:"discarded_at"`
	CreatedAt                 time.Time         `json:"created_at"`
	UpdatedAt                 time.Time         `json:"updated_at"`
}

// ListTransactionsParams pages transactions, newest first; the *bool
// filters are left out when nil. AsOfDateStart and AsOfDateEnd are dates.
type ListTransactionsParams struct {
	CursorParams
	InternalAccountID string `query:"internal_account_id"`
	Direction         string `query:"direction"`
	Posted            *bool  `query:"posted"`
	Reconciled        *bool  `query:"reconciled"`
	ExpectedPaymentID string `query:"expected_payment_id"`
	AsOfDateStart     string `query:"as_of_date_start"`
	AsOfDateEnd       string `query:"as_of_date_end"`
	IncludeDiscarded  *bool  `query:"include_discarded"`
}

var (
	routeCreateInternalAccount = newRoute[none, CreateInternalAccountParams, InternalAccount](http.MethodPost, "/v1/internal-accounts")
	routeCreateCounterparty    = newRoute[none, CreateCounterpartyParams, Counterparty](http.MethodPost, "/v1/counterparties")
	routeCreateExpectedPayment = newRoute[none, CreateExpectedPaymentParams, ExpectedPayment](http.MethodPost, "/v1/expected-payments")
	routeGetExpectedPayment    = newRoute[none, none, ExpectedPayment](http.MethodGet, "/v1/expected-payments/{id}")
	routeListExpectedPayments  = newRoute[ListExpectedPaymentsParams, none, []ExpectedPayment](http.MethodGet, "/v1/expected-payments")
	routeCreateTransaction     = newRoute[none, CreateTransactionParams, Transaction](http.MethodPost, "/v1/transactions")
	routeListTransactions      = newRoute[ListTransactionsParams, none, []Transaction](http.MethodGet, "/v1/transactions")
)

// CreateInternalAccount creates one of the organization's own bank accounts.
func (c *Client) CreateInternalAccount(ctx context.Context, p CreateInternalAccountParams, opts ...RequestOption) (*InternalAccount, error) {
	out, _, err := routeCreateInternalAccount.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// CreateCounterparty creates a counterparty.
func (c *Client) CreateCounterparty(ctx context.Context, p CreateCounterpartyParams, opts ...RequestOption) (*Counterparty, error) {
	out, _, err := routeCreateCounterparty.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// CreateExpectedPayment records money expected to move; transactions
// reconcile to it in the background.
func (c *Client) CreateExpectedPayment(ctx context.Context, p CreateExpectedPaymentParams, opts ...RequestOption) (*ExpectedPayment, error) {
	out, _, err := routeCreateExpectedPayment.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// GetExpectedPayment reads an expected payment.
func (c *Client) GetExpectedPayment(ctx context.Context, id string, opts ...RequestOption) (*ExpectedPayment, error) {
	out, _, err := routeGetExpectedPayment.call(ctx, c, []string{id}, none{}, none{}, opts)
	return out, err
}

// ListExpectedPayments lists expected payments, newest first.
func (c *Client) ListExpectedPayments(ctx context.Context, p ListExpectedPaymentsParams, opts ...RequestOption) (*CursorPage[ExpectedPayment], error) {
	out, resp, err := routeListExpectedPayments.call(ctx, c, nil, p, none{}, opts)
	if err != nil {
		return nil, err
	}
	return cursorPage(out, resp), nil
}

// CreateTransaction records money that moved; it reconciles to an expected
// payment in the background.
func (c *Client) CreateTransaction(ctx context.Context, p CreateTransactionParams, opts ...RequestOption) (*Transaction, error) {
	out, _, err := routeCreateTransaction.call(ctx, c, nil, none{}, p, opts)
	return out, err
}

// ListTransactions lists transactions, newest first.
func (c *Client) ListTransactions(ctx context.Context, p ListTransactionsParams, opts ...RequestOption) (*CursorPage[Transaction], error) {
	out, resp, err := routeListTransactions.call(ctx, c, nil, p, none{}, opts)
	if err != nil {
		return nil, err
	}
	return cursorPage(out, resp), nil
}
