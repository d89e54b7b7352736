package spectest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// testDoc is a small OpenAPI 3.1 document with what the real one uses: type
// arrays with null, const, a required response header, a non-JSON body,
// security, and the error envelope.
const testDoc = `
openapi: 3.1.0
info: {title: t, version: "1"}
servers: [{url: "http://localhost:3001"}]
security: [{bearer: []}]
paths:
  /things:
    post:
      parameters:
        - {name: Idempotency-Key, in: header, required: true, schema: {type: string, minLength: 1}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties:
                name: {type: string, minLength: 1}
      responses:
        "201":
          description: created
          headers:
            Idempotency-Replayed: {required: true, schema: {type: string, enum: ["true", "false"]}}
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
        "400": {$ref: "#/components/responses/Error"}
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1}}
      responses:
        "200":
          description: list
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Thing"}}
        "400": {$ref: "#/components/responses/Error"}
  /things/{id}:
    delete:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, format: uuid}}
      responses:
        "204": {description: gone}
        default: {$ref: "#/components/responses/Error"}
  /plain:
    get:
      responses:
        "200":
          description: a schema with no JSON Schema 2020 keyword, which kin-openapi validates on its own path
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Plain"}}
  /export:
    get:
      security: []
      responses:
        "200":
          description: csv
          content:
            text/csv:
              schema: {type: string}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  responses:
    Error:
      description: error
      content:
        application/json:
          schema: {$ref: "#/components/schemas/Error"}
  schemas:
    Error:
      type: object
      required: [error]
      properties:
        error: {type: string}
        message: {type: string}
    Plain:
      type: object
      required: [at, n]
      properties:
        at: {type: [string, "null"], format: date-time}
        n: {type: integer}
    Thing:
      type: object
      required: [id, name, kind, archivedAt]
      properties:
        id: {type: string, format: uuid}
        name: {type: string}
        kind: {const: thing}
        archivedAt: {type: [string, "null"], format: date-time}
`

const thing = `{"id":"0b9e6a2c-3f51-4f7e-9a53-2f1d3c4b5a69","name":"a","kind":"thing","archivedAt":null}`

func newValidator(t *testing.T) *Validator {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(testDoc))
	require.NoError(t, err)
	require.NoError(t, doc.Validate(t.Context()))
	v, err := New(doc)
	require.NoError(t, err)
	return v
}

// exchange is one request and the answer to check against testDoc.
type exchange struct {
	method, path, reqBody string
	reqHeader             map[string]string
	status                int
	respHeader            map[string]string
	respBody              string
}

