// Package resource renders ReconLayer's resources in their public JSON shape,
// for API responses, exports and webhook payloads alike: one definition of each
// shape, so a webhook carries exactly what the API answers.
//
// Shapes follow the ReconLayer family (seed 001). Amounts are decimal
// strings, timestamps RFC 3339 UTC; absent values are null, never omitted.
package resource

import (
	"time"

	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/numeric"
)

// Amount is a decimal amount with its currency.
type Amount struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// MapSlice renders every element of a slice (an empty slice for none, so
// that lists encode as [] and not null).
func MapSlice[T, R any](in []T, f func(T) R) []R {
	out := make([]R, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// DecStr renders a nullable decimal as a nullable string.
func DecStr(n numeric.Null) *string {
	d := n.Dec()
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

// UTCPtr renders a nullable time in UTC.
func UTCPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// UUIDStr renders a nullable UUID as a nullable string.
func UUIDStr(id *uuid.UUID) *string {
	if id == nil {
		return nil
	}
	s := id.String()
	return &s
}
