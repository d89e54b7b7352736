package backend

// An internal test: the byte comparison and the benchmark need the unexported
// codec, and internal/dbtest imports this package, so the database tests
// build their pools with PoolConfig on DATABASE_URL themselves (reading only,
// and a temp table).

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/numeric"
)

// numericCases are the decimals the database tests send, with the text
// Postgres gives back (dscale = -exponent digits, as StringFixed writes).
func numericCases() []decimal.Decimal {
	var ds []decimal.Decimal
	for _, s := range []string{"0", "1", "-1", "0.5", "0.0001", "123.45", "-123.45", "100", "10000",
		"100000000000000000000", "12345678901234567890.123456789", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "-9223372036854775809", "9999999999999999999", "0.000000001", "1.10", "33.06",
		"23.06", "0.00", "-0.000000000000000001", "12345.67", "99999999.9999", "0.00010000"} {
		ds = append(ds, decimal.RequireFromString(s))
	}
	return append(ds, decimal.New(5, 3), decimal.New(1, 20), decimal.New(-7, 9), decimal.New(0, 5),
		decimal.New(math.MaxInt64, -1), decimal.New(math.MinInt64, 3), decimal.New(math.MaxInt64, -25),
		decimal.New(123, -5))
}

func wantText(d decimal.Decimal) string {
	return d.StringFixed(max(0, -d.Exponent()))
}

func numericPools(t *testing.T) (ours, pgxs *pgxpool.Pool) {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		url = config.DefaultDatabaseURL
	}
	open := func(cfg *pgxpool.Config) *pgxpool.Pool {
		cfg.MaxConns = 2
		pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		require.NoError(t, pool.Ping(context.Background()), "start the local services with `make services`")
		return pool
	}
	cfg, err := PoolConfig(url)
	require.NoError(t, err)
	plain, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	return open(cfg), open(plain)
}

// Every case, as numeric.Decimal and as numeric.NullFrom, reads back from
// Postgres as the same text through our codec as through pgx's, and as the
// text its exponent says; numeric.Null{} is NULL.
func TestNumericEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	ours, pgxs := numericPools(t)
	ctx := context.Background()

	conn, err := ours.Acquire(ctx)
	require.NoError(t, err)
	plan := conn.Conn().TypeMap().PlanEncode(pgtype.NumericOID, pgtype.BinaryFormatCode, numeric.From(decimal.Zero))
	conn.Release()
	require.IsType(t, encodeDecimal{}, plan, "the pool registers the codec")

	for _, d := range numericCases() {
		for _, v := range []any{numeric.From(d), numeric.NullFrom(&d)} {
			var got, viaPgx string
			require.NoError(t, ours.QueryRow(ctx, "SELECT $1::numeric::text", v).Scan(&got), d.String())
			require.NoError(t, pgxs.QueryRow(ctx, "SELECT $1::numeric::text", v).Scan(&viaPgx), d.String())
			require.Equal(t, viaPgx, got, "%T %s", v, d)
			require.Equal(t, wantText(d), got, "%T %s", v, d)
		}
	}

	var null *string
	var isNull bool
	require.NoError(t, ours.QueryRow(ctx, "SELECT $1::numeric::text, $1::numeric IS NULL", numeric.Null{}).Scan(&null, &isNull))
	require.Nil(t, null)
	require.True(t, isNull)

	var back numeric.Decimal
	require.NoError(t, ours.QueryRow(ctx, "SELECT $1::numeric", numeric.From(decimal.RequireFromString("-123.45"))).Scan(&back))
	require.Equal(t, "-123.45", back.String())
}

