package client

import "strconv"

// ListParams pages a ReconLayer-family list: Limit 1 to 100 (25 when 0),
// and either Offset or, faster on long lists, the previous page's
// NextCursor as Cursor.
type ListParams struct {
	Limit  int    `query:"limit"`
	Offset int    `query:"offset"`
	Cursor string `query:"cursor"`
}

// Page is one page of a ReconLayer-family list, newest first.
type Page[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	// NextCursor gets the next page as ListParams.Cursor; empty on the last.
	NextCursor string `json:"nextCursor,omitempty"`
}

// LedgerListParams pages a ledger list: Limit 1 to 1000 (50 when 0).
type LedgerListParams struct {
	Limit  int `query:"limit"`
	Offset int `query:"offset"`
}

// OffsetPage is one page of a ledger list.
type OffsetPage[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// CursorParams pages an expected-payments-family list: PerPage 1 to 100 (25
// when 0), AfterCursor the previous page's CursorPage.AfterCursor.
type CursorParams struct {
	PerPage     int    `query:"per_page"`
	AfterCursor string `query:"after_cursor"`
}

// CursorPage is one page of an expected-payments-family list, which the API
// answers as a bare array with its cursor in headers.
type CursorPage[T any] struct {
	Items   []T
	PerPage int
	// AfterCursor gets the next page as CursorParams.AfterCursor; empty on
	// the last.
	AfterCursor string
}

func cursorPage[T any](items *[]T, resp *Response) *CursorPage[T] {
	p := &CursorPage[T]{Items: *items, AfterCursor: resp.Header.Get("X-After-Cursor")}
	p.PerPage, _ = strconv.Atoi(resp.Header.Get("X-Per-Page"))
	return p
}
