package api

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/egress"
	"github.com/reconlayer/reconlayer/worker"
)

// Helpers of this file are prefixed with wh.

// whLocal lets endpoints live on this machine over http: test receivers
// listen on 127.0.0.1.
func whLocal(o *Options) {
	o.Webhooks = egress.Policy{AllowPrivate: true, AllowInsecure: true}
	o.EvidenceWait = 15 * time.Second
}

// whHit is one request a receiver got, and what it answered.
type whHit struct {
	header http.Header
	body   []byte
	status int
}

func (h whHit) id() string { return h.header.Get("webhook-id") }

func (h whHit) event(t *testing.T) whEvent {
	t.Helper()
	var e whEvent
	require.NoError(t, json.Unmarshal(h.body, &e), string(h.body))
	return e
}

type whEvent struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// whReceiver is a webhook consumer: answer decides each response from the
// request and how many times its webhook-id was seen before.
type whReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []whHit
	seen   map[string]int
	answer func(r *http.Request, before int) int
}

func whListen(t *testing.T, answer func(r *http.Request, before int) int) *whReceiver {
	t.Helper()
	rc := &whReceiver{seen: map[string]int{}, answer: answer}
	rc.Server = httptest.NewServer(rc.handler())
	t.Cleanup(rc.Close)
	return rc
}

func (rc *whReceiver) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		before := rc.seen[r.Header.Get("webhook-id")]
		rc.seen[r.Header.Get("webhook-id")]++
		rc.mu.Unlock()
		status := rc.answer(r, before)
		rc.mu.Lock()
		rc.hits = append(rc.hits, whHit{header: r.Header.Clone(), body: body, status: status})
		rc.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
}

func (rc *whReceiver) got() []whHit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]whHit(nil), rc.hits...)
}

// accepted are the hits answered 2xx.
func (rc *whReceiver) accepted() []whHit {
	var out []whHit
	for _, h := range rc.got() {
		if h.status < 300 {
			out = append(out, h)
		}
	}
	return out
}

func whOK(*http.Request, int) int { return http.StatusOK }

// whEndpoint is the endpoint resource as the tests read it.
type whEndpoint struct {
	ID                      string     `json:"id"`
	URL                     string     `json:"url"`
	Status                  string     `json:"status"`
	DisabledReason          *string    `json:"disabledReason"`
	SubscribedEvents        []string   `json:"subscribedEvents"`
	Secret                  string     `json:"secret"`
	PreviousSecretExpiresAt *time.Time `json:"previousSecretExpiresAt"`
}

type whAttempt struct {
	Number      int32   `json:"number"`
	Trigger     string  `json:"trigger"`
	Outcome     string  `json:"outcome"`
	StatusCode  *int32  `json:"statusCode"`
	Error       *string `json:"error"`
	LatencyMs   int32   `json:"latencyMs"`
	URL         string  `json:"url"`
	AttemptedAt string  `json:"attemptedAt"`
}

type whDelivery struct {
	ID            string          `json:"id"`
	EndpointID    string          `json:"endpointId"`
	EventID       string          `json:"eventId"`
	EventType     string          `json:"eventType"`
	Status        string          `json:"status"`
	AttemptCount  int32           `json:"attemptCount"`
	NextAttemptAt *time.Time      `json:"nextAttemptAt"`
	LastError     *string         `json:"lastError"`
	Payload       json.RawMessage `json:"payload"`
	Attempts      []whAttempt     `json:"attempts"`
}

