package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/ledger"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// benchRuns runs `reconlayer bench runs`: ledger reconciliation runs end
// to end through Postgres, for each size in -n: a ledger booked with about
// 1.1·n GL entries (POST /v1/ledgers/{id}/entries' service, 10,000 a batch),
// then -runs times: a run, an n-line statement CSV uploaded and parsed by
// the worker (lines stored per second), and auto-match over the whole run
// (load both sides, match, write matches, members and discrepancies with
// COPY, complete the run), with the process's peak RSS during it. The data:
// ≈90% of the lines pair 1:1 with an entry (five in six by reference, the
// rest by amount and date), 5% are split over 2–4 entries sharing a
// reference, 5% are on one side only, each side. Each run is deleted
// and purged afterwards, releasing its entries for the next, and the
// tables vacuumed (untimed).
func benchRuns(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench runs", flag.ContinueOnError)
	sizes := fs.String("n", "100000,1000000", "statement lines per run, comma-separated sizes")
	runs := fs.Int("runs", 3, "repetitions per size (medians are reported)")
	writers := fs.Int("writers", 2, "connections storing matches at once")
	matchChunk := fs.Int("match-chunk", 25000, "matches stored per transaction")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the auto-matches to this file")
	keep := fs.Bool("keep-db", false, "keep the scratch database afterwards")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	var ns []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 20 {
			return usageError("bench runs: -n takes sizes of at least 20, comma-separated")
		}
		ns = append(ns, n)
	}
	if *runs < 1 || *writers < 1 || *matchChunk < 1 {
		return usageError("bench runs: -runs, -writers and -match-chunk must be positive")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	rdb, err := scratchRedis(ctx, cfg.RedisURL, 252, 0)
	if err != nil {
		return err
	}
	defer rdb.Close()
	defer rdb.FlushDB(context.Background())
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelInfo})) // the worker logs each auto-match's phases
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	type result struct{ upload, match, rss float64 }
	report := map[int][]result{}
	for _, n := range ns {
		s, err := newScratch(ctx, cfg.DatabaseURL, 8)
		if err != nil {
			return err
		}
		s.keep = *keep
		svc := ledger.New(s.pool)
		w := ledger.NewWorker(s.pool, rdb, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(rdb)), logger)
		w.Writers, w.MatchChunk = *writers, *matchChunk
		org, err := db.New(s.pool).CreateOrganization(ctx, "bench")
		if err != nil {
			s.close()
			return err
		}
		l, err := svc.CreateLedger(ctx, org.ID, ledger.LedgerInput{Name: "bench", Metadata: []byte("{}")}, nil)
		if err != nil {
			s.close()
			return err
		}
		if _, err := svc.CreateAccount(ctx, org.ID, l.ID, ledger.AccountInput{Name: "Bank", Code: "1200", Currency: "EUR", NormalBalance: "debit"}, nil); err != nil {
			s.close()
			return err
		}
		genStart := time.Now()
		statementCSV, entries := generateRun(n)
		bookStart := time.Now()
		for i := 0; i < len(entries); i += ledger.MaxEntries {
			if _, err := svc.AddEntries(ctx, org.ID, l.ID, entries[i:min(i+ledger.MaxEntries, len(entries))], nil); err != nil {
				s.close()
				return err
			}
		}
		fmt.Fprintf(stdout, "n=%d: generated %d statement lines (%.1f MB CSV) and %d GL entries in %.1f s; booked the entries at %.0f/s (not part of the targets)\n",
			n, n, float64(len(statementCSV))/1e6, len(entries), bookStart.Sub(genStart).Seconds(), float64(len(entries))/time.Since(bookStart).Seconds())

		for i := range *runs {
			key := uuid.NewString()
			rc, err := svc.CreateRun(ctx, org.ID, ledger.RunInput{LedgerID: l.ID, Mode: ledger.ModeAutomatic, SourceType: "upload",
				IdempotencyKey: &key, WindowDays: 3, CreatedBy: "bench"}, nil)
			if err != nil {
				s.close()
				return err
			}
			run := rc.Run
			// Manual mode would leave auto-match to the caller; here the
			// run is automatic but the upload's own auto-match job is not
			// run: the bench times auto-match separately.
			sub, err := svc.SubmitSource(ctx, org.ID, ledger.SourceUpload{RunID: run.ID, FileName: "bench.csv", Format: "csv", Content: statementCSV, CreatedBy: "bench"}, nil)
			if err != nil {
				s.close()
				return err
			}
			var r result
			start := time.Now()
			if err := w.ParseSource(ctx, ledger.Task{OrganizationID: org.ID, RunID: run.ID, SourceID: sub.Source.ID}, sub.Job.ID); err != nil {
				s.close()
				return err
			}
			r.upload = float64(n) / time.Since(start).Seconds()
			src, err := svc.GetSource(ctx, org.ID, run.ID, sub.Source.ID)
			if err != nil || src.Status != "processed" || int(src.Imported) != n {
				s.close()
				return fmt.Errorf("bench runs: source %s is %s with %d lines, want processed with %d (%v)", sub.Source.ID, src.Status, src.Imported, n, err)
			}
			runtime.GC()
			resetPeakRSS()
			job := ledger.NewAutoMatchJob(run, "")
			start = time.Now()
			if err := w.AutoMatch(ctx, ledger.Task{OrganizationID: org.ID, RunID: run.ID}, job.ID); err != nil {
				s.close()
				return err
			}
			r.match = time.Since(start).Seconds()
			r.rss = peakRSS()
			done, err := svc.GetRun(ctx, org.ID, run.ID)
			if err != nil {
				s.close()
				return err
			}
			disc, err := svc.Discrepancies(ctx, org.ID, run.ID, ledger.DiscrepancyFilter{}, 1, 0)
			if err != nil {
				s.close()
				return err
			}
			fmt.Fprintf(stdout, "  run %d: upload %.0f lines/s | auto-match %.2f s (%d matches, %d discrepancies) | peak RSS %.0f MiB\n",
				i+1, r.upload, r.match, done.MatchedCount, disc.Total, r.rss)
			if done.Status != ledger.RunCompleted || int(done.MatchedCount) < n*85/100 {
				s.close()
				return fmt.Errorf("bench runs: run %s is %s with %d matches of %d lines", run.ID, done.Status, done.MatchedCount, n)
			}
			_, purge, err := svc.DeleteRun(ctx, org.ID, run.ID, "bench")
			if err != nil {
				s.close()
				return err
			}
			if err := w.Purge(ctx, ledger.Task{OrganizationID: org.ID, RunID: run.ID}, purge.ID); err != nil {
				s.close()
				return err
			}
			// Back to back, the next run would also measure the cleanup of
			// this one's million dead index entries, which autovacuum does
			// between runs minutes apart; do it now, untimed.
			if _, err := s.pool.Exec(ctx, "VACUUM ANALYZE ledger_run_items, ledger_matches, ledger_match_members, ledger_discrepancies, ledger_entries"); err != nil {
				s.close()
				return err
			}
			report[n] = append(report[n], r)
		}
		s.close()
	}
	fmt.Fprintf(stdout, "\nmedian of %d runs, GOMAXPROCS %d, %s:\n", *runs, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly))
	for _, n := range ns {
		rs := report[n]
		fmt.Fprintf(stdout, "  %d × ~%d: upload %9.0f lines/s   auto-match %6.2f s   peak RSS %5.0f MiB\n", n, n*11/10,
			median(rs, func(r result) float64 { return r.upload }), median(rs, func(r result) float64 { return r.match }),
			median(rs, func(r result) float64 { return r.rss }))
	}
	return nil
}

