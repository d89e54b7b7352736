package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
	"github.com/reconlayer/reconlayer/internal/expected"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/matcher"
	"github.com/reconlayer/reconlayer/internal/ruleset"
	"github.com/reconlayer/reconlayer/internal/webhook"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// layoutFiles are parsed into every page: the layout and the shared
// definitions ("csrf").
var layoutFiles = []string{"templates/layout.html"}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"count":   formatCount,
	"when":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"verdict": verdictLabel,
	"label":   humanize,
}

// mustParseTemplates parses every page of templates/ with the layout: one
// template set per page, so each defines its own "content".
func mustParseTemplates() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, layoutFiles...))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		file := path.Base(name)
		if "templates/"+file == layoutFiles[0] {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(templateFS, name))
		pages[file] = t
	}
	return pages
}

// view is what the layout renders around a page's "content".
type view struct {
	Title   string
	Section string               // the nav entry marked current
	Session *consoleauth.Session // nil when signed out
	CSRF    string               // what {{template "csrf" $}} puts in forms
	Nav     []navLink
	Notice  string // a one-line status message above the content
	Data    any    // the page's own data
}

// render executes page in the layout and answers it with status. The
// session, its CSRF token and the navigation are filled in from the
// request. Rendering goes to a buffer first, so a template error is a
// clean 500 page rather than half a page.
func (s *Console) render(c *gin.Context, status int, page string, v view) {
	if sess, ok := sessionOf(c); ok {
		v.Session = &sess
		if v.CSRF == "" {
			v.CSRF = sess.CSRFToken
		}
		if !sess.MustChangePassword {
			v.Nav = navFor(v.Section)
		}
	}
	t, ok := s.pages[page]
	var buf bytes.Buffer
	err := fmt.Errorf("no template %s", page)
	if ok {
		err = t.ExecuteTemplate(&buf, "layout", v)
	}
	if err != nil {
		s.logger.ErrorContext(c.Request.Context(), "console: render page", "page", page, "err", err.Error())
		if page == "error.html" {
			c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("Internal error."))
			c.Abort()
			return
		}
		s.errorPage(c, http.StatusInternalServerError)
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// errorPages are the titles and messages of the error pages. They say
// nothing about the request: a 404 for another organization's resource
// reads exactly as one for a resource that never existed.
var errorPages = map[int][2]string{
	http.StatusBadRequest:            {"Bad request", "The request could not be understood."},
	http.StatusForbidden:             {"Forbidden", "This form expired or did not come from this console. Go back, reload the page and try again."},
	http.StatusNotFound:              {"Page not found", "There is nothing here, or it belongs to another organization."},
	http.StatusMethodNotAllowed:      {"Method not allowed", "This page cannot be used that way."},
	http.StatusRequestEntityTooLarge: {"Too large", "The form sent more data than this page takes."},
	http.StatusInternalServerError:   {"Something went wrong", "An unexpected error occurred. It has been logged; try again in a moment."},
	http.StatusServiceUnavailable:    {"Temporarily unavailable", "The database is unavailable. Try again in a few seconds."},
}

// errorPage answers the HTML error page for status and stops the chain.
func (s *Console) errorPage(c *gin.Context, status int) {
	securityHeaders(c)
	text, ok := errorPages[status]
	if !ok {
		text = [2]string{http.StatusText(status), ""}
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "2")
	}
	s.render(c, status, "error.html", view{Title: text[0], Data: errorData{Status: status, Title: text[0], Message: text[1]}})
	c.Abort()
}

type errorData struct {
	Status         int
	Title, Message string
}

// notFoundErrors are the services' "no such thing in this organization"
// errors, answered with the 404 page. Page groups add theirs.
var notFoundErrors = []error{
	errNotFound,
	cases.ErrNotFound,
	importer.ErrBatchNotFound,
	importer.ErrProfileNotFound,
	matcher.ErrCaseNotFound,
	matcher.ErrLinkNotFound,
	ledger.ErrRunNotFound,
	ledger.ErrMatchNotFound,
	ledger.ErrItemNotFound,
	expected.ErrPaymentNotFound,
	apikey.ErrNotFound,
	webhook.ErrNotFound,
	webhook.ErrDeliveryNotFound,
	ruleset.ErrNotFound,
}

// errNotFound is a page's own "not found" (a malformed id in the path).
var errNotFound = errors.New("not found")

// fail answers err: the 404 page for a not-found error, the 503 page when
// Postgres is away, else the 500 page (err is logged, never shown).
func (s *Console) fail(c *gin.Context, err error) {
	for _, nf := range notFoundErrors {
		if errors.Is(err, nf) {
			s.errorPage(c, http.StatusNotFound)
			return
		}
	}
	if backend.Unavailable(err) {
		s.logger.WarnContext(c.Request.Context(), "console: database unavailable", "err", err.Error(), "route", c.FullPath())
		s.errorPage(c, http.StatusServiceUnavailable)
		return
	}
	s.logger.ErrorContext(c.Request.Context(), "console: request failed", "err", err.Error(), "method", c.Request.Method, "route", c.FullPath())
	s.errorPage(c, http.StatusInternalServerError)
}

// NotFound answers the 404 page for a console path no route matches. The
// session, when there is one, only dresses the page (header, navigation).
func (s *Console) NotFound(c *gin.Context) {
	_ = s.trySession(c) // the database away: the page without the header
	s.errorPage(c, http.StatusNotFound)
}

// MethodNotAllowed answers the 405 page for a console path that exists
// under other methods.
func (s *Console) MethodNotAllowed(c *gin.Context) {
	_ = s.trySession(c)
	s.errorPage(c, http.StatusMethodNotAllowed)
}

// static serves the embedded stylesheet (and whatever else static/ holds).
func (s *Console) static(c *gin.Context) {
	name := c.Param("name")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		s.errorPage(c, http.StatusNotFound)
		return
	}
	ctype := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	}
	c.Data(http.StatusOK, ctype, b)
}

// formatCount writes n with thousands separators (12,345).
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// humanize turns an enumeration value into words: fee_out_of_tolerance →
// "Fee out of tolerance".
func humanize(v string) string {
	s := strings.ReplaceAll(v, "_", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// verdictLabel names a verdict; "none" is a case not judged yet.
func verdictLabel(v string) string {
	switch v {
	case "none", "":
		return "Not judged yet"
	case "sla_risk":
		return "SLA risk"
	}
	return humanize(v)
}
