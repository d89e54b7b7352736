package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/reconlayer/reconlayer/internal/config"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/importer"
	"github.com/reconlayer/reconlayer/internal/statement"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// benchImports runs `reconlayer bench imports`: a generated CSV of -csv
// lines and a generated camt.053 of -camt entries, each parsed alone (the
// parser with a handler that keeps nothing) and parsed and stored (the
// import worker: one raw record per row, COPY in chunks, as import:parse
// does), -runs times. Matching is not part of it.
func benchImports(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench imports", flag.ContinueOnError)
	csvLines := fs.Int("csv", 1_000_000, "data lines of the generated CSV")
	camtEntries := fs.Int("camt", 100_000, "entries of the generated camt.053")
	runs := fs.Int("runs", 3, "repetitions (medians are reported)")
	chunk := fs.Int("chunk", 2000, "rows stored per transaction")
	writers := fs.Int("writers", 3, "chunks stored at once")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	keep := fs.Bool("keep-db", false, "keep the scratch database afterwards")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	if *csvLines < 1 || *camtEntries < 1 || *runs < 1 || *chunk < 1 || *writers < 1 {
		return usageError("bench imports: -csv, -camt, -runs, -chunk and -writers must be positive")
	}
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	s, err := newScratch(ctx, cfg.DatabaseURL, 8)
	if err != nil {
		return err
	}
	s.keep = *keep
	defer s.close()
	rdb, err := scratchRedis(ctx, cfg.RedisURL, 253, 0)
	if err != nil {
		return err
	}
	defer rdb.Close()
	defer rdb.FlushDB(context.Background())
	org, err := db.New(s.pool).CreateOrganization(ctx, "bench")
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	svc := importer.New(s.pool, logger)
	w := importer.NewWorker(s.pool, tasks.NewEnqueuer(asynq.NewClientFromRedisClient(rdb)),
		func(context.Context, []uuid.UUID) error { return nil }, logger)
	w.Chunk, w.Writers = *chunk, *writers
	header := true
	settings := statement.Profile{HeaderRow: &header, DateFormat: "YYYY-MM-DD", Fields: []statement.FieldMapping{
		{Column: "booking_date", Path: "bookingDate"}, {Column: "value_date", Path: "valueDate"},
		{Column: "amount", Path: "amount"}, {Column: "currency", Path: "currency"},
		{Column: "reference", Path: "bankReference"}, {Column: "end_to_end_id", Path: "endToEndId"},
		{Column: "counterparty", Path: "counterpartyName"}, {Column: "remittance", Path: "remittance"},
	}}
	profile, err := svc.CreateProfile(ctx, org.ID, importer.ProfileInput{Name: "bench", RecordType: importer.RecordBankStatement, Settings: settings}, nil)
	if err != nil {
		return err
	}

	genStart := time.Now()
	csvFile := generateCSV(*csvLines)
	camtFile := generateCAMT(*camtEntries)
	fmt.Fprintf(stdout, "generated a CSV of %d lines (%.1f MB) and a camt.053 of %d entries (%.1f MB) in %.1f s (not measured)\n",
		*csvLines, float64(len(csvFile))/1e6, *camtEntries, float64(len(camtFile))/1e6, time.Since(genStart).Seconds())

	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	type result struct{ csvParse, csvStore, camtParse, camtStore float64 }
	var results []result
	for i := range *runs {
		var r result
		if r.csvParse, err = timeParse(func(h statement.Handler) error {
			return statement.ParseCSV(bytes.NewReader(csvFile), settings, h)
		}, *csvLines); err != nil {
			return err
		}
		if r.camtParse, err = timeParse(func(h statement.Handler) error { return statement.ParseCAMT(bytes.NewReader(camtFile), h) }, *camtEntries); err != nil {
			return err
		}
		// A different first line each run: the same content would be a
		// duplicate batch.
		csvRun := append([]byte(nil), csvFile...)
		csvRun = append(csvRun, fmt.Sprintf("2026-11-21,2026-11-21,1.00,EUR,RUN-%d-%s,E2E,Bench,run\n", i, uuid.NewString())...)
		if r.csvStore, err = timeStore(ctx, svc, w, importer.Upload{OrganizationID: org.ID, ProfileID: &profile.ID, FileName: "bench.csv",
			Content: csvRun, CreatedBy: "bench"}, *csvLines+1); err != nil {
			return err
		}
		camtRun := bytes.Replace(camtFile, []byte("<MsgId>BENCH</MsgId>"), []byte("<MsgId>BENCH-"+uuid.NewString()+"</MsgId>"), 1)
		if r.camtStore, err = timeStore(ctx, svc, w, importer.Upload{OrganizationID: org.ID, FileName: "bench.xml",
			Content: camtRun, CreatedBy: "bench"}, *camtEntries); err != nil {
			return err
		}
		results = append(results, r)
		fmt.Fprintf(stdout, "run %d: CSV parse %.0f rows/s, parse+store %.0f rows/s | camt.053 parse %.0f entries/s, parse+store %.0f entries/s\n",
			i+1, r.csvParse, r.csvStore, r.camtParse, r.camtStore)
	}
	fmt.Fprintf(stdout, "\nmedian of %d runs, chunk %d, %d writers, GOMAXPROCS %d, %s:\n", len(results), *chunk, *writers, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "  CSV, %d lines:        parse %9.0f rows/s   parse+store %9.0f rows/s\n", *csvLines,
		median(results, func(r result) float64 { return r.csvParse }), median(results, func(r result) float64 { return r.csvStore }))
	fmt.Fprintf(stdout, "  camt.053, %d entries: parse %9.0f rows/s   parse+store %9.0f rows/s\n", *camtEntries,
		median(results, func(r result) float64 { return r.camtParse }), median(results, func(r result) float64 { return r.camtStore }))
	return nil
}

