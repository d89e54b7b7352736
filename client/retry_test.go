package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// attempt is one request a scripted server received.
type attempt struct {
	at      time.Time
	method  string
	uri     string
	key     string
	body    string
	headers http.Header
}

// answer is one scripted response; a nil write answers 201 {"ok":true}.
type answer func(w http.ResponseWriter)

func reply(status int, body string, headers ...string) answer {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// scripted is a real HTTP server that answers each request with the next
// answer of its script (the last one once the script is spent) and records
// what it received.
type scripted struct {
	mu       sync.Mutex
	attempts []attempt
	script   []answer
}

func newScripted(t *testing.T, script ...answer) (*scripted, *Client) {
	t.Helper()
	s := &scripted{script: script}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.attempts)
		s.attempts = append(s.attempts, attempt{at: time.Now(), method: r.Method, uri: r.RequestURI, key: r.Header.Get("Idempotency-Key"),
			body: string(body), headers: r.Header.Clone()})
		a := s.script[min(n, len(s.script)-1)]
		s.mu.Unlock()
		if a == nil {
			reply(http.StatusCreated, `{"ok":true}`)(w)
			return
		}
		a(w)
	}))
	t.Cleanup(srv.Close)
	// Short backoffs keep the tests quick; Retry-After is what they time.
	c := New(srv.URL, WithCredential("rl_live_test"), WithRetry(RetryPolicy{MaxAttempts: 5, BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}))
	return s, c
}

func (s *scripted) got() []attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]attempt(nil), s.attempts...)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const inProgress = `{"error":"idempotency_request_in_progress","message":"The original request with this Idempotency-Key is still being processed; retry shortly."}`

func TestRetriesWithTheSameKeyAndHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t,
		reply(http.StatusConflict, inProgress),
		reply(http.StatusTooManyRequests, `{"statusCode":429,"error":"Too Many Requests","message":"Rate limit exceeded, retry in 1 second"}`, "Retry-After", "1"),
		reply(http.StatusServiceUnavailable, `{"error":"overloaded","message":"Behind."}`),
		reply(http.StatusInternalServerError, `{"error":"internal_error","message":"Oops."}`),
		reply(http.StatusCreated, `{"paymentIntentId":"pi","caseId":"cs","externalReference":"order_1","status":"pending","verdict":null,"outcome":"created"}`,
			"Idempotency-Replayed", "false", "X-Ratelimit-Limit", "300", "X-Ratelimit-Remaining", "299", "X-Ratelimit-Reset", "60"),
	)
	var resp *Response
	out, err := c.CreatePaymentIntent(context.Background(), CreatePaymentIntentParams{
		ExternalReference: "order_1", SourceAmount: "100.00", SourceCurrency: "USD", PaymentType: "other",
	}, CaptureResponse(&resp))
	require.NoError(t, err)
	require.Equal(t, "cs", out.CaseID)

	got := s.got()
	require.Len(t, got, 5)
	require.Equal(t, 5, resp.Attempts)
	require.NotEmpty(t, got[0].key)
	require.Equal(t, got[0].key, resp.IdempotencyKey)
	for i, a := range got {
		require.Equal(t, http.MethodPost, a.method)
		require.Equal(t, got[0].key, a.key, "attempt %d", i+1)
		require.Equal(t, got[0].body, a.body, "attempt %d sends the same bytes", i+1)
		require.Equal(t, "Bearer rl_live_test", a.headers.Get("Authorization"))
	}
	require.JSONEq(t, `{"externalReference":"order_1","sourceAmount":"100.00","sourceCurrency":"USD","paymentType":"other"}`, got[0].body)
	// Retry-After is the least the client waits; the backoff alone is
	// milliseconds.
	require.GreaterOrEqual(t, got[2].at.Sub(got[1].at), time.Second, "the 429's Retry-After: 1 is honoured")
	for i := 1; i < len(got); i++ {
		require.True(t, got[i].at.After(got[i-1].at))
	}

	require.False(t, resp.Replayed())
	rl, ok := resp.RateLimit()
	require.True(t, ok)
	require.Equal(t, RateLimit{Limit: 300, Remaining: 299, Reset: time.Minute}, rl)
}

