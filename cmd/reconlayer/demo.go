package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reconlayer/reconlayer/client"
	"github.com/reconlayer/reconlayer/internal/apikey"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/demo"
)

const demoUsage = `usage: reconlayer demo [--url http://localhost:3001] [--key rl_live_…] [--org-name NAME] [--no-wait]

Plays a new user's first minutes against a running service: payment intents,
evidence, a camt.053 statement import, a ledger run and expected payments, then
prints the cases by verdict and curl lines to explore them.

Without --key it creates a new organization and an API key in the database at
DATABASE_URL (as "admin create-org" does). --no-wait skips the minute it waits
for a payout to turn late.`

// demoCmd runs `reconlayer demo`.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, demoUsage) }
	var (
		base    = fs.String("url", "http://localhost:3001", "the running service")
		key     = fs.String("key", "", "an API key with every scope (default: a new organization and key)")
		orgName = fs.String("org-name", "", "name of the new organization (default: Demo <date> <tag>)")
		noWait  = fs.Bool("no-wait", false, "do not wait a minute for the late payout")
	)
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("demo takes no arguments\n" + demoUsage)
	}
	tag := make([]byte, 3)
	_, _ = rand.Read(tag)
	cfg := demo.Config{BaseURL: strings.TrimRight(*base, "/"), Key: *key, Tag: "demo" + hex.EncodeToString(tag),
		LateAfter: time.Minute + time.Second, Out: stdout, Progress: stderr}
	if *noWait {
		cfg.LateAfter = 0
	}

	c := client.New(cfg.BaseURL)
	if _, err := c.Do(ctx, "GET", "/ready", nil, nil); err != nil {
		return fmt.Errorf("the service at %s is not ready (start it with `make run`): %w", cfg.BaseURL, err)
	}
	if cfg.Key == "" {
		name := *orgName
		if name == "" {
			name = "Demo " + time.Now().UTC().Format(time.DateOnly) + " " + cfg.Tag
		}
		org, plaintext, err := demoOrganization(ctx, name)
		if err != nil {
			return err
		}
		cfg.Key = plaintext
		fmt.Fprintf(stderr, "organization %s (%s) with a new API key\n", org, name)
	}
	_, err := demo.Run(ctx, client.New(cfg.BaseURL, client.WithCredential(cfg.Key)), cfg)
	return err
}

// demoOrganization creates an organization and an API key with every scope
// in the database, as `admin create-org` and `create-api-key` do.
func demoOrganization(ctx context.Context, name string) (org, key string, err error) {
	pool, err := adminPool(ctx)
	if err != nil {
		return "", "", fmt.Errorf("create the demo organization (DATABASE_URL; or pass --key): %w", err)
	}
	defer pool.Close()
	o, err := db.New(pool).CreateOrganization(ctx, name)
	if err != nil {
		return "", "", fmt.Errorf("create organization: %w", err)
	}
	created, err := apikey.New(pool).Create(ctx, apikey.CreateInput{OrganizationID: o.ID, Name: "demo"}, nil)
	if err != nil {
		return "", "", fmt.Errorf("create API key: %w", err)
	}
	return o.ID.String(), created.Plaintext, nil
}
