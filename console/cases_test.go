package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/matcher"
)

// otherIntent creates an intent of paymentType other for amount EUR (or
// the currency given) in org through the intent service, with its case.
func (b *bundle) otherIntent(org uuid.UUID, ref, amount, currency string) intent.Result {
	b.t.Helper()
	r, err := intent.New(b.pool).Create(context.Background(), intent.CreateInput{
		OrganizationID: org, Actor: "test", ExternalReference: ref,
		SourceAmount: decimal.RequireFromString(amount), SourceCurrency: currency,
		DestinationAmount: decimal.RequireFromString(amount), DestinationCurrency: currency,
		PaymentType: "other", Direction: "debit", References: []byte("[]"), Metadata: []byte("{}"),
	}, nil)
	require.NoError(b.t, err)
	return r
}

// providerEvidence stores provider evidence in org through the evidence
// service and runs the matcher on it at once, as the worker would.
func (b *bundle) providerEvidence(org uuid.UUID, body string) evidence.Outcome {
	b.t.Helper()
	ctx := context.Background()
	var p evidence.Provider
	require.NoError(b.t, json.Unmarshal([]byte(body), &p))
	r, err := evidence.New(b.pool).Accept(ctx, evidence.Submission{OrganizationID: org, Source: evidence.SourceProvider,
		SourceRef: p.SourceRef(), Payload: []byte(body)}, nil)
	require.NoError(b.t, err)
	out, err := matcher.New(b.pool).Process(ctx, org, r.Raw.ID, r.Job.ID)
	require.NoError(b.t, err)
	return out
}

// shortCase is a case the evidence left short: an intent of 50.00 USD, a
// completed provider transfer of 45.00 USD naming it. The matcher judges it
// needs_review, amount_mismatch, with 5 unexplained.
func (b *bundle) shortCase(org uuid.UUID, ref string) uuid.UUID {
	b.t.Helper()
	r := b.otherIntent(org, ref, "50.00", "USD")
	out := b.providerEvidence(org, `{"provider":"acme_pay","providerTransferId":"tr_`+ref+`","status":"completed",
		"amount":{"amount":"45.00","currency":"USD"},"externalReference":"`+ref+`"}`)
	require.Equal(b.t, "matched", out.Status)
	c := b.caseRow(org, r.Case.ID)
	require.Equal(b.t, "needs_review", *c.Verdict)
	return r.Case.ID
}

func (b *bundle) caseRow(org, id uuid.UUID) db.ReconciliationCase {
	b.t.Helper()
	c, err := b.q.GetCaseByID(context.Background(), db.GetCaseByIDParams{OrganizationID: org, ID: id})
	require.NoError(b.t, err)
	return c
}

