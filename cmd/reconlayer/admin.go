package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/reconlayer/reconlayer/api"
	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/migrate"
)

const adminUsage = `usage: reconlayer admin <command> [flags]   (prints JSON on stdout)

  create-org --name NAME
  create-api-key --org ID --name NAME [--scopes a,b] [--expires-in 720h]
  session-token --org ID --user USER [--ttl 1h]     (HS256, RECONLAYER_SESSION_SECRET)
  set-rate-limit --org ID --per-minute N|default
  create-user --org ID --email EMAIL [--password-stdin]
      a web console user; prints a one-time password (changed at first
      sign-in) unless --password-stdin reads one (12+ characters) from stdin
`

// maxPasswordInput bounds what create-user reads from stdin.
const maxPasswordInput = 4096

// adminCmd bootstraps organizations and credentials without a dashboard.
func adminCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(strings.TrimSpace(adminUsage))
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		name      = fs.String("name", "", "name")
		org       = fs.String("org", "", "organization id")
		scopes    = fs.String("scopes", "", "comma-separated scopes (default: all)")
		expiresIn = fs.Duration("expires-in", 0, "key lifetime (default: never expires)")
		user      = fs.String("user", "", "user id (token subject)")
		ttl       = fs.Duration("ttl", time.Hour, "token lifetime")
		perMinute = fs.String("per-minute", "", "requests per minute, or 'default'")
		email     = fs.String("email", "", "console user's email")
		pwStdin   = fs.Bool("password-stdin", false, "read the console user's password from stdin")
	)
	if err := fs.Parse(args[1:]); err != nil {
		return usageError(err.Error())
	}

	// Every flag is checked before anything connects: a mistyped command
	// must not touch whatever database happens to be configured.
	var (
		orgID     uuid.UUID
		keyScopes []string
		limit     *int32
		userEmail string
		userPass  string
	)
	needOrg := func() error {
		id, err := uuid.Parse(*org)
		if err != nil {
			return usageError(args[0] + " needs --org ID (an organization uuid)")
		}
		orgID = id
		return nil
	}
	switch args[0] {
	case "create-org":
		if strings.TrimSpace(*name) == "" {
			return usageError("create-org needs --name NAME")
		}
	case "create-api-key":
		if err := needOrg(); err != nil {
			return err
		}
		if strings.TrimSpace(*name) == "" {
			return usageError("create-api-key needs --name NAME")
		}
		if *expiresIn < 0 {
			return usageError("--expires-in must be positive")
		}
		if *scopes != "" {
			for _, sc := range strings.Split(*scopes, ",") {
				sc = strings.TrimSpace(sc)
				if !auth.ValidScope(sc) {
					return usageError(fmt.Sprintf("unknown scope %q; known: %s", sc, strings.Join(auth.AllScopes, ",")))
				}
				if slices.Contains(keyScopes, sc) {
					return usageError(fmt.Sprintf("scope %q is listed twice", sc))
				}
				keyScopes = append(keyScopes, sc)
			}
		}
	case "session-token":
		if err := needOrg(); err != nil {
			return err
		}
		if *user == "" {
			return usageError("session-token needs --user USER")
		}
		if *ttl <= 0 {
			return usageError("--ttl must be positive")
		}
	case "set-rate-limit":
		if err := needOrg(); err != nil {
			return err
		}
		if *perMinute != "default" {
			n, err := strconv.Atoi(*perMinute)
			if err != nil || n < 1 || n > 10_000_000 {
				return usageError("--per-minute must be a whole number from 1 to 10000000, or 'default'")
			}
			v := int32(n)
			limit = &v
		}
	case "create-user":
		if err := needOrg(); err != nil {
			return err
		}
		if strings.TrimSpace(*email) == "" {
			return usageError("create-user needs --email EMAIL")
		}
		e, err := consoleauth.CheckEmail(*email)
		if err != nil {
			return usageError(err.Error())
		}
		userEmail = e
		if *pwStdin {
			if userPass, err = readPassword(stdin); err != nil {
				return err
			}
		}
	default:
		return usageError(fmt.Sprintf("unknown admin command %q\n%s", args[0], strings.TrimSpace(adminUsage)))
	}

	out := json.NewEncoder(stdout)
	if args[0] == "session-token" {
		cfg, err := config.Load()
		if err != nil {
			return err
		}
		if cfg.SessionSecret == "" {
			return &config.Error{Var: "RECONLAYER_SESSION_SECRET", Msg: "not set; session-token signs with it (make services writes one to .local/env)"}
		}
		tok, err := auth.SignSession([]byte(cfg.SessionSecret), *user, []string{orgID.String()}, *ttl, time.Now())
		if err != nil {
			return err
		}
		return out.Encode(map[string]string{"token": tok})
	}

	pool, err := adminPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	q := db.New(pool)
	if orgID != uuid.Nil {
		if _, err := q.GetOrganization(ctx, orgID); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("organization %s does not exist", orgID)
		} else if err != nil {
			return err
		}
	}

	switch args[0] {
	case "create-org":
		o, err := q.CreateOrganization(ctx, strings.TrimSpace(*name))
		if err != nil {
			return fmt.Errorf("create organization: %w", err)
		}
		return out.Encode(map[string]string{"organizationId": o.ID.String(), "name": o.Name})
	case "create-api-key":
		in := apikey.CreateInput{OrganizationID: orgID, Name: strings.TrimSpace(*name), Scopes: keyScopes}
		if *expiresIn > 0 {
			t := time.Now().Add(*expiresIn)
			in.ExpiresAt = &t
		}
		created, err := apikey.New(pool).Create(ctx, in, nil)
		if err != nil {
			return err
		}
		return out.Encode(api.RenderCreatedAPIKey(created))
	case "create-user":
		created, err := consoleauth.New(pool, consoleauth.Options{}).CreateUser(ctx, consoleauth.CreateUserInput{
			OrganizationID: orgID, Email: userEmail, Password: userPass, Actor: "system",
		})
		if errors.Is(err, consoleauth.ErrEmailTaken) {
			return fmt.Errorf("a console user with email %s exists already", userEmail)
		}
		if err != nil {
			return err
		}
		u := created.User
		res := map[string]any{
			"userId": u.ID.String(), "email": u.Email, "organizationId": u.OrganizationID.String(),
			"mustChangePassword": u.MustChangePassword,
		}
		if created.OneTimePassword != "" {
			res["oneTimePassword"] = created.OneTimePassword
		}
		return out.Encode(res)
	default: // set-rate-limit
		o, err := q.SetOrganizationRateLimit(ctx, db.SetOrganizationRateLimitParams{ID: orgID, RateLimitPerMinute: limit})
		if err != nil {
			return err
		}
		return out.Encode(map[string]any{"organizationId": o.ID.String(), "rateLimitPerMinute": o.RateLimitPerMinute})
	}
}

// readPassword reads a password from stdin: the whole input but one final
// line break, checked against the console's password policy.
func readPassword(stdin io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(stdin, maxPasswordInput+1))
	if err != nil {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	if len(b) > maxPasswordInput {
		return "", usageError("--password-stdin: the password is too long")
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return "", usageError("--password-stdin: no password on stdin")
	}
	if err := consoleauth.CheckPassword(pw); err != nil {
		return "", usageError("--password-stdin: " + err.Error())
	}
	return pw, nil
}

// adminPool connects and insists on an up-to-date schema.
func adminPool(ctx context.Context) (*pgxpool.Pool, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	pool, err := backend.OpenPostgres(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m, err := migrate.New(pool, nil)
	if err == nil {
		err = m.Check(ctx)
		m.Close()
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
