package console

// Helpers of the pages that list things (cases, audit events, imports, …):
// filters read from the query string with their problems in words, choices
// of a <select>, and keyset cursors.

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/page"
)

// pageSizes are the rows per page a list offers, the default first.
var pageSizes = []int{25, 50, 100}

// option is one choice of a filter's <select>.
type option struct {
	Value, Label string
	Selected     bool
}

// options are the choices of values, those in selected marked.
func options(values []string, label func(string) string, selected ...string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: label(v), Selected: slices.Contains(selected, v)}
	}
	return out
}

// formProblems collects what is wrong with a page's query or form, in
// words for the person who filled it in.
type formProblems []string

func (p *formProblems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// enumParam reads an optional parameter that must be one of values; an
// empty value is no filter.
func enumParam(c *gin.Context, name, label string, values []string, probs *formProblems) string {
	v := strings.TrimSpace(c.Query(name))
	if v != "" && !slices.Contains(values, v) {
		probs.add("%s: %q is not one of the values listed.", label, v)
		return ""
	}
	return v
}

// pageSizeOptions are the choices of pageSizes, limit selected.
func pageSizeOptions(limit int) []option {
	out := make([]option, len(pageSizes))
	for i, n := range pageSizes {
		out[i] = option{Value: strconv.Itoa(n), Label: strconv.Itoa(n), Selected: n == limit}
	}
	return out
}

// limitParam reads the page size, one of pageSizes.
func limitParam(c *gin.Context, probs *formProblems) int {
	v := c.Query("limit")
	if v == "" {
		return pageSizes[0]
	}
	n, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(pageSizes, n) {
		probs.add("Rows per page: choose 25, 50 or 100.")
		return pageSizes[0]
	}
	return n
}

// encodeListCursor is the cursor of a page that ends with the row (t, id),
// the api's own (a console URL can take an api cursor).
func encodeListCursor(t time.Time, id uuid.UUID) string {
	return page.Cursor{CreatedAt: t, ID: id}.Encode()
}

// cursorParam reads the cursor parameter into a keyset page of limit rows.
func cursorParam(c *gin.Context, limit int, probs *formProblems) page.Page {
	pg := page.Page{Limit: limit}
	v := c.Query("cursor")
	if v == "" {
		return pg
	}
	cur, ok := page.DecodeCursor(v)
	if !ok {
		probs.add("This page link is damaged; start again from the first page.")
		return pg
	}
	pg.After = &cur
	return pg
}

// withQuery is path with q as its query string (none when q is empty).
func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// orNil is s as an optional filter: nil when empty.
func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