// generateRun is a statement CSV of n lines and the GL entries that go
// with it (see benchRuns for the mix). Deterministic.
func generateRun(n int) ([]byte, []ledger.EntryInput) {
	rng := rand.New(rand.NewPCG(uint64(n), 2026))
	var csv bytes.Buffer
	csv.Grow(n * 48)
	csv.WriteString("booking_date,amount,currency,reference\n")
	entries := make([]ledger.EntryInput, 0, n*11/10)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	line := func(day int, cents int64, ref string) {
		fmt.Fprintf(&csv, "%s,%s,EUR,%s\n", base.AddDate(0, 0, day).Format(time.DateOnly), decimal.New(cents, -2).String(), ref)
	}
	entry := func(day int, cents int64, ref string) {
		e := ledger.EntryInput{Account: "1200", Direction: "debit", Amount: decimal.New(cents, -2), Currency: "EUR",
			BookingDate: base.AddDate(0, 0, day), ExternalID: "GL-" + strconv.Itoa(len(entries))}
		if cents < 0 {
			e.Direction, e.Amount = "credit", decimal.New(-cents, -2)
		}
		if ref != "" {
			e.Reference = &ref
		}
		entries = append(entries, e)
	}
	amount := func() int64 {
		c := 100 + rng.Int64N(100_000_000)
		if rng.IntN(3) == 0 {
			return -c
		}
		return c
	}
	for i := range n {
		day := rng.IntN(90)
		lag := rng.IntN(3) - 1
		switch k := i % 20; {
		case k < 15: // 1:1 by reference
			c, ref := amount(), "INV-"+strconv.Itoa(i)
			line(day, c, ref)
			entry(day+lag, c, ref)
		case k < 18: // 1:1 by amount and date
			c := amount()
			line(day, c, "")
			entry(day+lag, c, "")
		case k == 18: // split over 2–4 entries sharing a reference
			parts := 2 + rng.IntN(3)
			ref := "SPL-" + strconv.Itoa(i)
			var sum int64
			for range parts {
				c := 100 + rng.Int64N(1_000_000)
				sum += c
				entry(day+rng.IntN(2), c, ref)
			}
			line(day, sum, ref)
		default: // on one side only, each side
			line(day, amount(), "UNM-S-"+strconv.Itoa(i))
			entry(rng.IntN(90), amount(), "UNM-G-"+strconv.Itoa(i))
		}
	}
	return csv.Bytes(), entries
}

// resetPeakRSS resets the process's peak resident set size (Linux).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is the process's peak resident set size in MiB since the last
// reset (Linux; 0 elsewhere).
func peakRSS() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
