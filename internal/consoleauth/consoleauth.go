// Package consoleauth owns the web console's users and sessions: creating a
// user (argon2id password hashes, see password.go), signing in (a random
// session token returned once, stored as its SHA-256), resolving a token to
// its live session, signing out and changing a password.
//
// Sessions end 12 hours after sign-in whatever happens (DefaultLifetime) and
// after 2 hours without a request (DefaultIdleTimeout); last_seen_at is
// written at most once a minute (touchEvery), so a busy page costs no write
// per request and idle expiry is exact to within that minute. Revoked
// sessions and those of a disabled user resolve to nothing.
//
// A failed sign-in never says whether the email exists: an unknown email
// costs the same argon2id work as a wrong password (against a hash made at
// first use with the same parameters). Failed attempts are throttled per
// email and client IP when a Redis limiter is given.
package consoleauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/ratelimit"
)

// Session lifetimes (Options overrides them).
const (
	DefaultLifetime    = 12 * time.Hour
	DefaultIdleTimeout = 2 * time.Hour
	// touchEvery is how stale last_seen_at may get before a request writes it.
	touchEvery = time.Minute
	// pruneAfter is how long a user's dead sessions are kept (for a person
	// looking into a sign-in) before a later sign-in of theirs deletes them.
	pruneAfter = 30 * 24 * time.Hour
)

// SignInAttemptsPerMinute is the budget of failed sign-in attempts of one
// email from one client IP: ten in a row, then one every 6 seconds. A
// successful sign-in spends none.
const SignInAttemptsPerMinute = 10

// limiterTimeout bounds a throttle check; past it the attempt is let through,
// as the api's rate limiter does when Redis is away.
const limiterTimeout = 250 * time.Millisecond

var (
	// ErrInvalidCredentials: no such email, a wrong password or a disabled
	// user; deliberately one error, shown as one message.
	ErrInvalidCredentials = errors.New("invalid email or password")
	// ErrThrottled: too many sign-in attempts for this email from this IP.
	ErrThrottled = errors.New("too many sign-in attempts")
	// ErrNoSession: the token names no live session.
	ErrNoSession = errors.New("no such session")
	// ErrWrongPassword: the current password given to ChangePassword is wrong.
	ErrWrongPassword = errors.New("the current password is wrong")
	// ErrSamePassword: the new password is the current one.
	ErrSamePassword = errors.New("the new password is the current one")
	// ErrEmailTaken: another console user has this email (in any organization).
	ErrEmailTaken = errors.New("a console user with this email exists")
	// ErrOrganizationNotFound: CreateUser for an organization that does not exist.
	ErrOrganizationNotFound = errors.New("organization not found")
	// ErrUserNotFound: no such user in the organization.
	ErrUserNotFound = errors.New("console user not found")
)

// EmailError says why an email address is refused.
type EmailError struct{ Msg string }

func (e *EmailError) Error() string { return e.Msg }

// Options tune the service; zero values take the defaults.
type Options struct {
	Params      Params        // argon2id costs of new hashes (DefaultParams)
	Lifetime    time.Duration // absolute session lifetime (DefaultLifetime)
	IdleTimeout time.Duration // idle session lifetime (DefaultIdleTimeout)
	// Limiter throttles sign-in attempts per email and IP; nil does not.
	Limiter *ratelimit.Limiter
	Logger  *slog.Logger // nil: slog.Default()
}

// Service owns console_users and console_sessions.
type Service struct {
	pool *pgxpool.Pool
	q    *db.Queries
	opts Options
	now  func() time.Time
	// hashing bounds the argon2id computations under way: each holds
	// Params.Memory, so a flood of sign-ins queues here instead of taking
	// the process's memory.
	hashing chan struct{}
	// dummy is a hash with the service's parameters, verified against when
	// the email is unknown so that the answer takes as long as for a known one.
	dummyOnce sync.Once
	dummy     string
	dummyErr  error
}

