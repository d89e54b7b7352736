// Package numeric carries Postgres numeric columns as shopspring decimals
// through pgx's binary path. decimal.Decimal is a sql.Scanner, and pgx uses a
// target's sql.Scanner before any codec: every numeric then went through text
// and math/big twice (a fifth of the export's page reading). These types are
// not Scanners, so pgx hands them a pgtype.Numeric to convert directly.
package numeric

import (
	"fmt"

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
