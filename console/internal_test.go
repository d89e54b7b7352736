package console

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/db"
)

func TestBuildChart(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 3, 14, 17, 30, 0, 0, time.UTC)
	day := func(d int) time.Time { return time.Date(2026, 3, 14+d, 0, 0, 0, 0, time.UTC) }
	c := buildChart([]db.CasesCreatedPerDayRow{
		{Day: day(-20), Verdict: ptr("matched"), Cases: 100}, // before the window
		{Day: day(-13), Verdict: ptr("matched"), Cases: 3},
		{Day: day(-13), Verdict: nil, Cases: 1}, // not judged yet
		{Day: day(-1), Verdict: ptr("needs_review"), Cases: 7},
		{Day: day(0), Verdict: ptr("matched"), Cases: 2},
		{Day: day(0), Verdict: ptr("sla_risk"), Cases: 8},
		{Day: day(0), Verdict: ptr("bogus"), Cases: 5},   // not a verdict: ignored
		{Day: day(1), Verdict: ptr("matched"), Cases: 9}, // tomorrow: ignored
	}, today)

	require.Len(t, c.Bars, chartDays)
	require.Equal(t, day(-13), c.From)
	require.Equal(t, day(0), c.To)
	require.Equal(t, "Mar 1", c.Bars[0].Label)
	require.Equal(t, "Mar 14", c.Bars[13].Label)
	require.EqualValues(t, 21, c.Total)
	require.EqualValues(t, 4, c.Bars[0].Total)
	require.Equal(t, []int64{3, 0, 0, 0, 0, 0, 1}, c.Bars[0].Counts)
	require.EqualValues(t, 10, c.Bars[13].Total)
	require.Zero(t, c.Bars[5].Total)
	require.Empty(t, c.Bars[5].Segments, "an empty day draws nothing")

	// Gridlines every 1, 2 or 5 times a power of ten, about four of them,
	// the top one at or above the highest bar (10).
	require.Equal(t, []int64{0, 5, 10}, tickValues(c))
	// Segments stack bottom up in the series' order, and the highest bar
	// reaches the top gridline.
	segs := c.Bars[13].Segments
	require.Len(t, segs, 2)
	require.Equal(t, "matched", segs[0].Verdict)
	require.Equal(t, "sla_risk", segs[1].Verdict)
	require.Equal(t, c.Ticks[len(c.Ticks)-1].Y, segs[1].Y)
	require.Equal(t, c.BaselineY, addPx(t, segs[0].Y, segs[0].Height))

	legend := map[string]int64{}
	for _, l := range c.Legend {
		legend[l.Verdict] = l.Total
	}
	require.Equal(t, map[string]int64{"matched": 5, "matched_with_exception": 0, "needs_review": 7, "unreconciled": 0,
		"delayed": 0, "sla_risk": 8, "none": 1}, legend)

	empty := buildChart(nil, today)
	require.Zero(t, empty.Total)
	require.Equal(t, []int64{0, 1}, tickValues(empty), "an empty chart still has a scale")
}

func ptr(s string) *string { return &s }

func tickValues(c chart) []int64 {
	var out []int64
	for _, t := range c.Ticks {
		out = append(out, t.Value)
	}
	return out
}

func addPx(t *testing.T, a, b string) string {
	t.Helper()
	var x, y float64
	_, err := fmt.Sscan(a, &x)
	require.NoError(t, err)
	_, err = fmt.Sscan(b, &y)
	require.NoError(t, err)
	return px(x + y)
}

func TestNiceStep(t *testing.T) {
	t.Parallel()
	for highest, want := range map[int64]int64{0: 1, 1: 1, 4: 1, 5: 2, 9: 5, 10: 5, 17: 5, 40: 10, 41: 20, 99: 50, 1234: 500, 100_000: 50_000} {
		require.Equal(t, want, niceStep(highest), "highest %d", highest)
	}
}

func TestSafeNext(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"/console":                              "/console",
		"/console/cases?page=2":                 "/console/cases?page=2",
		"/console/cases/a%20b":                  "/console/cases/a%20b",
		"/console/cases#frag":                   "/console/cases",
		"":                                      "",
		"/console/":                             "",
		"/console/./cases":                      "",
		"/console/../v1":                        "",
		"/console/%2e%2e/v1":                    "",
		"//evil.example/console":                "",
		"/\\evil.example":                       "",
		"https://evil.example":                  "",
		"http:/console":                         "",
		"javascript:alert(1)":                   "",
		"console":                               "",
		"/consolex":                             "",
		"/console/login":                        "",
		"/console/logout":                       "",
		"/console/static/x.css":                 "",
		"/console\r\nSet-Cookie:x":              "",
		"/console/" + strings.Repeat("a", 3000): "",
	} {
		require.Equal(t, want, safeNext(raw), "%q", raw)
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1234: "-1,234"} {
		require.Equal(t, want, formatCount(n))
	}
	require.Equal(t, "Fee out of tolerance", humanize("fee_out_of_tolerance"))
	require.Equal(t, "SLA risk", verdictLabel("sla_risk"))
	require.Equal(t, "Not judged yet", verdictLabel("none"))
	require.Equal(t, "Matched with exception", verdictLabel("matched_with_exception"))
}

// fail shows nothing of the error it logs; Postgres away is a 503.
func TestFailPages(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Console{logger: slog.New(slog.NewJSONHandler(&logs, nil)), pages: mustParseTemplates()}
	serve := func(err error) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest("GET", "/console/x", nil)
		s.fail(c, err)
		return rec
	}
	rec := serve(errors.New("pq: password authentication failed for user secret-detail"))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "Something went wrong")
	require.NotContains(t, rec.Body.String(), "secret-detail")
	require.Contains(t, logs.String(), "secret-detail", "the log has it")
	require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))

	rec = serve(fmt.Errorf("read: %w", errNotFound))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Body.String(), "Page not found")

	rec = serve(fmt.Errorf("read: %w", syscall.ECONNREFUSED))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "2", rec.Header().Get("Retry-After"))

	// A panic is the 500 page too, not the api's JSON.
	r := gin.New()
	r.GET("/console/boom", securityHeaders, s.recoverPanic, func(*gin.Context) { panic("secret-panic") })
	rec = httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/console/boom", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Equal(t, "text/html; charset=utf-8", rec.Header().Get("Content-Type"))
	require.Contains(t, rec.Body.String(), "Something went wrong")
	require.NotContains(t, rec.Body.String(), "secret-panic")
	require.Contains(t, logs.String(), "secret-panic")

	// A template that fails to render is a 500 page, not half a page.
	rec = httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	c.Request = httptest.NewRequest("GET", "/console/x", nil)
	s.render(c, http.StatusOK, "nope.html", view{})
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Contains(t, rec.Body.String(), "Something went wrong")
}
