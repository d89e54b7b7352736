// Package validate collects field-level problems in what a client sent —
// an API request body or a row of an imported file — so that one answer
// names every bad field, by the same rules wherever the value came from.
package validate

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/reconlayer/reconlayer/internal/money"
)

// Issue locates one validation failure: Path is the field's segment path with
// array indices as strings (["metadata","0","value"]).
type Issue struct {
	Path    []string `json:"path"`
	Message string   `json:"message"`
}

func (i Issue) String() string { return strings.Join(i.Path, ".") + ": " + i.Message }

// MarshalJSON writes a missing path as [] (the body as a whole): clients
// read path as an array (seed 002), and a nil one would be null.
func (i Issue) MarshalJSON() ([]byte, error) {
	type plain Issue
	if i.Path == nil {
		i.Path = []string{}
	}
	return json.Marshal(plain(i))
}

// Issues is every failure found, in the order found.
type Issues []Issue

// Add records a failure at path.
func (is *Issues) Add(path []string, format string, args ...any) {
	*is = append(*is, Issue{Path: slices.Clone(path), Message: fmt.Sprintf(format, args...)})
}

// Index is an array index as a path segment.
func Index(i int) string { return strconv.Itoa(i) }

// Chars counts characters, not bytes: limits are stated in characters.
func Chars(s string) int { return utf8.RuneCountInString(s) }

// Sentence capitalizes a message and ends it with a period.
func Sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// Name requires a name (when required, not blank) of at most 200 characters.
func Name(name string, path []string, required bool, is *Issues) {
	switch n := len(strings.TrimSpace(name)); {
	case n == 0 && required:
		is.Add(path, "Required; must not be blank.")
	case Chars(name) > 200:
		is.Add(path, "Must be at most 200 characters.")
	}
}

// Description allows an omitted description or one of at most 500
// characters.
func Description(d *string, is *Issues) {
	if d != nil && Chars(*d) > 500 {
		is.Add([]string{"description"}, "Must be at most 500 characters.")
	}
}

// Currency requires a supported currency or token code.
func Currency(code string, path []string, is *Issues) {
	if code == "" {
		is.Add(path, "Required.")
		return
	}
	if err := money.ValidateCurrency(code); err != nil {
		is.Add(path, "%s", Sentence(err.Error()))
	}
}

// OptString allows an omitted string or one of 1 to max characters.
func OptString(v *string, path []string, max int, is *Issues) {
	if v != nil && (*v == "" || Chars(*v) > max) {
		is.Add(path, "Must be 1 to %d characters (or omitted).", max)
	}
}

// Positive requires an amount above zero (when given, or always).
func Positive(a *money.Amount, path []string, required bool, is *Issues) {
	switch {
	case a == nil && required:
		is.Add(path, "Required.")
	case a != nil && !a.IsPositive():
		is.Add(path, "Must be greater than zero.")
	}
}

var (
	evmTxHash     = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)
	genericTxHash = regexp.MustCompile(`^[0-9A-Za-z]{32,128}$`)
)

// TxHash checks shape: an EVM hash, or a base58/hex signature of another
// chain family.
func TxHash(h *string, path []string, is *Issues) {
	if h == nil {
		return
	}
	if strings.HasPrefix(*h, "0x") || strings.HasPrefix(*h, "0X") {
		if !evmTxHash.MatchString(*h) {
			is.Add(path, "An EVM transaction hash is 0x followed by 64 hex digits.")
		}
		return
	}
	if !genericTxHash.MatchString(*h) {
		is.Add(path, "Must be a transaction hash (0x + 64 hex digits, or 32 to 128 letters and digits).")
	}
}

// Metadata bounds a free-form metadata object: at most 50 keys of 1 to 40
// characters, each value at most 500 bytes of JSON.
func Metadata(m map[string]any, is *Issues) {
	if len(m) > 50 {
		is.Add([]string{"metadata"}, "At most 50 keys.")
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if len(k) == 0 || len(k) > 40 {
			is.Add([]string{"metadata", k}, "Keys must be 1 to 40 characters.")
		}
		if b, _ := json.Marshal(m[k]); len(b) > 500 {
			is.Add([]string{"metadata", k}, "Each value must encode to at most 500 bytes of JSON.")
		}
	}
}
