package client

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client calls one ReconLayer server. It is safe for concurrent use.
type Client struct {
	base  string
	hc    *http.Client
	auth  []string // the Authorization header's value, built once
	org   string
	ua    []string // the User-Agent header's value
	retry RetryPolicy
}

// Header values every request sends, shared rather than allocated per
// request (net/http replaces a header's slice, never writes into it).
var (
	headerJSON         = []string{"application/json"}
	headerRespondAsync = []string{"respond-async"}
)

// DefaultUserAgent is sent unless WithUserAgent says otherwise.
const DefaultUserAgent = "reconlayer-go/1"

// Option configures a Client.
type Option func(*Client)

// WithCredential authenticates every request with token as a bearer: an API
// key (rl_live_…) or a dashboard session token. Managing API keys and
// webhook endpoints needs a session.
func WithCredential(token string) Option {
	return func(c *Client) {
		c.auth = nil
		if token != "" {
			c.auth = []string{"Bearer " + token}
		}
	}
}

// WithOrganization sends x-organization-id on every request: it picks the
// organization for a session that may act for several (an API key resolves
// its own).
func WithOrganization(id string) Option { return func(c *Client) { c.org = id } }

// WithHTTPClient sends requests through hc (its transport, timeout and
// redirect policy). The default has no timeout: bound calls with a context.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithUserAgent replaces DefaultUserAgent.
func WithUserAgent(ua string) Option { return func(c *Client) { c.ua = []string{ua} } }

// WithRetry sets the retry policy; zero fields take the defaults of
// DefaultRetryPolicy, and MaxAttempts 1 turns retries off.
func WithRetry(p RetryPolicy) Option { return func(c *Client) { c.retry = p.withDefaults() } }

// New returns a client of the server at baseURL (such as
// "https://reconlayer.example.com"; a trailing slash is ignored).
func New(baseURL string, opts ...Option) *Client {
	c := &Client{
		base:  strings.TrimRight(baseURL, "/"),
		hc:    &http.Client{},
		ua:    []string{DefaultUserAgent},
		retry: DefaultRetryPolicy(),
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// RequestOption adjusts one call.
type RequestOption func(*requestOptions)

type requestOptions struct {
	idempotencyKey string
	async          bool   // Prefer: respond-async
	wait           string // Prefer: wait=N
	org            string
	header         http.Header
	response       **Response
	retry          *RetryPolicy
}

// IdempotencyKey sends key (1 to 255 characters) instead of a generated one:
// to retry, across processes, an operation whose outcome was lost. A POST
// without it gets a fresh UUIDv4 per call; either is reused on each retry.
func IdempotencyKey(key string) RequestOption {
	return func(o *requestOptions) { o.idempotencyKey = key }
}

// PreferAsync asks an asynchronous write (evidence, uploads, auto-match) to
// answer 202 at once instead of waiting for the worker's outcome.
func PreferAsync() RequestOption {
	return func(o *requestOptions) { o.async = true }
}

// PreferWait bounds how long an asynchronous write waits for the worker's
// outcome before answering 202 (whole seconds, rounded up; the server caps
// it at 30 s).
func PreferWait(d time.Duration) RequestOption {
	wait := "wait=" + strconv.Itoa(max(int((d+time.Second-1)/time.Second), 0))
	return func(o *requestOptions) { o.wait = wait }
}

// ForOrganization sends x-organization-id for this call only.
func ForOrganization(id string) RequestOption { return func(o *requestOptions) { o.org = id } }

// Header sets a request header for this call; it wins over the client's own.
func Header(key, value string) RequestOption {
	return func(o *requestOptions) {
		if o.header == nil {
			o.header = http.Header{}
		}
		o.header.Set(key, value)
	}
}

// CaptureResponse stores the call's *Response (status, headers such as
// Idempotency-Replayed and x-ratelimit-*, attempts) in *dst, also when the
// call fails with an *Error. Typed methods return only the decoded body;
// this is how to see the rest.
func CaptureResponse(dst **Response) RequestOption {
	return func(o *requestOptions) { o.response = dst }
}

// WithRetryPolicy overrides the client's retry policy for this call.
func WithRetryPolicy(p RetryPolicy) RequestOption {
	p = p.withDefaults()
	return func(o *requestOptions) { o.retry = &p }
}

// Response is what the server answered to the last attempt of a call.
type Response struct {
	StatusCode int
	Header     http.Header
	// Body is the raw body; nil when a successful body was streamed to an
	// io.Writer given as Do's out.
	Body []byte
	// IdempotencyKey is the key sent with every attempt ("" when none was).
	IdempotencyKey string
	// Attempts counts the requests sent, retries included.
	Attempts int
}

// Replayed reports whether the server answered with the stored response of
// an earlier request under the same Idempotency-Key.
func (r *Response) Replayed() bool { return r.Header.Get("Idempotency-Replayed") == "true" }

// RequestID is the server's id of the request (X-Request-Id), for its logs.
func (r *Response) RequestID() string { return r.Header.Get("X-Request-Id") }

// Location is where to poll an asynchronous write answered 202.
func (r *Response) Location() string { return r.Header.Get("Location") }

// RateLimit is the organization's request budget as the response reports it.
type RateLimit struct {
	Limit     int           // requests allowed per minute
	Remaining int           // requests left in the current budget
	Reset     time.Duration // until the budget is full again
}

// RateLimit reads the x-ratelimit-* headers; ok is false when they are absent.
func (r *Response) RateLimit() (rl RateLimit, ok bool) {
	limit, err1 := strconv.Atoi(r.Header.Get("X-Ratelimit-Limit"))
	remaining, err2 := strconv.Atoi(r.Header.Get("X-Ratelimit-Remaining"))
	reset, err3 := strconv.Atoi(r.Header.Get("X-Ratelimit-Reset"))
	if err1 != nil || err2 != nil || err3 != nil {
		return RateLimit{}, false
	}
	return RateLimit{Limit: limit, Remaining: remaining, Reset: time.Duration(reset) * time.Second}, true
}

// Do sends one logical request and is what every typed method uses; it is
// there for routes the typed methods do not cover.
//
// path is relative to the base URL and may carry a query string. body is
// nil (no body), a []byte or json.RawMessage (sent as JSON as it is), a
// *Form (multipart/form-data) or any other value (encoded as JSON). It is
// encoded once, so every retry sends the same bytes. out receives a
// successful answer: nil (the body is left in Response.Body), an io.Writer
// (the body is streamed to it) or a pointer the JSON body is decoded into.
//
// A POST gets an Idempotency-Key unless IdempotencyKey gives one; other
// methods only when it does. An answer outside 2xx is returned as an *Error
// together with its *Response.
func (c *Client) Do(ctx context.Context, method, path string, body, out any, opts ...RequestOption) (*Response, error) {
	var o requestOptions
	for _, f := range opts {
		f(&o)
	}
	resp, err := c.do(ctx, method, path, body, out, &o)
	if o.response != nil {
		*o.response = resp
	}
	return resp, err
}

func (c *Client) do(ctx context.Context, method, path string, body, out any, o *requestOptions) (*Response, error) {
	payload, contentType, err := encodeBody(body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: encode body: %w", method, path, err)
	}
	key := o.idempotencyKey
	if key == "" && method == http.MethodPost {
		key = newIdempotencyKey()
	}
	policy := c.retry
	if o.retry != nil {
		policy = *o.retry
	}
	// Safe to send again: the server's idempotency layer dedupes a keyed
	// request, and these methods are idempotent by definition.
	replayable := key != "" || method == http.MethodGet || method == http.MethodHead ||
		method == http.MethodPut || method == http.MethodDelete || method == http.MethodOptions

	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, method, path, payload, contentType, key, out, o)
		if resp != nil {
			resp.Attempts = attempt
		}
		if err == nil || attempt >= policy.MaxAttempts {
			return resp, err
		}
		if ctx.Err() != nil {
			return resp, cancelled(ctx, err)
		}
		retry, after := shouldRetry(resp, err, replayable)
		if !retry || after > policy.MaxRetryAfter {
			return resp, err
		}
		wait := max(after, policy.backoff(attempt))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// Waiting would end in a deadline error that says less than
			// the answer in hand.
			return resp, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, cancelled(ctx, err)
		case <-t.C:
		}
	}
}

