package expected

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func day(s string) *time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &d
}

func str(s string) *string { return &s }

func TestFits(t *testing.T) {
	t.Parallel()
	acct, other := uuid.New(), uuid.New()
	base := Variable{PaymentID: uuid.New(), Account: acct, Direction: "credit", Currency: "USD", Lower: 10000, Upper: 11000,
		DateLower: day("2024-05-15"), DateUpper: day("2024-05-22")}
	withIDs := base
	withIDs.Identifiers = Normalize(map[string]string{"payment_id": "abc123"})
	typed := base
	typed.Type = str("ach")
	fresh := Payment{Status: StatusUnreconciled}
	partial := Payment{Status: StatusPartiallyReconciled, Amount: 6000}
	txn := func(f func(*Txn)) Txn {
		t := Txn{Account: acct, Direction: "credit", Amount: 10500, Currency: "usd", AsOf: *day("2024-05-18"), Posted: true,
			Identifiers: Normalize(map[string]string{"Payment_ID": " ABC123 "})}
		if f != nil {
			f(&t)
		}
		return t
	}
	cases := []struct {
		name string
		v    Variable
		p    Payment
		t    Txn
		why  string // "" when it fits
	}{
		{"inside", base, fresh, txn(nil), ""},
		{"lower bound", base, fresh, txn(func(t *Txn) { t.Amount = 10000 }), ""},
		{"upper bound", base, fresh, txn(func(t *Txn) { t.Amount = 11000 }), ""},
		{"below", base, fresh, txn(func(t *Txn) { t.Amount = 9999 }), "amount_lower_bound"},
		{"above", base, fresh, txn(func(t *Txn) { t.Amount = 11001 }), "amount_upper_bound"},
		{"first day", base, fresh, txn(func(t *Txn) { t.AsOf = *day("2024-05-15") }), ""},
		{"last day", base, fresh, txn(func(t *Txn) { t.AsOf = *day("2024-05-22") }), ""},
		{"day before", base, fresh, txn(func(t *Txn) { t.AsOf = *day("2024-05-14") }), "date_lower_bound"},
		{"day after", base, fresh, txn(func(t *Txn) { t.AsOf = *day("2024-05-23") }), "date_upper_bound"},
		{"wrong direction", base, fresh, txn(func(t *Txn) { t.Direction = "debit" }), "direction"},
		{"wrong account", base, fresh, txn(func(t *Txn) { t.Account = other }), "internal_account_id"},
		{"wrong currency", base, fresh, txn(func(t *Txn) { t.Currency = "EUR" }), "currency"},
		{"type needed", typed, fresh, txn(nil), "type"},
		{"type equal", typed, fresh, txn(func(t *Txn) { t.Type = str("ach") }), ""},
		{"identifier equal after folding", withIDs, fresh, txn(nil), ""},
		{"identifier missing", withIDs, fresh, txn(func(t *Txn) { t.Identifiers = map[string]string{} }), "custom_identifiers.payment_id"},
		{"identifier differs", withIDs, fresh, txn(func(t *Txn) { t.Identifiers = map[string]string{"payment_id": "abc124"} }), "custom_identifiers.payment_id"},
		{"instalment below lower", withIDs, fresh, txn(func(t *Txn) { t.Amount = 4000 }), ""},
		{"instalment fills", withIDs, partial, txn(func(t *Txn) { t.Amount = 5000 }), ""},
		{"instalment overshoots", withIDs, partial, txn(func(t *Txn) { t.Amount = 5001 }), "amount_upper_bound"},
		{"no instalments without identifiers", base, partial, txn(nil), "already partially reconciled"},
		{"reconciled takes nothing", base, Payment{Status: StatusReconciled}, txn(nil), "status reconciled"},
		{"archived takes nothing", base, Payment{Status: StatusArchived}, txn(nil), "status archived"},
	}
	for _, c := range cases {
		ok, why := Fits(c.v, c.p, c.t)
		require.Equal(t, c.why == "", ok, c.name)
		require.Equal(t, c.why, why, c.name)
	}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	acct := uuid.New()
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	pay := func(created time.Time) Payment {
		return Payment{ID: uuid.New(), Status: StatusUnreconciled, CreatedAt: created}
	}
	v := func(p Payment, lo, hi int64, dlo, dhi *time.Time) Variable {
		return Variable{PaymentID: p.ID, Account: acct, Direction: "credit", Currency: "USD", Lower: lo, Upper: hi, DateLower: dlo, DateUpper: dhi}
	}
	tx := Txn{Account: acct, Direction: "credit", Amount: 10500, Currency: "USD", AsOf: *day("2024-05-18"), Posted: true}

	wide, narrow, dated, older := pay(at), pay(at.Add(time.Hour)), pay(at.Add(2*time.Hour)), pay(at.Add(-time.Hour))
	all := map[uuid.UUID]Payment{wide.ID: wide, narrow.ID: narrow, dated.ID: dated, older.ID: older}
	vars := []Variable{
		v(wide, 10000, 11000, nil, nil),
		v(narrow, 10400, 10600, nil, nil),
		v(dated, 10400, 10600, day("2024-05-15"), day("2024-05-22")),
		v(older, 10000, 11000, nil, nil),
	}
	d := Choose(tx, vars, all)
	require.Equal(t, dated.ID, d.Payment, "tightest amount bounds, then tightest dates")
	require.Contains(t, d.Reason, "chosen over 3 other")

	d = Choose(tx, []Variable{vars[0], vars[3]}, all)
	require.Equal(t, older.ID, d.Payment, "equal bounds: the oldest")

	// The same for any order of the candidates.
	d = Choose(tx, []Variable{vars[3], vars[2], vars[1], vars[0]}, all)
	require.Equal(t, dated.ID, d.Payment)

	twin := pay(at)
	all[twin.ID] = twin
	d = Choose(tx, []Variable{vars[0], v(twin, 10000, 11000, nil, nil)}, all)
	require.Equal(t, uuid.Nil, d.Payment, "a tie is left for review")
	require.Contains(t, d.Review, "2 expected payments fit equally")

	require.Equal(t, Decision{}, Choose(tx, nil, all))
}

func TestStatus(t *testing.T) {
	t.Parallel()
	require.Equal(t, StatusUnreconciled, Status(0, 100, 200, true))
	require.Equal(t, StatusPartiallyReconciled, Status(50, 100, 200, true))
	require.Equal(t, StatusPartiallyReconciled, Status(50, 100, 200, false))
	require.Equal(t, StatusTentativelyReconciled, Status(150, 100, 200, false))
	require.Equal(t, StatusReconciled, Status(100, 100, 200, true))
	require.Equal(t, StatusReconciled, Status(200, 100, 200, true))
}
