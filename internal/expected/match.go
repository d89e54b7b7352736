package expected

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Expected payment statuses.
const (
	StatusUnreconciled          = "unreconciled"
	StatusPartiallyReconciled   = "partially_reconciled"
	StatusTentativelyReconciled = "tentatively_reconciled"
	StatusReconciled            = "reconciled"
	StatusArchived              = "archived"
)

// Variable is one reconciliation rule variable of an expected payment, as
// the matcher sees it: currency is always set (the account's when the
// variable left it out), identifiers are normalized (Normalize).
type Variable struct {
	PaymentID   uuid.UUID
	Index       int
	Account     uuid.UUID
	Direction   string
	Currency    string
	Lower       int64
	Upper       int64
	DateLower   *time.Time
	DateUpper   *time.Time
	Type        *string
	Identifiers map[string]string
	// Derived: built from the payment's own fields (it has no variables).
	Derived bool
}

// Payment is an expected payment's reconciliation state.
type Payment struct {
	ID        uuid.UUID
	Status    string
	Lower     int64
	Upper     int64
	Amount    int64 // reconciled so far
	AllPosted bool
	CreatedAt time.Time
}

// Txn is a transaction as the matcher sees it.
type Txn struct {
	ID          uuid.UUID
	Account     uuid.UUID
	Direction   string
	Amount      int64
	Currency    string
	AsOf        time.Time
	Posted      bool
	Type        *string
	Identifiers map[string]string
}

// Normalize trims and lower-cases custom identifier keys and values, which
// are compared case-insensitively after trimming. Runs of white space
// inside become one space: remittance text passes through systems that
// turn spaces into no-break spaces (seed 004's own example has one).
func Normalize(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[fold(k)] = fold(v)
	}
	return out
}

