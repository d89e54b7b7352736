// Package migrations holds the numbered goose migrations, embedded in the binary
// so that `reconlayer migrate up` needs nothing but the database.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
