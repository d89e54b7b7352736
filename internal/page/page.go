// Package page is keyset paging shared by every list: newest first by
// (createdAt, id), continued after a cursor.
package page

import (
	"time"

	"github.com/google/uuid"
)

// Cursor is the last row of the previous page.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Page selects a slice of a list: by offset, or after a cursor.
type Page struct {
	Limit  int
	Offset int
	After  *Cursor
}

// Bound is the keyset bound of the first row to return. Without a cursor it
// is a sentinel past every row, so the list queries always carry the same
// (created_at, id) < bound condition: Postgres then uses the index as a range
// in every plan, where an optional condition (bound IS NULL OR …) makes
// generic plans filter row by row and every page O(rows before it).
func (p Page) Bound() (time.Time, uuid.UUID) {
	if p.After == nil {
		return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), uuid.Max
	}
	return p.After.CreatedAt, p.After.ID
}