// A COPY of every case (and NULLs) reads back as the same text.
func TestNumericEncodeCopy(t *testing.T) {
	t.Parallel()
	ours, pgxs := numericPools(t)
	ctx := context.Background()
	cases := numericCases()
	var rows [][]any
	for i, d := range cases {
		rows = append(rows, []any{i, numeric.From(d), numeric.NullFrom(&d)})
	}
	rows = append(rows, []any{len(cases), numeric.From(decimal.NewFromInt(42)), numeric.Null{}})

	copied := func(pool *pgxpool.Pool) [][2]*string {
		conn, err := pool.Acquire(ctx)
		require.NoError(t, err)
		defer conn.Release()
		tx, err := conn.Begin(ctx)
		require.NoError(t, err)
		defer tx.Rollback(ctx) //nolint:errcheck
		_, err = tx.Exec(ctx, "CREATE TEMP TABLE numeric_copy (id int, v numeric NOT NULL, nv numeric) ON COMMIT DROP")
		require.NoError(t, err)
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"numeric_copy"}, []string{"id", "v", "nv"}, pgx.CopyFromRows(rows))
		require.NoError(t, err)
		require.EqualValues(t, len(rows), n)
		res, err := tx.Query(ctx, "SELECT v::text, nv::text FROM numeric_copy ORDER BY id")
		require.NoError(t, err)
		out, err := pgx.CollectRows(res, func(r pgx.CollectableRow) ([2]*string, error) {
			var a, b *string
			return [2]*string{a, b}, r.Scan(&a, &b)
		})
		require.NoError(t, err)
		return out
	}
	got, viaPgx := copied(ours), copied(pgxs)
	require.Equal(t, viaPgx, got)
	require.Len(t, got, len(cases)+1)
	for i, d := range cases {
		require.NotNil(t, got[i][0])
		require.NotNil(t, got[i][1])
		require.Equal(t, wantText(d), *got[i][0], d.String())
		require.Equal(t, wantText(d), *got[i][1], d.String())
	}
	require.Equal(t, "42", *got[len(cases)][0])
	require.Nil(t, got[len(cases)][1])
}

// encodeBoth encodes v after a prefix with our plan and with pgx's.
func encodeBoth(t *testing.T, m *pgtype.Map, v any) (ours, theirs []byte, oursErr, theirsErr error) {
	t.Helper()
	p := numericCodec{}.PlanEncode(m, pgtype.NumericOID, pgtype.BinaryFormatCode, v)
	require.IsType(t, encodeDecimal{}, p)
	q := pgtype.NumericCodec{}.PlanEncode(m, pgtype.NumericOID, pgtype.BinaryFormatCode, v)
	ours, oursErr = p.Encode(v, []byte("prefix"))
	theirs, theirsErr = q.Encode(v, []byte("prefix"))
	return ours, theirs, oursErr, theirsErr
}

// Random coefficients (within int64, at its edges and beyond) and exponents
// in [-20, 10] encode to exactly pgx's bytes; no database needed.
func TestNumericEncodeMatchesPgx(t *testing.T) {
	t.Parallel()
	m := pgtype.NewMap()
	r := rand.New(rand.NewPCG(20240611, 1))
	coefficient := func() *big.Int {
		switch r.IntN(6) {
		case 0:
			return big.NewInt(r.Int64N(2_000_001) - 1_000_000)
		case 1:
			return big.NewInt(int64(r.Uint64()))
		case 2: // a random number of digits, 1 to 19
			return big.NewInt(r.Int64N(int64(math.Pow10(1+r.IntN(18)))) * int64(1-2*r.IntN(2)))
		case 3: // the edges of int64
			return big.NewInt([]int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 0}[r.IntN(5)])
		case 4: // just beyond int64, either sign
			b := new(big.Int).SetUint64(1<<63 + r.Uint64N(1<<62))
			if r.IntN(2) == 0 {
				b.Neg(b)
			}
			return b
		default: // 20 to 40 digits
			b := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(19+r.IntN(21))), nil)
			b.Add(b, new(big.Int).SetUint64(r.Uint64()))
			if r.IntN(2) == 0 {
				b.Neg(b)
			}
			return b
		}
	}
	fast := 0
	for i := 0; i < 5000; i++ {
		d := decimal.NewFromBigInt(coefficient(), int32(r.IntN(31)-20))
		if _, ok := appendNumericBinary(nil, d); ok {
			fast++
		}
		var v any = numeric.From(d)
		if r.IntN(4) == 0 {
			v = numeric.NullFrom(&d)
		}
		ours, theirs, oursErr, theirsErr := encodeBoth(t, m, v)
		require.NoError(t, oursErr)
		require.NoError(t, theirsErr)
		require.Equal(t, theirs, ours, "coefficient %s exponent %d", d.Coefficient(), d.Exponent())
	}
	require.Greater(t, fast, 3000, "most values take the fast path")

	ours, theirs, _, _ := encodeBoth(t, m, numeric.Null{})
	require.Nil(t, ours, "NULL")
	require.Nil(t, theirs)

	// Exponents at and beyond the format's limits: the same bytes or both an error.
	for _, e := range []int32{-32768, -32767, -32766, -32765, 131064, 131068, 131069, 131072, 200000} {
		for _, c := range []int64{0, 1, -12345, math.MaxInt64} {
			d := decimal.New(c, e)
			ours, theirs, oursErr, theirsErr := encodeBoth(t, m, numeric.From(d))
			require.Equal(t, theirsErr != nil, oursErr != nil, "%d e%d", c, e)
			require.Equal(t, theirs, ours, "%d e%d", c, e)
		}
	}
}

