package api

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/browsertest"
)

// /docs renders the contract in a real browser, from files this server
// serves: a known operation shows up, the page asked nothing of another
// origin, and nothing went wrong in its console.
func TestDocsRendersTheSpecInABrowser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	srv := httptest.NewServer(b.router)
	t.Cleanup(srv.Close)
	doc, err := Spec()
	require.NoError(t, err)
	op := doc.Paths.Find("/v1/payment-intents").Post
	require.NotNil(t, op)

	p := browsertest.New(t)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(srv.URL+"/docs")))
	// Swagger UI gives each operation the id operations-<tag>-<operationId>.
	block := chromedp.ID("operations-" + op.Tags[0] + "-" + op.OperationID)
	require.NoError(t, chromedp.Do(p.Ctx, chromedp.WaitVisible(block)))
	text, err := chromedp.Run(p.Ctx, chromedp.Text(block))
	require.NoError(t, err)
	require.Contains(t, text, "POST")
	require.Contains(t, text, "/v1/payment-intents")
	require.Contains(t, text, op.Summary)

	// Opened, it renders the request body and the responses from the schemas.
	require.NoError(t, chromedp.Do(p.Ctx,
		chromedp.Click(chromedp.CSS("#"+string(block)+" .opblock-summary-control")),
		chromedp.WaitVisible(chromedp.CSS("#"+string(block)+" .responses-table")),
	))
	text, err = chromedp.Run(p.Ctx, chromedp.Text(block))
	require.NoError(t, err)
	require.Contains(t, text, "externalReference")
	require.Contains(t, text, "201")
	p.Screenshot("createPaymentIntent")

	require.Empty(t, p.OffOrigin(srv.URL), "requests that left the server's origin")
	require.Empty(t, p.Errors(), "console errors and exceptions")
	var fetched []string
	for _, r := range p.Requests() {
		fetched = append(fetched, strings.TrimPrefix(r.URL, srv.URL))
	}
	require.Contains(t, fetched, "/openapi.json", "the page renders the served document")
}

// The page and its files answer without a credential, with their types; a
// file named with its current version may be cached for good.
func TestDocsIsServedWithoutCredentials(t *testing.T) {
	t.Parallel()
	b := setup(t)

	rec := b.do(req{method: "GET", path: "/docs"})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
	require.NotContains(t, rec.Body.String(), "http", "the page names no other origin")

	assets := regexp.MustCompile(`(?:src|href)="(/docs/assets/[^"]+)"`).FindAllStringSubmatch(rec.Body.String(), -1)
	require.Len(t, assets, 3, rec.Body.String())
	types := map[string]string{}
	for _, m := range assets {
		rec := b.do(req{method: "GET", path: m[1]})
		require.Equal(t, 200, rec.Code, m[1])
		require.Equal(t, "public, max-age=31536000, immutable", rec.Header().Get("Cache-Control"), m[1])
		require.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		name, _, _ := strings.Cut(strings.TrimPrefix(m[1], "/docs/assets/"), "?")
		types[name] = rec.Header().Get("Content-Type")
	}
	require.Equal(t, map[string]string{
		"swagger-ui.css":       "text/css; charset=utf-8",
		"swagger-ui-bundle.js": "text/javascript; charset=utf-8",
		"docs.js":              "text/javascript; charset=utf-8",
	}, types)

	rec = b.do(req{method: "GET", path: "/docs/assets/swagger-ui-bundle.js"})
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "no-cache", rec.Header().Get("Cache-Control"), "no version, no long cache")
	rec = b.do(req{method: "GET", path: "/docs/assets/swagger-ui-bundle.js", headers: map[string]string{"If-None-Match": rec.Header().Get("ETag")}})
	require.Equal(t, 304, rec.Code)

	rec = b.do(req{method: "GET", path: "/docs/assets/LICENSE"})
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "text/plain; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Body.String(), "Apache License")

	envelope(t, b.do(req{method: "GET", path: "/docs/assets/docs.html"}), 404, CodeNotFound)
}
