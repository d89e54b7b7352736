package backend

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"reflect"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
)

// registerNumeric makes numeric.Decimal and numeric.Null parameters (and COPY
// values) write Postgres's binary numeric format straight from the decimal,
// and read it back the same way. Through pgx's own plan each value became a
// pgtype.Numeric with a fresh *big.Int, and encodeNumericBinary then split it
// into base-10000 digits with math/big divisions: about 30% of a bulk COPY's
// CPU with one numeric column. Reading, pgx joined the digits with math/big
// multiplications: a quarter of the case export's page reading.
func registerNumeric(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{Name: "numeric", OID: pgtype.NumericOID, Codec: numericCodec{}})
}

// decimalValuer is what internal/numeric's Decimal and Null implement.
// internal/numeric is not imported by name: its tests reach this package
// through internal/dbtest, so the import would be a cycle.
type decimalValuer interface {
	// DecimalValue is the value, or false for NULL.
	DecimalValue() (decimal.Decimal, bool)
}

// decimalScanner is what *numeric.Decimal and *numeric.Null implement.
type decimalScanner interface {
	// ScanDecimal sets the value read (never NULL: pgx's plan handles that).
	ScanDecimal(d decimal.Decimal)
}

type numericCodec struct{ pgtype.NumericCodec }

// PlanEncode answers for binary parameters of a value type with both
// DecimalValue and NumericValue; pgx's plan for the latter stays as the
// fallback for a coefficient beyond int64. Pointers, text format and other
// types are pgx's as before.
func (c numericCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	next := c.NumericCodec.PlanEncode(m, oid, format, value)
	if format != pgtype.BinaryFormatCode || next == nil {
		return next
	}
	if _, ok := value.(decimalValuer); !ok {
		return next
	}
	if _, ok := value.(pgtype.NumericValuer); !ok {
		return next
	}
	if reflect.TypeOf(value).Kind() == reflect.Pointer {
		return next // a nil one would panic in DecimalValue; pgx's way stands
	}
	return encodeDecimal{next: next}
}

type encodeDecimal struct{ next pgtype.EncodePlan }

func (p encodeDecimal) Encode(value any, buf []byte) ([]byte, error) {
	d, ok := value.(decimalValuer).DecimalValue()
	if !ok {
		return nil, nil // SQL NULL
	}
	if out, ok := appendNumericBinary(buf, d); ok {
		return out, nil
	}
	return p.next.Encode(value, buf)
}

