package numeric

import (
	"context"
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
