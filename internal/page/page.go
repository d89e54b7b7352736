// Package page is keyset paging shared by every list: newest first by
// (createdAt, id), continued after a cursor.
package page

import (
	"encoding/base64"
	"encoding/json"
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

// cursorJSON is the opaque cursor handed to clients (base64url JSON), so
// that the api's lists and the console's pages read each other's cursors.
type cursorJSON struct {
	CreatedAt time.Time `json:"t"`
	ID        uuid.UUID `json:"id"`
}

// Encode is c as the opaque cursor a list hands out for its next page.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(cursorJSON(c))
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor Encode made; false for anything else.
func DecodeCursor(v string) (Cursor, bool) {
	var cur cursorJSON
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || json.Unmarshal(b, &cur) != nil || cur.ID == uuid.Nil {
		return Cursor{}, false
	}
	return Cursor(cur), true
}
