package consoleauth

import (
	"context"
	"errors"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/dbtest"
	"github.com/reconlayer/reconlayer/internal/ratelimit"
)

// cheap are argon2id costs that keep tests fast; DefaultParams are tested
// on their own.
var cheap = Params{Memory: 64, Time: 1, Threads: 1}

// clock is a settable time for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type bundle struct {
	t     *testing.T
	pool  *pgxpool.Pool
	q     *db.Queries
	svc   *Service
	clock *clock
	org   uuid.UUID
}

func setup(t *testing.T, tweak ...func(*Options)) *bundle {
	t.Helper()
	pool := dbtest.Postgres(t)
	o := Options{Params: cheap}
	for _, f := range tweak {
		f(&o)
	}
	b := &bundle{t: t, pool: pool, q: db.New(pool), svc: New(pool, o), clock: &clock{t: time.Now().UTC()}}
	b.svc.now = b.clock.now
	b.org = b.newOrg("Acme")
	return b
}

func (b *bundle) newOrg(name string) uuid.UUID {
	b.t.Helper()
	o, err := b.q.CreateOrganization(context.Background(), name)
	require.NoError(b.t, err)
	return o.ID
}

func (b *bundle) user(org uuid.UUID, email, password string) db.ConsoleUser {
	b.t.Helper()
	u, err := b.svc.CreateUser(context.Background(), CreateUserInput{OrganizationID: org, Email: email, Password: password})
	require.NoError(b.t, err)
	return u.User
}

func (b *bundle) signIn(email, password string) (Session, string) {
	b.t.Helper()
	s, tok, err := b.svc.SignIn(context.Background(), SignInInput{Email: email, Password: password, UserAgent: "test", IP: "192.0.2.1"})
	require.NoError(b.t, err)
	return s, tok
}

