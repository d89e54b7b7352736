package backend

// An internal test: the byte comparison and the benchmark need the unexported
// codec, and internal/dbtest imports this package, so the database tests
// build their pools with PoolConfig on DATABASE_URL themselves (reading only,
// and a temp table).

import (
	"context"
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

	// Scanning is pgx's, unchanged.
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