// timeParse parses with a handler that keeps nothing and returns entries/s.
func timeParse(parse func(statement.Handler) error, want int) (float64, error) {
	n := 0
	start := time.Now()
	err := parse(statement.Handler{Entry: func(*statement.Statement, *statement.Entry) error { n++; return nil }})
	elapsed := time.Since(start)
	if err != nil {
		return 0, err
	}
	if n != want {
		return 0, fmt.Errorf("bench imports: parsed %d entries, want %d", n, want)
	}
	return float64(n) / elapsed.Seconds(), nil
}

// timeStore submits the file and runs the import worker's parse on it.
func timeStore(ctx context.Context, svc *importer.Service, w *importer.Worker, u importer.Upload, want int) (float64, error) {
	sub, err := svc.Submit(ctx, u, nil)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := w.Parse(ctx, sub.Batch.ID, sub.Job.ID); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	b, err := svc.GetBatch(ctx, u.OrganizationID, sub.Batch.ID)
	if err != nil {
		return 0, err
	}
	if b.Status != importer.StatusCompleted || int(b.ValidRows) != want {
		return 0, fmt.Errorf("bench imports: batch %s is %s with %d valid rows, want completed with %d (%v)", b.ID, b.Status, b.ValidRows, want, b.Error)
	}
	return float64(want) / elapsed.Seconds(), nil
}

// generateCSV is a bank export of n lines: dates, signed amounts, references,
// names and remittance text.
func generateCSV(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 110)
	b.WriteString("booking_date,value_date,amount,currency,reference,end_to_end_id,counterparty,remittance\n")
	for i := range n {
		sign := ""
		if i%3 == 0 {
			sign = "-"
		}
		fmt.Fprintf(&b, "2026-11-%02d,2026-11-%02d,%s%d.%02d,EUR,BNK%09d,E2E-%d,Customer %d GmbH,Invoice INV-%d order %d\n",
			i%28+1, i%28+1, sign, 10+i%5000, i%100, i, i, i%997, i, i)
	}
	return b.Bytes()
}

// generateCAMT is a camt.053.001.08 statement of n booked entries, each with
// one transaction's details.
func generateCAMT(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 900)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-11-21T08:00:00Z</CreDtTm></GrpHdr>
<Stmt><Id>BENCH-1</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>2026-11-21T08:00:00Z</CreDtTm>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-20</Dt></Dt></Bal>
`)
	var credit, debit int64
	var entries bytes.Buffer
	for i := range n {
		cents := int64(1000 + i%500000)
		ind := "CRDT"
		if i%3 == 0 {
			ind = "DBIT"
			debit += cents
		} else {
			credit += cents
		}
		fmt.Fprintf(&entries, `<Ntry><Amt Ccy="EUR">%d.%02d</Amt><CdtDbtInd>%s</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-11-21</Dt></BookgDt><ValDt><Dt>2026-11-21</Dt></ValDt><AcctSvcrRef>BNK%09d</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>E2E-%d</EndToEndId></Refs><Amt Ccy="EUR">%d.%02d</Amt><CdtDbtInd>%s</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>Customer %d GmbH</Nm></Pty></Dbtr><DbtrAcct><Id><IBAN>DE02120300000000202051</IBAN></Id></DbtrAcct></RltdPties><RmtInf><Ustrd>Invoice INV-%d</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
`, cents/100, cents%100, ind, i, i, cents/100, cents%100, ind, i%997, i)
	}
	closing := credit - debit
	cd := "CRDT"
	if closing < 0 {
		cd, closing = "DBIT", -closing
	}
	fmt.Fprintf(&b, `<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">%d.%02d</Amt><CdtDbtInd>%s</CdtDbtInd><Dt><Dt>2026-11-21</Dt></Dt></Bal>
`, closing/100, closing%100, cd)
	b.Write(entries.Bytes())
	b.WriteString("</Stmt></BkToCstmrStmt></Document>\n")
	return b.Bytes()
}
