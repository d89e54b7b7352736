package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
)

// adminSecret is a valid RECONLAYER_SESSION_SECRET (at least 32 bytes).
const adminSecret = "admin-test-secret-0123456789abcdefgh"

// adminExec runs `reconlayer admin args...` and returns its exit code and output.
func adminExec(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	cmd, stdout, stderr := command(t, env, append([]string{"admin"}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	code := exitCode(cmd.Run())
	return code, stdout.String(), stderr.String()
}

// adminJSON runs a command that must succeed and print exactly one JSON line
// and nothing on stderr, and decodes that line.
func adminJSON(t *testing.T, env map[string]string, args ...string) map[string]any {
	t.Helper()
	code, stdout, stderr := adminExec(t, env, args...)
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.Empty(t, stderr)
	require.True(t, strings.HasSuffix(stdout, "\n"), "stdout ends with a newline: %q", stdout)
	require.Equal(t, 1, strings.Count(stdout, "\n"), "exactly one line: %q", stdout)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	return out
}

// adminConn connects to the test database directly.
func adminConn(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// adminOrg creates an organization through the binary and returns its id.
func adminOrg(t *testing.T, env map[string]string, name string) string {
	t.Helper()
	out := adminJSON(t, env, "create-org", "--name", name)
	id, _ := out["organizationId"].(string)
	_, err := uuid.Parse(id)
	require.NoError(t, err, "organizationId is a uuid: %v", out)
	return id
}

func TestAdminCreateOrg(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.DatabaseURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}

	out := adminJSON(t, env, "create-org", "--name", "Acme")
	require.Len(t, out, 2, "only organizationId and name: %v", out)
	require.Equal(t, "Acme", out["name"])
	id, err := uuid.Parse(out["organizationId"].(string))
	require.NoError(t, err)

	var name string
	var limit *int32
	require.NoError(t, adminConn(t, dbURL).QueryRow(context.Background(),
		"SELECT name, rate_limit_per_minute FROM organizations WHERE id = $1", id).Scan(&name, &limit))
	require.Equal(t, "Acme", name)
	require.Nil(t, limit)

	// The name is trimmed; a blank one is a usage error.
	require.Equal(t, "Globex", adminJSON(t, env, "create-org", "--name", "  Globex ")["name"])
	for _, args := range [][]string{{"create-org"}, {"create-org", "--name", "   "}, {"create-org", "--nme", "x"}} {
		code, stdout, stderr := adminExec(t, env, args...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
		require.Empty(t, stdout)
	}
	var n int
	require.NoError(t, adminConn(t, dbURL).QueryRow(context.Background(), "SELECT count(*) FROM organizations").Scan(&n))
	require.Equal(t, 2, n)
}

func TestAdminCreateAPIKey(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.DatabaseURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	org := adminOrg(t, env, "Acme")
	ctx := context.Background()
	conn := adminConn(t, dbURL)

	out := adminJSON(t, env, "create-api-key", "--org", org, "--name", "ci", "--scopes", "payment_intents:read,evidence:write")
	plain, _ := out["plaintextKey"].(string)
	require.True(t, strings.HasPrefix(plain, "rl_live_"), plain)
	require.Len(t, plain, 51)
	require.Equal(t, plain[:16], out["prefix"])
	require.Equal(t, []any{"payment_intents:read", "evidence:write"}, out["scopes"])
	require.Equal(t, "active", out["status"])
	require.Equal(t, org, out["organizationId"])
	require.Equal(t, "ci", out["name"])
	require.Nil(t, out["expiresAt"])
	require.Nil(t, out["revokedAt"])
	require.Nil(t, out["createdByUserId"])
	require.Equal(t, map[string]any{}, out["metadata"])
	keyID, err := uuid.Parse(out["id"].(string))
	require.NoError(t, err)

	// Only the SHA-256 is stored, and the plaintext is in no column.
	var hash []byte
	var prefix string
	var scopes []string
	require.NoError(t, conn.QueryRow(ctx, "SELECT key_hash, prefix, scopes FROM api_keys WHERE id = $1", keyID).Scan(&hash, &prefix, &scopes))
	sum := sha256.Sum256([]byte(plain))
	require.Equal(t, sum[:], hash)
	require.Equal(t, plain[:16], prefix)
	require.Equal(t, []string{"payment_intents:read", "evidence:write"}, scopes)
	rows, err := conn.Query(ctx, "SELECT to_jsonb(k)::text FROM api_keys k")
	require.NoError(t, err)
	dumps, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Len(t, dumps, 1)
	require.NotContains(t, dumps[0], plain)
	require.NotContains(t, dumps[0], plain[16:], "not even the secret part")

	// The printed key authenticates as that organization with those scopes.
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	p, err := auth.NewAuthenticator(db.New(pool), auth.SessionConfig{}, nil).Authenticate(ctx, "Bearer "+plain, "")
	require.NoError(t, err)
	require.Equal(t, auth.KindAPIKey, p.Kind)
	require.Equal(t, org, p.OrganizationID.String())
	require.Equal(t, keyID, p.APIKeyID)
	require.Equal(t, []string{"payment_intents:read", "evidence:write"}, p.Scopes)

	// Without --scopes a key gets every scope; --expires-in sets expiresAt.
	all := adminJSON(t, env, "create-api-key", "--org", org, "--name", "everything", "--expires-in", "720h")
	var got []string
	for _, s := range all["scopes"].([]any) {
		got = append(got, s.(string))
	}
	require.Equal(t, auth.AllScopes, got)
	exp, err := time.Parse(time.RFC3339Nano, all["expiresAt"].(string))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(720*time.Hour), exp, time.Minute)
	require.Equal(t, "active", all["status"])
	require.NotEqual(t, plain, all["plaintextKey"])

	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM api_keys").Scan(&n))
	require.Equal(t, 2, n)
}

func TestAdminCreateAPIKeyRefusals(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.DatabaseURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	org := adminOrg(t, env, "Acme")
	missing := uuid.NewString()

	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown scope", []string{"--org", org, "--name", "ci", "--scopes", "evidence:write,bogus:read"}, 2, `unknown scope "bogus:read"`},
		{"empty scope", []string{"--org", org, "--name", "ci", "--scopes", "evidence:write,"}, 2, `unknown scope ""`},
		{"unknown org", []string{"--org", missing, "--name", "ci"}, 1, "organization " + missing + " does not exist"},
		{"org not a uuid", []string{"--org", "acme", "--name", "ci"}, 2, "create-api-key needs --org ID"},
		{"duplicate scope", []string{"--org", org, "--name", "ci", "--scopes", "evidence:write,evidence:write"}, 2, `scope "evidence:write" is listed twice`},
		{"no name", []string{"--org", org}, 2, "create-api-key needs --name NAME"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := adminExec(t, env, append([]string{"create-api-key"}, tc.args...)...)
			require.Equal(t, tc.code, code, stderr)
			require.Empty(t, stdout)
			require.True(t, strings.HasPrefix(stderr, "reconlayer: "), stderr)
			require.Contains(t, stderr, tc.stderr)
		})
	}
	var n int
	require.NoError(t, adminConn(t, dbURL).QueryRow(context.Background(), "SELECT count(*) FROM api_keys").Scan(&n))
	require.Zero(t, n, "a refused command creates no key")
}