// Only binary numeric.Decimal/Null values get the new plan.
func TestNumericEncodePlanChoice(t *testing.T) {
	t.Parallel()
	m := pgtype.NewMap()
	c := numericCodec{}
	d := numeric.From(decimal.NewFromInt(1))
	require.IsType(t, encodeDecimal{}, c.PlanEncode(m, pgtype.NumericOID, pgtype.BinaryFormatCode, numeric.Null{}))
	for _, tc := range []struct {
		format int16
		value  any
	}{
		{pgtype.TextFormatCode, d},
		{pgtype.BinaryFormatCode, &d},
		{pgtype.BinaryFormatCode, pgtype.Numeric{}},
		{pgtype.BinaryFormatCode, int64(1)},
		{pgtype.BinaryFormatCode, decimal.NewFromInt(1)},
	} {
		p := c.PlanEncode(m, pgtype.NumericOID, tc.format, tc.value)
		require.Equal(t, fmt.Sprintf("%T", pgtype.NumericCodec{}.PlanEncode(m, pgtype.NumericOID, tc.format, tc.value)),
			fmt.Sprintf("%T", p), "%d %T", tc.format, tc.value)
	}
}

// The two plans on a typical money value, as a COPY row hands it over.
func BenchmarkEncodeNumeric(b *testing.B) {
	m := pgtype.NewMap()
	var v any = numeric.From(decimal.RequireFromString("12345.67"))
	for _, bc := range []struct {
		name  string
		codec pgtype.Codec
	}{{"reconlayer", numericCodec{}}, {"pgx", pgtype.NumericCodec{}}} {
		b.Run(bc.name, func(b *testing.B) {
			p := bc.codec.PlanEncode(m, pgtype.NumericOID, pgtype.BinaryFormatCode, v)
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = p.Encode(v, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// decodeBoth scans src into numeric.Null with our plan and with pgx's.
func decodeBoth(t testing.TB, m *pgtype.Map, src []byte) (ours, theirs numeric.Null, oursErr, theirsErr error) {
	t.Helper()
	p := numericCodec{}.PlanScan(m, pgtype.NumericOID, pgtype.BinaryFormatCode, &ours)
	if _, ok := p.(scanDecimal); !ok {
		t.Fatalf("plan %T", p)
	}
	q := pgtype.NumericCodec{}.PlanScan(m, pgtype.NumericOID, pgtype.BinaryFormatCode, &theirs)
	return ours, theirs, p.Scan(src, &ours), q.Scan(src, &theirs)
}

// requireSameDecode: the same error-ness and, without one, the same
// coefficient and exponent (so the same String and Equal). Headers that make
// pgx multiply by 10 more than a thousand times are skipped: its time grows
// with the square of that count, up to minutes (Postgres never sends them).
func requireSameDecode(t testing.TB, m *pgtype.Map, src []byte) {
	t.Helper()
	if len(src) >= 8 {
		ndigits := int(binary.BigEndian.Uint16(src))
		weight := int(int16(binary.BigEndian.Uint16(src[2:])))
		dscale := int(int16(binary.BigEndian.Uint16(src[6:])))
		if dscale > 0 && dscale-(ndigits-weight-1)*4 > 1000 {
			return
		}
	}
	ours, theirs, oursErr, theirsErr := decodeBoth(t, m, src)
	if (oursErr != nil) != (theirsErr != nil) {
		t.Fatalf("%x: our error %v, pgx's %v", src, oursErr, theirsErr)
	}
	if oursErr != nil {
		return
	}
	o, oValid := ours.DecimalValue()
	p, pValid := theirs.DecimalValue()
	if oValid != pValid || o.Exponent() != p.Exponent() || o.Coefficient().Cmp(p.Coefficient()) != 0 {
		t.Fatalf("%x: ours %s (e%d), pgx's %s (e%d)", src, o.Coefficient(), o.Exponent(), p.Coefficient(), p.Exponent())
	}
}

// numericWire is the binary numeric format with the given header and digits.
func numericWire(ndigits uint16, weight int16, sign uint16, dscale int16, digits ...uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, ndigits)
	b = binary.BigEndian.AppendUint16(b, uint16(weight))
	b = binary.BigEndian.AppendUint16(b, sign)
	b = binary.BigEndian.AppendUint16(b, uint16(dscale))
	for _, d := range digits {
		b = binary.BigEndian.AppendUint16(b, d)
	}
	return b
}

// postgresWire is d as Postgres sends it: no leading or trailing zero
// digits, and a dscale of at least the digits after the point.
func postgresWire(d decimal.Decimal, extraScale int) []byte {
	dscale := max(0, -int(d.Exponent())) + extraScale
	c := d.Coefficient()
	sign := uint16(0)
	if c.Sign() < 0 {
		sign = 0x4000
		c.Neg(c)
	}
	// Align to base-10000 groups: value = c * 10000^q.
	e := int(d.Exponent())
	shift := ((e % 4) + 4) % 4
	q := (e - shift) / 4
	c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil))
	var groups []uint16 // least significant first
	tenK := big.NewInt(10000)
	for r := new(big.Int); c.Sign() != 0; {
		c.QuoRem(c, tenK, r)
		groups = append(groups, uint16(r.Int64()))
	}
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		q++
	}
	if len(groups) == 0 {
		return numericWire(0, 0, 0, int16(dscale))
	}
	digits := make([]uint16, len(groups))
	for i, g := range groups {
		digits[len(groups)-1-i] = g
	}
	return numericWire(uint16(len(digits)), int16(q+len(digits)-1), sign, int16(dscale), digits...)
}

// Decoding gives pgx's decimal (or its error) for the values Postgres sends,
// for pgx's own encodings of them, and for arbitrary bytes; no database.
func TestNumericDecodeMatchesPgx(t *testing.T) {
	t.Parallel()
	m := pgtype.NewMap()
	fast := 0
	check := func(src []byte) {
		if _, ok := decodeNumericBinary(src); ok {
			fast++
		}
		requireSameDecode(t, m, src)
	}
	for _, d := range numericCases() {
		for extra := range 4 {
			check(postgresWire(d, extra))
		}
		enc, err := pgtype.NumericCodec{}.PlanEncode(m, pgtype.NumericOID, pgtype.BinaryFormatCode, numeric.From(d)).
			Encode(numeric.From(d), nil)
		require.NoError(t, err)
		check(enc)
	}
	r := rand.New(rand.NewPCG(20261121, 3))
	for range 20000 {
		var c *big.Int
		switch r.IntN(4) {
		case 0:
			c = big.NewInt(r.Int64N(2_000_001) - 1_000_000)
		case 1:
			c = big.NewInt(r.Int64N(int64(math.Pow10(1+r.IntN(18)))) * int64(1-2*r.IntN(2)))
		case 2:
			c = big.NewInt(int64(r.Uint64()))
		default: // 19 to 40 digits
			c = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(18+r.IntN(22))), nil)
			c.Add(c, new(big.Int).SetUint64(r.Uint64()))
		}
		check(postgresWire(decimal.NewFromBigInt(c, int32(r.IntN(51)-30)), r.IntN(3)))
	}
	require.Greater(t, fast, 14000, "the values within 128 bits take the fast path")
	// numeric(38, 18) amounts, as the cases' columns send them, are decoded
	// without math/big however many digits they have.
	for _, v := range []string{"100", "-0.5", "12345678901234567890.123456789012345678",
		"-99999999999999999999.999999999999999999", "0.000000000000000001"} {
		d := decimal.RequireFromString(v)
		_, ok := decodeNumericBinary(postgresWire(d, 18+int(d.Exponent())))
		require.True(t, ok, v)
	}

	// Headers Postgres does not send, and input pgx refuses or treats oddly.
	for _, src := range [][]byte{
		nil, {}, {0, 1}, numericWire(0, 0, 0, 0), numericWire(0, 5, 0x4000, 3), numericWire(0, 0, 0, 0, 7),
		numericWire(1, 0, 0xC000, 0, 1), numericWire(0, 0, 0xD000, 0), numericWire(0, 0, 0xF000, 0),
		numericWire(1, 0, 0x1234, 0, 5), numericWire(2, 0, 0, 0, 1), numericWire(1, 0, 0, 0, 1, 2),
		numericWire(1, 0, 0, 0, 65535), numericWire(2, 1, 0, 2, 0, 0), numericWire(1, 3, 0, 0, 10),
		numericWire(1, -3, 0, 1, 5000), numericWire(1, -2, 0, -5, 7), numericWire(1, 32767, 0, 32767, 1),
		numericWire(1, -32768, 0x4000, 32767, 9999), numericWire(5, 4, 0, 0, 9223, 3720, 3685, 4775, 807),
		numericWire(5, 4, 0x4000, 0, 9223, 3720, 3685, 4775, 808), numericWire(5, 4, 0, 0, 9223, 3720, 3685, 4775, 808),
		numericWire(5, 4, 0, 3, 9223, 3720, 3685, 4775, 807), numericWire(5, 2, 0, 8, 9223, 3720, 3685, 4775, 807),
		numericWire(3, 0, 0, 2, 1, 2, 3),
	} {
		requireSameDecode(t, m, src)
	}
	for range 20000 {
		src := make([]byte, 8+2*r.IntN(7))
		for i := range src {
			src[i] = byte(r.Uint32())
		}
		// A small weight: pgx divides by 10 once per digit beyond the dscale.
		binary.BigEndian.PutUint16(src[2:], uint16(int16(r.IntN(41)-20)))
		if r.IntN(2) == 0 { // a plausible header
			binary.BigEndian.PutUint16(src, uint16((len(src)-8)/2))
			binary.BigEndian.PutUint16(src[4:], []uint16{0, 0x4000}[r.IntN(2)])
			binary.BigEndian.PutUint16(src[6:], uint16(r.IntN(40)))
		}
		requireSameDecode(t, m, src)
	}
}