func (e exchange) check(v *Validator) error {
	r := httptest.NewRequest(e.method, e.path, nil)
	r.Header.Set("Authorization", "Bearer whatever")
	if e.reqBody != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, val := range e.reqHeader {
		r.Header.Set(k, val)
	}
	h := http.Header{}
	if e.respBody != "" {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	for k, val := range e.respHeader {
		h.Set(k, val)
	}
	return v.check(r, []byte(e.reqBody), e.status, h, []byte(e.respBody))
}

func TestCheck(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	created := map[string]string{"Idempotency-Replayed": "false"}
	idem := map[string]string{"Idempotency-Key": "k1"}
	for _, tc := range []struct {
		name string
		ex   exchange
		err  string // "" when the exchange follows the document
	}{
		{"a documented exchange", exchange{method: "POST", path: "/things", reqBody: `{"name":"a"}`, reqHeader: idem,
			status: 201, respHeader: created, respBody: thing}, ""},
		{"null where the type array allows it, const", exchange{method: "GET", path: "/things?limit=2",
			status: 200, respBody: "[" + thing + "]"}, ""},
		{"null where it does not", exchange{method: "GET", path: "/things",
			status: 200, respBody: `[{"id":"0b9e6a2c-3f51-4f7e-9a53-2f1d3c4b5a69","name":null,"kind":"thing","archivedAt":null}]`}, "doesn't match schema"},
		{"a const broken", exchange{method: "GET", path: "/things",
			status: 200, respBody: `[{"id":"0b9e6a2c-3f51-4f7e-9a53-2f1d3c4b5a69","name":"a","kind":"other","archivedAt":null}]`}, "doesn't match schema"},
		{"a required field missing", exchange{method: "GET", path: "/things",
			status: 200, respBody: `[{"id":"0b9e6a2c-3f51-4f7e-9a53-2f1d3c4b5a69","name":"a","kind":"thing"}]`}, "doesn't match schema"},
		{"a member the schema does not declare", exchange{method: "GET", path: "/things",
			status: 200, respBody: `[{"id":"0b9e6a2c-3f51-4f7e-9a53-2f1d3c4b5a69","name":"a","kind":"thing","archivedAt":null,"colour":"red"}]`},
			"members the spec does not document: /*/colour"},
		{"type arrays without 2020 keywords", exchange{method: "GET", path: "/plain",
			status: 200, respBody: `[{"at":null,"n":1},{"at":"2026-01-02T15:04:05Z","n":2}]`}, ""},
		{"type arrays without 2020 keywords, broken", exchange{method: "GET", path: "/plain",
			status: 200, respBody: `[{"at":5,"n":1}]`}, "doesn't match schema"},
		{"a format without 2020 keywords, broken", exchange{method: "GET", path: "/plain",
			status: 200, respBody: `[{"at":"yesterday","n":1}]`}, "doesn't match schema"},
		{"a required header missing", exchange{method: "POST", path: "/things", reqBody: `{"name":"a"}`, reqHeader: idem,
			status: 201, respBody: thing}, `response header "Idempotency-Replayed" missing`},
		{"an undocumented status", exchange{method: "GET", path: "/things",
			status: 404, respBody: `{"error":"not_found"}`}, "status 404 is not documented"},
		{"default covers any status", exchange{method: "DELETE", path: "/things/0b9e6a2c-3f51-4f7e-9a53-2f1d3c4b5a69",
			status: 409, respBody: `{"error":"conflict"}`}, ""},
		{"a body where none is documented", exchange{method: "DELETE", path: "/things/0b9e6a2c-3f51-4f7e-9a53-2f1d3c4b5a69",
			status: 204, respBody: `{}`}, "where the spec documents none"},
		{"an undocumented content type", exchange{method: "GET", path: "/things",
			status: 200, respHeader: map[string]string{"Content-Type": "text/html"}, respBody: "[]"}, `content type "text/html"`},
		{"a bad request answered 400", exchange{method: "POST", path: "/things", reqBody: `{"name":""}`, reqHeader: idem,
			status: 400, respBody: `{"error":"invalid_request"}`}, ""},
		{"a bad request accepted", exchange{method: "POST", path: "/things", reqBody: `{"name":"a","extra":1}`, reqHeader: idem,
			status: 201, respHeader: created, respBody: thing}, "server accepted a request the spec forbids"},
		{"a missing required header accepted", exchange{method: "POST", path: "/things", reqBody: `{"name":"a"}`,
			status: 201, respHeader: created, respBody: thing}, "server accepted a request the spec forbids"},
		{"a bad query answered 500", exchange{method: "GET", path: "/things?limit=0",
			status: 500, respBody: `{"error":"internal_error"}`}, "must be answered with a 4xx"},
		{"a bad path parameter accepted", exchange{method: "DELETE", path: "/things/nope", status: 204},
			"server accepted a request the spec forbids"},
		{"the CSV export, on its content type", exchange{method: "GET", path: "/export",
			status: 200, respHeader: map[string]string{"Content-Type": "text/csv; charset=utf-8"}, respBody: "a,b\n1,2\n"}, ""},
		{"the CSV export as JSON", exchange{method: "GET", path: "/export", status: 200, respBody: "[]"}, "content type"},
		{"an unknown route answered with the envelope", exchange{method: "GET", path: "/nowhere",
			status: 404, respBody: `{"error":"not_found","message":"No route."}`}, ""},
		{"a wrong method answered with the envelope", exchange{method: "PUT", path: "/things",
			status: 405, respBody: `{"error":"method_not_allowed"}`}, ""},
		{"an unknown route answered otherwise", exchange{method: "GET", path: "/nowhere",
			status: 404, respBody: `{"message":"no"}`}, "not an error envelope"},
		{"an unknown route answered 200", exchange{method: "GET", path: "/nowhere",
			status: 200, respBody: `{"error":"x"}`}, "no operation in the spec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.ex.check(v)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.err)
		})
	}
}

// The transport checks what goes through a client and leaves both bodies
// readable by the caller; Coverage counts the operations it saw.
func TestTransportAndCoverage(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || string(body) != `{"name":"a"}` {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotency-Replayed", "false")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, thing)
	}))
	t.Cleanup(srv.Close)

	rec := &recorder{TB: t}
	client := &http.Client{Transport: v.Transport(rec, nil)}
	r, err := http.NewRequest("POST", srv.URL+"/things", strings.NewReader(`{"name":"a"}`))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Idempotency-Key", "k1")
	resp, err := client.Do(r)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	require.JSONEq(t, thing, string(body))
	require.Empty(t, rec.errors)

	// 418 is not documented: the transport reports it and still answers.
	resp, err = client.Get(srv.URL + "/things")
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusTeapot, resp.StatusCode)
	require.Len(t, rec.errors, 1)
	require.Contains(t, rec.errors[0], "status 418 is not documented")

	require.Equal(t, Coverage{Total: 5, Exercised: 2,
		Missed:    []string{"DELETE /things/{id}", "GET /export", "GET /plain"},
		NoSuccess: []string{"GET /things"},
	}, v.Coverage())
}

// recorder collects what Check reports instead of failing the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