func TestAdminSessionToken(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.DatabaseURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	org := adminOrg(t, env, "Acme")
	ctx := context.Background()

	withSecret := map[string]string{"DATABASE_URL": dbURL, "RECONLAYER_SESSION_SECRET": adminSecret}
	before := time.Now()
	out := adminJSON(t, withSecret, "session-token", "--org", org, "--user", "u1", "--ttl", "30m")
	require.Len(t, out, 1, "only the token: %v", out)
	tok, _ := out["token"].(string)
	require.NotEmpty(t, tok)

	var claims auth.SessionClaims
	_, err := jwt.ParseWithClaims(tok, &claims, func(*jwt.Token) (any, error) { return []byte(adminSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	require.NoError(t, err)
	require.Equal(t, "u1", claims.Subject)
	require.Equal(t, []string{org}, claims.OrgIDs)
	require.WithinDuration(t, before.Add(30*time.Minute), claims.ExpiresAt.Time, 5*time.Second)

	// Another secret does not verify it.
	_, err = jwt.ParseWithClaims(tok, &auth.SessionClaims{}, func(*jwt.Token) (any, error) { return []byte(adminSecret + "x"), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	require.ErrorIs(t, err, jwt.ErrSignatureInvalid)

	// The api's authenticator accepts it as a session for that organization.
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	p, err := auth.NewAuthenticator(db.New(pool), auth.SessionConfig{HS256Secret: []byte(adminSecret)}, nil).Authenticate(ctx, "Bearer "+tok, "")
	require.NoError(t, err)
	require.Equal(t, auth.KindSession, p.Kind)
	require.Equal(t, "u1", p.UserID)
	require.Equal(t, org, p.OrganizationID.String())

	// The default lifetime is an hour.
	out = adminJSON(t, withSecret, "session-token", "--org", org, "--user", "u1")
	claims = auth.SessionClaims{}
	_, err = jwt.ParseWithClaims(out["token"].(string), &claims, func(*jwt.Token) (any, error) { return []byte(adminSecret), nil })
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(time.Hour), claims.ExpiresAt.Time, 10*time.Second)

	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		prefix string
	}{
		{"no secret", env, []string{"--org", org, "--user", "u1"}, 1, "reconlayer: RECONLAYER_SESSION_SECRET: "},
		{"short secret", map[string]string{"DATABASE_URL": dbURL, "RECONLAYER_SESSION_SECRET": "short"}, []string{"--org", org, "--user", "u1"}, 1, "reconlayer: RECONLAYER_SESSION_SECRET: must be at least 32 bytes"},
		{"no user", withSecret, []string{"--org", org}, 2, "reconlayer: session-token needs --user USER"},
		{"zero ttl", withSecret, []string{"--org", org, "--user", "u1", "--ttl", "0s"}, 2, "reconlayer: --ttl must be positive"},
		{"negative ttl", withSecret, []string{"--org", org, "--user", "u1", "--ttl", "-1h"}, 2, "reconlayer: --ttl must be positive"},
		{"org not a uuid", withSecret, []string{"--org", "acme", "--user", "u1"}, 2, "reconlayer: session-token needs --org ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := adminExec(t, tc.env, append([]string{"session-token"}, tc.args...)...)
			require.Equal(t, tc.code, code, stderr)
			require.Empty(t, stdout)
			require.True(t, strings.HasPrefix(stderr, tc.prefix), stderr)
			require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		})
	}
}

func TestAdminSetRateLimit(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.DatabaseURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	org := adminOrg(t, env, "Acme")
	other := adminOrg(t, env, "Other")
	conn := adminConn(t, dbURL)
	limitOf := func(id string) *int32 {
		t.Helper()
		var v *int32
		require.NoError(t, conn.QueryRow(context.Background(),
			"SELECT rate_limit_per_minute FROM organizations WHERE id = $1", id).Scan(&v))
		return v
	}

	out := adminJSON(t, env, "set-rate-limit", "--org", org, "--per-minute", "1000")
	require.Equal(t, map[string]any{"organizationId": org, "rateLimitPerMinute": float64(1000)}, out)
	require.NotNil(t, limitOf(org))
	require.EqualValues(t, 1000, *limitOf(org))
	require.Nil(t, limitOf(other), "other organizations are untouched")

	out = adminJSON(t, env, "set-rate-limit", "--org", org, "--per-minute", "default")
	require.Equal(t, map[string]any{"organizationId": org, "rateLimitPerMinute": nil}, out)
	require.Nil(t, limitOf(org))

	missing := uuid.NewString()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"zero", []string{"--org", org, "--per-minute", "0"}, 2, "--per-minute must be a whole number"},
		{"negative", []string{"--org", org, "--per-minute", "-5"}, 2, "--per-minute must be a whole number"},
		{"not a number", []string{"--org", org, "--per-minute", "lots"}, 2, "--per-minute must be a whole number"},
		{"too large", []string{"--org", org, "--per-minute", "10000001"}, 2, "--per-minute must be a whole number"},
		{"missing", []string{"--org", org}, 2, "--per-minute must be a whole number"},
		{"unknown org", []string{"--org", missing, "--per-minute", "10"}, 1, "organization " + missing + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := adminExec(t, env, append([]string{"set-rate-limit"}, tc.args...)...)
			require.Equal(t, tc.code, code, stderr)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.stderr)
		})
	}
	require.Nil(t, limitOf(org), "refused commands change nothing")
}

