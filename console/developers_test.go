package console_test

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	pg "github.com/reconlayer/reconlayer/internal/page"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

var (
	formIDInput  = regexp.MustCompile(`<input type="hidden" name="form_id" value="([^"]*)">`)
	plaintextKey = regexp.MustCompile(`rl_live_[A-Za-z0-9_-]{43}`)
	signingKey   = regexp.MustCompile(`whsec_[A-Za-z0-9+/=]{44}`)
)

// formID is the one-time id of the page's first form that has one.
func (p page) formID() string {
	m := formIDInput.FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return m[1]
}

// devUser is a signed-in client of a new organization, and the organization.
func (b *bundle) devUser(org string) (*client, uuid.UUID) {
	b.t.Helper()
	id := b.org(org)
	email := strings.ToLower(strings.ReplaceAll(org, " ", "")) + "@example.com"
	b.user(id, email, password)
	c := b.client()
	c.mustSignIn(email, password)
	return c, id
}

func (b *bundle) apiKeys(org uuid.UUID) []db.APIKey {
	b.t.Helper()
	keys, err := b.q.ListAPIKeys(context.Background(), db.ListAPIKeysParams{OrganizationID: org, AfterCreatedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), AfterID: uuid.Max, Lim: 100})
	require.NoError(b.t, err)
	return keys
}