func FuzzNumericDecode(f *testing.F) {
	m := pgtype.NewMap()
	for _, d := range numericCases() {
		f.Add(postgresWire(d, 0))
		f.Add(postgresWire(d, 2))
	}
	f.Add(numericWire(1, 0, 0xC000, 0, 1))
	f.Add(numericWire(5, 4, 0, 3, 9223, 3720, 3685, 4775, 807))
	f.Fuzz(func(t *testing.T, src []byte) {
		requireSameDecode(t, m, src)
	})
}

// Values read from Postgres (at several scales, and NULL) scan into
// numeric.Decimal and numeric.Null as through pgx's plan; NaN and the
// infinities are refused by both.
func TestNumericDecodeFromPostgres(t *testing.T) {
	t.Parallel()
	ours, pgxs := numericPools(t)
	ctx := context.Background()

	conn, err := ours.Acquire(ctx)
	require.NoError(t, err)
	var target numeric.Decimal
	plan := conn.Conn().TypeMap().PlanScan(pgtype.NumericOID, pgtype.BinaryFormatCode, &target)
	conn.Release()
	require.IsType(t, scanDecimal{}, plan, "the pool registers the codec")

	type row struct {
		plain, money, wide numeric.Decimal
		null, nullable     numeric.Null
	}
	read := func(pool *pgxpool.Pool, text string) (row, error) {
		var r row
		err := pool.QueryRow(ctx, `SELECT $1::numeric, $1::numeric(20,2), $1::numeric(38,18), NULL::numeric, $1::numeric`,
			text).Scan(&r.plain, &r.money, &r.wide, &r.null, &r.nullable)
		return r, err
	}
	same := func(a, b decimal.Decimal, what string) {
		t.Helper()
		require.Equal(t, b.Exponent(), a.Exponent(), what)
		require.Zero(t, b.Coefficient().Cmp(a.Coefficient()), "%s: %s and %s", what, a, b)
	}
	texts := []string{"0", "0.00", "-0.5", "1", "100", "1e6", "12345.678", "99999999999999999.99", "0.000000000000000001",
		"-12345678901234567890.123456789012345678", "9223372036854775807", "9223372036854775808", "1.10", "10000.0001"}
	for _, d := range numericCases() {
		texts = append(texts, d.String())
	}
	for _, text := range texts {
		a, aErr := read(ours, text)
		b, bErr := read(pgxs, text)
		require.Equal(t, bErr != nil, aErr != nil, "%s: %v / %v", text, aErr, bErr) // out of range for numeric(20,2)
		if aErr != nil {
			continue
		}
		same(a.plain.Dec(), b.plain.Dec(), text)
		same(a.money.Dec(), b.money.Dec(), text+"::numeric(20,2)")
		same(a.wide.Dec(), b.wide.Dec(), text+"::numeric(38,18)")
		require.Nil(t, a.null.Dec())
		require.NotNil(t, a.nullable.Dec())
		same(*a.nullable.Dec(), *b.nullable.Dec(), text)
	}

	var d numeric.Decimal
	var n numeric.Null
	require.Error(t, ours.QueryRow(ctx, "SELECT NULL::numeric").Scan(&d), "NULL is refused where the column is NOT NULL")
	for _, v := range []string{"NaN", "Infinity", "-Infinity"} {
		require.Error(t, ours.QueryRow(ctx, "SELECT $1::numeric", v).Scan(&d), v)
		require.Error(t, ours.QueryRow(ctx, "SELECT $1::numeric", v).Scan(&n), v)
	}
}

