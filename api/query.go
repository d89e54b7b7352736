package api

import (
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// query reads a list route's query string. Unknown parameters are issues
// too: a misspelt filter silently ignored would return the wrong rows.
type query struct {
	c  *gin.Context
	is *issues
}

// pagingParams are the parameters of every paged list.
var pagingParams = []string{"limit", "offset", "cursor"}

// newQuery starts reading a query string that may hold only allowed.
func newQuery(c *gin.Context, is *issues, allowed ...string) query {
	var unknown []string
	for name := range c.Request.URL.Query() {
		if !slices.Contains(allowed, name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		is.Add([]string{name}, "Unknown query parameter %q; this route takes: %s.", name, strings.Join(allowed, ", "))
	}
	return query{c: c, is: is}
}

// listQuery is newQuery for a paged list.
func listQuery(c *gin.Context, is *issues, allowed ...string) query {
	return newQuery(c, is, append(allowed, pagingParams...)...)
}

func (q query) str(name string, max int) *string {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	if v == "" || utf8.RuneCountInString(v) > max || strings.ContainsRune(v, 0) {
		q.is.Add([]string{name}, "Must be 1 to %d characters, none of them NUL.", max)
		return nil
	}
	return &v
}

func (q query) enum(name string, values []string) *string {
	v := q.str(name, 64)
	if v != nil && !slices.Contains(values, *v) {
		q.is.Add([]string{name}, "Must be one of %s.", strings.Join(values, ", "))
		return nil
	}
	return v
}

// enums reads a repeatable parameter (verdict=a&verdict=b, or verdict=a,b).
func (q query) enums(name string, values []string) []string {
	var out []string
	for _, raw := range q.c.QueryArray(name) {
		for _, v := range strings.Split(raw, ",") {
			if !slices.Contains(values, v) {
				q.is.Add([]string{name}, "%q is not one of %s.", v, strings.Join(values, ", "))
				continue
			}
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func (q query) boolean(name string) *bool {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	switch v {
	case "true":
		t := true
		return &t
	case "false":
		f := false
		return &f
	}
	q.is.Add([]string{name}, "Must be true or false.")
	return nil
}

func (q query) uuid(name string) *uuid.UUID {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		q.is.Add([]string{name}, "Must be a UUID.")
		return nil
	}
	return &id
}

// timeRange reads from/to: RFC 3339 timestamps, or dates (YYYY-MM-DD, UTC)
// where `to` includes the whole day. The range is [from, to).
func (q query) timeRange(fromName, toName string) (from, to *time.Time) {
	parse := func(name string, end bool) *time.Time {
		v, ok := q.c.GetQuery(name)
		if !ok {
			return nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return &t
		}
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			if end {
				d = d.AddDate(0, 0, 1)
			}
			return &d
		}
		q.is.Add([]string{name}, "Must be an RFC 3339 timestamp (2026-01-02T15:04:05Z) or a date (2026-01-02).")
		return nil
	}
	from, to = parse(fromName, false), parse(toName, true)
	if from != nil && to != nil && !from.Before(*to) {
		q.is.Add([]string{toName}, "Must be after %s.", fromName)
	}
	return from, to
}