func TestConsoleAPIKeys(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, acme := b.devUser("Acme")
	o, other := b.devUser("Other")

	p := c.get("/console/api-keys")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `<a href="/console/api-keys" aria-current="page">API keys</a>`)
	require.Equal(t, "This organization has no API key yet.", p.text("no-keys"))
	for _, scope := range []string{"payment_intents:read", "expected_payments:write"} {
		require.Contains(t, p.Body, `value="`+scope+`"`, "a checkbox per scope")
	}
	formID := p.formID()
	require.Len(t, formID, 43)

	// Nothing valid: every field says why, and nothing is created.
	bad := url.Values{"csrf_token": {p.csrf()}, "form_id": {formID}, "name": {"  "}, "expiresOn": {"2001-02-03"}}
	r := c.post("/console/api-keys", bad)
	requireHTML(t, r, http.StatusBadRequest)
	require.Equal(t, "The key was not created: correct the fields marked below.", r.text("form-error"))
	require.Equal(t, "Required; must not be blank.", r.text("key-name-error"))
	require.Equal(t, "Choose at least one scope.", r.text("key-scopes-error"))
	require.Equal(t, "Must be in the future.", r.text("key-expires-error"))
	require.Contains(t, r.Body, `aria-invalid="true"`)
	require.Equal(t, formID, r.formID(), "a refused form keeps its id: it made nothing")
	bad.Set("name", "ok")
	bad.Set("expiresOn", "tomorrow")
	bad["scopes"] = []string{"payment_intents:read", "root"}
	r = c.post("/console/api-keys", bad)
	requireHTML(t, r, http.StatusBadRequest)
	require.Contains(t, r.text("key-scopes-error"), `Unknown scope "root"`, "the api's own check")
	require.Contains(t, r.text("key-expires-error"), "YYYY-MM-DD")
	require.Empty(t, b.apiKeys(acme))

	// Created: the plaintext is on this answer, and only on it.
	expires := time.Now().UTC().AddDate(0, 1, 0).Format(time.DateOnly)
	form := url.Values{"csrf_token": {p.csrf()}, "form_id": {formID}, "name": {"Payouts service"},
		"scopes": {"reconciliation_cases:read", "payment_intents:write"}, "expiresOn": {expires}}
	r = c.post("/console/api-keys", form)
	requireHTML(t, r, http.StatusCreated)
	requireCSRFInEveryForm(t, r)
	plain := plaintextKey.FindString(r.Body)
	require.NotEmpty(t, plain, r.Body)
	require.Equal(t, 1, strings.Count(r.Body, plain), "shown once on the page")
	require.Contains(t, r.Body, "Copy this key now.")
	require.NotEqual(t, formID, r.formID(), "the next key gets a new form")
	keys := b.apiKeys(acme)
	require.Len(t, keys, 1)
	k := keys[0]
	require.Equal(t, "Payouts service", k.Name)
	require.Equal(t, []string{"reconciliation_cases:read", "payment_intents:write"}, k.Scopes)
	require.Equal(t, plain[:16], k.Prefix)
	require.NotNil(t, k.ExpiresAt)
	require.Equal(t, expires, k.ExpiresAt.UTC().AddDate(0, 0, -1).Format(time.DateOnly), "valid through the day chosen")
	require.NotNil(t, k.CreatedByUserID)
	require.Equal(t, k.Prefix, r.text("key-prefix-"+k.ID.String()))
	require.Equal(t, "reconciliation_cases:read, payment_intents:write", r.text("key-scopes-"+k.ID.String()))
	require.Equal(t, "active", r.text("key-status-"+k.ID.String()))

	// The key works against the api, with its scopes.
	api := b.client()
	require.Equal(t, http.StatusOK, api.get("/v1/reconciliation-cases", "Authorization", "Bearer "+plain).Status)
	require.Equal(t, http.StatusForbidden, api.get("/v1/payment-intents", "Authorization", "Bearer "+plain).Status)

	// The list again, or the same form sent again (a reload of the answer):
	// no plaintext, and no second key.
	p = c.get("/console/api-keys")
	requireHTML(t, p, http.StatusOK)
	require.NotContains(t, p.Body, plain)
	require.Contains(t, p.Body, k.Prefix)
	r = c.post("/console/api-keys", form)
	requireHTML(t, r, http.StatusConflict)
	require.Contains(t, r.text("form-error"), "This form was already sent")
	require.False(t, plaintextKey.MatchString(r.Body))
	require.Len(t, b.apiKeys(acme), 1)
	require.NotEqual(t, formID, r.formID(), "a blank form to create another")
	require.NotContains(t, r.Body, `value="Payouts service"`)

	// Another organization sees none of it.
	p = o.get("/console/api-keys")
	require.NotContains(t, p.Body, k.Prefix)
	requireHTML(t, o.get("/console/api-keys/"+k.ID.String()+"/revoke"), http.StatusNotFound)
	requireHTML(t, o.post("/console/api-keys/"+k.ID.String()+"/revoke", url.Values{"csrf_token": {p.csrf()}}), http.StatusNotFound)
	requireHTML(t, c.get("/console/api-keys/not-a-uuid/revoke"), http.StatusNotFound)
	require.Empty(t, b.apiKeys(other))

	// Without the CSRF token, nothing happens.
	noToken := url.Values{"form_id": {p.formID()}, "name": {"Sneaky"}, "scopes": {"exports:read"}}
	requireHTML(t, c.post("/console/api-keys", noToken), http.StatusForbidden)
	requireHTML(t, c.post("/console/api-keys/"+k.ID.String()+"/revoke", url.Values{}), http.StatusForbidden)
	require.Len(t, b.apiKeys(acme), 1)
	require.Nil(t, b.apiKeys(acme)[0].RevokedAt)
	require.Equal(t, http.StatusOK, api.get("/v1/reconciliation-cases", "Authorization", "Bearer "+plain).Status)

	// Revoking: a confirmation, then the key stops working at once.
	p = c.get("/console/api-keys/" + k.ID.String() + "/revoke")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `Revoke API key “Payouts service”</button>`)
	r = c.post("/console/api-keys/"+k.ID.String()+"/revoke", url.Values{"csrf_token": {p.csrf()}})
	require.Equal(t, http.StatusSeeOther, r.Status, r.Body)
	require.Equal(t, "/console/api-keys?notice=key_revoked", r.location())
	p = c.get(r.location())
	require.Equal(t, "revoked", p.text("key-status-"+k.ID.String()))
	require.Contains(t, p.text("notice"), "API key revoked")
	require.NotContains(t, p.Body, `id="revoke-`+k.ID.String()+`"`, "nothing left to revoke")
	require.Equal(t, http.StatusUnauthorized, api.get("/v1/reconciliation-cases", "Authorization", "Bearer "+plain).Status)
	p = c.get("/console/api-keys/" + k.ID.String() + "/revoke")
	require.Contains(t, p.text("already-revoked"), "already revoked")
}

