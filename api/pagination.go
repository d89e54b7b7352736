package api

import (
	"encoding/base64"
	"encoding/json"
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

// cursorJSON is the opaque cursor handed to clients: keyset on
// (createdAt, id), because offset paging over millions of rows is slow.
type cursorJSON struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

func encodeCursor(createdAt time.Time, id uuid.UUID) string {
	b, _ := json.Marshal(cursorJSON{createdAt, id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// parsePage reads the paging parameters; out-of-range values are issues.
func parsePage(c *gin.Context, is *issues) page.Page {
	p := page.Page{Limit: defaultLimit}
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			is.add([]string{"limit"}, "Must be a whole number from 1 to %d.", maxLimit)
		} else {
			p.Limit = n
		}
	}
	if v, ok := c.GetQuery("offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			is.add([]string{"offset"}, "Must be a whole number, 0 or more.")
		} else {
			p.Offset = n
		}
	}
	if v, ok := c.GetQuery("cursor"); ok {
		var cur cursorJSON
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(b, &cur) != nil || cur.ID == uuid.Nil {
			is.add([]string{"cursor"}, "Not a cursor returned by this API.")
		} else {
			p.After = &page.Cursor{CreatedAt: cur.CreatedAt, ID: cur.ID}
		}
		if p.Offset != 0 {
			is.add([]string{"offset"}, "Use either offset or cursor, not both.")
		}
	}
	return p
}

// listResponse is the ReconLayer-family list shape.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	Total      int64  `json:"total"`
	Limit      int    `json:"limit"`
	Offset     int    `json:"offset"`
	NextCursor string `json:"nextCursor,omitempty"`
}
