package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/browsertest"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/ruleset"
)

// Headless chromium creates an API key from the keyboard, sees its
// plaintext once, uses it against the api, and revokes it.
func TestConsoleAPIKeysInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme Payments")
	b.user(acme, "dev@acme.example", password)

	p := browsertest.New(t)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/api-keys"), chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	_, err := chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "dev@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), password+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#create-key"))))
	require.Equal(t, b.srv.URL+"/console/api-keys", location(t, p), "back where it was going")
	require.Equal(t, "API keys", text(t, p, "h1"))
	require.Equal(t, "API keys", text(t, p, `nav a[aria-current="page"]`))
	require.Equal(t, "This organization has no API key yet.", text(t, p, "#no-keys"))
	p.Screenshot("api-keys-empty")

	// Name, two scopes ticked with the space bar, Enter on the button.
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#key-name"), "Payouts service"),
		chromedp.Focus(chromedp.CSS(`input[name="scopes"][value="payment_intents:write"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS(`input[name="scopes"][value="reconciliation_cases:read"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS("#create-key-button")), chromedp.KeyEvent(kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#plaintext-key"))))
	plain, err := chromedp.Run(p.Ctx, chromedp.Value(chromedp.CSS("#plaintext-key")))
	require.NoError(t, err)
	require.Regexp(t, `^rl_live_[A-Za-z0-9_-]{43}$`, plain)
	html, err := chromedp.Run(p.Ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(html, plain), "the plaintext is on the page once")
	require.Contains(t, text(t, p, "#copy-now"), "Copy this key now.")
	keys := b.apiKeys(acme)
	require.Len(t, keys, 1)
	id := keys[0].ID.String()
	require.Equal(t, plain[:16], keys[0].Prefix)
	require.Equal(t, keys[0].Prefix, text(t, p, "#key-prefix-"+id))
	require.Equal(t, "payment_intents:write, reconciliation_cases:read", text(t, p, "#key-scopes-"+id))
	require.Equal(t, "active", text(t, p, "#key-status-"+id))
	p.Screenshot("api-key-created")

	// The key is a working credential for the api on the same router.
	api := b.client()
	require.Equal(t, http.StatusOK, api.get("/v1/reconciliation-cases", "Authorization", "Bearer "+plain).Status)

	// Reloading the answer posts the form again: it is refused, with no
	// plaintext and no second key; the list itself has no plaintext either.
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Reload())
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#create-key"))))
	html, err = chromedp.Run(p.Ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, plain)
	require.Contains(t, text(t, p, "#form-error"), "This form was already sent")
	require.Len(t, b.apiKeys(acme), 1)
	p.Screenshot("api-key-form-sent-again")
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/api-keys"), chromedp.WaitVisible(chromedp.CSS("#api-keys"))))
	html, err = chromedp.Run(p.Ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	require.NoError(t, err)
	require.NotContains(t, html, plain)
	require.Contains(t, html, keys[0].Prefix)
	p.Screenshot("api-keys-reloaded")

	// Revoke: a confirmation page, then the key is refused by the api.
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS("#revoke-"+id)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#revoke-key"))))
	require.Equal(t, `Revoke API key “Payouts service”`, text(t, p, "h1"))
	p.Screenshot("api-key-revoke-confirm")
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS("#revoke-key-button")))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#api-keys"))))
	require.Equal(t, b.srv.URL+"/console/api-keys?notice=key_revoked", location(t, p))
	require.Contains(t, text(t, p, "#notice"), "API key revoked")
	require.Equal(t, "revoked", text(t, p, "#key-status-"+id))
	p.Screenshot("api-key-revoked")
	require.Equal(t, http.StatusUnauthorized, api.get("/v1/reconciliation-cases", "Authorization", "Bearer "+plain).Status)

	require.Empty(t, p.OffOrigin(b.srv.URL), "requests that left the server's origin")
	for _, r := range p.Requests() {
		require.NotEqual(t, "Script", r.Type, "the console serves no script: %s", r.URL)
	}
	// The form sent again answered 409, which chromium logs.
	for _, m := range p.Errors() {
		require.True(t, m.Kind == "log:network" && strings.Contains(m.Text, "status of 409") && strings.HasSuffix(m.URL, "/console/api-keys"), "unexpected: %s", m)
	}
}

