package api

import (
	"context"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

// tenancyFixture makes, in an organization, the resource a parameterized
// route addresses, and gives a valid body for each method that takes one, so
// that the request reaches the lookup instead of failing validation.
type tenancyFixture struct {
	create    func(b *bundle, org uuid.UUID) map[string]string // path parameter → id
	bodies    map[string]string                                // method → valid body
	unchanged func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string)
}

// tenancyFixtures has one entry per /v1 route with a path parameter; a new
// route without one fails TestOtherOrganizationsResourcesAreNotFound.
var tenancyFixtures = map[string]tenancyFixture{
	"/v1/payment-intents/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": b.intent(org, "tenancy-"+uuid.NewString()).Intent.ID.String()}
		},
	},
	"/v1/reconciliation-rules/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": b.rule(org, "victim").ID.String()}
		},
		bodies: map[string]string{"PATCH": `{"name":"hijacked"}`},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			r, err := ruleset.New(b.pool).Get(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err, "the rule was not deleted")
			require.Equal(t, "victim", r.Name)
		},
	},
	"/v1/reconciliation-cases/:id":         caseFixture(""),
	"/v1/reconciliation-cases/:id/notes":   caseFixture(`{"note":"hijacked"}`),
	"/v1/reconciliation-cases/:id/resolve": caseFixture(""),
	"/v1/reconciliation-cases/:id/reopen":  caseFixture(""),
	"/v1/reconciliation-cases/:id/archive": caseFixture(""),
	"/v1/reconciliation-cases/:id/rerun":   caseFixture(""),
	"/v1/reconciliation-cases/:id/links":   caseFixture(`{"flowLegId":"` + uuid.NewString() + `"}`),
	"/v1/reconciliation-cases/:id/links/:linkId": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			ref := "tenancy-" + uuid.NewString()
			r := b.intent(org, ref)
			b.evidence(org, "provider", `{"provider":"p","providerTransferId":"`+ref+`","status":"completed",`+
				`"amount":{"amount":"100","currency":"USDC"},"externalReference":"`+ref+`"}`)
			links, err := b.q.MatchLinksForCases(context.Background(), db.MatchLinksForCasesParams{OrganizationID: org, CaseIds: []string{r.Case.ID.String()}})
			require.NoError(b.t, err)
			require.Len(b.t, links, 1)
			return map[string]string{"id": r.Case.ID.String(), "linkId": links[0].ID.String()}
		},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			links, err := b.q.MatchLinksForCases(context.Background(), db.MatchLinksForCasesParams{OrganizationID: org, CaseIds: []string{ids["id"]}})
			require.NoError(t, err)
			require.Len(t, links, 1)
			require.Equal(t, "active", links[0].Status)
		},
	},
	"/v1/evidence/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			out := b.evidence(org, "provider", `{"provider":"p","providerTransferId":"tr_`+uuid.NewString()+`","status":"completed",`+
				`"amount":{"amount":"5","currency":"USD"}}`)
			return map[string]string{"id": out.RawRecordID.String()}
		},
	},
	"/v1/api-keys/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			_, k := b.apiKey(org)
			return map[string]string{"id": k.ID.String()}
		},
		bodies: map[string]string{"PATCH": `{"name":"hijacked"}`},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			k, err := apikey.New(b.pool).Get(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err)
			require.Equal(t, "test key", k.Name)
			require.Nil(t, k.RevokedAt)
		},
	},
	"/v1/webhook-endpoints/:id":               webhookEndpointFixture(`{"url":"https://hijack.example.com/"}`),
	"/v1/webhook-endpoints/:id/deliveries":    webhookEndpointFixture(""),
	"/v1/webhook-endpoints/:id/rotate-secret": webhookEndpointFixture(""),
	"/v1/webhook-endpoints/:id/test":          webhookEndpointFixture(""),
	"/v1/import-profiles/:id": {
		create: func(b *bundle, org uuid.UUID) map[string]string {
			p, err := importer.New(b.pool, slog.Default()).CreateProfile(context.Background(), org, importer.ProfileInput{
				Name: "victim", RecordType: importer.RecordBankStatement,
				Settings: statement.Profile{Fields: []statement.FieldMapping{{Column: "amount", Path: "amount"}}},
			}, nil)
			require.NoError(b.t, err)
			return map[string]string{"id": p.ID.String()}
		},
		bodies: map[string]string{"PATCH": `{"name":"hijacked"}`},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			p, err := importer.New(b.pool, slog.Default()).GetProfile(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err, "the profile was not deleted")
			require.Equal(t, "victim", p.Name)
		},
	},
	"/v1/import-batches/:id":             importBatchFixture(),
	"/v1/import-batches/:id/raw-records": importBatchFixture(),
	"/v1/webhook-deliveries/:id":         webhookDeliveryFixture(),
	"/v1/webhook-deliveries/:id/retry":   webhookDeliveryFixture(),
}

func importBatchFixture() tenancyFixture {
	return tenancyFixture{create: func(b *bundle, org uuid.UUID) map[string]string {
		sub, err := importer.New(b.pool, slog.Default()).Submit(context.Background(), importer.Upload{
			OrganizationID: org, Format: "mt940", FileName: "victim.sta", Content: []byte(uuid.NewString()), CreatedBy: "test",
		}, nil)
		require.NoError(b.t, err)
		return map[string]string{"id": sub.Batch.ID.String()}
	}}
}

