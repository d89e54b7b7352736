package console_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/browsertest"
)

// Headless chromium works a case as a person would: the Cases page,
// filtered by verdict with the form, the case needing review, a note, then
// resolving it, and the audit trail that leaves.
func TestConsoleCasesInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme Payments"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	b.kase(acme, "plain", "created_at = now() - interval '2 hours'")
	b.kase(acme, "matched-1", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved', created_at = now() - interval '1 hour'")
	id := b.shortCase(acme, "order_short")
	b.shortCase(other, "not_ours")

	p := browsertest.New(t)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	_, err := chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "ops@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), password+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#count-total"))))

	// The navigation leads to the cases, all three of the organization's.
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(`nav a[href="/console/cases"]`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#cases"))))
	require.Equal(t, b.srv.URL+"/console/cases", location(t, p))
	require.Equal(t, "Cases", text(t, p, "h1"))
	require.Equal(t, "3 cases in all.", text(t, p, "#case-count"))
	require.Equal(t, "Cases, newest first", text(t, p, "#cases caption"))
	require.Equal(t, "Cases", text(t, p, `nav a[aria-current="page"]`))
	require.Equal(t, []string{"order_short", "matched-1", "plain"}, rowRefs(t, p))
	p.Screenshot("cases")

	// Filter by verdict from the keyboard: the select, then Enter on the
	// button. The form is a GET: the URL says what is shown.
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.SetValue(chromedp.CSS("#f-verdict"), "needs_review"),
		chromedp.Focus(chromedp.CSS("#apply-filters")),
		chromedp.KeyEvent(kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#cases"))))
	loc, err := url.Parse(location(t, p))
	require.NoError(t, err)
	require.Equal(t, "/console/cases", loc.Path)
	require.Equal(t, "needs_review", loc.Query().Get("verdict"))
	require.Equal(t, "1 case matches these filters.", text(t, p, "#case-count"))
	require.Equal(t, "Cases matching the filters, newest first", text(t, p, "#cases caption"))
	require.Equal(t, []string{"order_short"}, rowRefs(t, p))
	require.Equal(t, "Needs review", text(t, p, "#cases tbody tr td"))
	selected, err := chromedp.Run(p.Ctx, chromedp.Value(chromedp.CSS("#f-verdict")))
	require.NoError(t, err)
	require.Equal(t, "needs_review", selected, "the form keeps the filter")
	p.Screenshot("cases-needs-review")

	// The case: intent, fee decomposition, evidence, links, timeline.
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(`#cases tbody th a`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#case-verdict"))))
	casePath := "/console/cases/" + id.String()
	require.Equal(t, b.srv.URL+casePath, location(t, p))
	require.Equal(t, "Case order_short", text(t, p, "h1"))
	for sel, want := range map[string]string{
		"#case-verdict": "Needs review", "#case-status": "Open", "#case-reconciliation": "Unreconciled",
		"#case-exception": "Amount mismatch", "#case-legs": "1 of 1", "#unexplained-delta": "5 USD",
		"#no-note": "No note yet.",
	} {
		require.Equal(t, want, text(t, p, sel), sel)
	}
	require.Contains(t, text(t, p, "#legs tbody"), "tr_order_short")
	require.Contains(t, text(t, p, "#links tbody"), "Active")
	require.Contains(t, text(t, p, "#timeline"), "case.evaluated")
	p.Screenshot("case")
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.ScrollIntoView(chromedp.CSS("#amounts-heading"))))
	p.Screenshot("case-amounts")
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.ScrollIntoView(chromedp.CSS("#links-heading"))))
	p.Screenshot("case-links-timeline")

	// A note, typed and sent from the keyboard.
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.Focus(chromedp.CSS("#note")),
		chromedp.KeyEvent("Provider confirmed a 5 USD fee they did not report."),
		chromedp.Focus(chromedp.CSS("#add-note")),
		chromedp.KeyEvent(kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#notice"))))
	require.Equal(t, b.srv.URL+casePath+"?notice=note_added", location(t, p))
	require.Equal(t, "Note added.", text(t, p, "#notice"))
	require.Equal(t, "Provider confirmed a 5 USD fee they did not report.", text(t, p, "#case-note"))
	require.Equal(t, "Open", text(t, p, "#case-status"))
	timeline := text(t, p, "#timeline li:last-child")
	require.Contains(t, timeline, "case.note_added")
	require.Contains(t, timeline, "You (ops@acme.example)")
	p.Screenshot("case-note-added")

	// Resolve, with a reason.
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#resolve-reason"), "Fee confirmed by the provider."),
		chromedp.Click(chromedp.CSS("#resolve")),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#notice"))))
	require.Equal(t, b.srv.URL+casePath+"?notice=resolved", location(t, p))
	require.Equal(t, "Case resolved.", text(t, p, "#notice"))
	require.Equal(t, "Resolved", text(t, p, "#case-status"))
	require.Equal(t, "Needs review", text(t, p, "#case-verdict"), "resolving by hand keeps the verdict")
	require.Contains(t, text(t, p, "#timeline li:last-child"), "case.resolved")
	forms, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("main form")].map(f => f.id).filter(Boolean)`))
	require.NoError(t, err)
	require.Equal(t, []string{"reopen-form", "archive-form", "rerun-form", "note-form", "link-form"}, forms, "resolve gives way to reopen")
	p.Screenshot("case-resolved")

	// Back on the filtered list, the case reads resolved.
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/cases?verdict=needs_review"), chromedp.WaitVisible(chromedp.CSS("#cases"))))
	cells, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#cases tbody tr td")].map(td => td.textContent.trim())`))
	require.NoError(t, err)
	require.Equal(t, "Resolved", cells[2])
	p.Screenshot("cases-after-resolve")

	// The audit page lists what the user did, under their name.
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/audit?caseId="+id.String()), chromedp.WaitVisible(chromedp.CSS("#events"))))
	require.Equal(t, "Audit events", text(t, p, "h1"))
	types, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#events td.event-type")].map(td => td.textContent)`))
	require.NoError(t, err)
	require.Equal(t, "case.resolved", types[0], "newest first")
	require.Equal(t, "case.note_added", types[1])
	require.Contains(t, text(t, p, "#events tbody tr"), "You (ops@acme.example)")
	p.Screenshot("audit")

	require.Empty(t, p.OffOrigin(b.srv.URL), "requests that left the server's origin")
	require.Empty(t, p.Errors(), "console errors, exceptions, CSP violations")
	for _, r := range p.Requests() {
		require.NotEqual(t, "Script", r.Type, "the console serves no script: %s", r.URL)
	}
}

// rowRefs are the external references the case table lists, in order.
func rowRefs(t *testing.T, p *browsertest.Page) []string {
	t.Helper()
	refs, err := chromedp.Run(p.Ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#cases tbody th")].map(th => th.textContent)`))
	require.NoError(t, err)
	for i := range refs {
		refs[i] = strings.TrimSpace(refs[i])
	}
	return refs
}
