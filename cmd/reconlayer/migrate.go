package main

import (
	"context"
	"encoding/json"
	"io"

	"github.com/reconlayer/reconlayer/internal/backend"
	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/migrate"
)

// migrateCmd runs `migrate up|down|status` and prints the outcome as JSON.
func migrateCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageError("usage: reconlayer migrate up|down|status")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	pool, err := backend.OpenPostgres(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	m, err := migrate.New(pool, nil)
	if err != nil {
		return err
	}
	defer m.Close()

	var out any
	switch args[0] {
	case "up":
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		out = map[string]any{"applied": applied}
	case "down":
		v, err := m.Down(ctx)
		if err != nil {
			return err
		}
		out = map[string]any{"rolledBack": v}
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		out = map[string]any{"migrations": st}
	default:
		return usageError("usage: reconlayer migrate up|down|status")
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
