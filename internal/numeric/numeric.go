// Package numeric carries Postgres numeric columns as shopspring decimals
// through pgx's binary path. decimal.Decimal is a sql.Scanner, and pgx uses a
// target's sql.Scanner before any codec: every numeric then went through text
// and math/big twice (a fifth of the export's page reading). These types are
// not Scanners, so the pool's numeric codec (internal/backend) hands them the
// decimal it decodes, or pgx a pgtype.Numeric to convert.
package numeric

import (
	"fmt"
	"math/bits"
	"strconv"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
)

// Decimal is a NOT NULL numeric column.
type Decimal struct{ d decimal.Decimal }

// From wraps d for a query parameter.
func From(d decimal.Decimal) Decimal { return Decimal{d} }

// Dec is the value.
func (n Decimal) Dec() decimal.Decimal { return n.d }

// String is the canonical decimal string ("100.25", no trailing zeros).
func (n Decimal) String() string { return n.d.String() }

// ScanNumeric implements pgtype.NumericScanner.
func (n *Decimal) ScanNumeric(v pgtype.Numeric) error {
	d, err := fromNumeric(v)
	if err != nil {
		return err
	}
	if d == nil {
		return fmt.Errorf("numeric: NULL in a NOT NULL column")
	}
	n.d = *d
	return nil
}

// ScanDecimal is how the pool's numeric codec (internal/backend) sets a value
// it decoded without a pgtype.Numeric.
func (n *Decimal) ScanDecimal(d decimal.Decimal) { n.d = d }

// NumericValue implements pgtype.NumericValuer.
func (n Decimal) NumericValue() (pgtype.Numeric, error) { return toNumeric(n.d), nil }

// DecimalValue is the value and true. With Null's it lets the pool's numeric
// codec (internal/backend) write the wire format without a pgtype.Numeric.
func (n Decimal) DecimalValue() (decimal.Decimal, bool) { return n.d, true }

// Null is a nullable numeric column.
type Null struct {
	d     decimal.Decimal
	valid bool
}

// NullFrom wraps d (nil for NULL) for a query parameter.
func NullFrom(d *decimal.Decimal) Null {
	if d == nil {
		return Null{}
	}
	return Null{d: *d, valid: true}
}

// Dec is the value, or nil for NULL.
func (n Null) Dec() *decimal.Decimal {
	if !n.valid {
		return nil
	}
	d := n.d
	return &d
}

// ScanNumeric implements pgtype.NumericScanner.
func (n *Null) ScanNumeric(v pgtype.Numeric) error {
	d, err := fromNumeric(v)
	if err != nil {
		return err
	}
	*n = NullFrom(d)
	return nil
}

// ScanDecimal is how the pool's numeric codec (internal/backend) sets a value
// it decoded without a pgtype.Numeric (never NULL).
func (n *Null) ScanDecimal(d decimal.Decimal) { *n = Null{d: d, valid: true} }

// NumericValue implements pgtype.NumericValuer.
func (n Null) NumericValue() (pgtype.Numeric, error) {
	if !n.valid {
		return pgtype.Numeric{}, nil
	}
	return toNumeric(n.d), nil
}

// DecimalValue is the value and true, or false for NULL, without Dec's copy.
func (n Null) DecimalValue() (decimal.Decimal, bool) { return n.d, n.valid }

func fromNumeric(v pgtype.Numeric) (*decimal.Decimal, error) {
	if !v.Valid {
		return nil, nil
	}
	if v.NaN || v.InfinityModifier != pgtype.Finite {
		return nil, fmt.Errorf("numeric: %v cannot be a decimal", v)
	}
	d := decimal.NewFromBigInt(v.Int, v.Exp)
	return &d, nil
}

func toNumeric(d decimal.Decimal) pgtype.Numeric {
	return pgtype.Numeric{Int: d.Coefficient(), Exp: d.Exponent(), Valid: true}
}

// Append appends d.String() to b, without the big.Int arithmetic and the
// strings String makes when the coefficient fits in 128 bits (every amount a
// numeric(38, 18) column holds; such a column's 100 is 100*10^18 with
// exponent -18), which an export does for every amount it writes.
func Append(b []byte, d decimal.Decimal) []byte {
	e := int(d.Exponent())
	if e > 64 || e < -64 || !decimal.TrimTrailingZeros || decimal.UseScientificNotation {
		return append(b, d.String()...)
	}
	var buf [40]byte
	digits, ok := absDigits(buf[:0], d)
	if !ok {
		return append(b, d.String()...)
	}
	if d.Sign() < 0 {
		b = append(b, '-')
	}
	if e >= 0 {
		b = append(b, digits...)
		if d.Sign() != 0 {
			for range e {
				b = append(b, '0')
			}
		}
		return b
	}
	// As String: the integer part (or 0), then the fraction without its
	// trailing zeros, and no point when nothing is left of it.
	point := len(digits) + e
	if point > 0 {
		b = append(b, digits[:point]...)
		digits = digits[point:]
	} else {
		b = append(b, '0')
	}
	end := len(digits)
	for end > 0 && digits[end-1] == '0' {
		end--
	}
	if end == 0 {
		return b
	}
	b = append(b, '.')
	for ; point < 0; point++ {
		b = append(b, '0')
	}
	return append(b, digits[:end]...)
}

// absDigits appends the decimal digits of d's coefficient without its sign,
// or reports false beyond 128 bits.
func absDigits(b []byte, d decimal.Decimal) ([]byte, bool) {
	if d.NumDigits() <= 18 {
		c := d.CoefficientInt64()
		if c < 0 {
			c = -c
		}
		return strconv.AppendUint(b, uint64(c), 10), true
	}
	var hi, lo uint64
	for i, w := range d.Coefficient().Bits() { // a copy: decimal does not lend its big.Int
		switch shift := i * bits.UintSize; {
		case shift >= 128:
			return b, false
		case shift >= 64:
			hi |= uint64(w) << (shift - 64)
		default:
			lo |= uint64(w) << shift
		}
	}
	// Below 2^128, at most two groups of 19 digits under the leading ones.
	const group = 1e19
	var groups [2]uint64
	n := 0
	for hi != 0 {
		var r uint64
		hi, r = hi/group, hi%group
		lo, groups[n] = bits.Div64(r, lo, group)
		n++
	}
	b = strconv.AppendUint(b, lo, 10)
	for n > 0 {
		n--
		start := len(b)
		b = strconv.AppendUint(b, groups[n], 10)
		if pad := 19 - (len(b) - start); pad > 0 {
			b = append(b, "0000000000000000000"[:pad]...)
			copy(b[start+pad:], b[start:len(b)-pad])
			copy(b[start:start+pad], "0000000000000000000")
		}
	}
	return b, true
}
