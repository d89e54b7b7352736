package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
)

type decodeLine struct {
	Value  string            `json:"value"`
	Amount *int64            `json:"amount"`
	Tags   map[string]string `json:"tags"`
}

type decodeBody struct {
	Name     string              `json:"name"`
	When     *time.Time          `json:"when"`
	Lines    []decodeLine        `json:"lines"`
	Meta     map[string]any      `json:"meta"`
	Flag     bool                `json:"flag"`
	Small    int8                `json:"small"`
	Raw      json.RawMessage     `json:"raw"`
	Optional nullable[time.Time] `json:"optional"`
}

func decodeWith(t testing.TB, body string, dst any) error {
	t.Helper()
	s := &server{opts: DefaultOptions()}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/", strings.NewReader(body))
	c.Request.Header.Set("Content-Type", "application/json")
	return s.decodeJSON(c, dst)
}

func issuePaths(t *testing.T, err error) []string {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	require.Equal(t, CodeInvalidRequest, e.Code)
	var out []string
	for _, is := range e.Issues {
		out = append(out, strings.Join(is.Path, "/"))
	}
	return out
}

func TestDecodeReportsEveryProblemWithItsPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		paths      []string
	}{
		{"nested unknown field", `{"lines":[{"value":"a"},{"value":"b","extra":1}]}`, []string{"lines/1/extra"}},
		{"nested wrong type", `{"lines":[{"value":5}]}`, []string{"lines/0/value"}},
		{"map value path", `{"lines":[{"tags":{"a":"x","b":2}}]}`, []string{"lines/0/tags/b"}},
		{"several at once", `{"name":1,"when":"yesterday","flag":"yes","small":300}`, []string{"flag", "name", "small", "when"}},
		{"integer must be whole", `{"lines":[{"amount":1.5}]}`, []string{"lines/0/amount"}},
		{"object expected", `{"lines":[7]}`, []string{"lines/0"}},
		{"array expected", `{"lines":{}}`, []string{"lines"}},
		{"root must be an object", `[]`, []string{""}},
		{"null for a string", `{"name":null}`, []string{"name"}},
		{"nullable with a bad value", `{"optional":"soon"}`, []string{"optional"}},
		{"field names are case-sensitive", `{"Name":"x"}`, []string{"Name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var dst decodeBody
			require.ElementsMatch(t, tc.paths, issuePaths(t, decodeWith(t, tc.body, &dst)))
		})
	}
}

func TestDecodeAcceptsWellFormedBodies(t *testing.T) {
	t.Parallel()
	var dst decodeBody
	err := decodeWith(t, `{"name":"n","when":"2026-01-02T15:04:05Z","lines":[{"value":"v","amount":-3,"tags":{"k":"v"}}],
		"meta":{"any":[1,{"x":null}]},"flag":true,"small":-128,"raw":{"kept":true},"optional":null,"when":null}`, &dst)
	require.NoError(t, err)
	require.Equal(t, int64(-3), *dst.Lines[0].Amount)
	require.True(t, dst.Optional.Set)
	require.Nil(t, dst.Optional.Value)
	require.JSONEq(t, `{"kept":true}`, string(dst.Raw))

	var absent decodeBody
	require.NoError(t, decodeWith(t, `{}`, &absent))
	require.False(t, absent.Optional.Set, "an absent field is not a null one")
}

// FuzzDecodeJSON: no input makes the decoder panic; it either accepts a body
// that encoding/json also accepts, or answers a 4xx envelope error.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","scopes":["ledgers:read"],"expiresAt":"2030-01-01T00:00:00Z","metadata":{"k":"v"}}`,
		`{"name":"","scopes":[1,{}],"extra":true}`, `{"expiresAt":null,"metadata":{"a":[1,2,{"b":null}]}}`,
		`[]`, `{`, `null`, `"x"`, `{"name":"\u0000"}`, `{"scopes":null}`, `{"a":1}{"b":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, dst := range []any{&createAPIKeyRequest{}, &updateAPIKeyRequest{}, &decodeBody{}} {
			err := decodeWith(t, string(body), dst)
			if err == nil {
				if e := json.Unmarshal(bytes.TrimSpace(body), dst); e != nil {
					t.Fatalf("accepted a body encoding/json rejects: %v", e)
				}
				continue
			}
			var env *Error
			if !errors.As(err, &env) || env.Status < 400 || env.Status >= 500 {
				t.Fatalf("not a 4xx envelope error: %v", err)
			}
		}
	})
}

// A credential without the route's scope gets 403 naming it. (Routes of
// later resources carry their scopes; this checks the mechanism directly.)
func TestMissingScopeIsForbiddenAndNamed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	r := b.newRouter()
	r.GET("/v1/scoped", b.rawServer().authenticate, b.rawServer().rateLimit, b.rawServer().requireAuth,
		requireScope("ledgers:read"), func(c *gin.Context) { c.Status(204) })
	narrow, _ := b.apiKey(org, "evidence:write")
	// /v1/scoped is not in the contract: served unchecked.
	_, rec := serveOffContract(t, r, req{method: "GET", path: "/v1/scoped", token: narrow})
	e := envelope(t, rec, 403, "forbidden")
	require.Contains(t, e.Message, "ledgers:read")
	require.Equal(t, "ledgers:read", e.Details.(map[string]any)["requiredScope"])
	wide, _ := b.apiKey(org, "ledgers:read")
	_, rec = serveOffContract(t, r, req{method: "GET", path: "/v1/scoped", token: wide})
	require.Equal(t, 204, rec.Code)
}
