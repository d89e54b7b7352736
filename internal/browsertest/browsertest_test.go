package browsertest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// pages serves a page that reaches for other origins in the ways a page can:
// an image, a fetch, and an image that its Content-Security-Policy blocks.
func pages() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<img src="/same.png"><img src="http://images.example/off.png">
<script src="/app.js"></script></body></html>`))
	})
	mux.HandleFunc("/csp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'")
		_, _ = w.Write([]byte(`<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
<img src="http://blocked.example/csp.png"><p id="done">done</p></body></html>`))
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write([]byte(`console.error("boom");
fetch("http://api.example/data").catch(() => { window.fetched = true; });
setTimeout(() => { throw new Error("kaboom"); }, 0);`))
	})
	mux.HandleFunc("/same.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(onePixelPNG)
	})
	return mux
}

// onePixelPNG is a transparent 1×1 image.
var onePixelPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func TestRecordsRequestsToOtherOrigins(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(pages())
	t.Cleanup(srv.Close)
	p := New(t)

	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(srv.URL+"/plain")))
	_, err := chromedp.Run(p.Ctx, chromedp.Poll[bool](`window.fetched === true`))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(p.Errors()) >= 2 }, 10*time.Second, 10*time.Millisecond, "the console error and the exception")

	var urls []string
	for _, r := range p.OffOrigin(srv.URL) {
		urls = append(urls, r.URL)
	}
	require.ElementsMatch(t, []string{"http://images.example/off.png", "http://api.example/data"}, urls)
	var same []string
	for _, r := range p.Requests() {
		if strings.HasPrefix(r.URL, srv.URL) {
			same = append(same, strings.TrimPrefix(r.URL, srv.URL)+" "+r.Type)
		}
	}
	require.Subset(t, same, []string{"/plain Document", "/same.png Image", "/app.js Script"})

	var kinds, texts []string
	for _, m := range p.Errors() {
		kinds = append(kinds, m.Kind)
		texts = append(texts, m.Text)
	}
	require.Contains(t, kinds, "console.error")
	require.Contains(t, kinds, "exception")
	require.Contains(t, texts, "boom")
	require.Contains(t, strings.Join(texts, "\n"), "kaboom")
}

// A request that the page's Content-Security-Policy blocks never leaves the
// browser, but it is recorded: a test sees what the page tried.
func TestRecordsRequestsThatTheCSPBlocks(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(pages())
	t.Cleanup(srv.Close)
	p := New(t)

	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(srv.URL+"/csp"), chromedp.WaitVisible(chromedp.ID("done"))))
	require.Eventually(t, func() bool { return len(p.OffOrigin(srv.URL)) > 0 }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "http://blocked.example/csp.png", p.OffOrigin(srv.URL)[0].URL)
}

func TestScreenshotIsAnArtifact(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(ArtifactsEnv, dir)
	srv := httptest.NewServer(pages())
	t.Cleanup(srv.Close)
	p := New(t)

	require.NoError(t, chromedp.Do(p.Ctx, chromedp.Navigate(srv.URL+"/csp"), chromedp.WaitVisible(chromedp.ID("done"))))
	file := p.Screenshot("csp page")
	require.Equal(t, filepath.Join(dir, "TestScreenshotIsAnArtifact", "csp_page.png"), file)
	img, err := os.ReadFile(file)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(img, []byte("\x89PNG")), "a PNG")
}