func whCreate(t *testing.T, b *bundle, sess, url string, events ...string) whEndpoint {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"url": url, "subscribedEvents": events, "description": "test receiver"})
	rec := b.do(req{method: "POST", path: "/v1/webhook-endpoints", token: sess, body: string(body),
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	e := decode[whEndpoint](t, rec)
	require.True(t, strings.HasPrefix(e.Secret, "whsec_"), e.Secret)
	return e
}

func whPing(t *testing.T, b *bundle, sess, endpointID string) whDelivery {
	t.Helper()
	rec := b.do(req{method: "POST", path: "/v1/webhook-endpoints/" + endpointID + "/test", token: sess,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	return decode[whDelivery](t, rec)
}

func whDeliveries(t *testing.T, b *bundle, sess, endpointID string) []whDelivery {
	t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/webhook-endpoints/" + endpointID + "/deliveries?limit=100", token: sess})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[struct {
		Items []whDelivery `json:"items"`
	}](t, rec).Items
}

func whDeliveryByID(t *testing.T, b *bundle, sess, id string) whDelivery {
	t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/webhook-deliveries/" + id, token: sess})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[whDelivery](t, rec)
}

func whGetEndpoint(t *testing.T, b *bundle, sess, id string) whEndpoint {
	t.Helper()
	rec := b.do(req{method: "GET", path: "/v1/webhook-endpoints/" + id, token: sess})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	return decode[whEndpoint](t, rec)
}

// whVerify checks a hit's signature with the Standard Webhooks library.
func whVerify(t *testing.T, secret string, h whHit) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	return wh.Verify(h.body, h.header)
}

// The quickstart with two endpoints: one subscribed to the intent's
// creation and its reconciliation, one to everything and failing every
// first attempt. Every request verifies with the Standard Webhooks library;
// each endpoint sees payment_intent.created, then
// reconciliation_case.reconciled, each accepted exactly once, and a retry
// carries the same webhook-id and body as the attempt it repeats.
func TestWebhooksWalkthroughSignedOncePerEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, whLocal).withWorker()
	org := b.org("Acme")
	sess := b.session("user_1", org)
	key, _ := b.apiKey(org)

	a := whListen(t, whOK)
	flaky := whListen(t, func(_ *http.Request, before int) int {
		if before == 0 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	epA := whCreate(t, b, sess, a.URL+"/hooks", "payment_intent.created", "reconciliation_case.reconciled")
	epB := whCreate(t, b, sess, flaky.URL+"/hooks", "*")

	created := evIntent(t, b, key, `{"externalReference":"order_wh","sourceAmount":"100.00","sourceCurrency":"USD","paymentType":"other"}`)
	require.Eventually(t, func() bool { return len(a.accepted()) == 1 }, 15*time.Second, 20*time.Millisecond)

	rec := evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_wh","status":"completed",
		"amount":{"amount":"100.00","currency":"USD"},"externalReference":"order_wh"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())

	require.Eventually(t, func() bool { return len(a.accepted()) == 2 }, 15*time.Second, 20*time.Millisecond)
	// The flaky endpoint accepts each event on its second attempt, 5 s
	// (±10%) after the first.
	var flakyTypes []string
	require.Eventually(t, func() bool {
		flakyTypes = flakyTypes[:0]
		for _, h := range flaky.accepted() {
			flakyTypes = append(flakyTypes, h.event(t).Type)
		}
		return len(flakyTypes) == 3
	}, 30*time.Second, 50*time.Millisecond)
	require.ElementsMatch(t, []string{"payment_intent.created", "reconciliation_case.updated", "reconciliation_case.reconciled"}, flakyTypes)

	// Endpoint A: the intent's creation, then its reconciliation.
	hits := a.got()
	require.Len(t, hits, 2)
	first, second := hits[0].event(t), hits[1].event(t)
	require.Equal(t, "payment_intent.created", first.Type)
	require.Equal(t, "reconciliation_case.reconciled", second.Type)
	require.Equal(t, created.PaymentIntentID, first.Data["id"])
	require.Equal(t, created.CaseID, first.Data["case"].(map[string]any)["id"])
	require.Equal(t, "order_wh", first.Data["externalReference"])
	require.Equal(t, created.CaseID, second.Data["id"])
	require.Equal(t, "reconciled", second.Data["reconciliationStatus"])
	require.Equal(t, "matched", second.Data["verdict"])
	require.Equal(t, created.PaymentIntentID, second.Data["paymentIntent"].(map[string]any)["id"])
	require.Less(t, first.Data["sequence"].(float64), second.Data["sequence"].(float64), "sequence grows per case")
	require.Equal(t, second.Data["version"], second.Data["sequence"], "the sequence is the version the data shows")
	for _, h := range hits {
		require.NoError(t, whVerify(t, epA.Secret, h))
		require.ErrorIs(t, whVerify(t, epB.Secret, h), standardwebhooks.ErrNoMatchingSignature, "signed with A's secret only")
		require.Equal(t, "application/json", h.header.Get("Content-Type"))
		require.Len(t, strings.Fields(h.header.Get("webhook-signature")), 1)
	}

	// Endpoint B: every event failed once, then got through with the same
	// webhook-id and body; every request, failed or not, verifies.
	byID := map[string][]whHit{}
	for _, h := range flaky.got() {
		require.NoError(t, whVerify(t, epB.Secret, h))
		byID[h.id()] = append(byID[h.id()], h)
	}
	require.Len(t, byID, 3)
	for id, tries := range byID {
		require.Len(t, tries, 2, id)
		require.Equal(t, http.StatusServiceUnavailable, tries[0].status)
		require.Equal(t, http.StatusOK, tries[1].status)
		require.Equal(t, tries[0].body, tries[1].body, "a retry sends the same body")
	}
	// One event, one webhook-id, whichever endpoint receives it.
	for _, h := range hits {
		require.Contains(t, byID, h.id())
	}

	// The deliveries say the same.
	for _, d := range whDeliveries(t, b, sess, epB.ID) {
		require.Equal(t, "succeeded", d.Status, d.EventType)
		require.EqualValues(t, 2, d.AttemptCount)
		require.Len(t, d.Attempts, 2)
		require.Equal(t, "failed", d.Attempts[0].Outcome)
		require.EqualValues(t, 503, *d.Attempts[0].StatusCode)
		require.Equal(t, "succeeded", d.Attempts[1].Outcome)
		require.Contains(t, byID, d.EventID)
		require.JSONEq(t, string(byID[d.EventID][1].body), string(d.Payload))
	}
	// Nothing more arrives: the dispatcher and the sweeper do not send an
	// event twice.
	time.Sleep(1500 * time.Millisecond)
	require.Len(t, a.got(), 2)
	require.Len(t, flaky.got(), 6)
}