func TestAdminUsage(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": dbtest.DatabaseURL(t)}

	code, stdout, stderr := adminExec(t, env)
	require.Equal(t, 2, code, stderr)
	require.Empty(t, stdout)
	require.True(t, strings.HasPrefix(stderr, "reconlayer: usage: reconlayer admin <command>"), stderr)

	code, stdout, stderr = adminExec(t, env, "bogus")
	require.Equal(t, 2, code, stderr)
	require.Empty(t, stdout)
	require.Contains(t, stderr, `unknown admin command "bogus"`)
	require.Contains(t, stderr, "create-api-key --org ID")

	// Usage mistakes are found before any connection: an unreachable
	// database does not turn them into exit 1.
	dead := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x?sslmode=disable"}
	for _, args := range [][]string{{"bogus"}, {"create-org"}, {"create-api-key", "--org", "acme", "--name", "x"}} {
		code, _, stderr = adminExec(t, dead, args...)
		require.Equal(t, 2, code, "%v: %s", args, stderr)
		require.NotContains(t, stderr, "DATABASE_URL")
	}
}

// adminExecStdin is adminExec with stdin.
func adminExecStdin(t *testing.T, env map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd, stdout, stderr := command(t, env, append([]string{"admin"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	code := exitCode(cmd.Run())
	return code, stdout.String(), stderr.String()
}

func TestAdminCreateUser(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.DatabaseURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	org := adminOrg(t, env, "Acme")
	ctx := context.Background()
	conn := adminConn(t, dbURL)
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	defer pool.Close()
	users := consoleauth.New(pool, consoleauth.Options{})

	// Without --password-stdin: a one-time password, printed once, to be
	// changed at the first sign-in.
	out := adminJSON(t, env, "create-user", "--org", org, "--email", " Ops@Acme.example ")
	oneTime, _ := out["oneTimePassword"].(string)
	require.Len(t, oneTime, 24)
	require.Equal(t, "Ops@Acme.example", out["email"])
	require.Equal(t, org, out["organizationId"])
	require.Equal(t, true, out["mustChangePassword"])
	userID, err := uuid.Parse(out["userId"].(string))
	require.NoError(t, err)
	require.Len(t, out, 5, "%v", out)

	var hash string
	var mustChange bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT password_hash, must_change_password FROM console_users WHERE id = $1", userID).Scan(&hash, &mustChange))
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)
	require.NotContains(t, hash, oneTime)
	require.True(t, mustChange)
	sess, _, err := users.SignIn(ctx, consoleauth.SignInInput{Email: "ops@acme.example", Password: oneTime})
	require.NoError(t, err)
	require.True(t, sess.MustChangePassword)
	require.Equal(t, userID, sess.UserID)

	// With --password-stdin: that password (one final line break dropped),
	// no change required, nothing secret printed.
	code, stdout, stderr := adminExecStdin(t, env, "a long enough password\n", "create-user", "--org", org, "--email", "lead@acme.example", "--password-stdin")
	require.Equal(t, 0, code, stderr)
	require.Empty(t, stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &got))
	require.Equal(t, false, got["mustChangePassword"])
	require.NotContains(t, got, "oneTimePassword")
	require.NotContains(t, stdout, "a long enough password")
	sess, _, err = users.SignIn(ctx, consoleauth.SignInInput{Email: "lead@acme.example", Password: "a long enough password"})
	require.NoError(t, err)
	require.False(t, sess.MustChangePassword)

	missing := uuid.NewString()
	for _, tc := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"no email", "", []string{"--org", org}, 2, "create-user needs --email EMAIL"},
		{"not an email", "", []string{"--org", org, "--email", "ops"}, 2, `"ops" is not an email address`},
		{"org not a uuid", "", []string{"--org", "acme", "--email", "x@acme.example"}, 2, "create-user needs --org ID"},
		{"short password", "short\n", []string{"--org", org, "--email", "x@acme.example", "--password-stdin"}, 2, "at least 12 characters"},
		{"empty stdin", "", []string{"--org", org, "--email", "x@acme.example", "--password-stdin"}, 2, "no password on stdin"},
		{"email taken", "", []string{"--org", org, "--email", "OPS@acme.example"}, 1, "a console user with email OPS@acme.example exists already"},
		{"unknown org", "", []string{"--org", missing, "--email", "x@acme.example"}, 1, "organization " + missing + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := adminExecStdin(t, env, tc.stdin, append([]string{"create-user"}, tc.args...)...)
			require.Equal(t, tc.code, code, stderr)
			require.Empty(t, stdout)
			require.True(t, strings.HasPrefix(stderr, "reconlayer: "), stderr)
			require.Contains(t, stderr, tc.stderr)
		})
	}
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM console_users").Scan(&n))
	require.Equal(t, 2, n, "refused commands create no user")

	// Usage mistakes are found before any connection.
	dead := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x?sslmode=disable"}
	code, _, stderr = adminExecStdin(t, dead, "short", "create-user", "--org", org, "--email", "x@acme.example", "--password-stdin")
	require.Equal(t, 2, code, stderr)
}
