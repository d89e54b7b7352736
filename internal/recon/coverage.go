// Package recon judges a reconciliation case from its intent, its rule and
// the evidence legs attached to it. It is pure: values in, values out.
package recon

import (
	"slices"

	"github.com/reconlayer/reconlayer/internal/rule"
)

// Leg statuses after normalization: each evidence source's own statuses
// (completed, confirmed, booked …) map onto these.
const (
	LegPending  = "pending"
	LegSettled  = "settled"
	LegFailed   = "failed"
	LegReversed = "reversed"
)

// Coverage values per evidence kind.
const (
	CoveragePresent     = "present"
	CoveragePending     = "pending"
	CoverageMissing     = "missing"
	CoverageFailed      = "failed"
	CoverageNotRequired = "not_required"
)

// Leg is the part of an evidence leg coverage needs.
type Leg struct {
	Type   string
	Status string
}

// Coverage is evidenceCoverage of the case object (seed 001).
type Coverage struct {
	Expected string `json:"expected"`
	Provider string `json:"provider"`
	Chain    string `json:"chain"`
	Bank     string `json:"bank"`
	File     string `json:"file"`
}

// CoverageOf says, per evidence kind, what the case has: the intent itself is
// the "expected" evidence and is always present; a leg kind the rule does not
// require and no evidence exists for is not_required. With several legs of a
// kind the most advanced status wins (settled over pending over failed).
// present counts required leg types that have settled.
func CoverageOf(r rule.Rule, legs []Leg) (c Coverage, total, present int) {
	of := func(legType string) string {
		best := ""
		for _, l := range legs {
			if l.Type != legType {
				continue
			}
			best = better(best, legStatusCoverage(l.Status))
		}
		if best == "" {
			if slices.Contains(r.RequiredLegTypes, legType) {
				return CoverageMissing
			}
			return CoverageNotRequired
		}
		return best
	}
	c = Coverage{
		Expected: CoveragePresent,
		Provider: of(rule.LegProvider),
		Chain:    of(rule.LegOnchain),
		Bank:     of(rule.LegBank),
		File:     of(rule.LegFile),
	}
	for _, t := range r.RequiredLegTypes {
		if c.forLeg(t) == CoveragePresent {
			present++
		}
	}
	return c, len(r.RequiredLegTypes), present
}

// forLeg is the coverage of one leg type (rule.Leg*).
func (c Coverage) forLeg(legType string) string {
	switch legType {
	case rule.LegProvider:
		return c.Provider
	case rule.LegOnchain:
		return c.Chain
	case rule.LegBank:
		return c.Bank
	case rule.LegFile:
		return c.File
	}
	return ""
}

func legStatusCoverage(status string) string {
	switch status {
	case LegSettled:
		return CoveragePresent
	case LegPending:
		return CoveragePending
	default:
		return CoverageFailed
	}
}

var coverageRank = map[string]int{"": 0, CoverageFailed: 1, CoveragePending: 2, CoveragePresent: 3}

func better(a, b string) string {
	if coverageRank[b] > coverageRank[a] {
		return b
	}
	return a
}