// caseEvents are the case's audit events, oldest first, as "type by actor".
func (b *bundle) caseEvents(id uuid.UUID) []string {
	b.t.Helper()
	rows, err := b.pool.Query(context.Background(), "SELECT event_type || ' by ' || actor FROM audit_events WHERE case_id = $1 ORDER BY occurred_at, id", id)
	require.NoError(b.t, err)
	var out []string
	for rows.Next() {
		var s string
		require.NoError(b.t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(b.t, rows.Err())
	return out
}

var caseLink = regexp.MustCompile(`<th scope="row"><a href="/console/cases/([0-9a-f-]{36})">([^<]*)</a></th>`)

// listedRefs are the external references of the case list's rows, in order.
func (p page) listedRefs() []string {
	var out []string
	for _, m := range caseLink.FindAllStringSubmatch(p.Body, -1) {
		out = append(out, m[2])
	}
	return out
}

// href is the href of the element with id (an <a>), unescaped.
func (p page) pagerHref(id string) string {
	m := regexp.MustCompile(`<a href="([^"]*)" id="` + regexp.QuoteMeta(id) + `"`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// signedIn is a client of a new user of org, signed in.
func (b *bundle) casesUser(org uuid.UUID, email string) (*client, db.ConsoleUser) {
	b.t.Helper()
	u, _ := b.user(org, email, password)
	c := b.client()
	c.mustSignIn(email, password)
	return c, u
}

func TestConsoleCasesList(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	b.kase(acme, "plain", "created_at = now() - interval '6 minutes'")
	b.kase(acme, "matched", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved', created_at = now() - interval '5 minutes'")
	b.kase(acme, "review-fee", "verdict = 'needs_review', exception_type = 'fee_out_of_tolerance', created_at = now() - interval '4 minutes'")
	b.kase(acme, "review-amount", "verdict = 'needs_review', exception_type = 'amount_mismatch', created_at = now() - interval '3 minutes'")
	b.kase(acme, "late", "verdict = 'sla_risk', sla_risk = true, created_at = now() - interval '2 days'")
	b.kase(acme, "archived", "status = 'archived', verdict = 'unreconciled', exception_type = 'missing_leg', created_at = now() - interval '1 minute'")
	b.kase(other, "not-ours", "verdict = 'needs_review', exception_type = 'amount_mismatch'")
	c, _ := b.casesUser(acme, "ops@acme.example")

	p := c.get("/console/cases")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `<a href="/console/cases" aria-current="page">Cases</a>`)
	require.Contains(t, p.Body, `<form method="get" action="/console/cases"`)
	require.Contains(t, p.Body, `<caption>Cases, newest first</caption>`)
	require.Contains(t, p.Body, `<th scope="col">External reference</th>`)
	for _, id := range []string{"f-status", "f-recon", "f-verdict", "f-exception", "f-sla", "f-ref", "f-limit"} {
		require.Contains(t, p.Body, `<label for="`+id+`">`, "every control is labelled")
	}
	require.Equal(t, "6 cases in all.", p.text("case-count"))
	require.Equal(t, []string{"archived", "review-amount", "review-fee", "matched", "plain", "late"}, p.listedRefs())
	require.NotContains(t, p.Body, "not-ours")
	require.Empty(t, p.pagerHref("next-page"), "one page")
	require.Contains(t, p.Body, "at risk")

	for query, want := range map[string][]string{
		"verdict=needs_review":                               {"review-amount", "review-fee"},
		"verdict=needs_review&exceptionType=amount_mismatch": {"review-amount"},
		"status=open&reconciliationStatus=unreconciled":      {"review-amount", "review-fee", "plain", "late"},
		"status=archived":                                    {"archived"},
		"slaRisk=true":                                       {"late"},
		"externalReference=matched":                          {"matched"},
		"externalReference=match":                            nil, // the whole reference, not a part
		"externalReference=not-ours":                         nil,
		// What a GET form sends: every field, the unused ones empty.
		"status=&reconciliationStatus=&verdict=needs_review&exceptionType=&slaRisk=&externalReference=&limit=25": {"review-amount", "review-fee"},
		"verdict=matched&verdict=sla_risk": {"matched", "late"},
	} {
		p := c.get("/console/cases?" + query)
		requireHTML(t, p, http.StatusOK)
		require.Equal(t, want, p.listedRefs(), query)
		if len(want) > 0 {
			require.Contains(t, p.Body, "<caption>Cases matching the filters, newest first</caption>", query)
		} else {
			require.Equal(t, "No case matches these filters.", p.text("no-cases"), query)
		}
		require.Equal(t, "/console/cases", p.pagerHref("clear-filters"), query)
	}
	p = c.get("/console/cases?verdict=needs_review")
	require.Equal(t, "2 cases match these filters.", p.text("case-count"))
	require.Contains(t, p.Body, `<option value="needs_review" selected>Needs review</option>`, "the form shows the filter")

	// Values the filters do not take: the page says which, and lists nothing.
	p = c.get("/console/cases?verdict=great&status=gone&limit=7&cursor=nope")
	requireHTML(t, p, http.StatusBadRequest)
	require.Contains(t, p.Body, `Verdict: &#34;great&#34; is not one of the values listed.`)
	require.Contains(t, p.Body, `Status: &#34;gone&#34; is not one of the values listed.`)
	require.Contains(t, p.Body, `Rows per page: choose 25, 50 or 100.`)
	require.Contains(t, p.Body, `This page link is damaged`)
	require.Empty(t, p.listedRefs())
}

// Pages follow one another by keyset: each a link to the next, none missed
// or repeated, the filters kept.
func TestConsoleCasesPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme")
	seedCases(t, b, acme, 130) // verdicts cycle through 7 values: 19 needs_review
	c, _ := b.casesUser(acme, "ops@acme.example")

	seen := map[string]bool{}
	path := "/console/cases?verdict=needs_review&limit=" + "25"
	var pages int
	for path != "" {
		p := c.get(path)
		requireHTML(t, p, http.StatusOK)
		require.Equal(t, "19 cases match these filters"+map[bool]string{true: "; an older page", false: ""}[pages > 0]+".", p.text("case-count"))
		for _, ref := range p.listedRefs() {
			require.False(t, seen[ref], "listed twice: %s", ref)
			seen[ref] = true
		}
		if pages > 0 {
			require.Equal(t, "/console/cases?verdict=needs_review", p.pagerHref("first-page"))
		}
		path = p.pagerHref("next-page")
		if path != "" {
			u, err := url.Parse(path)
			require.NoError(t, err)
			require.Equal(t, "needs_review", u.Query().Get("verdict"), "the filter is kept")
			require.NotEmpty(t, u.Query().Get("cursor"))
		}
		pages++
	}
	require.Equal(t, 1, pages, "19 cases fit on a page of 25")
	require.Len(t, seen, 19)

	seen = map[string]bool{}
	path, pages = "/console/cases", 0
	for path != "" {
		p := c.get(path)
		requireHTML(t, p, http.StatusOK)
		refs := p.listedRefs()
		for _, ref := range refs {
			require.False(t, seen[ref], "listed twice: %s", ref)
			seen[ref] = true
		}
		path = p.pagerHref("next-page")
		pages++
	}
	require.Equal(t, 6, pages, "130 cases, 25 a page")
	require.Len(t, seen, 130)

	p := c.get("/console/cases?limit=100")
	require.Len(t, p.listedRefs(), 100)
	require.Contains(t, p.pagerHref("next-page"), "limit=100")
}

// A case's page shows its intent, legs, fee decomposition and delta,
// coverage, match links with their reasons, and its audit trail.
func TestConsoleCasePage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme")
	id := b.shortCase(acme, "order_short")
	c, _ := b.casesUser(acme, "ops@acme.example")

	p := c.get("/console/cases/" + id.String())
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, "<h1>Case order_short</h1>")
	require.Contains(t, p.Body, `<a href="/console/cases" aria-current="page">Cases</a>`)
	require.Contains(t, p.Body, "Needs review</dd>")
	require.Equal(t, "Open", p.text("case-status"))
	require.Equal(t, "Unreconciled", p.text("case-reconciliation"))
	require.Equal(t, "Amount mismatch", p.text("case-exception"))
	require.Equal(t, "1 of 1", p.text("case-legs"))
	require.Equal(t, "5 USD", p.text("unexplained-delta"))
	require.Contains(t, p.Body, `<th scope="row"><span aria-label="minus">−</span> Actual amount</th><td class="num">45 USD</td>`)
	require.Contains(t, p.Body, `<th scope="row">Expected amount</th><td class="num">50 USD</td>`)
	require.Contains(t, p.Body, `<th scope="row">Provider</th><td class="cov-present">Present</td>`)
	require.Contains(t, p.Body, "<caption>Fee decomposition")
	require.Contains(t, p.Body, `<code class="wrap">tr_order_short</code>`, "the leg's reference")
	require.Contains(t, p.Body, "Provider transfer (acme_pay)")
	require.Regexp(t, `<td>Active</td>\s*<td>[^<]+</td>\s*<td class="num">[0-9.]+</td>\s*<td>[^<]+</td>`, p.Body, "a link with strategy, score and reason")
	require.Contains(t, p.Body, "case.evaluated")
	require.Contains(t, p.Body, "payment_intent.created")
	require.Contains(t, p.Body, `href="/console/audit?caseId=`+id.String()+`"`)
	for _, form := range []string{"resolve-form", "archive-form", "rerun-form", "note-form", "link-form"} {
		require.Contains(t, p.Body, `id="`+form+`"`)
	}
	require.NotContains(t, p.Body, `id="reopen-form"`, "an open case cannot be reopened")
	require.Equal(t, "No note yet.", p.text("no-note"))

	// Not a case id at all: not found either.
	requireHTML(t, c.get("/console/cases/not-a-uuid"), http.StatusNotFound)
	requireHTML(t, c.get("/console/cases/"+uuid.NewString()), http.StatusNotFound)
}

// Every action goes through the cases service as the api's, audited with
// the signed-in user as actor; a refused transition changes nothing and
// says why.
func TestConsoleCaseActions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme")
	id := b.shortCase(acme, "order_act")
	c, u := b.casesUser(acme, "ops@acme.example")
	actor := "user:" + u.ID.String()
	path := "/console/cases/" + id.String()
	token := c.get(path).csrf()
	post := func(action string, form url.Values) page {
		t.Helper()
		return c.post(path+"/"+action, withToken(form, token))
	}

	p := post("notes", url.Values{"note": {"Asked the provider about the missing 5 USD."}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=note_added", p.location())
	p = c.get(p.location())
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "Note added.", p.text("notice"))
	require.Equal(t, "Asked the provider about the missing 5 USD.", p.text("case-note"))
	require.Contains(t, p.Body, "You (ops@acme.example)", "the timeline names the user")

	// An empty note: the form again, nothing recorded.
	before := b.caseRow(acme, id).Version
	p = post("notes", url.Values{"note": {"   "}})
	requireHTML(t, p, http.StatusBadRequest)
	require.Equal(t, "Write a note of 1 to 5000 characters.", p.text("error"))
	require.Equal(t, before, b.caseRow(acme, id).Version)

	p = post("resolve", url.Values{"reason": {"Provider refunded the fee."}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=resolved", p.location())
	p = c.get(p.location())
	require.Equal(t, "Case resolved.", p.text("notice"))
	require.Equal(t, "Resolved", p.text("case-status"))
	require.NotContains(t, p.Body, `id="resolve-form"`)
	require.Contains(t, p.Body, `id="reopen-form"`)
	cs := b.caseRow(acme, id)
	require.Equal(t, "resolved", cs.Status)

	// Resolving a resolved case: the service's message, a 409, no change.
	p = post("resolve", url.Values{"reason": {"again"}})
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "Cannot resolve a case that is resolved.", p.text("error"))
	require.Equal(t, "Resolved", p.text("case-status"))
	require.Equal(t, cs.Version, b.caseRow(acme, id).Version, "nothing changed")

	p = post("rerun", nil)
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, "Case re-evaluated.", c.get(p.location()).text("notice"))

	p = post("reopen", url.Values{})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, "open", b.caseRow(acme, id).Status)

	p = post("archive", url.Values{"reason": {strings.Repeat("x", 1001)}})
	requireHTML(t, p, http.StatusBadRequest)
	require.Equal(t, "The reason may be at most 1000 characters.", p.text("error"))
	require.Equal(t, "open", b.caseRow(acme, id).Status)

	p = post("archive", url.Values{"reason": {"Duplicate order."}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	p = c.get(p.location())
	require.Equal(t, "Case archived.", p.text("notice"))
	require.Equal(t, "Archived", p.text("case-status"))
	for _, gone := range []string{"resolve-form", "archive-form", "rerun-form", "link-form"} {
		require.NotContains(t, p.Body, `id="`+gone+`"`, "an archived case offers only reopen and notes")
	}
	cs = b.caseRow(acme, id)
	p = post("rerun", nil)
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "Cannot rerun a case that is archived.", p.text("error"))
	require.Equal(t, cs.Version, b.caseRow(acme, id).Version)

	events := b.caseEvents(id)
	for _, want := range []string{"case.note_added", "case.resolved", "case.rerun", "case.reopened", "case.archived"} {
		require.Contains(t, events, want+" by "+actor)
	}
	var payload string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		"SELECT payload::text FROM audit_events WHERE case_id = $1 AND event_type = 'case.resolved'", id).Scan(&payload))
	require.JSONEq(t, `{"from":"open","to":"resolved","reason":"Provider refunded the fee."}`, payload)
}

