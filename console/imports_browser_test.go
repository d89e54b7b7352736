package console_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/browsertest"
)

// Headless chromium opens an import batch with invalid rows and a ledger
// run, accepts a match and closes a line, from the keyboard.
func TestConsoleImportsAndRunsInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme Payments")
	b.user(acme, "ops@acme.example", password)
	batch := b.importFile(acme, "november.csv", []byte(bankCSV), true)
	run := b.runLedger(acme, "Operating books")

	p := browsertest.New(t)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	_, err := chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "ops@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), password+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#count-total"))))

	// Imports, from the navigation.
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(`nav a[href="/console/imports"]`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#batches"))))
	require.Equal(t, "Imports", text(t, p, "h1"))
	require.Contains(t, text(t, p, "#batch-"+batch.ID.String()), "november.csv")
	p.Screenshot("imports")

	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(`#batch-`+batch.ID.String()+` a`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#raw-records"))))
	require.Equal(t, b.srv.URL+"/console/imports/"+batch.ID.String(), location(t, p))
	require.Equal(t, "2", text(t, p, "#count-invalid"))
	require.Contains(t, text(t, p, "#row-3"), "12.3x")
	require.Contains(t, text(t, p, "#row-3"), "line 3")
	p.Screenshot("import-batch")

	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(`nav.tabs a[href*="validationStatus=invalid"]`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#raw-records"))))
	require.Contains(t, text(t, p, "#raw-records caption"), "2 invalid rows")
	p.Screenshot("import-batch-invalid-rows")

	// The run: accept the first match with the keyboard.
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/ledger-runs"), chromedp.WaitVisible(chromedp.CSS("#runs"))))
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(`#run-`+run.Run.ID.String()+` a`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#match-table"))))
	first := run.Matches[0].String()
	require.Equal(t, "Suggested", text(t, p, "#match-"+first+"-status"))
	p.Screenshot("ledger-run")

	_, err = chromedp.RunResponse(p.Ctx, chromedp.Focus(chromedp.CSS("#accept-"+first)), chromedp.KeyEvent(kb.Enter))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#notice"))))
	require.Equal(t, "Match accepted.", text(t, p, "#notice"))
	require.Equal(t, "Accepted", text(t, p, "#match-"+first+"-status"))
	require.Equal(t, b.srv.URL+"/console/ledger-runs/"+run.Run.ID.String()+"?notice=match_accepted#matches", location(t, p))
	p.Screenshot("match-accepted")

	// Close the line the books lack, with a reason.
	line := run.Items[2].String()
	_, err = chromedp.RunResponse(p.Ctx, chromedp.SendKeys(chromedp.CSS("#reason-"+line), "bank_fee"+kb.Enter))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#reopen-"+line))))
	require.Equal(t, "Line closed.", text(t, p, "#notice"))
	require.Equal(t, "Closed", text(t, p, "#item-"+line+"-status"))
	require.Equal(t, "bank_fee", text(t, p, "#item-"+line+"-reason"))
	p.Screenshot("line-closed")

	require.Empty(t, p.OffOrigin(b.srv.URL), "requests that left the server's origin")
	require.Empty(t, p.Errors(), "console errors, exceptions, CSP violations")
	for _, r := range p.Requests() {
		require.NotEqual(t, "Script", r.Type, "the console serves no script: %s", r.URL)
	}
}
