package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reconlayer/reconlayer/client"
	"github.com/reconlayer/reconlayer/internal/progress"
)

const importUsage = `usage: reconlayer import --file PATH [--url http://localhost:3001] [--key KEY]
                         [--record-type bank_statement|psp_report|onchain_report|client_internal_ledger]
                         [--profile ID] [--format csv|camt.053|bai2|mt940|…] [--accept-control-mismatch] [--async]

Uploads a file to a running service as an import batch and follows the
worker's progress until the batch completes or fails; prints the batch as
JSON. The key comes from --key or RECONLAYER_API_KEY (imports:write and
imports:read). Exit 1 when the batch fails.`

// importCmd runs `reconlayer import`.
func importCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importUsage) }
	var (
		file       = fs.String("file", "", "the file to import")
		base       = fs.String("url", "http://localhost:3001", "the running service")
		key        = fs.String("key", os.Getenv("RECONLAYER_API_KEY"), "API key (default $RECONLAYER_API_KEY)")
		recordType = fs.String("record-type", "", "what the rows are (default: bank_statement, or the profile's)")
		profile    = fs.String("profile", "", "import profile id (CSV files need one)")
		format     = fs.String("format", "", "file format (default: recognized from the content)")
		mismatch   = fs.Bool("accept-control-mismatch", false, "a control total the entries do not add up to is a warning")
		async      = fs.Bool("async", false, "print the queued batch and return at once")
	)
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	switch {
	case fs.NArg() > 0:
		return usageError("import takes no arguments\n" + importUsage)
	case *file == "":
		return usageError("import needs --file PATH\n" + importUsage)
	case *key == "":
		return usageError("import needs an API key: --key or RECONLAYER_API_KEY")
	}
	content, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	c := client.New(strings.TrimRight(*base, "/"), client.WithCredential(*key))
	created, err := c.UploadImportBatch(ctx, client.UploadImportBatchParams{
		File:       client.File{Name: filepath.Base(*file), Content: content},
		RecordType: *recordType, ImportProfileID: *profile, Format: *format, AcceptControlMismatch: *mismatch,
	})
	if err != nil {
		return err
	}
	if created.Duplicate {
		fmt.Fprintf(stderr, "the same file (SHA-256 %s) was imported before as batch %s\n", created.ContentSHA256, created.ID)
	}
	batch := &created.ImportBatch
	if !*async {
		rows := progress.New(stderr, "rows parsed", 0)
		batch, err = c.WaitImportBatch(ctx, batch, 250*time.Millisecond, func(b *client.ImportBatch) { rows.Set(int64(b.Counts.Total)) })
		rows.Finish()
		if err != nil {
			return err
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(batch); err != nil {
		return err
	}
	if batch.Status == "failed" {
		return fmt.Errorf("import batch %s failed: %s", batch.ID, derefString(batch.Error))
	}
	return nil
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