// appendNumericBinary appends d in Postgres's binary numeric format, byte for
// byte what pgx's encodeNumericBinary writes for the same value (including
// its zero digits, which Postgres strips: all -exp/4 rounded up fractional
// groups, and whole groups below the lowest non-zero one). It reports false,
// having appended nothing, when the coefficient does not fit in an int64 or
// the exponent is out of the format's range: the caller then uses pgx's plan,
// which gives the same bytes or error.
//
// The wire format is int16 ndigits, int16 weight, uint16 sign, int16 dscale,
// then ndigits base-10000 digits, most significant first; the value is
// sum(digit[i] * 10000^(weight-i)).
func appendNumericBinary(buf []byte, d decimal.Decimal) ([]byte, bool) {
	e := int64(d.Exponent())
	if e < -math.MaxInt16 || e > 4*math.MaxInt16 {
		return buf, false
	}
	// NumDigits costs no allocation for an int64 coefficient. At 19 digits
	// the coefficient is below 2^64, so Int64 (the low 64 bits, signed)
	// disagrees with the sign exactly when it is beyond int64.
	if d.NumDigits() > 19 {
		return buf, false
	}
	c := d.CoefficientInt64()
	var sign uint16
	switch s := d.Sign(); {
	case s > 0 && c <= 0, s < 0 && c >= 0, s == 0 && c != 0:
		return buf, false
	case s < 0:
		sign = 0x4000
	}
	u := uint64(c)
	if c < 0 {
		u = -u
	}

	// Align to base-10000 groups: value = u * 10^shift * 10000^q, where q is
	// the exponent divided by 4 rounded down.
	shift := ((e % 4) + 4) % 4
	q := (e - shift) / 4
	mul := [4]uint64{1, 10, 100, 1000}[shift]

	// The groups of u*10^shift, least significant first; it can exceed
	// uint64 (2^63 * 1000), so scale the halves either side of 10^16.
	low := (u % 1e16) * mul // < 1e19; its four groups are the low 16 digits
	high := (u/1e16)*mul + low/1e16
	var g [6]uint16
	for i := 0; i < 4; i++ {
		g[i] = uint16(low % 10000)
		low /= 10000
	}
	g[4] = uint16(high % 10000)
	g[5] = uint16(high / 10000)
	n := int64(len(g))
	for n > 0 && g[n-1] == 0 {
		n--
	}

	// Fractional groups are all written, even zero: max(n, -q) digits.
	ndigits := n
	if -q > ndigits {
		ndigits = -q
	}
	weight := max(n-1+q, -1)
	if weight > math.MaxInt16 {
		return buf, false
	}
	var dscale uint16
	if e < 0 {
		dscale = uint16(-e)
	}

	buf = binary.BigEndian.AppendUint16(buf, uint16(ndigits))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, dscale)
	for i := ndigits - 1; i >= n; i-- {
		buf = append(buf, 0, 0)
	}
	for i := n - 1; i >= 0; i-- {
		buf = binary.BigEndian.AppendUint16(buf, g[i])
	}
	return buf, true
}

// PlanScan answers for binary results scanned into a decimalScanner that is
// also a pgtype.NumericScanner; pgx's plan for the latter stays as the
// fallback for NULL, NaN, infinities, a coefficient beyond 128 bits and
// malformed input. Text format and other targets are pgx's as before.
func (c numericCodec) PlanScan(m *pgtype.Map, oid uint32, format int16, target any) pgtype.ScanPlan {
	next := c.NumericCodec.PlanScan(m, oid, format, target)
	if format != pgtype.BinaryFormatCode || next == nil {
		return next
	}
	if _, ok := target.(decimalScanner); !ok {
		return next
	}
	if _, ok := target.(pgtype.NumericScanner); !ok {
		return next
	}
	return scanDecimal{next: next}
}

type scanDecimal struct{ next pgtype.ScanPlan }

func (p scanDecimal) Scan(src []byte, dst any) error {
	if src != nil {
		if d, ok := decodeNumericBinary(src); ok {
			dst.(decimalScanner).ScanDecimal(d)
			return nil
		}
	}
	return p.next.Scan(src, dst)
}