// webhookService is the endpoint service on a Redis of the test's own
// (its sends are queued, never run).
func (b *bundle) webhookService() *webhook.Service {
	rdb, _ := dbtest.Redis(b.t)
	return webhook.NewService(b.pool, webhook.NewEnqueuer(asynq.NewClientFromRedisClient(rdb), time.Second), slog.New(slog.DiscardHandler))
}

func (b *bundle) endpointSecret(id uuid.UUID) string {
	b.t.Helper()
	var s string
	require.NoError(b.t, b.pool.QueryRow(context.Background(), "SELECT secret FROM webhook_endpoints WHERE id = $1", id).Scan(&s))
	return s
}

func TestConsoleWebhooks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, acme := b.devUser("Acme")
	o, other := b.devUser("Other")
	hooks := b.webhookService()
	ctx := context.Background()

	p := c.get("/console/webhooks")
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Equal(t, "This organization sends no webhooks yet.", p.text("no-endpoints"))
	token, formID := p.csrf(), p.formID()

	// The api's URL policy: no private addresses, https only.
	form := url.Values{"csrf_token": {token}, "form_id": {formID}, "url": {"https://10.1.2.3/hooks"}, "description": {"Ledger sync"}}
	r := c.post("/console/webhooks", form)
	requireHTML(t, r, http.StatusBadRequest)
	require.Contains(t, r.text("endpoint-url-error"), "private")
	require.Equal(t, "Choose at least one event type, or all events.", r.text("endpoint-events-error"))
	require.Contains(t, r.Body, `value="Ledger sync"`, "what was typed is kept")
	form.Set("url", "http://hooks.acme.example/reconlayer")
	form["subscribedEvents"] = []string{"reconciliation_case.reconciled", "no.such_event"}
	r = c.post("/console/webhooks", form)
	requireHTML(t, r, http.StatusBadRequest)
	require.Contains(t, r.text("endpoint-url-error"), "https")
	require.Contains(t, r.text("endpoint-events-error"), `Unknown event type "no.such_event"`)
	n, err := b.q.CountWebhookEndpoints(ctx, db.CountWebhookEndpointsParams{OrganizationID: acme})
	require.NoError(t, err)
	require.Zero(t, n)

	// Created: the signing secret is on this answer only.
	form.Set("url", "https://hooks.acme.example/reconlayer")
	form["subscribedEvents"] = []string{"reconciliation_case.reconciled", "reconciliation_case.exception"}
	r = c.post("/console/webhooks", form)
	requireHTML(t, r, http.StatusCreated)
	requireCSRFInEveryForm(t, r)
	secret := signingKey.FindString(html.UnescapeString(r.Body)) // the template escapes + and = in the attribute
	require.NotEmpty(t, secret, r.Body)
	require.Equal(t, 1, strings.Count(html.UnescapeString(r.Body), secret))
	rows, _, err := hooks.List(ctx, acme, nil, pg.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	e := rows[0]
	require.Equal(t, secret, b.endpointSecret(e.ID))
	require.Equal(t, []string{"reconciliation_case.reconciled", "reconciliation_case.exception"}, e.SubscribedEvents)
	require.Equal(t, "Ledger sync", *e.Description)
	r = c.post("/console/webhooks", form)
	requireHTML(t, r, http.StatusConflict)
	require.False(t, signingKey.MatchString(html.UnescapeString(r.Body)))
	n, err = b.q.CountWebhookEndpoints(ctx, db.CountWebhookEndpointsParams{OrganizationID: acme})
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "a reload makes no second endpoint")
	p = c.get("/console/webhooks")
	require.NotContains(t, p.Body, secret)
	require.Equal(t, "active", p.text("endpoint-status-"+e.ID.String()))

	// The endpoint's page: a delivery, replayed.
	d, err := hooks.Test(ctx, acme, e.ID, nil)
	require.NoError(t, err)
	hookPage := "/console/webhooks/" + e.ID.String()
	p = c.get(hookPage)
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.NotContains(t, p.Body, secret)
	require.Equal(t, "pending", p.text("delivery-status-"+d.ID.String()))
	require.Equal(t, "0", p.text("delivery-attempts-"+d.ID.String()))
	replay := hookPage + "/deliveries/" + d.ID.String() + "/replay"
	r = c.post(replay, url.Values{"csrf_token": {token}})
	require.Equal(t, http.StatusSeeOther, r.Status, r.Body)
	require.Equal(t, hookPage+"?notice=delivery_replayed", r.location())
	require.Contains(t, c.get(r.location()).text("notice"), "Replay queued")

	// Rotation: a new secret, shown once; the old one still signs a while.
	rotate := url.Values{"csrf_token": {token}, "form_id": {p.formID()}}
	r = c.post(hookPage+"/rotate-secret", rotate)
	requireHTML(t, r, http.StatusOK)
	newSecret := signingKey.FindString(html.UnescapeString(r.Body))
	require.NotEmpty(t, newSecret)
	require.NotEqual(t, secret, newSecret)
	require.Equal(t, newSecret, b.endpointSecret(e.ID))
	require.Contains(t, r.text("previous-secret"), "Still signs until")
	r = c.post(hookPage+"/rotate-secret", rotate)
	requireHTML(t, r, http.StatusConflict)
	require.False(t, signingKey.MatchString(html.UnescapeString(r.Body)))
	require.Equal(t, newSecret, b.endpointSecret(e.ID), "a reload does not rotate again")

	// Another organization's endpoint and delivery are not there, and
	// a delivery is only found under its own endpoint.
	op := o.get("/console/webhooks")
	require.NotContains(t, op.Body, "hooks.acme.example")
	requireHTML(t, o.get(hookPage), http.StatusNotFound)
	requireHTML(t, o.post(hookPage+"/rotate-secret", url.Values{"csrf_token": {op.csrf()}, "form_id": {op.formID()}}), http.StatusNotFound)
	requireHTML(t, o.post(replay, url.Values{"csrf_token": {op.csrf()}}), http.StatusNotFound)
	require.Equal(t, newSecret, b.endpointSecret(e.ID))
	second, err := hooks.Create(ctx, webhook.CreateInput{OrganizationID: acme, URL: "https://second.acme.example/", SubscribedEvents: []string{"*"}}, nil)
	require.NoError(t, err)
	requireHTML(t, c.post("/console/webhooks/"+second.Endpoint.ID.String()+"/deliveries/"+d.ID.String()+"/replay", url.Values{"csrf_token": {token}}), http.StatusNotFound)
	n, err = b.q.CountWebhookEndpoints(ctx, db.CountWebhookEndpointsParams{OrganizationID: other})
	require.NoError(t, err)
	require.Zero(t, n)

	// Without the CSRF token, nothing happens.
	form.Set("form_id", c.get("/console/webhooks").formID())
	form.Del("csrf_token")
	requireHTML(t, c.post("/console/webhooks", form), http.StatusForbidden)
	requireHTML(t, c.post(hookPage+"/rotate-secret", url.Values{"form_id": {c.get(hookPage).formID()}}), http.StatusForbidden)
	requireHTML(t, c.post(replay, url.Values{}), http.StatusForbidden)
	require.Equal(t, newSecret, b.endpointSecret(e.ID))
	n, err = b.q.CountWebhookEndpoints(ctx, db.CountWebhookEndpointsParams{OrganizationID: acme})
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
}

