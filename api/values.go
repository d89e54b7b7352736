package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
)

// nullable distinguishes a field that is absent (Set false), null (Set,
// Value nil) and given (Set, Value non-nil): PATCH needs all three.
type nullable[T any] struct {
	Set   bool
	Value *T
}

func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		n.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.Value = &v
	return nil
}

// shapeType lets checkShape validate the wrapped type (null is allowed).
func (nullable[T]) shapeType() reflect.Type { return reflect.TypeFor[T]() }

func itoa(i int) string { return strconv.Itoa(i) }