// webhookDeliveryFixture makes a ping delivery; another organization's
// retry makes no attempt.
func webhookDeliveryFixture() tenancyFixture {
	return tenancyFixture{
		create: func(b *bundle, org uuid.UUID) map[string]string {
			e := tenancyEndpoint(b, org)
			// No worker runs: the ping stays queued, unattempted.
			d, err := webhook.NewService(b.pool, webhook.NewEnqueuer(asynq.NewClientFromRedisClient(b.redis), time.Second), slog.Default()).
				Test(context.Background(), org, e.ID, nil)
			require.NoError(b.t, err)
			return map[string]string{"id": d.ID.String()}
		},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			d, err := b.q.GetWebhookDelivery(context.Background(), db.GetWebhookDeliveryParams{OrganizationID: org, ID: uuid.MustParse(ids["id"])})
			require.NoError(t, err)
			require.Zero(t, d.WebhookDelivery.AttemptCount)
			pending, err := asynq.NewInspectorFromRedisClient(b.redis).ListPendingTasks(webhook.Queue, asynq.PageSize(1000))
			require.NoError(t, err)
			for _, task := range pending {
				require.NotContains(t, task.ID, ids["id"]+":manual", "no retry was queued")
			}
		},
	}
}

func tenancyEndpoint(b *bundle, org uuid.UUID) db.WebhookEndpoint {
	e, err := webhook.NewService(b.pool, nil, slog.Default()).Create(context.Background(),
		webhook.CreateInput{OrganizationID: org, URL: "https://victim.example.com/hooks", SubscribedEvents: []string{"*"}}, nil)
	require.NoError(b.t, err)
	return e.Endpoint
}

// webhookEndpointFixture makes an endpoint; whatever another organization
// tries, it keeps its URL, secret and status, and gets no ping.
func webhookEndpointFixture(body string) tenancyFixture {
	return tenancyFixture{
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": tenancyEndpoint(b, org).ID.String()}
		},
		bodies: map[string]string{"PATCH": body},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			e, err := b.q.GetWebhookEndpoint(context.Background(), db.GetWebhookEndpointParams{OrganizationID: org, ID: uuid.MustParse(ids["id"])})
			require.NoError(t, err, "the endpoint was not deleted")
			require.Equal(t, "https://victim.example.com/hooks", e.Url)
			require.Equal(t, "active", e.Status)
			require.Nil(t, e.PreviousSecret, "the secret was not rotated")
			n, err := b.q.CountWebhookDeliveries(context.Background(), db.CountWebhookDeliveriesParams{OrganizationID: org, EndpointID: e.ID})
			require.NoError(t, err)
			require.Zero(t, n, "no ping was sent")
		},
	}
}

// caseFixture makes a case; whatever another organization tries, it stays
// open at version 1.
func caseFixture(postBody string) tenancyFixture {
	return tenancyFixture{
		create: func(b *bundle, org uuid.UUID) map[string]string {
			return map[string]string{"id": b.intent(org, "tenancy-"+uuid.NewString()).Case.ID.String()}
		},
		bodies: map[string]string{"POST": postBody},
		unchanged: func(t *testing.T, b *bundle, org uuid.UUID, ids map[string]string) {
			c, err := cases.New(b.pool, matcher.New(b.pool)).Get(context.Background(), org, uuid.MustParse(ids["id"]))
			require.NoError(t, err)
			require.Equal(t, "open", c.Row.ReconciliationCase.Status)
			require.EqualValues(t, 1, c.Row.ReconciliationCase.Version)
			require.Nil(t, c.Row.ReconciliationCase.Notes)
		},
	}
}

var pathParam = regexp.MustCompile(`:([A-Za-z]+)`)

// A request with organization A's credential for organization B's resource
// id is 404 — indistinguishable from an id that exists nowhere — for every
// route that takes an id, found by walking the router's route table.
func TestOtherOrganizationsResourcesAreNotFound(t *testing.T) {
	t.Parallel()
	b := setup(t)
	orgA, orgB := b.org("A"), b.org("B")
	tokA := b.session("user_a", orgA)
	checked := 0
	for _, rt := range b.router.Routes() {
		if !isV1(rt.Path) || !strings.Contains(rt.Path, ":") {
			continue
		}
		fx, ok := tenancyFixtures[rt.Path]
		if !ok {
			t.Errorf("route %s %s takes an id but has no entry in tenancyFixtures", rt.Method, rt.Path)
			continue
		}
		t.Run(rt.Method+" "+rt.Path, func(t *testing.T) {
			ids := fx.create(b, orgB)
			path := pathParam.ReplaceAllStringFunc(rt.Path, func(m string) string {
				id, ok := ids[m[1:]]
				require.True(t, ok, "fixture gives no id for %s", m)
				return id
			})
			r := req{method: rt.Method, path: path, token: tokA, body: fx.bodies[rt.Method]}
			if rt.Method == "POST" {
				r.headers = map[string]string{"Idempotency-Key": uuid.NewString()}
			}
			envelope(t, b.do(r), 404, "not_found")
			if fx.unchanged != nil {
				fx.unchanged(t, b, orgB, ids)
			}
		})
		checked++
	}
	require.Positive(t, checked)
}