// New builds the service.
func New(pool *pgxpool.Pool, o Options) *Service {
	if o.Params == (Params{}) {
		o.Params = DefaultParams
	}
	if o.Lifetime <= 0 {
		o.Lifetime = DefaultLifetime
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{
		pool: pool, q: db.New(pool), opts: o, now: time.Now,
		hashing: make(chan struct{}, max(runtime.GOMAXPROCS(0), 2)),
	}
}

// withHashSlot runs f holding one of the hashing slots.
func (s *Service) withHashSlot(ctx context.Context, f func() error) error {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.hashing }()
	return f()
}

func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	var h string
	err := s.withHashSlot(ctx, func() error {
		var err error
		h, err = HashPassword(pw, s.opts.Params)
		return err
	})
	return h, err
}

func (s *Service) verify(ctx context.Context, pw, encoded string) (bool, error) {
	var ok bool
	err := s.withHashSlot(ctx, func() error {
		var err error
		ok, err = VerifyPassword(pw, encoded)
		return err
	})
	return ok, err
}

// CheckEmail normalizes an email address (trimmed) or says why it is refused.
// The case is kept as given; uniqueness and sign-in ignore it.
func CheckEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", &EmailError{"An email address is required."}
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || len(email) > 254 || !strings.Contains(email, "@") {
		return "", &EmailError{fmt.Sprintf("%q is not an email address (name@example.com).", email)}
	}
	return email, nil
}

// CreateUserInput is a user to create. An empty Password makes a one-time
// password that the user must change at their first sign-in.
type CreateUserInput struct {
	OrganizationID uuid.UUID
	Email          string
	Password       string
	Actor          string // audit actor: "system" for the admin command
}

// CreatedUser is a new user and, when one was generated, its one-time
// password (which exists nowhere else).
type CreatedUser struct {
	User            db.ConsoleUser
	OneTimePassword string
}

// CreateUser adds a console user to an organization.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (CreatedUser, error) {
	email, err := CheckEmail(in.Email)
	if err != nil {
		return CreatedUser{}, err
	}
	pw, oneTime := in.Password, ""
	if pw == "" {
		if oneTime, err = GeneratePassword(); err != nil {
			return CreatedUser{}, err
		}
		pw = oneTime
	} else if err := CheckPassword(pw); err != nil {
		return CreatedUser{}, err
	}
	hash, err := s.hash(ctx, pw)
	if err != nil {
		return CreatedUser{}, err
	}
	actor := in.Actor
	if actor == "" {
		actor = "system"
	}
	var out CreatedUser
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		u, err := q.CreateConsoleUser(ctx, db.CreateConsoleUserParams{
			OrganizationID: in.OrganizationID, Email: email, PasswordHash: hash, MustChangePassword: oneTime != "",
		})
		if err != nil {
			return err
		}
		out = CreatedUser{User: u, OneTimePassword: oneTime}
		_, err = audit.Append(ctx, q, audit.Event{
			OrganizationID: u.OrganizationID, Type: "console_user.created", Actor: actor,
			Message: fmt.Sprintf("Console user %s created.", u.Email),
			Payload: map[string]any{"userId": u.ID, "email": u.Email, "mustChangePassword": u.MustChangePassword},
		})
		return err
	})
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "console_users_email":
		return CreatedUser{}, ErrEmailTaken
	case errors.As(err, &pgErr) && pgErr.Code == "23503":
		return CreatedUser{}, ErrOrganizationNotFound
	case err != nil:
		return CreatedUser{}, fmt.Errorf("create console user: %w", err)
	}
	return out, nil
}

// DisableUser stops a user from signing in and ends their sessions.
func (s *Service) DisableUser(ctx context.Context, org, id uuid.UUID, actor string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		u, err := q.DisableConsoleUser(ctx, db.DisableConsoleUserParams{OrganizationID: org, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrUserNotFound
		}
		if err != nil {
			return fmt.Errorf("disable console user: %w", err)
		}
		if _, err := q.RevokeConsoleUserSessions(ctx, db.RevokeConsoleUserSessionsParams{UserID: id, KeepID: uuid.Nil, Now: s.now()}); err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		_, err = audit.Append(ctx, q, audit.Event{
			OrganizationID: org, Type: "console_user.disabled", Actor: actor,
			Message: fmt.Sprintf("Console user %s disabled.", u.Email), Payload: map[string]any{"userId": id},
		})
		return err
	})
}

