package demo

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/reconlayer/reconlayer/client"
)

// summary prints what the service concluded: cases by verdict, each case
// with what it was meant to show, the import, the ledger run and the
// expected payments, then curl lines to explore them.
func (d *run) summary() {
	out := d.cfg.Out
	res := d.res
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Cases by verdict")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  verdict\treconciliation\tcases")
	type key struct{ verdict, status string }
	counts := map[key]int{}
	for _, c := range res.Cases {
		counts[key{verdictOf(c), c.ReconciliationStatus}]++
	}
	keys := make([]key, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(verdictRank(a.verdict), verdictRank(b.verdict)), cmp.Compare(a.verdict, b.verdict), cmp.Compare(a.status, b.status))
	})
	for _, k := range keys {
		fmt.Fprintf(tw, "  %s\t%s\t%d\n", k.verdict, k.status, counts[k])
	}
	_ = tw.Flush()

	fmt.Fprintln(out)
	fmt.Fprintln(out, "Each case, and what it shows")
	cases := slices.Clone(res.Cases)
	slices.SortStableFunc(cases, func(a, b client.ReconciliationCase) int {
		return cmp.Compare(verdictRank(verdictOf(a)), verdictRank(verdictOf(b)))
	})
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  case\tverdict\treconciliation\texception\tunexplained\twhat it shows")
	for _, c := range cases {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", c.ID, verdictOf(c), c.ReconciliationStatus, orDash(c.ExceptionType),
			orDash(c.UnexplainedDelta), res.Intents[c.ID])
	}
	_ = tw.Flush()

	if b := res.Import; b != nil {
		fmt.Fprintf(out, "\nStatement import %s: %s, %d rows (%d valid, %d matched to a payment)\n",
			b.ID, b.Status, b.Counts.Total, b.Counts.Valid, b.Counts.Matched)
	}
	if r := res.Run; r != nil {
		fmt.Fprintf(out, "Ledger run %s: %s, %d matched, %d discrepancies\n", r.ID, r.Status, r.MatchedCount, len(res.Discrepancies))
		for _, x := range res.Discrepancies {
			fmt.Fprintf(out, "  %-22s %-8s %s\n", x.Type, x.Severity, x.Message)
		}
	}
	if len(res.Expected) > 0 {
		fmt.Fprintln(out, "Expected payments")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		for _, e := range res.Expected {
			status := e.Status
			if e.Overdue {
				status += " (overdue)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.ID, status, orDash(e.Description))
		}
		_ = tw.Flush()
	}

	base := strings.TrimRight(d.cfg.BaseURL, "/")
	auth := `-H "Authorization: Bearer $KEY"`
	fmt.Fprintf(out, "\nExplore (the key has every scope; keep it secret):\n  export KEY=%s\n", d.cfg.Key)
	fmt.Fprintf(out, "  curl -s '%s/v1/reconciliation-cases?verdict=needs_review&verdict=unreconciled' %s | jq '.items[] | {id, verdict, exceptionType}'\n", base, auth)
	if len(cases) > 0 {
		worst := cases[len(cases)-1]
		for _, c := range cases {
			if verdictOf(c) == "needs_review" {
				worst = c
				break
			}
		}
		fmt.Fprintf(out, "  curl -s %s/v1/reconciliation-cases/%s %s | jq .\n", base, url.PathEscape(worst.ID), auth)
	}
	fmt.Fprintf(out, "  curl -s '%s/v1/exports/reconciliation-cases?format=csv' %s\n", base, auth)
	if r := res.Run; r != nil {
		fmt.Fprintf(out, "  curl -s %s/v1/ledgers/reconciliation/runs/%s/discrepancies %s | jq .\n", base, r.ID, auth)
	}
	fmt.Fprintf(out, "  curl -s %s/v1/expected-payments %s | jq '.[] | {id, status, description}'\n", base, auth)
	fmt.Fprintf(out, "  the API reference: %s/docs\n", base)
}

// verdictOf names a case's verdict; a case with no evidence has none yet.
func verdictOf(c client.ReconciliationCase) string {
	if c.Verdict == nil {
		return "(none yet)"
	}
	return *c.Verdict
}

// verdictRank orders verdicts from settled to worrying, as an ops person
// reads them.
func verdictRank(v string) int {
	order := []string{"matched", "matched_with_exception", "needs_review", "unreconciled", "delayed", "sla_risk", "(none yet)"}
	if i := slices.Index(order, v); i >= 0 {
		return i
	}
	return len(order)
}

func orDash(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}
