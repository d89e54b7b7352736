package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/page"
)

const (
	defaultLimit = 25
	maxLimit     = 100
)

func encodeCursor(createdAt time.Time, id uuid.UUID) string {
	return page.Cursor{CreatedAt: createdAt, ID: id}.Encode()
}

// decodeCursor reads a cursor encodeCursor made; anything else is an issue
// at name.
func decodeCursor(v, name string, is *issues) (page.Cursor, bool) {
	cur, ok := page.DecodeCursor(v)
	if !ok {
		is.Add([]string{name}, "Not a cursor returned by this API.")
	}
	return cur, ok
}

// parsePage reads the paging parameters; out-of-range values are issues.
func parsePage(c *gin.Context, is *issues) page.Page {
	var p page.Page
	p.Limit, p.Offset = parseLimitOffset(c, is, defaultLimit, maxLimit)
	if v, ok := c.GetQuery("cursor"); ok {
		if cur, ok := decodeCursor(v, "cursor", is); ok {
			p.After = &cur
		}
		if p.Offset != 0 {
			is.Add([]string{"offset"}, "Use either offset or cursor, not both.")
		}
	}
	return p
}

// parseLimitOffset reads limit (def when absent, at most max) and offset.
func parseLimitOffset(c *gin.Context, is *issues, def, max int) (limit, offset int) {
	limit = def
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			is.Add([]string{"limit"}, "Must be a whole number from 1 to %d.", max)
		} else {
			limit = n
		}
	}
	if v, ok := c.GetQuery("offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			is.Add([]string{"offset"}, "Must be a whole number, 0 or more.")
		} else {
			offset = n
		}
	}
	return limit, offset
}

// listResponse is the ReconLayer-family list shape.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	Total      int64  `json:"total"`
	Limit      int    `json:"limit"`
	Offset     int    `json:"offset"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// respondList answers one page: every row rendered, and a next cursor from the
// last row's keyset (key) when the page is full.
func respondList[R, T any](c *gin.Context, pg page.Page, rows []R, total int64, render func(R) T, key func(R) (time.Time, uuid.UUID)) {
	resp := listResponse[T]{Items: make([]T, len(rows)), Total: total, Limit: pg.Limit, Offset: pg.Offset}
	for i, r := range rows {
		resp.Items[i] = render(r)
	}
	if len(rows) == pg.Limit {
		resp.NextCursor = encodeCursor(key(rows[len(rows)-1]))
	}
	c.JSON(http.StatusOK, resp)
}