// Emails returns the emails of the organization's console users among ids
// (for audit actors "user:<id>"); unknown ids are absent.
func (s *Service) Emails(ctx context.Context, org uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	out := make(map[uuid.UUID]string, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.q.ConsoleUserEmails(ctx, db.ConsoleUserEmailsParams{OrganizationID: org, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("console user emails: %w", err)
	}
	for _, r := range rows {
		out[r.ID] = r.Email
	}
	return out, nil
}

// Session is a live console session with what every page shows.
type Session struct {
	ID                 uuid.UUID
	UserID             uuid.UUID
	OrganizationID     uuid.UUID
	OrganizationName   string
	Email              string
	CSRFToken          string
	MustChangePassword bool
	CreatedAt          time.Time
	ExpiresAt          time.Time // absolute; idle expiry comes sooner without requests
	LastSeenAt         time.Time
}

// Principal is what the session acts as: a dashboard session of its
// organization with every scope, so pages call the services the api's
// session-only routes call, with the same rights.
func (s Session) Principal() auth.Principal {
	return auth.Principal{
		Kind: auth.KindSession, OrganizationID: s.OrganizationID, UserID: s.UserID.String(),
		ExpiresAt: s.ExpiresAt, Scopes: auth.AllScopes,
	}
}

// Actor names the session's user in audit events.
func (s Session) Actor() string { return "user:" + s.UserID.String() }

// SignInInput is one sign-in attempt.
type SignInInput struct {
	Email, Password string
	UserAgent, IP   string
}

// tokenBytes is the size of session tokens and CSRF tokens.
const tokenBytes = 32

// NewToken makes a random token: 32 bytes in url-safe base64 (43 characters).
func NewToken() (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// wellFormedToken tells whether tok has the shape NewToken gives, so that
// junk cookies cost no database round trip.
func wellFormedToken(tok string) bool {
	if len(tok) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(tok)
	return err == nil
}

// SignIn checks an email and password and opens a session; the token is
// returned once, for the cookie. Every failure to authenticate is
// ErrInvalidCredentials (or ErrThrottled).
func (s *Service) SignIn(ctx context.Context, in SignInInput) (Session, string, error) {
	email := strings.TrimSpace(in.Email)
	throttle := s.throttleKey(email, in.IP)
	if err := s.checkThrottle(ctx, throttle); err != nil {
		return Session{}, "", err
	}
	u, err := s.q.GetConsoleUserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Session{}, "", fmt.Errorf("look up console user: %w", err)
	}
	encoded := u.PasswordHash
	if !known {
		if encoded, err = s.dummyHash(); err != nil {
			return Session{}, "", err
		}
	}
	ok, err := s.verify(ctx, in.Password, encoded)
	if err != nil {
		if known {
			s.opts.Logger.ErrorContext(ctx, "console user has an unusable password hash", "user_id", u.ID.String(), "err", err.Error())
			return Session{}, "", ErrInvalidCredentials
		}
		return Session{}, "", err
	}
	if !known || !ok || u.DisabledAt != nil {
		s.spendThrottle(ctx, throttle)
		return Session{}, "", ErrInvalidCredentials
	}

	// A hash made under older parameters is replaced while the password is
	// at hand: the only moment it is.
	var rehash string
	if needsRehash(u.PasswordHash, s.opts.Params) {
		if rehash, err = s.hash(ctx, in.Password); err != nil {
			return Session{}, "", err
		}
	}
	token, err := NewToken()
	if err != nil {
		return Session{}, "", err
	}
	csrf, err := NewToken()
	if err != nil {
		return Session{}, "", err
	}
	now := s.now()
	var sess Session
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if rehash != "" {
			if _, err := q.SetConsoleUserPassword(ctx, db.SetConsoleUserPasswordParams{
				ID: u.ID, PasswordHash: rehash, MustChangePassword: u.MustChangePassword,
			}); err != nil {
				return fmt.Errorf("rehash password: %w", err)
			}
		}
		row, err := q.CreateConsoleSession(ctx, db.CreateConsoleSessionParams{
			TokenHash: hashToken(token), UserID: u.ID, OrganizationID: u.OrganizationID, CsrfToken: csrf,
			Now: now, ExpiresAt: now.Add(s.opts.Lifetime), UserAgent: nonEmpty(truncate(in.UserAgent, 512)), Ip: nonEmpty(in.IP),
		})
		if err != nil {
			return fmt.Errorf("create console session: %w", err)
		}
		if err := q.RecordConsoleSignIn(ctx, db.RecordConsoleSignInParams{ID: u.ID, Now: now}); err != nil {
			return fmt.Errorf("record sign-in: %w", err)
		}
		if err := q.PruneConsoleSessions(ctx, db.PruneConsoleSessionsParams{UserID: u.ID, Before: now.Add(-pruneAfter)}); err != nil {
			return fmt.Errorf("prune sessions: %w", err)
		}
		org, err := q.GetOrganization(ctx, u.OrganizationID)
		if err != nil {
			return fmt.Errorf("read organization: %w", err)
		}
		sess = Session{
			ID: row.ID, UserID: u.ID, OrganizationID: u.OrganizationID, OrganizationName: org.Name, Email: u.Email,
			CSRFToken: csrf, MustChangePassword: u.MustChangePassword,
			CreatedAt: row.CreatedAt, ExpiresAt: row.ExpiresAt, LastSeenAt: row.LastSeenAt,
		}
		_, err = audit.Append(ctx, q, audit.Event{
			OrganizationID: u.OrganizationID, Type: "console_user.signed_in", Actor: sess.Actor(),
			Message: fmt.Sprintf("%s signed in to the console.", u.Email),
			Payload: map[string]any{"sessionId": row.ID, "ip": in.IP},
		})
		return err
	})
	if err != nil {
		return Session{}, "", err
	}
	return sess, token, nil
}