// Only binary scans into numeric.Decimal/Null get the new plan.
func TestNumericScanPlanChoice(t *testing.T) {
	t.Parallel()
	m := pgtype.NewMap()
	c := numericCodec{}
	var d numeric.Decimal
	var n numeric.Null
	require.IsType(t, scanDecimal{}, c.PlanScan(m, pgtype.NumericOID, pgtype.BinaryFormatCode, &d))
	require.IsType(t, scanDecimal{}, c.PlanScan(m, pgtype.NumericOID, pgtype.BinaryFormatCode, &n))
	var pn pgtype.Numeric
	var f float64
	var s string
	for _, tc := range []struct {
		format int16
		target any
	}{
		{pgtype.TextFormatCode, &d},
		{pgtype.TextFormatCode, &n},
		{pgtype.BinaryFormatCode, &pn},
		{pgtype.BinaryFormatCode, &f},
		{pgtype.BinaryFormatCode, &s},
	} {
		p := c.PlanScan(m, pgtype.NumericOID, tc.format, tc.target)
		require.Equal(t, fmt.Sprintf("%T", pgtype.NumericCodec{}.PlanScan(m, pgtype.NumericOID, tc.format, tc.target)),
			fmt.Sprintf("%T", p), "%d %T", tc.format, tc.target)
	}
}

// The two plans on a typical money value as a numeric(38,18) column sends it.
func BenchmarkDecodeNumeric(b *testing.B) {
	m := pgtype.NewMap()
	src := postgresWire(decimal.RequireFromString("12345.67"), 16)
	for _, bc := range []struct {
		name  string
		codec pgtype.Codec
	}{{"reconlayer", numericCodec{}}, {"pgx", pgtype.NumericCodec{}}} {
		b.Run(bc.name, func(b *testing.B) {
			var n numeric.Decimal
			p := bc.codec.PlanScan(m, pgtype.NumericOID, pgtype.BinaryFormatCode, &n)
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Scan(src, &n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