// A consumer that is down when the first attempt is made gets the event
// on the next one; a manual retry sends it once more with the same id.
func TestWebhookReceiverDownThenUp(t *testing.T) {
	t.Parallel()
	b := setup(t, whLocal).withWorker()
	org := b.org("Acme")
	sess := b.session("user_1", org)

	// Take a free port, then leave it closed: connections are refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	ep := whCreate(t, b, sess, "http://"+addr+"/hooks", "*")

	ping := whPing(t, b, sess, ep.ID)
	require.Equal(t, "ping", ping.EventType)
	require.Equal(t, "pending", ping.Status)
	var d whDelivery
	require.Eventually(t, func() bool {
		d = whDeliveryByID(t, b, sess, ping.ID)
		return d.AttemptCount == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "pending", d.Status)
	require.Equal(t, "failed", d.Attempts[0].Outcome)
	require.Nil(t, d.Attempts[0].StatusCode)
	require.Contains(t, *d.Attempts[0].Error, "connection refused")
	require.NotNil(t, d.NextAttemptAt, "a second attempt is scheduled")

	// The consumer comes up on the same address.
	rc := &whReceiver{seen: map[string]int{}, answer: whOK}
	var ln net.Listener
	require.Eventually(t, func() bool { ln, err = net.Listen("tcp", addr); return err == nil }, 5*time.Second, 50*time.Millisecond)
	srv := &http.Server{Handler: rc.handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	require.Eventually(t, func() bool {
		d = whDeliveryByID(t, b, sess, ping.ID)
		return d.Status == "succeeded"
	}, 20*time.Second, 50*time.Millisecond)
	require.EqualValues(t, 2, d.AttemptCount)
	require.Equal(t, []string{"scheduled", "scheduled"}, []string{d.Attempts[0].Trigger, d.Attempts[1].Trigger})
	require.Nil(t, d.NextAttemptAt)
	hits := rc.got()
	require.Len(t, hits, 1)
	require.Equal(t, d.EventID, hits[0].id())
	require.NoError(t, whVerify(t, ep.Secret, hits[0]))
	require.Equal(t, "ping", hits[0].event(t).Type)

	// Replay by hand: one more attempt, same webhook-id.
	rec := b.do(req{method: "POST", path: "/v1/webhook-deliveries/" + ping.ID + "/retry", token: sess,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	require.Eventually(t, func() bool { return len(rc.got()) == 2 }, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, d.EventID, rc.got()[1].id())
	require.Eventually(t, func() bool {
		d = whDeliveryByID(t, b, sess, ping.ID)
		return d.AttemptCount == 3
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "manual", d.Attempts[2].Trigger)
	require.Equal(t, "succeeded", d.Status)
}

// 410 Gone tells ReconLayer to stop: the endpoint is disabled with the
// reason, its delivery fails without retries, new events no longer go to
// it, and a retry is refused until it is enabled again.
func TestWebhookGoneDisablesEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, whLocal).withWorker()
	org := b.org("Acme")
	sess := b.session("user_1", org)
	gone := whListen(t, func(*http.Request, int) int { return http.StatusGone })
	ep := whCreate(t, b, sess, gone.URL, "payment_intent.created")

	b.intent(org, "order_gone_1")
	var e whEndpoint
	require.Eventually(t, func() bool {
		e = whGetEndpoint(t, b, sess, ep.ID)
		return e.Status == "disabled"
	}, 15*time.Second, 20*time.Millisecond)
	require.Contains(t, *e.DisabledReason, "410 Gone")
	ds := whDeliveries(t, b, sess, ep.ID)
	require.Len(t, ds, 1)
	require.Equal(t, "failed", ds[0].Status)
	require.EqualValues(t, 1, ds[0].AttemptCount)
	require.EqualValues(t, 410, *ds[0].Attempts[0].StatusCode)
	require.Nil(t, ds[0].NextAttemptAt)

	rec := b.do(req{method: "POST", path: "/v1/webhook-deliveries/" + ds[0].ID + "/retry", token: sess,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	envelope(t, rec, http.StatusConflict, CodeWebhookEndpointDisabled)

	second := b.intent(org, "order_gone_2")
	require.Eventually(t, func() bool {
		var pending int
		require.NoError(t, b.pool.QueryRow(context.Background(),
			`SELECT count(*) FROM event_outbox WHERE case_id = $1 AND dispatched_at IS NULL`, second.Case.ID).Scan(&pending))
		return pending == 0
	}, 10*time.Second, 20*time.Millisecond, "the second intent's event is dispatched")
	require.Len(t, whDeliveries(t, b, sess, ep.ID), 1, "a disabled endpoint gets no new deliveries")
	require.Len(t, gone.got(), 1)

	// Enabled again, it forgets the reason and takes new events.
	rec = b.do(req{method: "PATCH", path: "/v1/webhook-endpoints/" + ep.ID, token: sess, body: `{"status":"active"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	e = decode[whEndpoint](t, rec)
	require.Equal(t, "active", e.Status)
	require.Nil(t, e.DisabledReason)
}

// Endpoints on private, loopback, link-local or metadata addresses are
// refused when saved, and when a name resolves to one at send time: the
// attempt is recorded as refused, with why, and nothing is sent.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	t.Run("when saved", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		org := b.org("Acme")
		sess := b.session("user_1", org)
		for url, msg := range map[string]string{
			"http://hooks.example.com/x":               "use https",
			"https://127.0.0.1:8443/x":                 "loopback",
			"https://169.254.169.254/latest/meta-data": "metadata",
			"https://10.1.2.3/x":                       "private",
			"https://[::1]/x":                          "loopback",
			"https://localhost/x":                      "loopback",
			"https://user:pw@hooks.example.com/x":      "credentials",
		} {
			body, _ := json.Marshal(map[string]any{"url": url, "subscribedEvents": []string{"*"}})
			rec := b.do(req{method: "POST", path: "/v1/webhook-endpoints", token: sess, body: string(body),
				headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
			e := envelope(t, rec, http.StatusBadRequest, CodeInvalidRequest)
			require.Len(t, e.Issues, 1, url)
			require.Equal(t, []string{"url"}, e.Issues[0].Path)
			require.Contains(t, e.Issues[0].Message, msg, url)
		}
		var n int
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM webhook_endpoints`).Scan(&n))
		require.Zero(t, n, "nothing saved")
	})
	t.Run("when sent", func(t *testing.T) {
		t.Parallel()
		// The api accepted the URL (say the name resolved elsewhere then);
		// the worker, which checks where it connects, does not allow it.
		b := setup(t, whLocal).withWorker(func(c *worker.Config) { c.Webhooks.Policy = egress.Policy{AllowInsecure: true} })
		org := b.org("Acme")
		sess := b.session("user_1", org)
		rc := whListen(t, whOK)
		ep := whCreate(t, b, sess, rc.URL, "*")
		ping := whPing(t, b, sess, ep.ID)
		var d whDelivery
		require.Eventually(t, func() bool {
			d = whDeliveryByID(t, b, sess, ping.ID)
			return d.AttemptCount == 1
		}, 10*time.Second, 20*time.Millisecond)
		require.Equal(t, "refused", d.Attempts[0].Outcome)
		require.Contains(t, *d.Attempts[0].Error, "refused to connect to 127.0.0.1: loopback address")
		require.Equal(t, "pending", d.Status, "a refusal is retried on schedule (DNS may change)")
		require.Empty(t, rc.got(), "nothing reached the receiver")
	})
}

// After a rotation, both the new and the previous secret sign for 24 h: a
// consumer verifying with either accepts the webhook.
func TestWebhookSecretRotationSignsWithBoth(t *testing.T) {
	t.Parallel()
	b := setup(t, whLocal).withWorker()
	org := b.org("Acme")
	sess := b.session("user_1", org)
	rc := whListen(t, whOK)
	ep := whCreate(t, b, sess, rc.URL, "*")
	oldSecret := ep.Secret
	require.Empty(t, whGetEndpoint(t, b, sess, ep.ID).Secret, "the secret is shown once")

	whPing(t, b, sess, ep.ID)
	require.Eventually(t, func() bool { return len(rc.got()) == 1 }, 10*time.Second, 20*time.Millisecond)
	require.Len(t, strings.Fields(rc.got()[0].header.Get("webhook-signature")), 1)

	idem := uuid.NewString()
	rec := b.do(req{method: "POST", path: "/v1/webhook-endpoints/" + ep.ID + "/rotate-secret", token: sess,
		headers: map[string]string{"Idempotency-Key": idem}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rotated := decode[whEndpoint](t, rec)
	newSecret := rotated.Secret
	require.True(t, strings.HasPrefix(newSecret, "whsec_"))
	require.NotEqual(t, oldSecret, newSecret)
	require.NotNil(t, rotated.PreviousSecretExpiresAt)
	require.WithinDuration(t, time.Now().Add(24*time.Hour), *rotated.PreviousSecretExpiresAt, time.Minute)
	// A replay answers the same rotation, without the secret, and rotates
	// nothing more.
	rec = b.do(req{method: "POST", path: "/v1/webhook-endpoints/" + ep.ID + "/rotate-secret", token: sess,
		headers: map[string]string{"Idempotency-Key": idem}})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "true", rec.Header().Get("Idempotency-Replayed"))
	require.Empty(t, decode[whEndpoint](t, rec).Secret)

	whPing(t, b, sess, ep.ID)
	require.Eventually(t, func() bool { return len(rc.got()) == 2 }, 10*time.Second, 20*time.Millisecond)
	h := rc.got()[1]
	require.Len(t, strings.Fields(h.header.Get("webhook-signature")), 2, "two signatures during the overlap")
	require.NoError(t, whVerify(t, newSecret, h), "the new secret verifies")
	require.NoError(t, whVerify(t, oldSecret, h), "the previous secret still verifies")
	other, err := standardwebhooks.NewWebhook("whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	require.ErrorIs(t, other.Verify(h.body, h.header), standardwebhooks.ErrNoMatchingSignature)
	// The first ping was signed with the old secret alone.
	require.ErrorIs(t, whVerify(t, newSecret, rc.got()[0]), standardwebhooks.ErrNoMatchingSignature)
}

// A consumer that hangs holds at most its share of the webhook workers:
// other endpoints are served meanwhile, and evidence is matched as usual.
func TestSlowWebhookEndpointHoldsOnlyItsShare(t *testing.T) {
	t.Parallel()
	b := setup(t, whLocal).withWorker(func(c *worker.Config) {
		c.Webhooks.Concurrency, c.Webhooks.PerEndpoint = 4, 2
	})
	org := b.org("Acme")
	sess := b.session("user_1", org)
	key, _ := b.apiKey(org)

	release := make(chan struct{})
	var mu sync.Mutex
	inFlight, most := 0, 0
	slow := whListen(t, func(*http.Request, int) int {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		<-release
		mu.Lock()
		inFlight--
		mu.Unlock()
		return http.StatusOK
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	fast := whListen(t, whOK)
	slowEP := whCreate(t, b, sess, slow.URL, "*")
	fastEP := whCreate(t, b, sess, fast.URL, "*")

	for range 6 {
		whPing(t, b, sess, slowEP.ID)
	}
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return inFlight == 2 }, 10*time.Second, 20*time.Millisecond)
	for range 3 {
		whPing(t, b, sess, fastEP.ID)
	}
	require.Eventually(t, func() bool { return len(fast.accepted()) == 3 }, 10*time.Second, 20*time.Millisecond,
		"the fast endpoint is served while the slow one hangs")

	created := evIntent(t, b, key, `{"externalReference":"order_slow","sourceAmount":"100.00","sourceCurrency":"USD","paymentType":"other"}`)
	rec := evPost(b, key, "provider", `{"provider":"acme_pay","providerTransferId":"tr_slow","status":"completed",
		"amount":{"amount":"100.00","currency":"USD"},"externalReference":"order_slow"}`)
	r := evReceipt(t, rec, http.StatusCreated)
	require.Equal(t, []string{created.CaseID}, r.MatchedCaseIDs, "matching does not wait for webhooks")

	mu.Lock()
	require.Equal(t, 2, most, "never more than its share at once")
	mu.Unlock()
	close(release)
	// 6 pings, and the intent's events (created, updated, reconciled).
	require.Eventually(t, func() bool { return len(slow.accepted()) == 9 }, 30*time.Second, 50*time.Millisecond)
	mu.Lock()
	require.Equal(t, 2, most)
	mu.Unlock()
}

// Managing endpoints: sessions only, validated, scoped to the organization.
func TestWebhookEndpointsCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, other := b.org("Acme"), b.org("Other")
	sess := b.session("user_1", org)
	key, _ := b.apiKey(org)

	rec := b.do(req{method: "GET", path: "/v1/webhook-endpoints", token: key})
	e := envelope(t, rec, http.StatusForbidden, CodeForbidden)
	require.Contains(t, e.Message, "session")

	post := func(body string) *httptest.ResponseRecorder {
		return b.do(req{method: "POST", path: "/v1/webhook-endpoints", token: sess, body: body,
			headers: map[string]string{"Idempotency-Key": uuid.NewString()}})
	}
	e = envelope(t, post(`{"url":"https://hooks.example.com/a","subscribedEvents":["payment_intent.created","case.exploded","payment_intent.created"]}`),
		http.StatusBadRequest, CodeInvalidRequest)
	require.Len(t, e.Issues, 2)
	require.Equal(t, []string{"subscribedEvents", "1"}, e.Issues[0].Path)
	require.Contains(t, e.Issues[0].Message, `Unknown event type "case.exploded"`)
	require.Equal(t, []string{"subscribedEvents", "2"}, e.Issues[1].Path)
	e = envelope(t, post(`{"url":"https://hooks.example.com/a"}`), http.StatusBadRequest, CodeInvalidRequest)
	require.Equal(t, []string{"subscribedEvents"}, e.Issues[0].Path)
	e = envelope(t, post(`{"url":"https://hooks.example.com/a","subscribedEvents":[]}`), http.StatusBadRequest, CodeInvalidRequest)
	require.Equal(t, []string{"subscribedEvents"}, e.Issues[0].Path)
	e = envelope(t, post(`{"subscribedEvents":["*"]}`), http.StatusBadRequest, CodeInvalidRequest)
	require.Equal(t, []string{"url"}, e.Issues[0].Path)
	e = envelope(t, post(`{"url":"https://hooks.example.com/a","subscribedEvents":["*"],"secret":"mine"}`), http.StatusBadRequest, CodeInvalidRequest)
	require.Equal(t, []string{"secret"}, e.Issues[0].Path)

	rec = post(`{"url":"https://hooks.example.com/a","subscribedEvents":["*"],"metadata":{"team":"finance"}}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	raw := decode[map[string]any](t, rec)
	requireKeys(t, raw, []string{"id", "organizationId", "url", "description", "subscribedEvents", "status", "disabledReason",
		"disabledAt", "failingSince", "secret", "previousSecretExpiresAt", "metadata", "createdByUserId", "createdAt", "updatedAt"})
	require.Equal(t, "active", raw["status"])
	require.Equal(t, "user_1", raw["createdByUserId"])
	id := raw["id"].(string)

	got := b.do(req{method: "GET", path: "/v1/webhook-endpoints/" + id, token: sess})
	require.Equal(t, http.StatusOK, got.Code)
	require.NotContains(t, decode[map[string]any](t, got), "secret")
	otherSess := b.session("user_2", other)
	envelope(t, b.do(req{method: "GET", path: "/v1/webhook-endpoints/" + id, token: otherSess}), http.StatusNotFound, CodeNotFound)
	envelope(t, b.do(req{method: "PATCH", path: "/v1/webhook-endpoints/" + id, token: otherSess, body: `{"status":"disabled"}`}), http.StatusNotFound, CodeNotFound)
	envelope(t, b.do(req{method: "GET", path: "/v1/webhook-endpoints/" + id + "/deliveries", token: otherSess}), http.StatusNotFound, CodeNotFound)

	rec = b.do(req{method: "PATCH", path: "/v1/webhook-endpoints/" + id, token: sess, body: `{"status":"paused"}`})
	e = envelope(t, rec, http.StatusBadRequest, CodeInvalidRequest)
	require.Equal(t, []string{"status"}, e.Issues[0].Path)
	rec = b.do(req{method: "PATCH", path: "/v1/webhook-endpoints/" + id, token: sess,
		body: `{"status":"disabled","subscribedEvents":["reconciliation_case.reconciled"],"description":null}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	ep := decode[whEndpoint](t, rec)
	require.Equal(t, "disabled", ep.Status)
	require.Equal(t, "Disabled by a user.", *ep.DisabledReason)
	require.Equal(t, []string{"reconciliation_case.reconciled"}, ep.SubscribedEvents)

	list := b.do(req{method: "GET", path: "/v1/webhook-endpoints?status=disabled", token: sess})
	require.Equal(t, http.StatusOK, list.Code, list.Body.String())
	require.EqualValues(t, 1, decode[map[string]any](t, list)["total"])
	list = b.do(req{method: "GET", path: "/v1/webhook-endpoints?status=active", token: sess})
	require.EqualValues(t, 0, decode[map[string]any](t, list)["total"])

	rec = b.do(req{method: "DELETE", path: "/v1/webhook-endpoints/" + id, token: sess})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	envelope(t, b.do(req{method: "GET", path: "/v1/webhook-endpoints/" + id, token: sess}), http.StatusNotFound, CodeNotFound)
	envelope(t, b.do(req{method: "POST", path: "/v1/webhook-deliveries/" + uuid.NewString() + "/retry", token: sess,
		headers: map[string]string{"Idempotency-Key": uuid.NewString()}}), http.StatusNotFound, CodeNotFound)
}