func TestACallerKeyIsSentOnEveryAttempt(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusBadGateway, `<html>bad gateway</html>`), reply(http.StatusGatewayTimeout, ``), nil)
	_, err := c.Do(context.Background(), http.MethodPost, "/v1/ledgers", map[string]string{"name": "Books"}, nil, IdempotencyKey("my-key-1"))
	require.NoError(t, err)
	got := s.got()
	require.Len(t, got, 3)
	for _, a := range got {
		require.Equal(t, "my-key-1", a.key)
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   string
		code   string
	}{
		{http.StatusBadRequest, `{"error":"invalid_request","message":"Invalid.","issues":[{"path":["amount","currency"],"message":"Required."}]}`, CodeInvalidRequest},
		{http.StatusNotFound, `{"error":"not_found","message":"Payment intent not found."}`, CodeNotFound},
		{http.StatusConflict, `{"error":"idempotency_key_conflict","message":"Different body."}`, CodeIdempotencyKeyConflict},
		{http.StatusConflict, `{"error":"payment_intent_conflict","message":"Differs.","details":{"paymentIntentId":"pi_1","conflicts":[{"field":"sourceAmount","stored":"1","requested":"2"}]}}`, CodePaymentIntentConflict},
		{http.StatusUnauthorized, `{"error":"unauthorized","message":"No."}`, CodeUnauthorized},
	} {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			s, c := newScripted(t, reply(tc.status, tc.body), nil)
			var resp *Response
			_, err := c.CreatePaymentIntent(context.Background(), CreatePaymentIntentParams{ExternalReference: "x"}, CaptureResponse(&resp))
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tc.status, apiErr.StatusCode)
			require.Equal(t, tc.code, apiErr.Code)
			require.NotEmpty(t, apiErr.Message)
			require.Len(t, s.got(), 1, "not retried")
			require.Equal(t, 1, resp.Attempts)
			require.Same(t, resp, apiErr.Response)
			switch tc.code {
			case CodeInvalidRequest:
				require.Equal(t, []Issue{{Path: []string{"amount", "currency"}, Message: "Required."}}, apiErr.Issues)
				require.Contains(t, apiErr.Error(), "[[amount currency]: Required.]")
			case CodePaymentIntentConflict:
				var d struct {
					PaymentIntentID string `json:"paymentIntentId"`
					Conflicts       []struct {
						Field string `json:"field"`
					} `json:"conflicts"`
				}
				require.NoError(t, apiErr.DecodeDetails(&d))
				require.Equal(t, "pi_1", d.PaymentIntentID)
				require.Equal(t, "sourceAmount", d.Conflicts[0].Field)
			}
		})
	}
}

func TestCancellationStopsRetries(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusServiceUnavailable, `{"error":"overloaded","message":"Behind."}`, "Retry-After", "30"))
	ctx, cancel := context.WithCancel(context.Background())
	// Cancelled once the first answer is in, while the client waits.
	c.hc = &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		time.AfterFunc(50*time.Millisecond, cancel)
		return resp, err
	})}
	start := time.Now()
	_, err := c.SubmitProviderEvidence(ctx, ProviderEvidence{Provider: "acmepay"})
	require.ErrorIs(t, err, context.Canceled)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr, "the last answer is kept")
	require.Equal(t, CodeOverloaded, apiErr.Code)
	require.Equal(t, 30*time.Second, apiErr.RetryAfter)
	require.Less(t, time.Since(start), 25*time.Second, "it did not sit out the Retry-After")
	require.Len(t, s.got(), 1)
}

// A wait that would outlast the context's deadline is not started: the
// answer in hand says more than a deadline error would.
func TestAWaitPastTheDeadlineReturnsTheLastAnswer(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusTooManyRequests, `{"statusCode":429,"error":"Too Many Requests","message":"Slow down."}`, "Retry-After", "20"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Do(ctx, http.MethodGet, "/v1/payment-intents", nil, nil)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusTooManyRequests, apiErr.StatusCode)
	require.Equal(t, CodeRateLimited, apiErr.Code)
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	require.Len(t, s.got(), 1)
}

func TestRetryAfterBeyondThePolicyIsNotWaitedFor(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusServiceUnavailable, `{"error":"service_unavailable","message":"Later."}`, "Retry-After", "3600"))
	_, err := c.Do(context.Background(), http.MethodGet, "/v1/ledgers", nil, nil)
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, time.Hour, apiErr.RetryAfter)
	require.Len(t, s.got(), 1)
}

// A PATCH may have been applied before a 5xx or a lost answer; only a 429,
// refused before anything ran, is retried.
func TestPatchIsRetriedOnlyWhenRateLimited(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusServiceUnavailable, `{"error":"service_unavailable","message":"Later."}`), nil)
	_, err := c.Do(context.Background(), http.MethodPatch, "/v1/ledgers/reconciliation/runs/r1", map[string]string{"note": "x"}, nil)
	require.Error(t, err)
	require.Len(t, s.got(), 1)
	require.Empty(t, s.got()[0].key, "no Idempotency-Key on a PATCH")

	s, c = newScripted(t, reply(http.StatusTooManyRequests, `{"statusCode":429,"error":"Too Many Requests","message":"Slow down."}`), reply(http.StatusOK, `{}`))
	_, err = c.Do(context.Background(), http.MethodPatch, "/v1/ledgers/reconciliation/runs/r1", map[string]string{"note": "x"}, nil)
	require.NoError(t, err)
	require.Len(t, s.got(), 2)
}