func (b *bundle) auditTypes(org uuid.UUID) []string {
	b.t.Helper()
	rows, err := b.pool.Query(context.Background(), "SELECT event_type || ' ' || actor FROM audit_events WHERE organization_id = $1 ORDER BY occurred_at", org)
	require.NoError(b.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(b.t, rows.Scan(&s))
		out = append(out, s)
	}
	return out
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := HashPassword("correct horse battery", DefaultParams)
	require.NoError(t, err)
	require.Regexp(t, regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`), h)

	ok, err := VerifyPassword("correct horse battery", h)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = VerifyPassword("correct horse batterY", h)
	require.NoError(t, err)
	require.False(t, ok)

	// A fresh salt every time: the same password never hashes the same.
	h2, err := HashPassword("correct horse battery", DefaultParams)
	require.NoError(t, err)
	require.NotEqual(t, h, h2)

	require.False(t, needsRehash(h, DefaultParams))
	require.True(t, needsRehash(h, cheap))

	// Hashes that are not argon2id PHC strings, or whose costs are out of
	// bounds, are refused rather than computed.
	parts := strings.Split(h, "$")
	for _, bad := range []string{
		"", "plain", "$2a$10$abcdefghijklmnopqrstuv",
		strings.Replace(h, "argon2id", "argon2i", 1),
		strings.Replace(h, "v=19", "v=16", 1),
		strings.Replace(h, "m=19456", "m=4194304", 1),
		strings.Replace(h, "t=2", "t=0", 1),
		strings.Replace(h, "p=1", "p=1,x=2", 1),
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4] + "$!!!",
		"$argon2id$v=19$m=19456,t=2,p=1$" + parts[4],
	} {
		_, err := VerifyPassword("correct horse battery", bad)
		require.ErrorIs(t, err, errMalformedHash, bad)
	}
}

func TestCheckPasswordAndEmail(t *testing.T) {
	t.Parallel()
	for pw, want := range map[string]string{
		"short":                  "at least 12 characters",
		"elevenchars":            "at least 12 characters",
		"twelve chars":           "",
		"ünïcödé pässwörd":       "",
		" leading space pw":      "must not start or end with a space",
		"trailing space pw ":     "must not start or end with a space",
		strings.Repeat("x", 257): "at most 256 characters",
		"bad utf8 \xff\xfe pass": "not valid UTF-8",
	} {
		err := CheckPassword(pw)
		if want == "" {
			require.NoError(t, err, pw)
			continue
		}
		var pe *PasswordError
		require.ErrorAs(t, err, &pe, pw)
		require.Contains(t, pe.Msg, want)
	}
	for email, ok := range map[string]bool{
		"ops@example.com": true, " Ops@Example.com ": true, "": false, "ops": false,
		"Ops <ops@example.com>": false, "ops@example.com, x@example.com": false, "a b@example.com": false,
	} {
		_, err := CheckEmail(email)
		if ok {
			require.NoError(t, err, email)
		} else {
			var ee *EmailError
			require.ErrorAs(t, err, &ee, email)
		}
	}
	pw, err := GeneratePassword()
	require.NoError(t, err)
	require.Len(t, pw, 24)
	require.NoError(t, CheckPassword(pw), "a generated password passes the policy")
}

func TestSignInAndLookup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	u := b.user(b.org, "Ops@Example.com", "correct horse battery")
	require.False(t, u.MustChangePassword)

	// The email matches whatever its case.
	sess, tok, err := b.svc.SignIn(ctx, SignInInput{Email: " ops@example.COM ", Password: "correct horse battery", UserAgent: "Firefox", IP: "192.0.2.7"})
	require.NoError(t, err)
	require.Len(t, tok, 43)
	require.Equal(t, u.ID, sess.UserID)
	require.Equal(t, b.org, sess.OrganizationID)
	require.Equal(t, "Acme", sess.OrganizationName)
	require.Equal(t, "Ops@Example.com", sess.Email)
	require.Len(t, sess.CSRFToken, 43)
	require.NotEqual(t, tok, sess.CSRFToken)
	require.WithinDuration(t, b.clock.now().Add(DefaultLifetime), sess.ExpiresAt, time.Second)

	got, err := b.svc.Lookup(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, sess.ID, got.ID)
	require.Equal(t, sess.CSRFToken, got.CSRFToken)
	require.Equal(t, "Acme", got.OrganizationName)

	p := got.Principal()
	require.Equal(t, auth.KindSession, p.Kind)
	require.Equal(t, b.org, p.OrganizationID)
	require.Equal(t, u.ID.String(), p.UserID)
	require.Equal(t, auth.AllScopes, p.Scopes)
	require.Equal(t, "user:"+u.ID.String(), got.Actor())

	// Only the token's SHA-256 is stored, and the token is in no column.
	var dump string
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT to_jsonb(s)::text FROM console_sessions s WHERE id = $1", sess.ID).Scan(&dump))
	require.NotContains(t, dump, tok)
	require.Contains(t, dump, `"ip": "192.0.2.7"`)
	require.Contains(t, dump, `"user_agent": "Firefox"`)
	var lastSignIn *time.Time
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT last_sign_in_at FROM console_users WHERE id = $1", u.ID).Scan(&lastSignIn))
	require.NotNil(t, lastSignIn)

	// Unknown, malformed and tampered tokens resolve to nothing.
	other, err := NewToken()
	require.NoError(t, err)
	for _, bad := range []string{"", "x", other, tok[:42], tok + "A", strings.ToUpper(tok)} {
		if bad == tok {
			continue
		}
		_, err := b.svc.Lookup(ctx, bad)
		require.ErrorIs(t, err, ErrNoSession, bad)
	}
	require.Equal(t, []string{"console_user.created system", "console_user.signed_in user:" + u.ID.String()}, b.auditTypes(b.org))
}

// A wrong password, an unknown email and a disabled user get one answer,
// and an unknown email costs the argon2id work of a known one.
func TestSignInFailuresLookAlike(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.Params = DefaultParams })
	ctx := context.Background()
	b.user(b.org, "ops@example.com", "correct horse battery")
	disabled := b.user(b.org, "gone@example.com", "correct horse battery")
	require.NoError(t, b.svc.DisableUser(ctx, b.org, disabled.ID, "system"))

	attempt := func(email, pw string) (time.Duration, error) {
		start := time.Now()
		_, _, err := b.svc.SignIn(ctx, SignInInput{Email: email, Password: pw, IP: "192.0.2.1"})
		return time.Since(start), err
	}
	median := func(email, pw string) time.Duration {
		var ds []time.Duration
		for range 5 {
			d, err := attempt(email, pw)
			require.ErrorIs(t, err, ErrInvalidCredentials)
			require.Equal(t, "invalid email or password", err.Error())
			ds = append(ds, d)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[2]
	}
	wrong := median("ops@example.com", "not the password")
	unknown := median("nobody@example.com", "correct horse battery")
	median("gone@example.com", "correct horse battery")
	// Without the dummy verification an unknown email answers in about a
	// database round trip, tens of times faster than argon2id at 19 MiB.
	require.Greater(t, unknown, wrong/3, "unknown %s vs wrong password %s", unknown, wrong)
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.user(b.org, "ops@example.com", "correct horse battery")

	// Idle: two hours without a request end the session.
	_, idle := b.signIn("ops@example.com", "correct horse battery")
	b.clock.advance(DefaultIdleTimeout - time.Minute)
	_, err := b.svc.Lookup(ctx, idle)
	require.NoError(t, err, "used just before the idle timeout")
	b.clock.advance(DefaultIdleTimeout - time.Minute)
	_, err = b.svc.Lookup(ctx, idle)
	require.NoError(t, err, "the last request restarted the idle timeout")
	b.clock.advance(DefaultIdleTimeout + time.Second)
	_, err = b.svc.Lookup(ctx, idle)
	require.ErrorIs(t, err, ErrNoSession, "idle too long")

	// Absolute: twelve hours after sign-in, however busy.
	_, busy := b.signIn("ops@example.com", "correct horse battery")
	for elapsed := time.Duration(0); elapsed < DefaultLifetime-time.Hour; elapsed += time.Hour {
		b.clock.advance(time.Hour)
		_, err := b.svc.Lookup(ctx, busy)
		require.NoError(t, err, "at %s", elapsed+time.Hour)
	}
	b.clock.advance(time.Hour)
	_, err = b.svc.Lookup(ctx, busy)
	require.ErrorIs(t, err, ErrNoSession, "past the absolute lifetime")
}

// last_seen_at is written at most once a minute.
func TestLookupTouchesAtMostOnceAMinute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.user(b.org, "ops@example.com", "correct horse battery")
	sess, tok := b.signIn("ops@example.com", "correct horse battery")
	lastSeen := func() time.Time {
		var at time.Time
		require.NoError(t, b.pool.QueryRow(ctx, "SELECT last_seen_at FROM console_sessions WHERE id = $1", sess.ID).Scan(&at))
		return at
	}
	start := lastSeen()
	b.clock.advance(30 * time.Second)
	_, err := b.svc.Lookup(ctx, tok)
	require.NoError(t, err)
	require.Equal(t, start, lastSeen(), "30 s later: not written")
	b.clock.advance(31 * time.Second)
	got, err := b.svc.Lookup(ctx, tok)
	require.NoError(t, err)
	require.WithinDuration(t, b.clock.now(), lastSeen(), time.Millisecond, "61 s later: written")
	require.WithinDuration(t, b.clock.now(), got.LastSeenAt, time.Millisecond)
}

func TestSignOutAndDisable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	u := b.user(b.org, "ops@example.com", "correct horse battery")
	sess, tok := b.signIn("ops@example.com", "correct horse battery")
	_, other := b.signIn("ops@example.com", "correct horse battery")

	require.NoError(t, b.svc.SignOut(ctx, sess))
	_, err := b.svc.Lookup(ctx, tok)
	require.ErrorIs(t, err, ErrNoSession)
	require.NoError(t, b.svc.SignOut(ctx, sess), "twice is fine")
	_, err = b.svc.Lookup(ctx, other)
	require.NoError(t, err, "another session of the user lives on")

	// Disabling ends every session and refuses the right password.
	require.NoError(t, b.svc.DisableUser(ctx, b.org, u.ID, "system"))
	_, err = b.svc.Lookup(ctx, other)
	require.ErrorIs(t, err, ErrNoSession)
	_, _, err = b.svc.SignIn(ctx, SignInInput{Email: "ops@example.com", Password: "correct horse battery"})
	require.ErrorIs(t, err, ErrInvalidCredentials)
	// Of another organization, the user is not found.
	require.ErrorIs(t, b.svc.DisableUser(ctx, b.newOrg("Other"), u.ID, "system"), ErrUserNotFound)

	actor := "user:" + u.ID.String()
	require.Equal(t, []string{
		"console_user.created system", "console_user.signed_in " + actor, "console_user.signed_in " + actor,
		"console_user.signed_out " + actor, "console_user.disabled system",
	}, b.auditTypes(b.org))
}

// A user made with a one-time password must choose a new one; the change
// checks the current password, applies the policy, ends the user's other
// sessions and keeps the current one.
func TestMustChangePasswordFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	created, err := b.svc.CreateUser(ctx, CreateUserInput{OrganizationID: b.org, Email: "new@example.com"})
	require.NoError(t, err)
	require.True(t, created.User.MustChangePassword)
	require.Len(t, created.OneTimePassword, 24)
	require.NotContains(t, created.User.PasswordHash, created.OneTimePassword)

	sess, tok := b.signIn("new@example.com", created.OneTimePassword)
	require.True(t, sess.MustChangePassword)
	_, elsewhere := b.signIn("new@example.com", created.OneTimePassword)

	for _, tc := range []struct {
		current, next string
		want          error
	}{
		{"wrong password!", "a brand new password", ErrWrongPassword},
		{created.OneTimePassword, "too short", &PasswordError{}},
		{created.OneTimePassword, created.OneTimePassword, ErrSamePassword},
	} {
		err := b.svc.ChangePassword(ctx, sess, tc.current, tc.next)
		var pe *PasswordError
		if errors.As(tc.want, &pe) {
			require.ErrorAs(t, err, &pe)
		} else {
			require.ErrorIs(t, err, tc.want)
		}
		got, err := b.svc.Lookup(ctx, tok)
		require.NoError(t, err)
		require.True(t, got.MustChangePassword, "a refused change changes nothing")
	}

	require.NoError(t, b.svc.ChangePassword(ctx, sess, created.OneTimePassword, "a brand new password"))
	got, err := b.svc.Lookup(ctx, tok)
	require.NoError(t, err, "the session that changed it lives on")
	require.False(t, got.MustChangePassword)
	_, err = b.svc.Lookup(ctx, elsewhere)
	require.ErrorIs(t, err, ErrNoSession, "other sessions end")

	_, _, err = b.svc.SignIn(ctx, SignInInput{Email: "new@example.com", Password: created.OneTimePassword})
	require.ErrorIs(t, err, ErrInvalidCredentials, "the one-time password is spent")
	again, _ := b.signIn("new@example.com", "a brand new password")
	require.False(t, again.MustChangePassword)
}

func TestCreateUserRefusals(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.user(b.org, "ops@example.com", "correct horse battery")

	// One email, one user, across organizations and whatever the case.
	_, err := b.svc.CreateUser(ctx, CreateUserInput{OrganizationID: b.newOrg("Other"), Email: "OPS@example.com", Password: "correct horse battery"})
	require.ErrorIs(t, err, ErrEmailTaken)
	_, err = b.svc.CreateUser(ctx, CreateUserInput{OrganizationID: uuid.New(), Email: "x@example.com", Password: "correct horse battery"})
	require.ErrorIs(t, err, ErrOrganizationNotFound)
	var pe *PasswordError
	_, err = b.svc.CreateUser(ctx, CreateUserInput{OrganizationID: b.org, Email: "x@example.com", Password: "short"})
	require.ErrorAs(t, err, &pe)
	var ee *EmailError
	_, err = b.svc.CreateUser(ctx, CreateUserInput{OrganizationID: b.org, Email: "not an email", Password: "correct horse battery"})
	require.ErrorAs(t, err, &ee)

	var n int
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT count(*) FROM console_users").Scan(&n))
	require.Equal(t, 1, n)
}

// A hash made with other parameters is replaced at the next sign-in.
func TestSignInRehashes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	u := b.user(b.org, "ops@example.com", "correct horse battery")
	require.Contains(t, u.PasswordHash, "$m=64,t=1,p=1$")

	stronger := New(b.pool, Options{Params: Params{Memory: 128, Time: 2, Threads: 1}})
	_, _, err := stronger.SignIn(ctx, SignInInput{Email: "ops@example.com", Password: "correct horse battery"})
	require.NoError(t, err)
	var hash string
	require.NoError(t, b.pool.QueryRow(ctx, "SELECT password_hash FROM console_users WHERE id = $1", u.ID).Scan(&hash))
	require.Contains(t, hash, "$m=128,t=2,p=1$")
	_, _, err = b.svc.SignIn(ctx, SignInInput{Email: "ops@example.com", Password: "correct horse battery"})
	require.NoError(t, err, "the new hash verifies")
}

func TestSignInThrottle(t *testing.T) {
	t.Parallel()
	rdb, _ := dbtest.Redis(t)
	b := setup(t, func(o *Options) { o.Limiter = ratelimit.New(rdb) })
	ctx := context.Background()
	b.user(b.org, "ops@example.com", "correct horse battery")

	// Successful sign-ins spend nothing.
	for range SignInAttemptsPerMinute + 2 {
		b.signIn("ops@example.com", "correct horse battery")
	}
	for i := range SignInAttemptsPerMinute {
		_, _, err := b.svc.SignIn(ctx, SignInInput{Email: "ops@example.com", Password: "wrong password", IP: "192.0.2.1"})
		require.ErrorIs(t, err, ErrInvalidCredentials, "attempt %d", i+1)
	}
	_, _, err := b.svc.SignIn(ctx, SignInInput{Email: "OPS@example.com", Password: "correct horse battery", IP: "192.0.2.1"})
	require.ErrorIs(t, err, ErrThrottled, "even the right password waits")
	_, _, err = b.svc.SignIn(ctx, SignInInput{Email: "ops@example.com", Password: "correct horse battery", IP: "192.0.2.2"})
	require.NoError(t, err, "another IP has its own budget")
}

func TestEmails(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	a := b.user(b.org, "a@example.com", "correct horse battery")
	other := b.newOrg("Other")
	o := b.user(other, "o@example.com", "correct horse battery")
	got, err := b.svc.Emails(ctx, b.org, []uuid.UUID{a.ID, o.ID, uuid.New()})
	require.NoError(t, err)
	require.Equal(t, map[uuid.UUID]string{a.ID: "a@example.com"}, got, "another organization's users are not named")
	got, err = b.svc.Emails(ctx, b.org, nil)
	require.NoError(t, err)
	require.Empty(t, got)
}