// throttleKey names the budget of failed attempts of email from ip. The
// email is hashed into it so that Redis holds no addresses.
func (s *Service) throttleKey(email, ip string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(email)))
	return "console-signin:" + hex.EncodeToString(sum[:16]) + ":" + ip
}

// checkThrottle refuses an attempt once the budget of failures is spent.
// Redis away, the attempt is let through (and logged), as the api's rate
// limiter does: refusing every sign-in would make it an outage.
func (s *Service) checkThrottle(ctx context.Context, key string) error {
	if s.opts.Limiter == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, limiterTimeout)
	left, err := s.opts.Limiter.Remaining(ctx, key, SignInAttemptsPerMinute)
	cancel()
	if err != nil {
		s.opts.Logger.WarnContext(ctx, "sign-in throttle unavailable, attempt allowed", "err", err.Error())
		return nil
	}
	if left < 1 {
		return ErrThrottled
	}
	return nil
}

// spendThrottle counts a failed attempt.
func (s *Service) spendThrottle(ctx context.Context, key string) {
	if s.opts.Limiter == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limiterTimeout)
	defer cancel()
	if _, err := s.opts.Limiter.Allow(ctx, key, SignInAttemptsPerMinute); err != nil {
		s.opts.Logger.WarnContext(ctx, "sign-in throttle unavailable, failure not counted", "err", err.Error())
	}
}

func (s *Service) dummyHash() (string, error) {
	s.dummyOnce.Do(func() {
		pw, err := GeneratePassword()
		if err != nil {
			s.dummyErr = err
			return
		}
		s.dummy, s.dummyErr = HashPassword(pw, s.opts.Params)
	})
	return s.dummy, s.dummyErr
}

