package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/page"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/validate"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// The Developers page group: API keys, webhook endpoints and
// reconciliation rules, through the services and the validation the api's
// routes for them use (/v1/api-keys, /v1/webhook-endpoints,
// /v1/reconciliation-rules).
//
// A new API key's plaintext and a webhook endpoint's signing secret exist
// only in the answer to the POST that made them: the page renders them in
// that answer (never in a URL, never stored, never cached: the console's
// pages are no-store). Those forms carry a one-time form id as well as the
// CSRF token, so that reloading the answer, which makes the browser post
// the form again, does not make a second key or rotate the secret again.

const (
	apiKeysPath  = Prefix + "/api-keys"
	webhooksPath = Prefix + "/webhooks"
	rulesPath    = Prefix + "/rules"

	// devPageSize is how many keys, endpoints, deliveries or rules a page
	// lists; older ones are a "next page" link away.
	devPageSize = 50

	// onceField carries a form's one-time id; a spent id is remembered for
	// onceTTL, longer than any session (and so any form) lives.
	onceField = "form_id"
	onceTTL   = 24 * time.Hour
)

// developers is what the page group needs beyond the other pages.
type developers struct {
	keys   *apikey.Service
	auth   *auth.Authenticator // told about revoked keys; nil: nothing to tell
	hooks  *webhook.Service
	policy egress.Policy
	rules  *ruleset.Service
	redis  redis.UniversalClient
}

func newDevelopers(d Deps) developers {
	return developers{
		keys: apikey.New(d.Pool), auth: d.Authenticator, hooks: d.Webhooks, policy: d.WebhookPolicy,
		rules: ruleset.New(d.Pool), redis: d.Redis,
	}
}

func (s *Console) routeDevelopers(in *gin.RouterGroup) {
	in.GET("/api-keys", s.apiKeysPage)
	in.POST("/api-keys", s.createAPIKey)
	in.GET("/api-keys/:id/revoke", s.revokeAPIKeyPage)
	in.POST("/api-keys/:id/revoke", s.revokeAPIKey)

	in.GET("/webhooks", s.webhooksPage)
	in.POST("/webhooks", s.createWebhook)
	in.GET("/webhooks/:id", s.webhookPage)
	in.POST("/webhooks/:id/rotate-secret", s.rotateWebhookSecret)
	in.POST("/webhooks/:id/deliveries/:delivery/replay", s.replayDelivery)

	in.GET("/rules", s.rulesPage)
	in.GET("/rules/:id", s.rulePage)
	in.POST("/rules/:id", s.updateRule)
}

// devNotices are the status lines the group's redirects show (?notice=key).
var devNotices = map[string]string{
	"key_revoked":       "API key revoked: requests made with it are refused from now on.",
	"delivery_replayed": "Replay queued: one more attempt is being sent now. Reload the page to see how it went.",
	"rule_saved":        "Rule saved. New evidence is matched and judged by it from now on.",
}

func devNotice(c *gin.Context) string { return devNotices[c.Query("notice")] }

// --- shared helpers --------------------------------------------------------

// devID reads the path parameter name; a malformed id names nothing (404).
func devID(c *gin.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, errNotFound
	}
	return id, nil
}

// devPager is an offset pager over a list of Total rows.
type devPager struct {
	From, To, Total int64
	Prev, Next      string // links; "" when there is no such page
}

