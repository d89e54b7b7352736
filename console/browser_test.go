package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/browsertest"
)

// text reads the text of the element sel on the page.
func text(t *testing.T, p *browsertest.Page, sel string) string {
	t.Helper()
	s, err := chromedp.Run(p.Ctx, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(t, err, sel)
	return strings.TrimSpace(s)
}

func location(t *testing.T, p *browsertest.Page) string {
	t.Helper()
	loc, err := chromedp.Run(p.Ctx, chromedp.Location())
	require.NoError(t, err)
	return loc
}

// Headless chromium signs in with the keyboard, reads the overview, signs
// out, and the cookie it had no longer opens anything.
func TestConsoleInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme, other := b.org("Acme Payments"), b.org("Other")
	b.user(acme, "ops@acme.example", password)
	b.kase(acme, "plain", "")
	b.kase(acme, "matched-1", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved'")
	b.kase(acme, "matched-2", "verdict = 'matched', reconciliation_status = 'reconciled', status = 'resolved', created_at = now() - interval '2 days'")
	b.kase(acme, "review", "verdict = 'needs_review', exception_type = 'amount_mismatch', created_at = now() - interval '5 days'")
	b.kase(acme, "late", "verdict = 'sla_risk', sla_risk = true, created_at = now() - interval '1 day'")
	b.kase(other, "not-ours", "verdict = 'matched', reconciliation_status = 'reconciled'")
	b.importBatch(acme, "march-statement.csv", "failed", "row 1: no header named amount")

	p := browsertest.New(t)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console")))
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	require.Equal(t, b.srv.URL+"/console/login", location(t, p), "sent to sign in")
	require.Equal(t, "Sign in", text(t, p, "h1"))
	p.Screenshot("sign-in")

	// The email field has the focus: type, tab to the password, Enter.
	_, err := chromedp.RunResponse(p.Ctx,
		chromedp.KeyEvent("ops@acme.example"),
		chromedp.KeyEvent(kb.Tab),
		chromedp.KeyEvent(password),
		chromedp.KeyEvent(kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#count-total"))))
	require.Equal(t, b.srv.URL+"/console", location(t, p))
	require.Equal(t, "Overview", text(t, p, "h1"))
	require.Equal(t, "Acme Payments", text(t, p, "#org-name"))
	require.Equal(t, "ops@acme.example", text(t, p, "#user-email"))
	for sel, want := range map[string]string{
		"#count-total": "5", "#count-open": "3", "#count-needs-review": "1", "#count-exceptions": "1", "#count-sla-risk": "1",
		"#verdict-matched": "2", "#verdict-needs_review": "1", "#verdict-sla_risk": "1", "#verdict-none": "1",
		"#status-reconciled": "2", "#status-unreconciled": "3", "#exception-amount_mismatch": "1",
	} {
		require.Equal(t, want, text(t, p, sel), sel)
	}
	require.Contains(t, text(t, p, "#import-failures"), "march-statement.csv")
	bars, err := chromedp.Run(p.Ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart rect").length`))
	require.NoError(t, err)
	require.Equal(t, 5, bars, "one segment per day and verdict with cases")
	p.Screenshot("overview")

	// The data table behind the chart opens from the keyboard too.
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Focus(chromedp.CSS("summary")), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#chart-table"))))
	p.Screenshot("overview-table")

	cookies, err := chromedp.Call(p.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.srv.URL + "/console"}})
	require.NoError(t, err)
	var old string
	for _, ck := range cookies.Cookies {
		if ck.Name == "reconlayer_console" {
			old = ck.Value
			require.True(t, ck.HTTPOnly)
		}
	}
	require.Len(t, old, 43)

	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS("#sign-out")))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	require.Equal(t, b.srv.URL+"/console/login?notice=signed_out", location(t, p))
	require.Equal(t, "You have signed out.", text(t, p, "#notice"))
	p.Screenshot("signed-out")

	// Back to the overview: the sign-in page again.
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console"), chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	require.Equal(t, b.srv.URL+"/console/login", location(t, p))
	// The cookie the browser had, sent again by hand, opens nothing.
	resp := b.client().get("/console", "Cookie", "reconlayer_console="+old)
	require.Equal(t, http.StatusSeeOther, resp.Status)
	require.Equal(t, "/console/login?notice=session_ended", resp.location())

	require.Empty(t, p.OffOrigin(b.srv.URL), "requests that left the server's origin")
	require.Empty(t, p.Errors(), "console errors, exceptions, CSP violations")
	for _, r := range p.Requests() {
		require.NotEqual(t, "Script", r.Type, "the console serves no script: %s", r.URL)
	}
}

// A one-time password leads to the "choose a new password" page first.
func TestConsoleMustChangePasswordInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, oneTime := b.user(b.org("Acme Payments"), "new@acme.example", "")

	p := browsertest.New(t)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	_, err := chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "new@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), oneTime+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#change-password"))))
	require.Equal(t, b.srv.URL+"/console/password", location(t, p))
	require.Equal(t, "Choose a new password", text(t, p, "h1"))
	require.Contains(t, text(t, p, "#must-change"), "one-time password")
	p.Screenshot("choose-password")

	// Elsewhere first? Back here.
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console"), chromedp.WaitVisible(chromedp.CSS("#change-password"))))
	require.Equal(t, b.srv.URL+"/console/password", location(t, p))

	// A confirmation that differs is refused, with the reason.
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#current_password"), oneTime),
		chromedp.SendKeys(chromedp.CSS("#new_password"), "my own passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm_password"), "my own passphrose"+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#error"))))
	require.Equal(t, "The new password and its confirmation differ.", text(t, p, "#error"))
	p.Screenshot("confirmation-differs")

	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#current_password"), oneTime),
		chromedp.SendKeys(chromedp.CSS("#new_password"), "my own passphrase"),
		chromedp.SendKeys(chromedp.CSS("#confirm_password"), "my own passphrase"+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#count-total"))))
	require.Equal(t, b.srv.URL+"/console?notice=password_changed", location(t, p))
	require.Equal(t, "Your password has been changed.", text(t, p, "#notice"))
	require.Equal(t, "0", text(t, p, "#count-total"))
	p.Screenshot("overview-after-change")

	require.Empty(t, p.OffOrigin(b.srv.URL))
	// The refused confirmation answered 400, which chromium logs.
	for _, m := range p.Errors() {
		require.True(t, m.Kind == "log:network" && strings.Contains(m.Text, "status of 400") && strings.HasSuffix(m.URL, "/console/password"), "unexpected: %s", m)
	}
}