// Lookup resolves a session token to its live session (ErrNoSession when it
// names none), and records the request on it at most once a minute.
func (s *Service) Lookup(ctx context.Context, token string) (Session, error) {
	if !wellFormedToken(token) {
		return Session{}, ErrNoSession
	}
	hash := hashToken(token)
	now := s.now()
	row, err := s.q.GetConsoleSession(ctx, db.GetConsoleSessionParams{
		TokenHash: hash, Now: now, IdleSince: now.Add(-s.opts.IdleTimeout),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Session{}, ErrNoSession
	}
	if err != nil {
		return Session{}, fmt.Errorf("look up console session: %w", err)
	}
	cs := row.ConsoleSession
	// The lookup is by hash already; compared again in constant time so the
	// check stays timing-safe whatever the index does.
	if subtle.ConstantTimeCompare(cs.TokenHash, hash) != 1 {
		return Session{}, ErrNoSession
	}
	if now.Sub(cs.LastSeenAt) >= touchEvery {
		if err := s.q.TouchConsoleSession(ctx, db.TouchConsoleSessionParams{ID: cs.ID, Now: now}); err != nil {
			return Session{}, fmt.Errorf("touch console session: %w", err)
		}
		cs.LastSeenAt = now
	}
	return Session{
		ID: cs.ID, UserID: cs.UserID, OrganizationID: cs.OrganizationID, OrganizationName: row.OrganizationName,
		Email: row.Email, CSRFToken: cs.CsrfToken, MustChangePassword: row.MustChangePassword,
		CreatedAt: cs.CreatedAt, ExpiresAt: cs.ExpiresAt, LastSeenAt: cs.LastSeenAt,
	}, nil
}

// SignOut revokes a session. Signing out twice is not an error.
func (s *Service) SignOut(ctx context.Context, sess Session) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		n, err := q.RevokeConsoleSession(ctx, db.RevokeConsoleSessionParams{ID: sess.ID, Now: s.now()})
		if err != nil {
			return fmt.Errorf("revoke console session: %w", err)
		}
		if n == 0 {
			return nil
		}
		_, err = audit.Append(ctx, q, audit.Event{
			OrganizationID: sess.OrganizationID, Type: "console_user.signed_out", Actor: sess.Actor(),
			Message: fmt.Sprintf("%s signed out of the console.", sess.Email), Payload: map[string]any{"sessionId": sess.ID},
		})
		return err
	})
}

// ChangePassword replaces the session user's password after checking the
// current one, clears must_change_password and ends the user's other
// sessions (whoever had the old password is signed out).
func (s *Service) ChangePassword(ctx context.Context, sess Session, current, next string) error {
	u, err := s.q.GetConsoleUser(ctx, db.GetConsoleUserParams{OrganizationID: sess.OrganizationID, ID: sess.UserID})
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrUserNotFound
	}
	if err != nil {
		return fmt.Errorf("read console user: %w", err)
	}
	ok, err := s.verify(ctx, current, u.PasswordHash)
	if err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		return ErrWrongPassword
	}
	if err := CheckPassword(next); err != nil {
		return err
	}
	if next == current {
		return ErrSamePassword
	}
	hash, err := s.hash(ctx, next)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if _, err := q.SetConsoleUserPassword(ctx, db.SetConsoleUserPasswordParams{ID: u.ID, PasswordHash: hash}); err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if _, err := q.RevokeConsoleUserSessions(ctx, db.RevokeConsoleUserSessionsParams{UserID: u.ID, KeepID: sess.ID, Now: s.now()}); err != nil {
			return fmt.Errorf("revoke other sessions: %w", err)
		}
		_, err := audit.Append(ctx, q, audit.Event{
			OrganizationID: u.OrganizationID, Type: "console_user.password_changed", Actor: sess.Actor(),
			Message: fmt.Sprintf("%s changed their console password.", u.Email), Payload: map[string]any{"sessionId": sess.ID},
		})
		return err
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