func TestTransportErrorsAreRetried(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, func(w http.ResponseWriter) {
		// The connection drops before any answer.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}, nil)
	_, err := c.Do(context.Background(), http.MethodPost, "/v1/evidence/bank", map[string]string{"direction": "credit"}, nil)
	require.NoError(t, err)
	got := s.got()
	require.Len(t, got, 2)
	require.Equal(t, got[0].key, got[1].key)
	require.Equal(t, got[0].body, got[1].body)
}

func TestRetriesOff(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusServiceUnavailable, `{"error":"overloaded","message":"Behind."}`), nil)
	var resp *Response
	_, err := c.Do(context.Background(), http.MethodPost, "/v1/evidence/provider", []byte(`{"provider":"acmepay"}`), io.Discard,
		WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), CaptureResponse(&resp))
	require.Error(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Len(t, s.got(), 1)
	require.Equal(t, `{"provider":"acmepay"}`, s.got()[0].body, "[]byte is sent as it is")
}

// A multipart upload is the same bytes on every retry and on every call
// with the same content, so the server's fingerprint matches under a key.
func TestMultipartBodiesAreStable(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusServiceUnavailable, `{"error":"overloaded","message":"Behind."}`), nil)
	p := UploadLedgerSourceParams{File: File{Name: "statement.csv", Content: []byte("date,amount\n2026-01-02,10.00\n")}, IdempotencyKey: "file-1"}
	_, err := c.UploadLedgerSource(context.Background(), "run-1", p, IdempotencyKey("k"))
	require.NoError(t, err)
	_, err = c.UploadLedgerSource(context.Background(), "run-1", p, IdempotencyKey("k"))
	require.NoError(t, err)
	got := s.got()
	require.Len(t, got, 3)
	require.Equal(t, got[0].body, got[1].body)
	require.Equal(t, got[0].body, got[2].body)
	require.Equal(t, got[0].headers.Get("Content-Type"), got[2].headers.Get("Content-Type"))
	require.True(t, strings.HasPrefix(got[0].headers.Get("Content-Type"), "multipart/form-data; boundary=reconlayer-"))
	require.Contains(t, got[0].body, `name="file"; filename="statement.csv"`)
	require.Contains(t, got[0].body, "2026-01-02,10.00")
	require.Contains(t, got[0].body, "file-1")

	p.File.Content = []byte("date,amount\n2026-01-02,11.00\n")
	_, err = c.UploadLedgerSource(context.Background(), "run-1", p)
	require.NoError(t, err)
	require.NotEqual(t, got[0].headers.Get("Content-Type"), s.got()[3].headers.Get("Content-Type"))
}

func TestRequestOptionsSetHeaders(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, nil)
	c = New(c.base+"/", WithCredential("session-token"), WithOrganization("org-1"), WithUserAgent("demo/1"))
	_, err := c.Do(context.Background(), http.MethodPost, "/v1/evidence/provider", map[string]string{}, nil,
		PreferAsync(), PreferWait(1500*time.Millisecond), Header("X-Request-Id", "req-1"))
	require.NoError(t, err)
	_, err = c.Do(context.Background(), http.MethodGet, "/v1/ledgers", nil, nil, ForOrganization("org-2"))
	require.NoError(t, err)
	got := s.got()
	require.Equal(t, "Bearer session-token", got[0].headers.Get("Authorization"))
	require.Equal(t, "org-1", got[0].headers.Get("X-Organization-Id"))
	require.Equal(t, "demo/1", got[0].headers.Get("User-Agent"))
	require.Equal(t, "respond-async, wait=2", got[0].headers.Get("Prefer"))
	require.Equal(t, "req-1", got[0].headers.Get("X-Request-Id"))
	require.Equal(t, "application/json", got[0].headers.Get("Content-Type"))
	require.Equal(t, "org-2", got[1].headers.Get("X-Organization-Id"))
	require.Empty(t, got[1].key, "no Idempotency-Key on a GET")
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-3":                            0,
		"7":                             7 * time.Second,
		" 2 ":                           2 * time.Second,
		"soon":                          0,
		"Fri, 20 Nov 2026 12:00:30 GMT": 30 * time.Second,
		"Fri, 20 Nov 2026 11:59:00 GMT": 0,
		strconv.Itoa(1 << 40):           24 * time.Hour,
	} {
		require.Equal(t, want, parseRetryAfter(v, now), "%q", v)
	}
}

func TestBackoffGrowsWithJitterAndIsCapped(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}.withDefaults()
	for range 100 {
		for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 40: time.Second} {
			d := p.backoff(attempt)
			require.GreaterOrEqual(t, d, ceiling/2)
			require.LessOrEqual(t, d, ceiling)
		}
	}
}

func TestPathParametersAreEscapedAndRequired(t *testing.T) {
	t.Parallel()
	s, c := newScripted(t, reply(http.StatusOK, `{"id":"a/b"}`))
	_, err := c.GetCase(context.Background(), "a/b?c")
	require.NoError(t, err)
	require.Len(t, s.got(), 1)
	_, err = c.GetCase(context.Background(), "")
	require.ErrorContains(t, err, "empty {id}")
	require.Len(t, s.got(), 1, "nothing sent")
	require.Equal(t, "/v1/reconciliation-cases/a%2Fb%3Fc", s.got()[0].uri)
}
