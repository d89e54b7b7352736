// Package spectest owns checking HTTP exchanges made in tests against an
// OpenAPI 3.1 document: the request against what its operation accepts, the
// response against what the operation documents for its status, so that the
// contract cannot drift from what the server does. It also counts the
// operations the checked exchanges exercised.
//
// It does not import the api package, whose tests use it: it takes the
// document as a value.
package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// errorSchema is the components schema every answer of a route the
// document does not describe (unknown path, wrong method) must follow.
const errorSchema = "Error"

// formats are checked on top of kin-openapi's (date, date-time): ids are
// UUIDs in their canonical form, which is what the server writes and, in a
// path or a body, what a client must send.
var formats = []openapi3.SchemaValidationOption{
	openapi3.WithStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(
		`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)),
}

// Validator checks exchanges against one OpenAPI 3.1 document. It is safe
// for concurrent use by parallel tests.
type Validator struct {
	router   routers.Router
	envelope *openapi3.Schema
	ops      []string // every operation of the document, "METHOD /path", sorted

	mu        sync.Mutex
	exercised map[string]bool // operation → answered 2xx at least once
}

// New prepares doc (loaded and validated, with the error envelope at
// components.schemas.Error) for checking. doc is not modified.
func New(doc *openapi3.T) (*Validator, error) {
	if doc.Components == nil || doc.Components.Schemas[errorSchema] == nil || doc.Components.Schemas[errorSchema].Value == nil {
		return nil, fmt.Errorf("spectest: the document has no components.schemas.%s", errorSchema)
	}
	// Servers name the deployed host; tests reach an httptest server or a
	// recorder on another host, and the paths are the same on all of them.
	// A shallow copy keeps the caller's document as it was.
	local := *doc
	local.Servers = nil
	router, err := gorillamux.NewRouter(&local)
	if err != nil {
		return nil, fmt.Errorf("spectest: route the document: %w", err)
	}
	v := &Validator{router: router, envelope: doc.Components.Schemas[errorSchema].Value, exercised: map[string]bool{}}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			v.ops = append(v.ops, opKey(method, path))
		}
	}
	slices.Sort(v.ops)
	return v, nil
}

func opKey(method, path string) string { return strings.ToUpper(method) + " " + path }

// Check reports on t every way in which one exchange departs from the
// document: a request the document forbids that was not answered with a
// 4xx, a status the operation does not document (nor `default`), a response
// whose content type, required headers or JSON body do not match, a JSON
// body with members its schema does not declare, a body where none is
// documented; and for a request no operation describes (unknown path, wrong
// method), an answer that is not the error envelope. Bodies of other media
// types (CSV, YAML, HTML, metrics) are checked on their content type only.
//
// reqBody is the request's body (req.Body is not read). Check fails the test
// with t.Errorf, so it may run on any goroutine.
func (v *Validator) Check(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	t.Helper()
	if err := v.check(req, reqBody, status, header, respBody); err != nil {
		t.Errorf("spec: %s %s answered %d: %v\nresponse body: %s", req.Method, req.URL.RequestURI(), status, err, clip(respBody))
	}
}

func (v *Validator) check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	ctx := context.Background()
	// The validators read the body and may look at the context: give them
	// their own copy of the request.
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))

	route, params, err := v.router.FindRoute(r)
	if errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed) {
		return v.checkEnvelope(status, header, respBody)
	}
	if err != nil {
		return fmt.Errorf("route the request: %w", err)
	}
	v.mu.Lock()
	op := opKey(route.Method, route.Path)
	v.exercised[op] = v.exercised[op] || (status >= 200 && status < 300)
	v.mu.Unlock()

	noAuth := openapi3filter.NoopAuthenticationFunc // the server enforces credentials; its tests cover them
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: noAuth, SkipSettingDefaults: true, SchemaValidationOptions: formats},
	}
	if reqErr := openapi3filter.ValidateRequest(ctx, in); reqErr != nil && (status < 400 || status >= 500) {
		if status < 400 {
			return fmt.Errorf("server accepted a request the spec forbids: %w", reqErr)
		}
		return fmt.Errorf("a request the spec forbids must be answered with a 4xx: %w", reqErr)
	}

	resp := route.Operation.Responses.Status(status)
	if resp == nil {
		resp = route.Operation.Responses.Default()
	}
	if resp == nil || resp.Value == nil {
		return fmt.Errorf("status %d is not documented for %s %s", status, route.Method, route.Path)
	}
	ct := header.Get("Content-Type")
	var media *openapi3.MediaType
	switch {
	case len(resp.Value.Content) == 0:
		if len(respBody) > 0 {
			return fmt.Errorf("a body (%s) where the spec documents none", ct)
		}
	case req.Method == http.MethodHead:
	default:
		if media = resp.Value.Content.Get(ct); media == nil || ct == "" {
			return fmt.Errorf("content type %q is not documented (documented: %s)", ct, strings.Join(slices.Sorted(maps.Keys(resp.Value.Content)), ", "))
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{
			AuthenticationFunc: noAuth, IncludeResponseStatus: true, SchemaValidationOptions: formats,
			// Only JSON bodies are checked against their schema: the
			// others (CSV, YAML, Prometheus text) are documented as strings,
			// which kin-openapi's decoders for them do not produce.
			ExcludeResponseBody: media == nil || !isJSON(ct),
		},
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return err
	}
	if out.Options.ExcludeResponseBody || media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	return documented(respBody, media.Schema.Value)
}

// documented fails on members of body its schema does not declare.
func documented(body []byte, schema *openapi3.Schema) error {
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("decode the response body: %w", err)
	}
	if extra := undocumented(value, []*openapi3.Schema{schema}); len(extra) > 0 {
		return fmt.Errorf("response body has members the spec does not document: %s", strings.Join(extra, ", "))
	}
	return nil
}

// checkEnvelope checks the answer to a request no operation describes.
func (v *Validator) checkEnvelope(status int, header http.Header, body []byte) error {
	if status < 400 {
		return fmt.Errorf("no operation in the spec describes this request, yet it was answered %d", status)
	}
	if ct := header.Get("Content-Type"); !isJSON(ct) {
		return fmt.Errorf("not an error envelope: content type %q", ct)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("not an error envelope: %w", err)
	}
	if err := v.envelope.VisitJSON(value, slices.Concat(formats, []openapi3.SchemaValidationOption{openapi3.EnableJSONSchema2020()})...); err != nil {
		return fmt.Errorf("not an error envelope: %w", err)
	}
	return documented(body, v.envelope)
}

// Transport returns a RoundTripper that sends each request through next
// (http.DefaultTransport when nil) and checks the exchange with Check. It
// reads both bodies into memory, so it suits tests, not large transfers.
func (v *Validator) Transport(t testing.TB, next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{v: v, t: t, next: next}
}

type transport struct {
	v    *Validator
	t    testing.TB
	next http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	sent := req
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		if cerr := req.Body.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("spectest: read the request body: %w", err)
		}
		// A RoundTripper must not change the caller's request.
		sent = req.Clone(req.Context())
		sent.Body = io.NopCloser(bytes.NewReader(reqBody))
		sent.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	resp, err := tr.next.RoundTrip(sent)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("spectest: read the response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	tr.v.Check(tr.t, req, reqBody, resp.StatusCode, resp.Header, respBody)
	return resp, nil
}

// Coverage says which of the document's operations checked exchanges
// exercised.
type Coverage struct {
	Total     int      // operations in the document
	Exercised int      // operations of at least one checked exchange
	Missed    []string // operations of none, "METHOD /path", sorted
	// NoSuccess are operations exercised only by error answers: their
	// success response was never checked.
	NoSuccess []string
}

// Coverage reports on the exchanges checked so far.
func (v *Validator) Coverage() Coverage {
	v.mu.Lock()
	defer v.mu.Unlock()
	c := Coverage{Total: len(v.ops)}
	for _, op := range v.ops {
		succeeded, seen := v.exercised[op]
		switch {
		case !seen:
			c.Missed = append(c.Missed, op)
		case !succeeded:
			c.NoSuccess = append(c.NoSuccess, op)
		}
	}
	c.Exercised = c.Total - len(c.Missed)
	return c
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// clip keeps failure messages readable when a body is large.
func clip(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