// decodeNumericBinary reads Postgres's binary numeric format (see
// appendNumericBinary) into the decimal pgx's plan makes of it: the same
// coefficient and exponent, so the same String, Equal and Exponent. pgx's
// rules, in 128-bit integers instead of math/big: the digits form the
// coefficient with exponent 4*(weight-ndigits+1); a positive dscale then
// sets the exponent to -dscale, multiplying by 10 or dropping digits
// (truncating); without one, trailing decimal zeros go into the exponent.
// A numeric(38,18) amount of 100 is thus 100*10^18 with exponent -18, beyond
// int64 but not 128 bits. It reports false when the value is not a finite
// non-zero number with exactly ndigits digits, or needs more than 128 bits
// on the way: the caller then uses pgx's plan, which gives the same decimal
// or error.
func decodeNumericBinary(src []byte) (decimal.Decimal, bool) {
	if len(src) < 8 {
		return decimal.Decimal{}, false
	}
	ndigits := int(binary.BigEndian.Uint16(src))
	weight := int(int16(binary.BigEndian.Uint16(src[2:])))
	sign := binary.BigEndian.Uint16(src[4:])
	dscale := int(int16(binary.BigEndian.Uint16(src[6:])))
	if sign != 0 && sign != 0x4000 || len(src) != 8+2*ndigits {
		return decimal.Decimal{}, false // NaN, infinities, and malformed input
	}
	if ndigits == 0 {
		return decimal.New(0, 0), true // whatever the dscale, as pgx
	}
	exp := (weight - ndigits + 1) * 4
	frac := (ndigits - weight - 1) * 4 // decimal digits after the point
	// Postgres pads the last digit with zeros (0.5 is 5000 with dscale 1):
	// pgx then divides them away, here they are never multiplied in, so
	// that 38 significant digits fit.
	drop := 0
	if dscale > 0 && frac > dscale && frac-dscale < 4 {
		drop = frac - dscale
	}
	var u uint128
	for i := 0; i < ndigits; i++ {
		m, g := uint64(10000), uint64(binary.BigEndian.Uint16(src[8+2*i:]))
		if i == ndigits-1 && drop > 0 {
			// floor((u*10^4 + g) / 10^drop), which is what pgx's truncating
			// divisions by 10 come to.
			m, g = pow10[4-drop], g/pow10[drop]
		}
		var ok bool
		if u, ok = u.mulAdd(m, g); !ok {
			return decimal.Decimal{}, false
		}
	}
	exp += drop
	frac -= drop
	if u.isZero() {
		return decimal.Decimal{}, false // zero digits: Postgres sends none
	}
	if dscale > 0 {
		if frac-dscale > 40 {
			return decimal.Decimal{}, false
		}
		for ; frac < dscale; frac++ {
			var ok bool
			if u, ok = u.mulAdd(10, 0); !ok {
				return decimal.Decimal{}, false
			}
			exp--
		}
		for ; frac > dscale; frac-- {
			u, _ = u.divMod10()
			exp++
		}
	}
	if exp >= 0 && !u.isZero() {
		for {
			q, r := u.divMod10()
			if r != 0 {
				break
			}
			u = q
			exp++
		}
	}
	neg := sign != 0
	if u.hi == 0 && u.lo <= math.MaxInt64 {
		c := int64(u.lo)
		if neg {
			c = -c
		}
		return decimal.New(c, int32(exp)), true
	}
	c := u.big()
	if neg {
		c.Neg(c)
	}
	return decimal.NewFromBigInt(c, int32(exp)), true
}

var pow10 = [...]uint64{1, 10, 100, 1000}

// uint128 is an unsigned 128-bit integer: enough for numeric(38, s), whose
// coefficients pgx builds with math/big.
type uint128 struct{ hi, lo uint64 }

func (u uint128) isZero() bool { return u.hi == 0 && u.lo == 0 }

// mulAdd is u*m + a, or false on overflow.
func (u uint128) mulAdd(m, a uint64) (uint128, bool) {
	hiHi, hi := bits.Mul64(u.hi, m)
	carry, lo := bits.Mul64(u.lo, m)
	hi, c := bits.Add64(hi, carry, 0)
	if hiHi != 0 || c != 0 {
		return u, false
	}
	lo, c = bits.Add64(lo, a, 0)
	hi, c = bits.Add64(hi, 0, c)
	return uint128{hi, lo}, c == 0
}

// divMod10 is u/10 and u%10.
func (u uint128) divMod10() (uint128, uint64) {
	hi, r := u.hi/10, u.hi%10
	lo, r := bits.Div64(r, u.lo, 10)
	return uint128{hi, lo}, r
}

// big is u as a big.Int (whose words are 64 or 32 bits).
func (u uint128) big() *big.Int {
	if bits.UintSize == 64 {
		return new(big.Int).SetBits([]big.Word{big.Word(u.lo), big.Word(u.hi)})
	}
	return new(big.Int).SetBits([]big.Word{big.Word(u.lo), big.Word(u.lo >> 32), big.Word(u.hi), big.Word(u.hi >> 32)})
}