func fold(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// Status is what an expected payment with these bounds is once amount is
// reconciled to it; allPosted is false while one of its transactions is
// pending.
func Status(amount, lower, upper int64, allPosted bool) string {
	switch {
	case amount == 0:
		return StatusUnreconciled
	case amount < lower:
		return StatusPartiallyReconciled
	case !allPosted:
		return StatusTentativelyReconciled
	}
	return StatusReconciled
}

// open tells whether a payment in status takes transactions automatically.
func open(status string) bool {
	return status == StatusUnreconciled || status == StatusPartiallyReconciled
}

// Fits tells whether t satisfies v with p in its current state, and if not,
// which field it fails on. A variable with custom identifiers takes
// instalments: transactions below its lower bound, as long as the payment's
// total stays within the variable's upper bound; any other variable takes
// one transaction within its bounds.
func Fits(v Variable, p Payment, t Txn) (bool, string) {
	switch {
	case !open(p.Status):
		return false, "status " + p.Status
	case v.Account != t.Account:
		return false, "internal_account_id"
	case v.Direction != t.Direction:
		return false, "direction"
	case !strings.EqualFold(v.Currency, t.Currency):
		return false, "currency"
	case v.Type != nil && (t.Type == nil || !strings.EqualFold(*v.Type, *t.Type)):
		return false, "type"
	case v.DateLower != nil && t.AsOf.Before(*v.DateLower):
		return false, "date_lower_bound"
	case v.DateUpper != nil && t.AsOf.After(*v.DateUpper):
		return false, "date_upper_bound"
	}
	for k, want := range v.Identifiers {
		if got, ok := t.Identifiers[k]; !ok || got != want {
			return false, "custom_identifiers." + k
		}
	}
	if len(v.Identifiers) > 0 {
		if p.Amount+t.Amount > v.Upper {
			return false, "amount_upper_bound"
		}
		return true, ""
	}
	switch {
	case p.Amount > 0:
		return false, "already partially reconciled"
	case t.Amount < v.Lower:
		return false, "amount_lower_bound"
	case t.Amount > v.Upper:
		return false, "amount_upper_bound"
	}
	return true, ""
}

// Decision is where one transaction goes.
type Decision struct {
	// Payment is the chosen expected payment; uuid.Nil for none.
	Payment uuid.UUID
	// Reason says why it was chosen (empty when none was).
	Reason string
	// Review says why several candidates were left alone (a tie).
	Review string
}

type eligible struct {
	v         Variable
	p         Payment
	width     int64
	dateWidth int64
}

// unbounded ranks an open date range after every closed one.
const unbounded = int64(1) << 62

// Choose picks the expected payment t reconciles to among the variables of
// candidate payments (payments by id). Per payment the first variable t
// fits counts; among payments the tightest amount bounds win, then the
// tightest date bounds, then the oldest payment. Two payments still equal
// after that are a tie: t is left for review, never guessed.
func Choose(t Txn, vars []Variable, payments map[uuid.UUID]Payment) Decision {
	var cands []eligible
	seen := map[uuid.UUID]bool{}
	for _, v := range vars {
		p, ok := payments[v.PaymentID]
		if !ok || seen[v.PaymentID] {
			continue
		}
		if fits, _ := Fits(v, p, t); !fits {
			continue
		}
		seen[v.PaymentID] = true
		dw := unbounded
		if v.DateLower != nil && v.DateUpper != nil {
			dw = int64(v.DateUpper.Sub(*v.DateLower) / (24 * time.Hour))
		}
		cands = append(cands, eligible{v: v, p: p, width: v.Upper - v.Lower, dateWidth: dw})
	}
	if len(cands) == 0 {
		return Decision{}
	}
	rank := func(a, b eligible) int {
		return cmp.Or(cmp.Compare(a.width, b.width), cmp.Compare(a.dateWidth, b.dateWidth), a.p.CreatedAt.Compare(b.p.CreatedAt))
	}
	slices.SortFunc(cands, func(a, b eligible) int {
		return cmp.Or(rank(a, b), strings.Compare(a.p.ID.String(), b.p.ID.String()))
	})
	if len(cands) > 1 && rank(cands[0], cands[1]) == 0 {
		ids := make([]string, 0, len(cands))
		for _, c := range cands {
			if rank(c, cands[0]) == 0 {
				ids = append(ids, c.p.ID.String())
			}
		}
		return Decision{Review: fmt.Sprintf("%d expected payments fit equally (same bounds, created at the same time): %s",
			len(ids), strings.Join(ids, ", "))}
	}
	best := cands[0]
	return Decision{Payment: best.p.ID, Reason: reason(best.v, t, len(cands)-1)}
}

// reason explains a match in words a finance team can check.
func reason(v Variable, t Txn, others int) string {
	var b strings.Builder
	if v.Derived {
		b.WriteString("expected payment fields")
	} else {
		fmt.Fprintf(&b, "reconciliation_rule_variables[%d]", v.Index)
	}
	fmt.Fprintf(&b, ": %s %d %s on the internal account", t.Direction, t.Amount, strings.ToUpper(t.Currency))
	if len(v.Identifiers) > 0 {
		fmt.Fprintf(&b, ", up to %d in instalments", v.Upper)
	} else {
		fmt.Fprintf(&b, " within [%d, %d]", v.Lower, v.Upper)
	}
	if v.DateLower != nil || v.DateUpper != nil {
		fmt.Fprintf(&b, ", as of %s within [%s, %s]", t.AsOf.Format(time.DateOnly), dateOr(v.DateLower), dateOr(v.DateUpper))
	}
	if v.Type != nil {
		fmt.Fprintf(&b, ", type %s", *v.Type)
	}
	if len(v.Identifiers) > 0 {
		keys := make([]string, 0, len(v.Identifiers))
		for k := range v.Identifiers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		fmt.Fprintf(&b, ", custom identifiers %s equal", strings.Join(keys, ", "))
	}
	if others > 0 {
		fmt.Fprintf(&b, "; chosen over %d other eligible expected payment(s): tightest bounds, then oldest", others)
	}
	return b.String()
}

func dateOr(d *time.Time) string {
	if d == nil {
		return "…"
	}
	return d.Format(time.DateOnly)
}