// Evidence the matcher could not place is linked by hand from the case page
// (a suggested link's button, or a leg's id), and unlinked again.
func TestConsoleCaseLinks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme")
	case1 := b.otherIntent(acme, "amb_1", "50.00", "EUR").Case.ID
	case2 := b.otherIntent(acme, "amb_2", "50.00", "EUR").Case.ID
	out := b.providerEvidence(acme, `{"provider":"acme_pay","providerTransferId":"tr_amb","status":"completed","amount":{"amount":"50.00","currency":"EUR"}}`)
	require.Equal(t, "ambiguous", out.Status)
	leg := out.FlowLegIDs[0]
	c, u := b.casesUser(acme, "ops@acme.example")
	actor := "user:" + u.ID.String()

	path := "/console/cases/" + case1.String()
	p := c.get(path)
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "Ambiguous match", p.text("case-exception"))
	require.Contains(t, p.Body, "<td>Suggested</td>")
	require.Contains(t, p.Body, `<input type="hidden" name="flow_leg_id" value="`+leg.String()+`">`, "a suggestion can be confirmed")
	token := p.csrf()

	// Not a leg id; a leg that does not exist: the form again.
	p = c.post(path+"/links", url.Values{"csrf_token": {token}, "flow_leg_id": {"leg-1"}})
	requireHTML(t, p, http.StatusBadRequest)
	require.Contains(t, p.text("error"), "enter the id of a flow leg")
	require.Contains(t, p.Body, `value="leg-1"`, "what was typed is kept")
	p = c.post(path+"/links", url.Values{"csrf_token": {token}, "flow_leg_id": {uuid.NewString()}})
	requireHTML(t, p, http.StatusBadRequest)
	require.Equal(t, "No flow leg of this organization has that id.", p.text("error"))

	p = c.post(path+"/links", url.Values{"csrf_token": {token}, "flow_leg_id": {leg.String()}, "reason": {"checked the statement"}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=linked", p.location())
	p = c.get(p.location())
	require.Equal(t, "Evidence linked to the case.", p.text("notice"))
	require.Equal(t, "Matched", strings.TrimSpace(regexp.MustCompile(`id="case-verdict"><span[^>]*></span>([^<]*)<`).FindStringSubmatch(p.Body)[1]))
	require.Contains(t, p.Body, "Linked by hand: checked the statement")
	require.Contains(t, b.caseEvents(case1), "match_link.created by "+actor)

	// The leg is taken: linking it to the other case is refused.
	p2 := c.post("/console/cases/"+case2.String()+"/links", url.Values{"csrf_token": {token}, "flow_leg_id": {leg.String()}})
	requireHTML(t, p2, http.StatusConflict)
	require.Equal(t, "The flow leg is linked to case "+case1.String()+"; unlink it there first.", p2.text("error"))

	var linkID string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		"SELECT id FROM match_links WHERE case_id = $1 AND status = 'active'", case1).Scan(&linkID))
	require.Contains(t, p.Body, `action="/console/cases/`+case1.String()+`/links/`+linkID+`/unlink"`)
	p = c.post(path+"/links/"+linkID+"/unlink", url.Values{"csrf_token": {token}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(t, path+"?notice=unlinked", p.location())
	p = c.get(p.location())
	require.Equal(t, "Evidence unlinked from the case.", p.text("notice"))
	require.Equal(t, "No evidence is attached to this case yet.", p.text("no-legs"))
	require.Contains(t, b.caseEvents(case1), "match_link.removed by "+actor)

	// Unlinking it again: the link has ended.
	p = c.post(path+"/links/"+linkID+"/unlink", url.Values{"csrf_token": {token}})
	requireHTML(t, p, http.StatusConflict)
	require.Equal(t, "The match link is unlinked; only an active or suggested link can be removed.", p.text("error"))
	requireHTML(t, c.post(path+"/links/"+uuid.NewString()+"/unlink", url.Values{"csrf_token": {token}}), http.StatusNotFound)
}

// Another organization's case is not found, to read or to act on, and
// nothing changes.
func TestConsoleCasesOfAnotherOrganization(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	theirs := b.shortCase(other, "their_order")
	before := b.caseRow(other, theirs)
	c, _ := b.casesUser(acme, "ops@acme.example")
	token := c.get("/console/cases").csrf()
	require.NotEmpty(t, token)

	path := "/console/cases/" + theirs.String()
	p := c.get(path)
	requireHTML(t, p, http.StatusNotFound)
	require.Equal(t, "Page not found", p.text("error-title"))
	require.NotContains(t, p.Body, "their_order")
	for _, action := range []string{"notes", "resolve", "reopen", "archive", "rerun", "links", "links/" + uuid.NewString() + "/unlink"} {
		form := url.Values{"csrf_token": {token}, "note": {"mine now"}, "flow_leg_id": {uuid.NewString()}}
		p := c.post(path+"/"+action, form)
		requireHTML(t, p, http.StatusNotFound)
		require.Equal(t, "Page not found", p.text("error-title"), action)
	}
	after := b.caseRow(other, theirs)
	require.Equal(t, before.Version, after.Version)
	require.Equal(t, before.Status, after.Status)
	require.Nil(t, after.Notes)

	// Nor do their cases show in the list, even by their reference.
	p = c.get("/console/cases?externalReference=their_order")
	require.Equal(t, "No case matches these filters.", p.text("no-cases"))
}

// Action forms without the session's token are refused before anything
// runs.
func TestConsoleCaseActionsNeedCSRFToken(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme")
	id := b.shortCase(acme, "order_csrf")
	c, _ := b.casesUser(acme, "ops@acme.example")
	path := "/console/cases/" + id.String()
	token := c.get(path).csrf()
	before := b.caseRow(acme, id)

	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"no token", url.Values{"reason": {"x"}}, nil},
		{"a wrong token", url.Values{"csrf_token": {strings.Repeat("A", 43)}}, nil},
		{"from another site", url.Values{"csrf_token": {token}}, []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		p := c.post(path+"/resolve", tc.form, tc.headers...)
		requireHTML(t, p, http.StatusForbidden)
		require.Equal(t, "Forbidden", p.text("error-title"), tc.name)
		p = c.post(path+"/notes", withToken(url.Values{"note": {"forged"}}, tc.form.Get("csrf_token")), tc.headers...)
		requireHTML(t, p, http.StatusForbidden)
	}
	after := b.caseRow(acme, id)
	require.Equal(t, before.Version, after.Version)
	require.Equal(t, "open", after.Status)
	require.Nil(t, after.Notes)
	require.NotContains(t, strings.Join(b.caseEvents(id), ","), "case.resolved")
}

