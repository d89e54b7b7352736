// Package money owns how amounts and currencies are parsed, validated and
// serialized.
//
// Amounts travel as decimal strings ("100.25") in JSON and are stored in
// Postgres as numeric(38,18). Parsing is deliberately stricter than
// decimal.NewFromString: anything ParseAmount accepts is guaranteed to fit
// numeric(38,18) without rounding, so a value never changes between the API
// and the database.
package money

import (
	"bytes"
	"encoding/json"

	"github.com/shopspring/decimal"
)

// Limits of the numeric(38,18) columns amounts are stored in.
const (
	MaxFractionDigits = 18
	MaxIntegerDigits  = 20
	MaxDigits         = MaxIntegerDigits + MaxFractionDigits
)

// Error is a validation failure whose Msg is written for API clients, so
// handlers can show it as is (prefixed with the field name).
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

// Client-facing messages. Tests spell them out literally: changing one is an
// API change for clients that match on it.
const (
	msgEmpty         = "must not be empty"
	msgGrammar       = `must be a decimal string like "100.25"`
	msgExponent      = "must not use exponent notation"
	msgFraction      = "has more than 18 digits after the decimal point"
	msgInteger       = "has more than 20 digits before the decimal point"
	msgJSONNumber    = `must be a decimal string like "100.25", not a number`
	msgJSONNotString = "must be a decimal string"
)

// Amount is a decimal money amount. The embedded Decimal supplies arithmetic
// and comparisons; Amount only adds the strict wire format.
type Amount struct {
	decimal.Decimal
}

// ParseAmount accepts only -?[0-9]+(\.[0-9]+)? within numeric(38,18).
// The grammar is narrower than decimal.NewFromString on purpose: exponents,
// "+1", ".5" and "5." are all ambiguous or lossy in someone's parser, and
// a reconciliation service must not guess what a counterparty meant.
func ParseAmount(s string) (Amount, error) {
	if s == "" {
		return Amount{}, &Error{Msg: msgEmpty}
	}
	i := 0
	neg := s[0] == '-'
	if neg {
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	if intPart == "" {
		return Amount{}, &Error{Msg: msgGrammar}
	}
	var fracPart string
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracPart = s[fracStart:i]
		if fracPart == "" {
			return Amount{}, &Error{Msg: msgGrammar}
		}
	}
	if i < len(s) {
		if isExponent(s[i:]) {
			return Amount{}, &Error{Msg: msgExponent}
		}
		return Amount{}, &Error{Msg: msgGrammar}
	}

	if len(fracPart) > MaxFractionDigits {
		return Amount{}, &Error{Msg: msgFraction}
	}
	// Leading zeros carry no value, so "00012.5" is as small as "12.5".
	// numeric(38,18) keeps 18 fractional digits for every value, which leaves
	// 20 for the integer part whatever the input's own scale is.
	intPart = trimLeadingZeros(intPart)
	if len(intPart) > MaxIntegerDigits {
		return Amount{}, &Error{Msg: msgInteger}
	}

	// Rebuilt from the trimmed parts so decimal never sees a huge run of zeros.
	canon := intPart
	if canon == "" {
		canon = "0"
	}
	if fracPart != "" {
		canon += "." + fracPart
	}
	if neg {
		canon = "-" + canon
	}
	d, err := decimal.NewFromString(canon)
	if err != nil {
		// Unreachable for input that passed the checks above.
		return Amount{}, &Error{Msg: msgGrammar}
	}
	return Amount{Decimal: d}, nil
}

// MarshalJSON writes the canonical decimal string, independent of the
// package-level decimal.MarshalJSONWithoutQuotes switch.
func (a Amount) MarshalJSON() ([]byte, error) {
	s := a.String()
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), nil
}

// UnmarshalJSON requires a JSON string: a JSON number may already have been
// rounded through a float64 by whoever produced it, so it is refused rather
// than trusted.
func (a *Amount) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '"' {
		if len(data) > 0 && (data[0] == '-' || isDigit(data[0])) {
			return &Error{Msg: msgJSONNumber}
		}
		return &Error{Msg: msgJSONNotString}
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return &Error{Msg: msgJSONNotString}
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// UnmarshalText overrides the promoted decimal.Decimal method so that query
// strings, form values and JSON map keys get the same strict grammar.
func (a *Amount) UnmarshalText(text []byte) error {
	v, err := ParseAmount(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isExponent reports whether rest is an exponent suffix such as "e5" or "E-3",
// only to pick a more helpful message.
func isExponent(rest string) bool {
	if len(rest) < 2 || (rest[0] != 'e' && rest[0] != 'E') {
		return false
	}
	rest = rest[1:]
	if rest[0] == '+' || rest[0] == '-' {
		rest = rest[1:]
	}
	if rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if !isDigit(rest[i]) {
			return false
		}
	}
	return true
}

func trimLeadingZeros(s string) string {
	for len(s) > 0 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
