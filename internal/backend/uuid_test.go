package backend_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// uuids scan into uuid.UUID and *uuid.UUID (NULL → nil) exactly, in rows of
// several values, through the registered codec.
func TestUUIDScan(t *testing.T) {
	t.Parallel()
	pool := dbtest.Postgres(t)
	want := uuid.New()
	var got uuid.UUID
	var some, none *uuid.UUID
	var text string
	err := pool.QueryRow(context.Background(), "SELECT $1::uuid, $1::uuid, NULL::uuid, $1::uuid::text", want).
		Scan(&got, &some, &none, &text)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, want, *some)
	require.Nil(t, none)
	require.Equal(t, want.String(), text)

	var arr []uuid.UUID
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT ARRAY[$1::uuid, $1::uuid]", want).Scan(&arr))
	require.Equal(t, []uuid.UUID{want, want}, arr)

	require.Error(t, pool.QueryRow(context.Background(), "SELECT NULL::uuid").Scan(&got), "NULL into a non-pointer uuid is an error")

	// Parameters: a uuid, a []uuid.UUID, and a *uuid.UUID (nil is NULL)
	// arrive as the same values.
	other := uuid.New()
	var same bool
	var texts []string
	var isNull bool
	require.NoError(t, pool.QueryRow(context.Background(),
		"SELECT $1::uuid = $2::text::uuid, $3::uuid[]::text[], $4::uuid IS NULL", want, want.String(), []uuid.UUID{want, other}, none).
		Scan(&same, &texts, &isNull))
	require.True(t, same)
	require.Equal(t, []string{want.String(), other.String()}, texts)
	require.True(t, isNull)
	require.NoError(t, pool.QueryRow(context.Background(), "SELECT $1::uuid::text", some).Scan(&text))
	require.Equal(t, want.String(), text)
}