func TestConsoleAuditPage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme"), b.org("Other")
	id := b.shortCase(acme, "order_audit")
	b.kase(acme, "plain", "")
	theirs := b.shortCase(other, "their_order")
	c, u := b.casesUser(acme, "ops@acme.example")
	token := c.get("/console/cases/" + id.String()).csrf()
	p := c.post("/console/cases/"+id.String()+"/notes", url.Values{"csrf_token": {token}, "note": {"Checked with <b>finance</b>."}})
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.Contains(t, b.caseEvents(id), "case.note_added by user:"+u.ID.String())

	var total int
	require.NoError(t, b.pool.QueryRow(context.Background(), "SELECT count(*) FROM audit_events WHERE organization_id = $1", acme).Scan(&total))
	p = c.get("/console/audit")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `<a href="/console/audit" aria-current="page">Audit</a>`)
	require.Contains(t, p.Body, `<form method="get" action="/console/audit"`)
	require.Contains(t, p.Body, "<caption>Audit events, newest first</caption>")
	require.Equal(t, strconv.Itoa(total)+" events in all.", p.text("event-count"))
	require.Contains(t, p.Body, "Checked with &lt;b&gt;finance&lt;/b&gt;.", "escaped")
	require.Contains(t, p.Body, "You (ops@acme.example)")
	require.NotContains(t, p.Body, theirs.String())
	require.Regexp(t, `(?s)<tbody>\s*<tr>\s*<th scope="row" class="nowrap"><time[^>]*>[^<]*</time></th>\s*<td class="event-type">case.note_added</td>`, p.Body, "newest first")

	p = c.get("/console/audit?caseId=" + id.String() + "&eventType=case.note_added")
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "1 event matches these filters.", p.text("event-count"))
	require.Equal(t, 1, strings.Count(p.Body, `<td class="event-type">`))
	require.Contains(t, p.Body, `value="`+id.String()+`"`, "the form shows the filter")

	// Another organization's case: nothing, as if it did not exist.
	p = c.get("/console/audit?caseId=" + theirs.String())
	requireHTML(t, p, http.StatusOK)
	require.Equal(t, "No event matches these filters.", p.text("no-events"))

	p = c.get("/console/audit?caseId=123&paymentIntentId=nope")
	requireHTML(t, p, http.StatusBadRequest)
	require.Contains(t, p.Body, "Case id: &#34;123&#34; is not an id")
	require.Contains(t, p.Body, "Payment intent id: &#34;nope&#34; is not an id")

	// Pages: 25 at a time, the next by keyset, none twice.
	for i := range 30 {
		b.kase(acme, "bulk-"+strconv.Itoa(i), "")
	}
	row := regexp.MustCompile(`<td><a href="/console/cases/([0-9a-f-]{36})" aria-label`)
	seen := map[string]bool{}
	path, pages := "/console/audit?eventType=payment_intent.created", 0
	for path != "" {
		p := c.get(path)
		requireHTML(t, p, http.StatusOK)
		for _, m := range row.FindAllStringSubmatch(p.Body, -1) {
			require.False(t, seen[m[1]], "listed twice: %s", m[1])
			seen[m[1]] = true
		}
		path = p.pagerHref("next-page")
		pages++
	}
	require.Equal(t, 2, pages)
	require.Len(t, seen, 32, "one intent created per case: 2 cases, then 30")
}