func TestConsoleRules(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, acme := b.devUser("Acme")
	o, other := b.devUser("Other")
	rules := ruleset.New(b.pool)
	ctx := context.Background()
	mk := func(org uuid.UUID, name string, priority int32) db.ReconciliationRule {
		r := rule.Default(rule.PaymentBank)
		r.Name, r.Priority = name, priority
		row, err := rules.Create(ctx, org, r, nil)
		require.NoError(t, err)
		return row
	}
	late, first, middle := mk(acme, "late", 30), mk(acme, "first", 10), mk(acme, "middle", 20)
	theirs := mk(other, "theirs", 1)

	p := c.get("/console/rules")
	requireHTML(t, p, http.StatusOK)
	require.Regexp(t, `(?s)id="rule-`+first.ID.String()+`".*id="rule-`+middle.ID.String()+`".*id="rule-`+late.ID.String()+`"`, p.Body, "by priority")
	require.NotContains(t, p.Body, "theirs")

	edit := "/console/rules/" + middle.ID.String()
	p = c.get(edit)
	requireHTML(t, p, http.StatusOK)
	requireCSRFInEveryForm(t, p)
	require.Contains(t, p.Body, `name="priority" value="20"`)
	form := url.Values{"csrf_token": {p.csrf()}, "priority": {"5"}, "amountTolerance": {"0.50"}, "amountToleranceBps": {"25"},
		"timeWindowMinutes": {"90"}, "expectedCompletionMinutes": {"600"}, "slaRiskThresholdPercent": {"75"},
		"delayedSettlementThresholdMinutes": {"300"}}

	// Invalid values: every field at fault says why, nothing changes.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("priority", "-1")
	bad.Set("amountTolerance", "1e3")
	bad.Set("amountToleranceBps", "20000")
	bad.Set("timeWindowMinutes", "ninety")
	bad.Set("slaRiskThresholdPercent", "0")
	r := c.post(edit, bad)
	requireHTML(t, r, http.StatusBadRequest)
	require.Equal(t, "The rule was not saved: correct the fields marked below.", r.text("form-error"))
	for field, msg := range map[string]string{
		"priority":                "Must be from 0 to 1000000 (lower runs first).",
		"amountTolerance":         "Must not use exponent notation.",
		"amountToleranceBps":      "Must be from 0 to 10000 basis points.",
		"timeWindowMinutes":       "Must be a whole number.",
		"slaRiskThresholdPercent": "Must be from 1 to 100.",
	} {
		require.Equal(t, msg, r.text("rule-"+field+"-error"), field)
	}
	require.Empty(t, r.text("rule-expectedCompletionMinutes-error"))
	require.Contains(t, r.Body, `name="timeWindowMinutes" value="ninety"`, "what was typed is kept")
	stored, err := rules.Get(ctx, acme, middle.ID)
	require.NoError(t, err)
	require.Equal(t, middle.UpdatedAt, stored.UpdatedAt, "nothing changed")

	// Valid: saved, and the list follows the new priority. isActive left
	// unticked deactivates it.
	r = c.post(edit, form)
	require.Equal(t, http.StatusSeeOther, r.Status, r.Body)
	require.Equal(t, "/console/rules?notice=rule_saved", r.location())
	stored, err = rules.Get(ctx, acme, middle.ID)
	require.NoError(t, err)
	got := ruleset.FromRow(stored)
	require.Equal(t, int32(5), got.Priority)
	require.True(t, decimal.RequireFromString("0.5").Equal(got.AmountTolerance))
	require.Equal(t, []int32{25, 90, 600, 75, 300}, []int32{got.AmountToleranceBps, got.TimeWindowMinutes, got.ExpectedCompletionMinutes,
		got.SLARiskThresholdPercent, got.DelayedSettlementThresholdMinutes})
	require.False(t, got.IsActive)
	require.Equal(t, "middle", got.Name, "what the form does not edit stays")
	require.Equal(t, []string{rule.LegProvider, rule.LegBank}, got.RequiredLegTypes)
	p = c.get(r.location())
	require.Contains(t, p.text("notice"), "Rule saved")
	require.Equal(t, "No", p.text("rule-active-"+middle.ID.String()))
	require.Regexp(t, `(?s)id="rule-`+middle.ID.String()+`".*id="rule-`+first.ID.String()+`"`, p.Body)
	form.Set("isActive", "true")
	require.Equal(t, http.StatusSeeOther, c.post(edit, form).Status)
	stored, err = rules.Get(ctx, acme, middle.ID)
	require.NoError(t, err)
	require.True(t, stored.IsActive)

	// Another organization's rule is not there; without the CSRF token
	// nothing happens.
	requireHTML(t, c.get("/console/rules/"+theirs.ID.String()), http.StatusNotFound)
	requireHTML(t, c.post("/console/rules/"+theirs.ID.String(), form), http.StatusNotFound)
	requireHTML(t, o.get(edit), http.StatusNotFound)
	form.Del("csrf_token")
	form.Set("priority", "7")
	requireHTML(t, c.post(edit, form), http.StatusForbidden)
	stored, err = rules.Get(ctx, acme, middle.ID)
	require.NoError(t, err)
	require.Equal(t, int32(5), stored.Priority)
	stored, err = rules.Get(ctx, other, theirs.ID)
	require.NoError(t, err)
	require.Equal(t, int32(1), stored.Priority)
}
