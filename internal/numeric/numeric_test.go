package numeric

import (
	"context"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// Values survive a round trip through a numeric(38,18) column exactly, as
// parameters and as results, on pgx's binary path.
func TestRoundTripThroughPostgres(t *testing.T) {
	t.Parallel()
	pool := dbtest.Postgres(t)
	ctx := context.Background()
	for _, s := range []string{"0", "-3.25", "100", "0.000000000000000001", "12345678901234567890.123456789012345678",
		"-99999999999999999999.999999999999999999", "1000000"} {
		in := decimal.RequireFromString(s)
		var out Decimal
		var outNull Null
		err := pool.QueryRow(ctx, "SELECT $1::numeric(38,18), $2::numeric(38,18)", From(in), NullFrom(&in)).Scan(&out, &outNull)
		require.NoError(t, err, s)
		require.True(t, in.Equal(out.Dec()), "%s came back as %s", s, out)
		require.Equal(t, in.String(), out.String())
		require.NotNil(t, outNull.Dec())
		require.True(t, in.Equal(*outNull.Dec()))
	}

	var null Null
	require.NoError(t, pool.QueryRow(ctx, "SELECT $1::numeric", NullFrom(nil)).Scan(&null))
	require.Nil(t, null.Dec())

	var d Decimal
	require.Error(t, pool.QueryRow(ctx, "SELECT NULL::numeric").Scan(&d), "NULL is refused where the column is NOT NULL")
	require.Error(t, pool.QueryRow(ctx, "SELECT 'NaN'::numeric").Scan(&d))
	require.Error(t, pool.QueryRow(ctx, "SELECT 'Infinity'::numeric").Scan(&null))
}

// Append writes what String returns: without exponent limits here, so the
// fallback is covered too.
func TestAppendMatchesString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"0", "-0", "1", "-1", "0.5", "-0.5", "100", "1e3", "-7e2", "0e5", "0.000", "-5.0",
		"12.3400", "0.00010", "-0.000000000000000001", "999999999999999999", "9999999999999999999",
		"-9223372036854775808", "12345678901234567890.123456789012345678", "1e100", "1e-100", "123456789012345678e-40"} {
		d := decimal.RequireFromString(s)
		require.Equal(t, d.String(), string(Append([]byte("x"), d))[1:], s)
	}
	r := rand.New(rand.NewPCG(20261121, 2))
	for range 20000 {
		c := r.Int64N(int64(math.Pow10(1 + r.IntN(18))))
		if r.IntN(2) == 0 {
			c = -c
		}
		d := decimal.New(c, int32(r.IntN(61)-40))
		require.Equal(t, d.String(), string(Append(nil, d)), "%d e%d", c, d.Exponent())
	}
	// Coefficients of 19 to 45 digits: within 128 bits, at its edge and beyond.
	edge := new(big.Int).Lsh(big.NewInt(1), 128)
	for _, c := range []*big.Int{edge, new(big.Int).Sub(edge, big.NewInt(1)), new(big.Int).Add(edge, big.NewInt(1)),
		new(big.Int).Lsh(big.NewInt(1), 64), new(big.Int).Exp(big.NewInt(10), big.NewInt(19), nil),
		new(big.Int).Exp(big.NewInt(10), big.NewInt(38), nil)} {
		for _, e := range []int32{-40, -19, -18, -1, 0, 3} {
			for _, sign := range []int64{1, -1} {
				d := decimal.NewFromBigInt(new(big.Int).Mul(c, big.NewInt(sign)), e)
				require.Equal(t, d.String(), string(Append(nil, d)), "%s e%d", d.Coefficient(), e)
			}
		}
	}
	for range 20000 {
		c := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(18+r.IntN(27))), nil)
		c.Mul(c, big.NewInt(r.Int64N(1000)))
		c.Add(c, new(big.Int).SetUint64(r.Uint64()>>r.IntN(64)))
		if r.IntN(2) == 0 {
			c.Neg(c)
		}
		d := decimal.NewFromBigInt(c, int32(r.IntN(61)-40))
		require.Equal(t, d.String(), string(Append(nil, d)), "%s e%d", c, d.Exponent())
	}
}

// A coefficient of hi*2^64 + lo, negative or not.
func FuzzAppend(f *testing.F) {
	f.Add(uint64(0), uint64(12345), false, int32(-2))
	f.Add(uint64(0), uint64(1), true, int32(-30))
	f.Add(uint64(0), uint64(1)<<63, true, int32(0))
	f.Add(uint64(0), uint64(0), false, int32(7))
	f.Add(uint64(5421010862), uint64(7766279631452241920), false, int32(-18)) // 10^29
	f.Add(^uint64(0), ^uint64(0), true, int32(-40))
	f.Fuzz(func(t *testing.T, hi, lo uint64, neg bool, e int32) {
		c := new(big.Int).Lsh(new(big.Int).SetUint64(hi), 64)
		c.Or(c, new(big.Int).SetUint64(lo))
		if neg {
			c.Neg(c)
		}
		d := decimal.NewFromBigInt(c, e%200)
		if got := string(Append(nil, d)); got != d.String() {
			t.Fatalf("%s e%d: Append %q, String %q", c, e%200, got, d.String())
		}
	})
}