// cancelled is err, the last attempt's, as the context ended the call: it
// matches the context's error and still holds the answer.
func cancelled(ctx context.Context, err error) error {
	if errors.Is(err, ctx.Err()) {
		return err
	}
	return errors.Join(ctx.Err(), err)
}

// send makes one attempt.
func (c *Client) send(ctx context.Context, method, path string, payload []byte, contentType, key string, out any, o *requestOptions) (*Response, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	// Canonical keys assigned directly: no per-request copies of the
	// values every request shares.
	h := req.Header
	if c.auth != nil {
		h["Authorization"] = c.auth
	}
	h["Accept"] = headerJSON
	switch contentType {
	case "":
	case "application/json":
		h["Content-Type"] = headerJSON
	default:
		h["Content-Type"] = []string{contentType}
	}
	if c.ua != nil {
		h["User-Agent"] = c.ua
	}
	if key != "" {
		h["Idempotency-Key"] = []string{key}
	}
	if org := cmp.Or(o.org, c.org); org != "" {
		h["X-Organization-Id"] = []string{org}
	}
	switch {
	case o.async && o.wait != "":
		h["Prefer"] = []string{"respond-async, " + o.wait}
	case o.async:
		h["Prefer"] = headerRespondAsync
	case o.wait != "":
		h["Prefer"] = []string{o.wait}
	}
	for k, v := range o.header {
		h[k] = v
	}

	hr, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer hr.Body.Close()
	resp := &Response{StatusCode: hr.StatusCode, Header: hr.Header, IdempotencyKey: key}
	if hr.StatusCode < 200 || hr.StatusCode > 299 {
		// Error bodies are small; a proxy's page is cut short.
		resp.Body, err = io.ReadAll(io.LimitReader(hr.Body, 1<<20))
		if err != nil {
			return resp, fmt.Errorf("%s %s: read %d answer: %w", method, path, hr.StatusCode, err)
		}
		return resp, newError(method, path, resp)
	}
	if w, ok := out.(io.Writer); ok {
		if _, err := io.Copy(w, hr.Body); err != nil {
			return resp, fmt.Errorf("%s %s: read body: %w", method, path, err)
		}
		return resp, nil
	}
	if resp.Body, err = io.ReadAll(hr.Body); err != nil {
		return resp, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp, fmt.Errorf("%s %s: decode %d answer: %w", method, path, hr.StatusCode, err)
		}
	}
	return resp, nil
}

// encodeBody turns Do's body into bytes and their content type.
func encodeBody(body any) ([]byte, string, error) {
	switch b := body.(type) {
	case nil:
		return nil, "", nil
	case []byte:
		return b, "application/json", nil
	case json.RawMessage:
		return b, "application/json", nil
	case *Form:
		return b.encode()
	}
	data, err := json.Marshal(body)
	return data, "application/json", err
}

// newIdempotencyKey returns a random UUIDv4.
func newIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// Ptr returns a pointer to v, for optional fields that are pointers.
func Ptr[T any](v T) *T { return &v }