// Webhook endpoints and rules from the keyboard: a refused URL says why,
// the signing secret shows once, and a rule's form refuses a bad value
// before saving a good one.
func TestConsoleWebhooksAndRulesInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acme := b.org("Acme Payments")
	b.user(acme, "dev@acme.example", password)
	r := rule.Default(rule.PaymentStablecoin)
	r.Name, r.Priority = "Stablecoin payouts", 10
	stored, err := ruleset.New(b.pool).Create(context.Background(), acme, r, nil)
	require.NoError(t, err)

	p := browsertest.New(t)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/webhooks"), chromedp.WaitVisible(chromedp.CSS("#sign-in"))))
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#email"), "dev@acme.example"),
		chromedp.SendKeys(chromedp.CSS("#password"), password+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#create-endpoint"))))

	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.SendKeys(chromedp.CSS("#endpoint-url"), "https://192.168.1.10/hooks"),
		chromedp.Focus(chromedp.CSS(`input[name="subscribedEvents"][value="*"]`)), chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.CSS("#create-endpoint-button")), chromedp.KeyEvent(kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#endpoint-url-error"))))
	require.Contains(t, text(t, p, "#endpoint-url-error"), "private")
	p.Screenshot("webhook-url-refused")

	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.Clear(chromedp.CSS("#endpoint-url")),
		chromedp.SendKeys(chromedp.CSS("#endpoint-url"), "https://hooks.acme.example/reconlayer"+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#signing-secret"))))
	secret, err := chromedp.Run(p.Ctx, chromedp.Value(chromedp.CSS("#signing-secret")))
	require.NoError(t, err)
	require.Regexp(t, `^whsec_`, secret)
	p.Screenshot("webhook-created")

	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS("#created-endpoint-link")))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#rotate-secret"))))
	require.Equal(t, "Nothing has been sent to this endpoint yet.", text(t, p, "#no-deliveries"))
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS("#rotate-secret-button")))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#rotated-secret"))))
	rotated, err := chromedp.Run(p.Ctx, chromedp.Value(chromedp.CSS("#signing-secret")))
	require.NoError(t, err)
	require.Regexp(t, `^whsec_`, rotated)
	require.NotEqual(t, secret, rotated)
	p.Screenshot("webhook-secret-rotated")

	// Rules: the list, then the form with a bad value, then a good one.
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(b.srv.URL+"/console/rules"), chromedp.WaitVisible(chromedp.CSS("#rules"))))
	p.Screenshot("rules")
	_, err = chromedp.RunResponse(p.Ctx, chromedp.Click(chromedp.CSS(`a[href="/console/rules/`+stored.ID.String()+`"]`)))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#edit-rule"))))
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.Clear(chromedp.CSS("#rule-amountTolerance")),
		chromedp.SendKeys(chromedp.CSS("#rule-amountTolerance"), "-1"+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#rule-amountTolerance-error"))))
	require.Equal(t, "Must not be negative.", text(t, p, "#rule-amountTolerance-error"))
	p.Screenshot("rule-refused")
	_, err = chromedp.RunResponse(p.Ctx,
		chromedp.Clear(chromedp.CSS("#rule-amountTolerance")),
		chromedp.SendKeys(chromedp.CSS("#rule-amountTolerance"), "0.25"),
		chromedp.Clear(chromedp.CSS("#rule-priority")),
		chromedp.SendKeys(chromedp.CSS("#rule-priority"), "3"+kb.Enter),
	)
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(chromedp.CSS("#rules"))))
	require.Contains(t, text(t, p, "#notice"), "Rule saved")
	require.Equal(t, "3", text(t, p, "#rule-priority-"+stored.ID.String()))
	p.Screenshot("rule-saved")

	require.Empty(t, p.OffOrigin(b.srv.URL))
	for _, m := range p.Errors() {
		require.True(t, m.Kind == "log:network" && strings.Contains(m.Text, "status of 400"), "unexpected: %s", m)
	}
}