// devOffset reads ?offset= (a row count, 0 when absent); false when it
// answered 400.
func (s *Console) devOffset(c *gin.Context) (int, bool) {
	raw := c.Query("offset")
	if raw == "" {
		return 0, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 || n > 1_000_000 {
		s.errorPage(c, http.StatusBadRequest)
		return 0, false
	}
	return n, true
}

func newDevPager(path string, offset, rows int, total int64) devPager {
	p := devPager{From: int64(offset) + 1, To: int64(offset + rows), Total: total}
	if rows == 0 {
		p.From = p.To
	}
	if offset > 0 {
		p.Prev = path
		if prev := offset - devPageSize; prev > 0 {
			p.Prev += "?offset=" + strconv.Itoa(prev)
		}
	}
	if int64(offset+rows) < total {
		p.Next = path + "?offset=" + strconv.Itoa(offset+rows)
	}
	return p
}

// fieldErrors files a validator's issues under their field, the first
// segment of the path (a scope's index names the scopes field); the first
// message of a field wins.
func fieldErrors(is validate.Issues) map[string]string {
	out := map[string]string{}
	for _, i := range is {
		field := ""
		if len(i.Path) > 0 {
			field = i.Path[0]
		}
		if _, ok := out[field]; !ok {
			out[field] = i.Message
		}
	}
	return out
}

// newFormID is a one-time form id.
func newFormID() (string, error) { return consoleauth.NewToken() }

// keepFormID keeps the id the form was sent with, when it has one: a form
// refused for its fields made nothing, and sent again corrected it is the
// same form.
func keepFormID(id *string, c *gin.Context) {
	if sent := c.PostForm(onceField); len(sent) == 43 {
		*id = sent
	}
}

// errFormSpent: a one-time form was sent again (a reload of its answer).
var errFormSpent = errors.New("form already sent")

// spendForm marks the one-time form id of the request as used; a form
// without one, or sent before, is errFormSpent. release undoes it when the
// change the form asked for did not happen.
func (s *Console) spendForm(c *gin.Context) (release func(), err error) {
	id := c.PostForm(onceField)
	if len(id) != 43 {
		return nil, errFormSpent
	}
	key := "console:form:" + id
	fresh, err := s.dev.redis.SetNX(c.Request.Context(), key, session(c).UserID.String(), onceTTL).Result()
	if err != nil {
		return nil, fmt.Errorf("spend form id: %w", err)
	}
	if !fresh {
		return nil, errFormSpent
	}
	return func() { s.dev.redis.Del(context.WithoutCancel(c.Request.Context()), key) }, nil
}

// choice is one checkbox of a set.
type choice struct {
	Value, Label string
	Checked      bool
}

// --- API keys ---------------------------------------------------------------

type apiKeysData struct {
	Keys    []keyRow
	Pager   devPager
	Form    keyForm
	Created *createdKey // only in the answer to the POST that made it
}

type keyRow struct {
	ID, Name, Prefix, Status string
	ScopeList                string // "a, b"
	CreatedAt                time.Time
	LastUsedAt, ExpiresAt    *time.Time
	RevokedAt                *time.Time
}

func keyRowOf(k db.APIKey, now time.Time) keyRow {
	return keyRow{ID: k.ID.String(), Name: k.Name, Prefix: k.Prefix, Status: auth.KeyStatus(k, now), ScopeList: strings.Join(k.Scopes, ", "),
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt}
}

// createdKey is a new key with its plaintext.
type createdKey struct {
	keyRow
	Plaintext string
}

// keyForm is the create form as filled in.
type keyForm struct {
	FormID    string
	Name      string
	Scopes    []choice
	ExpiresOn string            // YYYY-MM-DD, UTC; "" never expires
	Errors    map[string]string // by field: name, scopes, expiresAt
	Error     string            // about the form as a whole
}

func newKeyForm(name string, scopes []string, expiresOn string) (keyForm, error) {
	id, err := newFormID()
	f := keyForm{FormID: id, Name: name, ExpiresOn: expiresOn, Errors: map[string]string{}}
	for _, sc := range auth.AllScopes {
		f.Scopes = append(f.Scopes, choice{Value: sc, Label: sc, Checked: slices.Contains(scopes, sc)})
	}
	return f, err
}

func (s *Console) apiKeysPage(c *gin.Context) {
	form, err := newKeyForm("", nil, "")
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderAPIKeys(c, http.StatusOK, form, nil)
}

// renderAPIKeys answers the list of keys (a page of ?offset=) with the
// create form and, right after a create, the new key.
func (s *Console) renderAPIKeys(c *gin.Context, status int, form keyForm, created *createdKey) {
	offset, ok := s.devOffset(c)
	if !ok {
		return
	}
	keys, total, err := s.dev.keys.List(c.Request.Context(), principal(c).OrganizationID, page.Page{Limit: devPageSize, Offset: offset})
	if err != nil {
		s.fail(c, err)
		return
	}
	now := time.Now()
	d := apiKeysData{Form: form, Created: created, Pager: newDevPager(apiKeysPath, offset, len(keys), total)}
	for _, k := range keys {
		d.Keys = append(d.Keys, keyRowOf(k, now))
	}
	s.render(c, status, "apikeys.html", view{Title: "API keys", Section: "api-keys", Notice: devNotice(c), Data: d})
}

// createAPIKey is POST /console/api-keys: validated as the api validates
// POST /v1/api-keys; the answer shows the plaintext, once.
func (s *Console) createAPIKey(c *gin.Context) {
	name := strings.TrimSpace(c.PostForm("name"))
	scopes := c.PostFormArray("scopes")
	expiresOn := strings.TrimSpace(c.PostForm("expiresOn"))
	form, err := newKeyForm(name, scopes, expiresOn)
	if err != nil {
		s.fail(c, err)
		return
	}
	keepFormID(&form.FormID, c)

	p := principal(c)
	in := apikey.CreateInput{OrganizationID: p.OrganizationID, Name: name, Scopes: scopes, CreatedByUserID: &p.UserID}
	if in.Scopes == nil {
		in.Scopes = []string{} // no box ticked is no scope, not every scope as in the api
	}
	var dateProblem string
	if expiresOn != "" {
		day, err := time.Parse(time.DateOnly, expiresOn)
		if err != nil {
			dateProblem = "Enter a date as YYYY-MM-DD, or leave it empty for a key that never expires."
		} else {
			end := day.AddDate(0, 0, 1) // valid through that day, UTC
			in.ExpiresAt = &end
		}
	}
	form.Errors = fieldErrors(apikey.Validate(in, time.Now()))
	if len(scopes) == 0 {
		form.Errors["scopes"] = "Choose at least one scope."
	}
	if dateProblem != "" {
		form.Errors["expiresAt"] = dateProblem
	}
	if len(form.Errors) > 0 {
		form.Error = "The key was not created: correct the fields marked below."
		s.renderAPIKeys(c, http.StatusBadRequest, form, nil)
		return
	}

	release, err := s.spendForm(c)
	if errors.Is(err, errFormSpent) {
		// A blank form with a new id: this one did its work.
		fresh, ferr := newKeyForm("", nil, "")
		if ferr != nil {
			s.fail(c, ferr)
			return
		}
		fresh.Error = "This form was already sent, and the key it created is in the list above. Its secret was shown only once, " +
			"in the answer to that form; if it is lost, revoke that key and create another."
		s.renderAPIKeys(c, http.StatusConflict, fresh, nil)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	k, err := s.dev.keys.Create(c.Request.Context(), in, nil)
	if err != nil {
		release()
		s.fail(c, err)
		return
	}
	fresh, err := newKeyForm("", nil, "")
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderAPIKeys(c, http.StatusCreated, fresh, &createdKey{keyRow: keyRowOf(k.Key, time.Now()), Plaintext: k.Plaintext})
}

// revokeAPIKeyPage is the confirmation step: what revoking the key means,
// and the button that does it.
func (s *Console) revokeAPIKeyPage(c *gin.Context) {
	id, err := devID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	k, err := s.dev.keys.Get(c.Request.Context(), principal(c).OrganizationID, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.render(c, http.StatusOK, "apikeyrevoke.html", view{Title: "Revoke API key " + k.Name, Section: "api-keys", Data: keyRowOf(k, time.Now())})
}

// revokeAPIKey is POST /console/api-keys/{id}/revoke. The key stops
// working in this process at once (other api processes within
// auth.KeyCacheTTL); revoking a revoked key keeps its first revocation.
func (s *Console) revokeAPIKey(c *gin.Context) {
	id, err := devID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	if _, err := s.dev.keys.Revoke(c.Request.Context(), principal(c).OrganizationID, id); err != nil {
		s.fail(c, err)
		return
	}
	if s.dev.auth != nil {
		s.dev.auth.ForgetKey(id)
	}
	c.Redirect(http.StatusSeeOther, apiKeysPath+"?notice=key_revoked")
}

// --- Webhook endpoints -------------------------------------------------------

type webhooksData struct {
	Endpoints []db.WebhookEndpoint
	Pager     devPager
	Form      hookForm
	Created   *webhook.WithSecret // only in the answer to the POST that made it
}

// hookForm is the endpoint create form as filled in.
type hookForm struct {
	FormID      string
	URL         string
	Description string
	Events      []choice          // "*" first
	Errors      map[string]string // by field: url, description, subscribedEvents
	Error       string
}

func newHookForm(url, description string, events []string) (hookForm, error) {
	id, err := newFormID()
	f := hookForm{FormID: id, URL: url, Description: description, Errors: map[string]string{}}
	f.Events = append(f.Events, choice{Value: webhook.AllEvents, Label: "All events, including those added later", Checked: slices.Contains(events, webhook.AllEvents)})
	for _, e := range webhook.EventTypes {
		f.Events = append(f.Events, choice{Value: e, Label: e, Checked: slices.Contains(events, e)})
	}
	return f, err
}

func (s *Console) webhooksPage(c *gin.Context) {
	form, err := newHookForm("", "", nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderWebhooks(c, http.StatusOK, form, nil)
}

func (s *Console) renderWebhooks(c *gin.Context, status int, form hookForm, created *webhook.WithSecret) {
	offset, ok := s.devOffset(c)
	if !ok {
		return
	}
	rows, total, err := s.dev.hooks.List(c.Request.Context(), principal(c).OrganizationID, nil, page.Page{Limit: devPageSize, Offset: offset})
	if err != nil {
		s.fail(c, err)
		return
	}
	d := webhooksData{Endpoints: rows, Form: form, Created: created, Pager: newDevPager(webhooksPath, offset, len(rows), total)}
	s.render(c, status, "webhooks.html", view{Title: "Webhooks", Section: "webhooks", Notice: devNotice(c), Data: d})
}

// createWebhook is POST /console/webhooks: validated as the api validates
// POST /v1/webhook-endpoints, the URL policy included; the answer shows
// the signing secret, once.
func (s *Console) createWebhook(c *gin.Context) {
	url := strings.TrimSpace(c.PostForm("url"))
	description := strings.TrimSpace(c.PostForm("description"))
	events := c.PostFormArray("subscribedEvents")
	form, err := newHookForm(url, description, events)
	if err != nil {
		s.fail(c, err)
		return
	}
	keepFormID(&form.FormID, c)

	p := principal(c)
	in := webhook.CreateInput{OrganizationID: p.OrganizationID, URL: url, SubscribedEvents: events, CreatedByUserID: &p.UserID}
	if description != "" {
		in.Description = &description
	}
	if slices.Contains(events, webhook.AllEvents) {
		in.SubscribedEvents = []string{webhook.AllEvents} // every event: the others ticked add nothing
	}
	if in.SubscribedEvents == nil {
		in.SubscribedEvents = []string{}
	}
	form.Errors = fieldErrors(webhook.Validate(in, s.dev.policy))
	if len(events) == 0 {
		form.Errors["subscribedEvents"] = "Choose at least one event type, or all events."
	}
	if len(form.Errors) > 0 {
		form.Error = "The endpoint was not created: correct the fields marked below."
		s.renderWebhooks(c, http.StatusBadRequest, form, nil)
		return
	}

	release, err := s.spendForm(c)
	if errors.Is(err, errFormSpent) {
		fresh, ferr := newHookForm("", "", nil)
		if ferr != nil {
			s.fail(c, ferr)
			return
		}
		fresh.Error = "This form was already sent, and the endpoint it created is in the list above. Its signing secret was shown only once; " +
			"if it is lost, rotate the endpoint's secret on its page."
		s.renderWebhooks(c, http.StatusConflict, fresh, nil)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	e, err := s.dev.hooks.Create(c.Request.Context(), in, nil)
	if err != nil {
		release()
		s.fail(c, err)
		return
	}
	fresh, err := newHookForm("", "", nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	s.renderWebhooks(c, http.StatusCreated, fresh, &e)
}

type webhookData struct {
	Endpoint         db.WebhookEndpoint
	PreviousSecretTo *time.Time // while the previous secret still signs
	Deliveries       []webhook.Delivery
	Pager            devPager
	RotateFormID     string
	NewSecret        string // only in the answer to the rotation
	Error            string // a refused rotation or replay
}

func (s *Console) webhookPage(c *gin.Context) {
	s.renderWebhook(c, http.StatusOK, "", "")
}

// renderWebhook answers an endpoint's page: its settings, the rotate form
// and a page of its deliveries with their attempts.
func (s *Console) renderWebhook(c *gin.Context, status int, newSecret, problem string) {
	id, err := devID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	offset, ok := s.devOffset(c)
	if !ok {
		return
	}
	ctx, org := c.Request.Context(), principal(c).OrganizationID
	e, err := s.dev.hooks.Get(ctx, org, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	rows, total, err := s.dev.hooks.Deliveries(ctx, org, id, webhook.DeliveryFilter{}, page.Page{Limit: devPageSize, Offset: offset})
	if err != nil {
		s.fail(c, err)
		return
	}
	formID, err := newFormID()
	if err != nil {
		s.fail(c, err)
		return
	}
	path := webhooksPath + "/" + id.String()
	d := webhookData{Endpoint: e, Deliveries: rows, Pager: newDevPager(path, offset, len(rows), total),
		RotateFormID: formID, NewSecret: newSecret, Error: problem}
	if t := e.PreviousSecretExpiresAt; t != nil && t.After(time.Now()) {
		d.PreviousSecretTo = t
	}
	s.render(c, status, "webhook.html", view{Title: "Webhook endpoint " + e.Url, Section: "webhooks", Notice: devNotice(c), Data: d})
}

// rotateWebhookSecret is POST /console/webhooks/{id}/rotate-secret; the
// answer shows the new secret, once. The previous one keeps signing for
// webhook.SecretOverlap.
func (s *Console) rotateWebhookSecret(c *gin.Context) {
	id, err := devID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	org := principal(c).OrganizationID
	if _, err := s.dev.hooks.Get(c.Request.Context(), org, id); err != nil {
		s.fail(c, err) // another organization's endpoint spends no form id
		return
	}
	release, err := s.spendForm(c)
	if errors.Is(err, errFormSpent) {
		s.renderWebhook(c, http.StatusConflict, "", "This form was already sent: the secret was rotated then, and the new one shown only once. "+
			"Rotate again if it is lost.")
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	w, err := s.dev.hooks.RotateSecret(c.Request.Context(), org, id, nil)
	if err != nil {
		release()
		s.fail(c, err)
		return
	}
	s.renderWebhook(c, http.StatusOK, w.Secret, "")
}

// replayDelivery is POST /console/webhooks/{id}/deliveries/{delivery}/replay:
// one more attempt of the delivery now, as POST
// /v1/webhook-deliveries/{id}/retry.
func (s *Console) replayDelivery(c *gin.Context) {
	id, err := devID(c, "id")
	if err != nil {
		s.fail(c, err)
		return
	}
	deliveryID, err := devID(c, "delivery")
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx, org := c.Request.Context(), principal(c).OrganizationID
	d, err := s.dev.hooks.GetDelivery(ctx, org, deliveryID)
	if err == nil && d.EndpointID != id {
		err = webhook.ErrDeliveryNotFound // a delivery of another endpoint is not under this one
	}
	if err == nil {
		_, err = s.dev.hooks.Retry(ctx, org, deliveryID, nil)
	}
	switch {
	case errors.Is(err, webhook.ErrEndpointDisabled):
		s.renderWebhook(c, http.StatusConflict, "", "The endpoint is disabled: deliveries are not replayed until it is enabled again.")
	case err != nil:
		s.fail(c, err)
	default:
		c.Redirect(http.StatusSeeOther, webhooksPath+"/"+id.String()+"?notice=delivery_replayed")
	}
}

// --- Rules -------------------------------------------------------------------

type rulesData struct {
	Rules []rule.Rule
	Pager devPager
}

func (s *Console) rulesPage(c *gin.Context) {
	offset, ok := s.devOffset(c)
	if !ok {
		return
	}
	rows, total, err := s.dev.rules.ListByPriority(c.Request.Context(), principal(c).OrganizationID, page.Page{Limit: devPageSize, Offset: offset})
	if err != nil {
		s.fail(c, err)
		return
	}
	d := rulesData{Pager: newDevPager(rulesPath, offset, len(rows), total)}
	for _, r := range rows {
		d.Rules = append(d.Rules, ruleset.FromRow(r))
	}
	s.render(c, http.StatusOK, "rules.html", view{Title: "Rules", Section: "rules", Notice: devNotice(c), Data: d})
}

// ruleFieldSpec is one number of the rule form: the rule's JSON name is the
// form field's name, so the validator's issues land on it.
type ruleFieldSpec struct {
	Name, Label, Hint string
	Decimal           bool // an amount; else a whole number
	Min, Max          int
	get               func(*rule.Rule) string
	set               func(*rule.Rule, string) (problem string)
}

func intField(name, label, hint string, min, max int, field func(*rule.Rule) *int32) ruleFieldSpec {
	return ruleFieldSpec{Name: name, Label: label, Hint: hint, Min: min, Max: max,
		get: func(r *rule.Rule) string { return strconv.Itoa(int(*field(r))) },
		set: func(r *rule.Rule, v string) string {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return "Must be a whole number."
			}
			*field(r) = int32(n)
			return ""
		}}
}

// ruleFields are the rule's settings the console edits, in form order.
var ruleFields = []ruleFieldSpec{
	intField("priority", "Priority", "Lower runs first: the active rule with the lowest number that fits a payment applies.",
		0, rule.MaxPriority, func(r *rule.Rule) *int32 { return &r.Priority }),
	{Name: "amountTolerance", Label: "Amount tolerance", Hint: "An absolute difference accepted as a match, in the payment's currency (0 for exact).", Decimal: true,
		get: func(r *rule.Rule) string { return r.AmountTolerance.String() },
		set: func(r *rule.Rule, v string) string {
			a, err := money.ParseAmount(v)
			if err != nil {
				return validate.Sentence(err.Error())
			}
			r.AmountTolerance = a.Decimal
			return ""
		}},
	intField("amountToleranceBps", "Amount tolerance (basis points)", "A relative difference accepted as a match: 100 basis points are 1%.",
		0, 10000, func(r *rule.Rule) *int32 { return &r.AmountToleranceBps }),
	intField("timeWindowMinutes", "Time window (minutes)", "How far apart in time evidence matched on amount may be.",
		1, rule.MaxMinutes, func(r *rule.Rule) *int32 { return &r.TimeWindowMinutes }),
	intField("expectedCompletionMinutes", "Expected completion (minutes)", "The SLA: how long a payment may take to reconcile.",
		1, rule.MaxMinutes, func(r *rule.Rule) *int32 { return &r.ExpectedCompletionMinutes }),
	intField("slaRiskThresholdPercent", "SLA risk threshold (%)", "A case not reconciled after this share of the expected completion time is at SLA risk.",
		1, 100, func(r *rule.Rule) *int32 { return &r.SLARiskThresholdPercent }),
	intField("delayedSettlementThresholdMinutes", "Delayed settlement threshold (minutes)", "A required leg missing for longer than this makes the case delayed.",
		1, rule.MaxMinutes, func(r *rule.Rule) *int32 { return &r.DelayedSettlementThresholdMinutes }),
}

// ruleFieldView is one input of the form as rendered.
type ruleFieldView struct {
	Name, Label, Hint, Value, Error string
	Decimal                         bool
	Min, Max                        int
}

type ruleData struct {
	Rule     rule.Rule // as stored
	Fields   []ruleFieldView
	IsActive bool
	Error    string
}

func (s *Console) rulePage(c *gin.Context) {
	r, ok := s.loadRule(c)
	if !ok {
		return
	}
	d := ruleData{Rule: r, IsActive: r.IsActive}
	for _, f := range ruleFields {
		d.Fields = append(d.Fields, ruleFieldView{Name: f.Name, Label: f.Label, Hint: f.Hint, Value: f.get(&r), Decimal: f.Decimal, Min: f.Min, Max: f.Max})
	}
	s.renderRule(c, http.StatusOK, d)
}

func (s *Console) loadRule(c *gin.Context) (rule.Rule, bool) {
	id, err := devID(c, "id")
	if err != nil {
		s.fail(c, err)
		return rule.Rule{}, false
	}
	row, err := s.dev.rules.Get(c.Request.Context(), principal(c).OrganizationID, id)
	if err != nil {
		s.fail(c, err)
		return rule.Rule{}, false
	}
	return ruleset.FromRow(row), true
}

func (s *Console) renderRule(c *gin.Context, status int, d ruleData) {
	s.render(c, status, "rule.html", view{Title: "Rule " + d.Rule.Name, Section: "rules", Notice: devNotice(c), Data: d})
}

// ruleInvalid carries the issues of a rule an update would have produced,
// out of the service's transaction, which it rolls back.
type ruleInvalid struct{ fields map[string]string }

func (ruleInvalid) Error() string { return "invalid rule" }

// updateRule is POST /console/rules/{id}: the fields apply to the stored
// rule under its row lock and the whole rule is validated as the api's
// PATCH validates it; any problem rolls the change back and re-renders the
// form with the values sent and a message on each field at fault.
func (s *Console) updateRule(c *gin.Context) {
	stored, ok := s.loadRule(c)
	if !ok {
		return
	}
	d := ruleData{Rule: stored, IsActive: c.PostForm("isActive") != ""}
	values := map[string]string{}
	for _, f := range ruleFields {
		values[f.Name] = strings.TrimSpace(c.PostForm(f.Name))
		d.Fields = append(d.Fields, ruleFieldView{Name: f.Name, Label: f.Label, Hint: f.Hint, Value: values[f.Name], Decimal: f.Decimal, Min: f.Min, Max: f.Max})
	}
	_, err := s.dev.rules.Update(c.Request.Context(), principal(c).OrganizationID, stored.ID, func(r *rule.Rule) error {
		problems := map[string]string{}
		for _, f := range ruleFields {
			if p := f.set(r, values[f.Name]); p != "" {
				problems[f.Name] = p
			}
		}
		r.IsActive = d.IsActive
		for field, msg := range fieldErrors(rule.Validate(*r)) {
			if _, ok := problems[field]; !ok {
				problems[field] = msg
			}
		}
		if len(problems) > 0 {
			return ruleInvalid{problems}
		}
		return nil
	})
	var invalid ruleInvalid
	switch {
	case errors.As(err, &invalid):
		s.invalidRule(c, d, invalid.fields)
	case err != nil:
		s.fail(c, err)
	default:
		c.Redirect(http.StatusSeeOther, rulesPath+"?notice=rule_saved")
	}
}

// invalidRule re-renders the form with each field's problem. A problem
// with a setting the form does not edit (a rule stored before today's
// checks) is named in the summary, so that the page is not a dead end.
func (s *Console) invalidRule(c *gin.Context, d ruleData, problems map[string]string) {
	var others []string
	for field, msg := range problems {
		i := slices.IndexFunc(d.Fields, func(f ruleFieldView) bool { return f.Name == field })
		if i < 0 {
			others = append(others, field+": "+msg)
			continue
		}
		d.Fields[i].Error = msg
	}
	slices.Sort(others)
	d.Error = "The rule was not saved: correct the fields marked below."
	if len(others) > 0 {
		d.Error = "The rule was not saved. " + strings.Join(others, " ")
	}
	s.renderRule(c, http.StatusBadRequest, d)
}
