// Package match decides which case a flow leg belongs to, from the
// candidates each strategy found. It is pure (no SQL, no HTTP): the matcher
// looks candidates up with indexed queries and asks Decide.
package match

import (
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/rule"
)

// Strategies, strongest first.
const (
	ExplicitID       = "explicit_id"
	ProviderID       = "provider_id"
	TxHash           = "tx_hash"
	ReferenceExact   = "reference_exact"
	AmountTimeWindow = "amount_time_window"
	Manual           = "manual"
)

// Order is the order strategies are tried in.
var Order = []string{ExplicitID, ProviderID, TxHash, ReferenceExact, AmountTimeWindow}

// Leg is what matching needs of a flow leg.
type Leg struct {
	Amount              decimal.Decimal
	Currency            string
	DestinationAmount   *decimal.Decimal
	DestinationCurrency *string
	OccurredAt          time.Time
	// NamesIntent: the evidence names its intent (paymentIntentId or
	// externalReference). If that intent is not found the evidence waits for
	// it rather than being attached to another case by amount.
	NamesIntent bool
}

// Candidate is a case a strategy's lookup found, with the rule it is judged by.
type Candidate struct {
	Strategy          string
	CaseID            uuid.UUID
	Rule              rule.Rule
	ExpectedAmount    decimal.Decimal
	ExpectedCurrency  string
	IntentCreatedAt   time.Time
	ExternalReference string
	PaymentIntentID   uuid.UUID
}

// Link is one proposed attachment of the leg to a case.
type Link struct {
	CaseID          uuid.UUID
	PaymentIntentID uuid.UUID
	Strategy        string
	Score           decimal.Decimal
	Reason          string
}

// Decision kinds.
const (
	Matched   = "matched"
	Ambiguous = "ambiguous"
	Unmatched = "unmatched"
)

// Decision is what to do with the leg: attach it to Links[0] (Matched),
// suggest it to every case in Links (Ambiguous: a person decides), or leave
// it free (Unmatched).
type Decision struct {
	Kind  string
	Links []Link
}

var scores = map[string]decimal.Decimal{
	ExplicitID: decimal.NewFromInt(1), ProviderID: decimal.RequireFromString("0.98"),
	TxHash: decimal.RequireFromString("0.98"), ReferenceExact: decimal.RequireFromString("0.9"),
}

// Decide tries the strategies strongest first. The first strategy that finds
// exactly one case (among those whose rule allows it) wins; one that finds
// several does not guess: the leg is ambiguous between them. Evidence that
// names an intent is never placed by amount alone.
func Decide(leg Leg, candidates []Candidate) Decision {
	for _, strategy := range Order {
		if strategy == AmountTimeWindow && leg.NamesIntent {
			break
		}
		var links []Link
		seen := map[uuid.UUID]bool{}
		for _, c := range candidates {
			if c.Strategy != strategy || seen[c.CaseID] || !allowed(c.Rule, strategy) {
				continue
			}
			link, ok := judge(leg, c)
			if !ok {
				continue
			}
			seen[c.CaseID] = true
			links = append(links, link)
		}
		switch {
		case len(links) == 1:
			return Decision{Kind: Matched, Links: links}
		case len(links) > 1:
			sort.Slice(links, func(i, j int) bool { return links[i].CaseID.String() < links[j].CaseID.String() })
			for i := range links {
				links[i].Reason = fmt.Sprintf("%s; %d cases qualify, so none was chosen", links[i].Reason, len(links))
			}
			return Decision{Kind: Ambiguous, Links: links}
		}
	}
	return Decision{Kind: Unmatched}
}

func allowed(r rule.Rule, strategy string) bool {
	switch strategy {
	case ExplicitID:
		return r.AllowExplicitIDMatch
	case ProviderID:
		return r.AllowProviderIDMatch
	case TxHash:
		return r.AllowTxHashMatch
	case ReferenceExact:
		return r.AllowReferenceExactMatch
	case AmountTimeWindow:
		return r.AllowAmountAndTimeWindowMatch
	}
	return false
}

func judge(leg Leg, c Candidate) (Link, bool) {
	link := Link{CaseID: c.CaseID, PaymentIntentID: c.PaymentIntentID, Strategy: c.Strategy, Score: scores[c.Strategy]}
	switch c.Strategy {
	case ExplicitID:
		link.Reason = fmt.Sprintf("The evidence names payment intent %s.", c.ExternalReference)
	case ProviderID:
		link.Reason = fmt.Sprintf("The provider transfer id equals that of payment intent %s.", c.ExternalReference)
	case TxHash:
		link.Reason = fmt.Sprintf("The transaction hash equals that of payment intent %s.", c.ExternalReference)
	case ReferenceExact:
		link.Reason = fmt.Sprintf("A reference on the evidence equals a reference of payment intent %s.", c.ExternalReference)
	case AmountTimeWindow:
		amount, ok := AmountIn(leg, c.ExpectedCurrency)
		if !ok {
			return link, false
		}
		allowance := Allowance(c.Rule, c.ExpectedAmount)
		diff := amount.Sub(c.ExpectedAmount).Abs()
		gap := leg.OccurredAt.Sub(c.IntentCreatedAt)
		if gap < 0 {
			gap = -gap
		}
		window := time.Duration(c.Rule.TimeWindowMinutes) * time.Minute
		if diff.GreaterThan(allowance) || gap > window {
			return link, false
		}
		// Weak evidence: an exact amount scores higher than one within tolerance.
		link.Score = decimal.RequireFromString("0.7")
		if !diff.IsZero() {
			link.Score = decimal.RequireFromString("0.6")
		}
		link.Reason = fmt.Sprintf("Amount %s %s is within %s of payment intent %s's %s, %s from its creation (window %d min).",
			amount.String(), c.ExpectedCurrency, allowance.String(), c.ExternalReference, c.ExpectedAmount.String(),
			gap.Round(time.Second), c.Rule.TimeWindowMinutes)
	default:
		return link, false
	}
	return link, true
}

// AmountIn is the leg's amount in currency, if it has one: its own amount,
// or the destination amount a provider reports.
func AmountIn(leg Leg, currency string) (decimal.Decimal, bool) {
	if leg.Currency == currency {
		return leg.Amount, true
	}
	if leg.DestinationCurrency != nil && *leg.DestinationCurrency == currency && leg.DestinationAmount != nil {
		return *leg.DestinationAmount, true
	}
	return decimal.Zero, false
}

// Allowance is how far an amount may be from expected under r: the larger of
// the absolute tolerance and the basis points of expected.
func Allowance(r rule.Rule, expected decimal.Decimal) decimal.Decimal {
	bps := expected.Abs().Mul(decimal.New(int64(r.AmountToleranceBps), -4))
	return decimal.Max(r.AmountTolerance, bps)
}
