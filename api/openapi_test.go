package api

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/console"
)

var ginParam = regexp.MustCompile(`:([A-Za-z]+)`)

// The OpenAPI document and the router describe the same routes: a route
// missing from the spec, or a spec path with no route, fails here. Optional
// routes are on; asynq's web UI under /admin/queues and the web console
// under /console are not part of the API.
func TestOpenAPIMatchesTheRouter(t *testing.T) {
	t.Parallel()
	b := setup(t, admOn)
	doc, err := Spec()
	require.NoError(t, err)

	inRouter := map[string]bool{}
	for _, r := range b.router.Routes() {
		if r.Path == adminQueues || strings.HasPrefix(r.Path, adminQueues+"/") {
			continue
		}
		// The web console is HTML pages for people, not part of the API's
		// contract (its tests live in console/).
		if console.Owns(r.Path) {
			continue
		}
		inRouter[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	inSpec := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec[strings.ToUpper(method)+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range inRouter {
		if !inSpec[k] {
			missing = append(missing, k)
		}
	}
	for k := range inSpec {
		if !inRouter[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	require.Empty(t, missing, "routes missing from api/openapi.yaml")
	require.Empty(t, extra, "api/openapi.yaml names routes that do not exist")
}

func TestOpenAPIIsServed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rec := b.do(req{method: "GET", path: "/openapi.json"})
	require.Equal(t, 200, rec.Code)
	doc := decode[map[string]any](t, rec)
	require.Equal(t, "3.1.0", doc["openapi"])
	require.Contains(t, doc["paths"], "/v1/api-keys")

	rec = b.do(req{method: "GET", path: "/openapi.yaml"})
	require.Equal(t, 200, rec.Code)
	require.True(t, strings.HasPrefix(rec.Body.String(), "openapi: 3.1.0"))
}
