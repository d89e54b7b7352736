package resource

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/db"
)

// Expected payments (seed 004) answer in snake_case, as their reference
// does. Amounts are integer minor units; dates are "YYYY-MM-DD".

// InternalAccount is a bank account of the organization's own.
type InternalAccount struct {
	ID            string          `json:"id"`
	Object        string          `json:"object"`
	Name          string          `json:"name"`
	Currency      string          `json:"currency"`
	AccountNumber *string         `json:"account_number"`
	RoutingNumber *string         `json:"routing_number"`
	IBAN          *string         `json:"iban"`
	BIC           *string         `json:"bic"`
	Metadata      json.RawMessage `json:"metadata"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// RenderInternalAccount renders a.
func RenderInternalAccount(a db.InternalAccount) InternalAccount {
	return InternalAccount{ID: a.ID.String(), Object: "internal_account", Name: a.Name, Currency: a.Currency,
		AccountNumber: a.AccountNumber, RoutingNumber: a.RoutingNumber, IBAN: a.Iban, BIC: a.Bic, Metadata: a.Metadata,
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
}

// Counterparty is whom money comes from or goes to.
type Counterparty struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Name      string          `json:"name"`
	Email     *string         `json:"email"`
	Accounts  json.RawMessage `json:"accounts"`
	Metadata  json.RawMessage `json:"metadata"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// RenderCounterparty renders c.
func RenderCounterparty(c db.Counterparty) Counterparty {
	return Counterparty{ID: c.ID.String(), Object: "counterparty", Name: c.Name, Email: c.Email, Accounts: c.Accounts,
		Metadata: c.Metadata, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
}

// ExpectedPayment is money the organization expects.
type ExpectedPayment struct {
	ID                          string          `json:"id"`
	Object                      string          `json:"object"`
	Direction                   string          `json:"direction"`
	Currency                    string          `json:"currency"`
	AmountLowerBound            int64           `json:"amount_lower_bound"`
	AmountUpperBound            int64           `json:"amount_upper_bound"`
	DateLowerBound              *string         `json:"date_lower_bound"`
	DateUpperBound              *string         `json:"date_upper_bound"`
	InternalAccountID           string          `json:"internal_account_id"`
	CounterpartyID              *string         `json:"counterparty_id"`
	Type                        *string         `json:"type"`
	Description                 *string         `json:"description"`
	StatementDescriptor         *string         `json:"statement_descriptor"`
	RemittanceInformation       *string         `json:"remittance_information"`
	ExternalID                  *string         `json:"external_id"`
	Metadata                    json.RawMessage `json:"metadata"`
	ReconciliationRuleVariables json.RawMessage `json:"reconciliation_rule_variables"`
	Status                      string          `json:"status"`
	AmountReconciled            int64           `json:"amount_reconciled"`
	AmountUnreconciled          int64           `json:"amount_unreconciled"`
	ReconciliationMethod        *string         `json:"reconciliation_method"`
	ReconciledAt                *time.Time      `json:"reconciled_at"`
	Overdue                     bool            `json:"overdue"`
	OverdueAt                   *time.Time      `json:"overdue_at"`
	TransactionIDs              []string        `json:"transaction_ids"`
	ArchivedAt                  *time.Time      `json:"archived_at"`
	CreatedAt                   time.Time       `json:"created_at"`
	UpdatedAt                   time.Time       `json:"updated_at"`
}

// RenderExpectedPayment renders e with the ids of its reconciled
// transactions.
func RenderExpectedPayment(e db.ExpectedPayment, transactions []uuid.UUID) ExpectedPayment {
	vars := json.RawMessage(e.ReconciliationRuleVariables)
	if len(vars) == 0 {
		vars = json.RawMessage("[]")
	}
	ids := make([]string, len(transactions))
	for i, id := range transactions {
		ids[i] = id.String()
	}
	return ExpectedPayment{
		ID: e.ID.String(), Object: "expected_payment", Direction: e.Direction, Currency: e.Currency,
		AmountLowerBound: e.AmountLowerBound, AmountUpperBound: e.AmountUpperBound,
		DateLowerBound: DayPtr(e.DateLowerBound), DateUpperBound: DayPtr(e.DateUpperBound),
		InternalAccountID: e.InternalAccountID.String(), CounterpartyID: UUIDStr(e.CounterpartyID), Type: e.Type,
		Description: e.Description, StatementDescriptor: e.StatementDescriptor, RemittanceInformation: e.RemittanceInformation,
		ExternalID: e.ExternalID, Metadata: e.Metadata, ReconciliationRuleVariables: vars, Status: e.Status,
		AmountReconciled: e.AmountReconciled, AmountUnreconciled: max(e.AmountLowerBound-e.AmountReconciled, 0),
		ReconciliationMethod: e.ReconciliationMethod, ReconciledAt: UTCPtr(e.ReconciledAt),
		Overdue: e.OverdueAt != nil && e.Status != "reconciled" && e.Status != "tentatively_reconciled", OverdueAt: UTCPtr(e.OverdueAt),
		TransactionIDs: ids, ArchivedAt: UTCPtr(e.ArchivedAt), CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC(),
	}
}

// Transaction is money that moved on an internal account.
type Transaction struct {
	ID                        string          `json:"id"`
	Object                    string          `json:"object"`
	InternalAccountID         string          `json:"internal_account_id"`
	Direction                 string          `json:"direction"`
	Amount                    int64           `json:"amount"`
	Currency                  string          `json:"currency"`
	AsOfDate                  *string         `json:"as_of_date"`
	Posted                    bool            `json:"posted"`
	Type                      *string         `json:"type"`
	VendorDescription         *string         `json:"vendor_description"`
	CustomIdentifiers         json.RawMessage `json:"custom_identifiers"`
	CounterpartyName          *string         `json:"counterparty_name"`
	CounterpartyAccountNumber *string         `json:"counterparty_account_number"`
	CounterpartyRoutingNumber *string         `json:"counterparty_routing_number"`
	CounterpartyIBAN          *string         `json:"counterparty_iban"`
	ExternalID                *string         `json:"external_id"`
	Metadata                  json.RawMessage `json:"metadata"`
	Reconciled                bool            `json:"reconciled"`
	ExpectedPaymentID         *string         `json:"expected_payment_id"`
	ReconciliationMethod      *string         `json:"reconciliation_method"`
	ReconciliationReason      *string         `json:"reconciliation_reason"`
	ReviewReason              *string         `json:"review_reason"`
	ImportBatchID             *string         `json:"import_batch_id"`
	DiscardedAt               *time.Time      `json:"discarded_at"`
	CreatedAt                 time.Time       `json:"created_at"`
	UpdatedAt                 time.Time       `json:"updated_at"`
}

// RenderTransaction renders t.
func RenderTransaction(t db.Transaction) Transaction {
	return Transaction{
		ID: t.ID.String(), Object: "transaction", InternalAccountID: t.InternalAccountID.String(), Direction: t.Direction,
		Amount: t.Amount, Currency: t.Currency, AsOfDate: DayPtr(t.AsOfDate), Posted: t.Posted, Type: t.Type,
		VendorDescription: t.VendorDescription, CustomIdentifiers: t.CustomIdentifiers, CounterpartyName: t.CounterpartyName,
		CounterpartyAccountNumber: t.CounterpartyAccountNumber, CounterpartyRoutingNumber: t.CounterpartyRoutingNumber,
		CounterpartyIBAN: t.CounterpartyIban, ExternalID: t.ExternalID, Metadata: t.Metadata,
		Reconciled: t.ExpectedPaymentID != nil, ExpectedPaymentID: UUIDStr(t.ExpectedPaymentID),
		ReconciliationMethod: t.ReconciliationMethod, ReconciliationReason: t.ReconciliationReason,
		ReviewReason: t.ReviewReason, ImportBatchID: UUIDStr(t.ImportBatchID), DiscardedAt: UTCPtr(t.DiscardedAt),
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
}
