// Package demo plays a new user's first minutes against a running
// ReconLayer through the public client: payment intents of every type,
// evidence that matches, carries fees and FX, disagrees or comes late, a
// camt.053 bank statement import, a ledger reconciliation run and expected
// payments. It then reads back what the service made of it all, so the
// person running it sees reconciled and exception cases side by side and
// the curl lines to explore them.
package demo

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/reconlayer/reconlayer/client"
	"github.com/reconlayer/reconlayer/internal/progress"
)

// Statement is the demo's bank statement: one day of a EUR operating
// account in ISO 20022 camt.053.001.02. Its lines settle two bank payouts
// (one for less than was paid out), pay two invoices the treasury expects,
// and charge a fee nobody booked.
//
//go:embed statement.camt053.xml
var Statement []byte

// StatementIBAN is the statement's account: the internal account the demo
// opens with it, so that the import's lines become transactions.
const StatementIBAN = "DE89370400440532013000"

// statementDay is the statement's booking date.
const statementDay = "2026-11-20"

// Config says where and how the demo runs.
type Config struct {
	// BaseURL is the service, such as http://localhost:3001; it is printed
	// in the curl lines.
	BaseURL string
	// Key is an API key of the organization with every scope, printed in
	// the curl lines.
	Key string
	// Tag makes this run's references unique, so the demo can run again in
	// the same organization.
	Tag string
	// LateAfter is how long to wait for the late payout to pass its SLA
	// (the demo's rule gives bank payouts one minute). 0 skips the wait:
	// that case then shows as missing its bank leg instead.
	LateAfter time.Duration
	// Out gets the summary; Progress the steps (a terminal or a log).
	Out, Progress io.Writer
}

// Result is what the demo made and what the service concluded, for the
// summary and for tests.
type Result struct {
	Cases         []client.ReconciliationCase
	Intents       map[string]string // caseId → what the demo meant the case to show
	Import        *client.ImportBatch
	Run           *client.LedgerRun
	Discrepancies []client.LedgerDiscrepancy
	Expected      []client.ExpectedPayment
	LateCaseID    string
}

// steps is how many progress.Step lines Run prints.
const steps = 8

// Run plays the demo with c (authenticated with cfg.Key) and prints its
// summary.
func Run(ctx context.Context, c *client.Client, cfg Config) (*Result, error) {
	d := &run{c: c, cfg: cfg, res: &Result{Intents: map[string]string{}}}
	for i, s := range []struct {
		what string
		f    func(context.Context) error
	}{
		{"a reconciliation rule: bank payouts settle within a minute (to show a late one)", d.rule},
		{"payment intents: stablecoin, bank, cross-border and other payments", d.intents},
		{"evidence: provider reports, on-chain transfers, a bank line", d.evidence},
		{"an internal account and the payments treasury expects on it", d.expected},
		{"a camt.053 bank statement import", d.statementImport},
		{"a ledger reconciliation run against the same statement", d.ledgerRun},
		{"waiting for the late payout to pass its SLA", d.late},
		{"reading back cases, expected payments and discrepancies", d.readBack},
	} {
		progress.Step(cfg.Progress, i+1, steps, s.what)
		if err := s.f(ctx); err != nil {
			return d.res, fmt.Errorf("demo step %d (%s): %w", i+1, s.what, err)
		}
	}
	d.summary()
	return d.res, nil
}

// run is one play of the demo.
type run struct {
	c   *client.Client
	cfg Config
	res *Result
	// planned is the plan as created (with case ids); account the internal
	// account of the statement.
	planned []*intent
	account string
	bank    struct{ settled, short, late string } // bank payout intents' case ids
}

func (d *run) ref(s string) string { return d.cfg.Tag + "-" + s }

// rule gives bank payouts a one-minute SLA, so that one without its bank
// settlement turns late while the demo runs (a real rule would say days).
func (d *run) rule(ctx context.Context) error {
	_, err := d.c.Do(ctx, "POST", "/v1/reconciliation-rules", map[string]any{
		"name": "demo " + d.cfg.Tag + ": bank payouts settle within a minute", "priority": 10,
		"paymentType": "bank", "requiredLegTypes": []string{"provider_transfer", "bank_settlement"},
		"expectedCompletionMinutes": 1, "slaRiskThresholdPercent": 100, "delayedSettlementThresholdMinutes": 1,
		"timeWindowMinutes": 7 * 24 * 60,
	}, nil)
	return err
}

// intent is one payment intent of the demo and the evidence that follows it.
type intent struct {
	meaning  string
	params   client.CreatePaymentIntentParams
	evidence func(ref string) []any // client.ProviderEvidence | OnchainEvidence | BankEvidence
	caseID   string
}

const evBeneficiary = "0x52908400098527886E0F7030069857D2E4169EE7"

func provider(ref, id, status, amount, currency string) client.ProviderEvidence {
	return client.ProviderEvidence{Provider: "acmepay", ProviderTransferID: id, Status: status,
		Amount: client.Money{Amount: amount, Currency: currency}, ExternalReference: ref}
}

// plan is the demo's payments: each says what it is meant to show.
func (d *run) plan() []*intent {
	other := func(ref, amount, currency string) client.CreatePaymentIntentParams {
		return client.CreatePaymentIntentParams{ExternalReference: ref, SourceAmount: amount, SourceCurrency: currency,
			PaymentType: "other", BeneficiaryName: "Ada Lovelace"}
	}
	bank := func(ref, amount, e2e string) client.CreatePaymentIntentParams {
		return client.CreatePaymentIntentParams{ExternalReference: ref, SourceAmount: amount, SourceCurrency: "EUR",
			PaymentType: "bank", Direction: "debit", BeneficiaryName: "Supplier payout",
			References: []client.Reference{{Type: "end_to_end_id", Value: e2e}}}
	}
	stablecoin := func(ref, txHash string) client.CreatePaymentIntentParams {
		return client.CreatePaymentIntentParams{ExternalReference: ref, SourceAmount: "1000.00", SourceCurrency: "USD",
			DestinationAmount: "920.00", DestinationCurrency: "USDC", PaymentType: "stablecoin", PaymentSubtype: "payout",
			Direction: "debit", Stablecoin: "USDC", Chain: "ethereum", BeneficiaryAccount: evBeneficiary,
			ExpectedFxRate: "0.92", TxHash: txHash}
	}
	// A transaction hash of this run's, so that a second demo in the same
	// organization does not find the first one's transfers.
	txHash := func(seed string) string {
		sum := sha256.Sum256([]byte(d.cfg.Tag + seed))
		return "0x" + hex.EncodeToString(sum[:])
	}
	return []*intent{
		{meaning: "matched: the provider paid exactly what was asked",
			params: other(d.ref("order-1001"), "100.00", "USD"),
			evidence: func(ref string) []any {
				return []any{provider(ref, ref+"-tr", "completed", "100.00", "USD")}
			}},
		{meaning: "fees and FX explained: stablecoin payout, 4 USDC of fees and spread",
			params: stablecoin(d.ref("po-2001"), txHash("confirmed")),
			evidence: func(ref string) []any {
				p := provider(ref, ref+"-tr", "completed", "1000.00", "USD")
				p.DestinationAmount = &client.Money{Amount: "916.00", Currency: "USDC"}
				p.FxRate = "0.918"
				p.Fees = &client.EvidenceFees{ProviderFee: "1.00", NetworkFee: "0.50", DeveloperFee: "0.50"}
				return []any{p, client.OnchainEvidence{ChainFamily: "evm", ChainID: "1", TxHash: txHash("confirmed"), Status: "confirmed",
					Amount: client.Money{Amount: "916.00", Currency: "USDC"}, ToAddress: evBeneficiary}}
			}},
		{meaning: "FX explained: cross-border, 2.00 EUR of the gap is the provider's rate",
			params: client.CreatePaymentIntentParams{ExternalReference: d.ref("xb-3001"), SourceAmount: "500.00", SourceCurrency: "USD",
				DestinationAmount: "460.00", DestinationCurrency: "EUR", PaymentType: "cross_border", Direction: "debit",
				BeneficiaryName: "Ada Lovelace", ExpectedFxRate: "0.92"},
			evidence: func(ref string) []any {
				p := provider(ref, ref+"-tr", "completed", "500.00", "USD")
				p.DestinationAmount = &client.Money{Amount: "458.00", Currency: "EUR"}
				p.FxRate = "0.916"
				return []any{p, client.BankEvidence{BankAccount: "GB29NWBK60161331926819", Direction: "debit", Status: "booked",
					Amount: client.Money{Amount: "458.00", Currency: "EUR"}, BookingDate: time.Now().UTC().Format(time.DateOnly),
					EndToEndID: ref, CounterpartyName: "Ada Lovelace"}}
			}},
		{meaning: "tentatively reconciled: the on-chain transfer is still pending",
			params: stablecoin(d.ref("po-2002"), txHash("pending")),
			evidence: func(ref string) []any {
				p := provider(ref, ref+"-tr", "completed", "1000.00", "USD")
				p.DestinationAmount = &client.Money{Amount: "920.00", Currency: "USDC"}
				return []any{p, client.OnchainEvidence{ChainFamily: "evm", ChainID: "1", TxHash: txHash("pending"), Status: "pending",
					Amount: client.Money{Amount: "920.00", Currency: "USDC"}, ToAddress: evBeneficiary}}
			}},
		{meaning: "missing leg: the provider paid out, the chain shows nothing yet",
			params: stablecoin(d.ref("po-2003"), ""),
			evidence: func(ref string) []any {
				p := provider(ref, ref+"-tr", "completed", "1000.00", "USD")
				p.DestinationAmount = &client.Money{Amount: "920.00", Currency: "USDC"}
				return []any{p}
			}},
		{meaning: "amount mismatch: 45.00 arrived for 50.00 asked",
			params: other(d.ref("order-1002"), "50.00", "USD"),
			evidence: func(ref string) []any {
				return []any{provider(ref, ref+"-tr", "completed", "45.00", "USD")}
			}},
		{meaning: "currency mismatch: paid in EUR, asked in USD",
			params: other(d.ref("order-1003"), "20.00", "USD"),
			evidence: func(ref string) []any {
				return []any{provider(ref, ref+"-tr", "completed", "20.00", "EUR")}
			}},
		{meaning: "failed: the provider reports the transfer failed",
			params: other(d.ref("order-1004"), "30.00", "USD"),
			evidence: func(ref string) []any {
				return []any{provider(ref, ref+"-tr", "failed", "30.00", "USD")}
			}},
		{meaning: "no evidence yet: nothing has been heard of this payment",
			params: other(d.ref("order-1005"), "75.00", "USD")},
		{meaning: "bank payout settled: the statement's line PAYOUT-7781 completes it",
			params: bank(d.ref("payout-7781"), "240.00", "PAYOUT-7781"),
			evidence: func(ref string) []any {
				return []any{provider(ref, ref+"-tr", "completed", "240.00", "EUR")}
			}},
		{meaning: "bank payout short: the statement's line PAYOUT-7782 is 990.00 for 1000.00",
			params: bank(d.ref("payout-7782"), "1000.00", "PAYOUT-7782"),
			evidence: func(ref string) []any {
				return []any{provider(ref, ref+"-tr", "completed", "1000.00", "EUR")}
			}},
		{meaning: "late: a bank payout with no bank line past its one-minute SLA",
			params: bank(d.ref("payout-7783"), "75.00", "PAYOUT-7783"),
			evidence: func(ref string) []any {
				return []any{provider(ref, ref+"-tr", "completed", "75.00", "EUR")}
			}},
	}
}

func (d *run) intents(ctx context.Context) error {
	plan := d.plan()
	for _, in := range plan {
		created, err := d.c.CreatePaymentIntent(ctx, in.params)
		if err != nil {
			return fmt.Errorf("payment intent %s: %w", in.params.ExternalReference, err)
		}
		in.caseID = created.CaseID
		d.res.Intents[created.CaseID] = in.meaning
		switch in.params.ExternalReference {
		case d.ref("payout-7781"):
			d.bank.settled = created.CaseID
		case d.ref("payout-7782"):
			d.bank.short = created.CaseID
		case d.ref("payout-7783"):
			d.bank.late = created.CaseID
			d.res.LateCaseID = created.CaseID
		}
	}
	d.planned = plan
	fmt.Fprintf(d.cfg.Progress, "      %d payment intents, each with its reconciliation case\n", len(plan))
	return nil
}

func (d *run) evidence(ctx context.Context) error {
	var queued []string // receipts the worker had not answered within the api's wait
	submit := func(e any) error {
		var r *client.EvidenceReceipt
		var err error
		switch e := e.(type) {
		case client.ProviderEvidence:
			r, err = d.c.SubmitProviderEvidence(ctx, e)
		case client.OnchainEvidence:
			r, err = d.c.SubmitOnchainEvidence(ctx, e)
		case client.BankEvidence:
			r, err = d.c.SubmitBankEvidence(ctx, e)
		}
		if err == nil && r.Status == "queued" {
			queued = append(queued, r.RawRecordID)
		}
		return err
	}
	sent := 0
	for _, in := range d.planned {
		if in.evidence == nil {
			continue
		}
		for _, e := range in.evidence(in.params.ExternalReference) {
			if err := submit(e); err != nil {
				return fmt.Errorf("evidence for %s: %w", in.params.ExternalReference, err)
			}
			sent++
		}
	}
	// Evidence nobody asked for stays visible as unmatched.
	if err := submit(provider(d.ref("unknown-9999"), d.ref("unknown-9999-tr"), "completed", "12.34", "USD")); err != nil {
		return fmt.Errorf("unmatched evidence: %w", err)
	}
	fmt.Fprintf(d.cfg.Progress, "      %d pieces of evidence, and one that matches no payment\n", sent+1)
	if len(queued) == 0 {
		return nil
	}
	fmt.Fprintf(d.cfg.Progress, "      %d still queued (a busy worker): waiting for the matcher\n", len(queued))
	return waitFor(ctx, "the matcher to place the evidence", func() (bool, error) {
		for len(queued) > 0 {
			e, err := d.c.GetEvidence(ctx, queued[0])
			if err != nil || e.Status == "queued" {
				return false, err
			}
			queued = queued[1:]
		}
		return true, nil
	})
}

// waitFor polls cond until it holds, for at most two minutes: the worker
// does the demo's matching in the background.
func waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up waiting for %s after 2 minutes: is a worker running?", what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (d *run) expected(ctx context.Context) error {
	acct, err := d.c.CreateInternalAccount(ctx, client.CreateInternalAccountParams{Name: "Acme GmbH operating (EUR)",
		Currency: "EUR", IBAN: StatementIBAN})
	if err != nil {
		return fmt.Errorf("internal account: %w", err)
	}
	day := statementDay
	eur := "EUR"
	payments := []client.CreateExpectedPaymentParams{
		{Description: "Globex invoice INV-2026-0042", ExternalID: d.ref("exp-inv-0042"),
			ReconciliationRuleVariables: []client.ReconciliationRuleVariable{{Direction: "credit",
				AmountLowerBound: 125000, AmountUpperBound: 125000, InternalAccountID: acct.ID, Currency: &eur,
				DateLowerBound: &day, DateUpperBound: &day, CustomIdentifiers: map[string]string{"end_to_end_id": "INV-2026-0042"}}}},
		{Description: "Initech support plan, 300 to 315 EUR", ExternalID: d.ref("exp-initech-nov"),
			Direction: "credit", Currency: "EUR", AmountLowerBound: client.Ptr[int64](30000), AmountUpperBound: client.Ptr[int64](31500),
			InternalAccountID: acct.ID, DateLowerBound: "2026-11-18", DateUpperBound: "2026-11-21"},
		{Description: "Umbrella Corp retainer, due by the 20th", ExternalID: d.ref("exp-umbrella-nov"),
			Direction: "credit", Currency: "EUR", AmountLowerBound: client.Ptr[int64](50000), AmountUpperBound: client.Ptr[int64](50000),
			InternalAccountID: acct.ID, DateLowerBound: "2026-11-18", DateUpperBound: statementDay},
		{Description: "Hooli refund, announced, still pending at the bank", ExternalID: d.ref("exp-hooli-refund"),
			Direction: "credit", Currency: "EUR", AmountLowerBound: client.Ptr[int64](8900), AmountUpperBound: client.Ptr[int64](8900),
			InternalAccountID: acct.ID},
	}
	for _, p := range payments {
		if _, err := d.c.CreateExpectedPayment(ctx, p); err != nil {
			return fmt.Errorf("expected payment %q: %w", p.Description, err)
		}
	}
	// A transaction sent by API rather than by statement: pending, so its
	// expected payment is only tentatively reconciled until it posts.
	if _, err := d.c.CreateTransaction(ctx, client.CreateTransactionParams{InternalAccountID: acct.ID, Direction: "credit",
		Amount: 8900, Currency: "EUR", AsOfDate: time.Now().UTC().Format(time.DateOnly), Posted: client.Ptr(false),
		VendorDescription: "HOOLI REFUND " + d.cfg.Tag}); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	d.account = acct.ID
	fmt.Fprintf(d.cfg.Progress, "      internal account %s (IBAN %s), %d expected payments, 1 pending transaction\n", acct.ID, StatementIBAN, len(payments))
	return nil
}

// statementImport uploads the statement and follows the batch until the
// worker has parsed it.
func (d *run) statementImport(ctx context.Context) error {
	created, err := d.c.UploadImportBatch(ctx, client.UploadImportBatchParams{
		File:       client.File{Name: "acme-eur-" + statementDay + ".camt053.xml", Content: Statement, ContentType: "application/xml"},
		RecordType: "bank_statement"})
	if err != nil {
		return err
	}
	if created.Duplicate {
		fmt.Fprintf(d.cfg.Progress, "      this statement was imported before (batch %s): ReconLayer dedupes files by SHA-256\n", created.ID)
	}
	bar := progress.New(d.cfg.Progress, "      rows parsed", 0)
	batch, err := d.c.WaitImportBatch(ctx, &created.ImportBatch, 200*time.Millisecond,
		func(b *client.ImportBatch) { bar.Set(int64(b.Counts.Total)) })
	if err != nil {
		return err
	}
	bar.Finish()
	if batch.Status != "completed" {
		return fmt.Errorf("import batch %s %s: %s", batch.ID, batch.Status, deref(batch.Error))
	}
	d.res.Import = batch
	// Then the worker places its lines: the two bank payouts get their bank
	// leg, and the expected payments their transactions.
	return waitFor(ctx, "the statement's lines to reach their payments", func() (bool, error) {
		for _, id := range []string{d.bank.settled, d.bank.short} {
			c, err := d.c.GetCase(ctx, id)
			if err != nil || c.EvidenceCoverage.Bank == "missing" {
				return false, err
			}
		}
		page, err := d.c.ListExpectedPayments(ctx, client.ListExpectedPaymentsParams{Status: "reconciled",
			InternalAccountID: d.account, CursorParams: client.CursorParams{PerPage: 100}})
		return err == nil && len(page.Items) >= 2, err
	})
}

func (d *run) ledgerRun(ctx context.Context) error {
	l, err := d.c.CreateLedger(ctx, client.CreateLedgerParams{Name: "Acme GmbH books " + d.cfg.Tag, Currency: "EUR"})
	if err != nil {
		return err
	}
	if _, err := d.c.CreateLedgerAccount(ctx, l.ID, client.CreateLedgerAccountParams{Name: "Bank EUR", Code: "1200", Currency: "EUR"}); err != nil {
		return err
	}
	entry := func(n, direction, amount, ref, what string) client.LedgerEntryInput {
		return client.LedgerEntryInput{Account: "1200", Direction: direction, Amount: amount, Currency: "EUR",
			BookingDate: statementDay, Reference: ref, Description: what, ExternalID: d.ref("gl-" + n)}
	}
	if _, err := d.c.AddLedgerEntries(ctx, l.ID, []client.LedgerEntryInput{
		entry("1", "debit", "1250.00", "INV-2026-0042", "Globex pays invoice INV-2026-0042"),
		entry("2", "credit", "240.00", "PAYOUT-7781", "Payout to Ada Lovelace"),
		entry("3", "credit", "990.00", "PAYOUT-7782", "Payout to Grace Hopper"),
		entry("4", "debit", "310.50", "", "Initech support plan"),
		entry("5", "credit", "58.00", "PAYOUT-7790", "Payout booked, not yet at the bank"),
	}); err != nil {
		return err
	}
	run, err := d.c.CreateLedgerRun(ctx, client.CreateLedgerRunParams{LedgerID: l.ID, Mode: "automatic", SourceType: "upload"})
	if err != nil {
		return err
	}
	up, err := d.c.UploadLedgerSource(ctx, run.ID, client.UploadLedgerSourceParams{
		File: client.File{Name: "acme-eur-" + statementDay + ".camt053.xml", Content: Statement, ContentType: "application/xml"},
	}, client.PreferWait(30*time.Second))
	if err != nil {
		return err
	}
	if up.Status == "failed" {
		return fmt.Errorf("statement upload to run %s failed: %s", run.ID, up.Error)
	}
	// Automatic mode matches once the source is read; follow the run.
	for {
		if run, err = d.c.GetLedgerRun(ctx, run.ID); err != nil {
			return err
		}
		if run.Status == "completed" || run.Status == "failed" || run.Status == "closed" {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	if run.Status == "failed" {
		return fmt.Errorf("ledger run %s failed: %s", run.ID, deref(run.Error))
	}
	d.res.Run = run
	disc, err := d.c.ListLedgerDiscrepancies(ctx, run.ID, client.ListLedgerDiscrepanciesParams{})
	if err != nil {
		return err
	}
	d.res.Discrepancies = disc.Items
	fmt.Fprintf(d.cfg.Progress, "      %d matched, %d discrepancies\n", run.MatchedCount, len(disc.Items))
	return nil
}

// late waits until the late payout is older than its SLA, then has its case
// evaluated again (the scheduler would do the same within a minute).
func (d *run) late(ctx context.Context) error {
	if d.cfg.LateAfter <= 0 {
		fmt.Fprintln(d.cfg.Progress, "      skipped (--late-after 0): the late payout shows as missing its bank leg")
		return nil
	}
	c, err := d.c.GetCase(ctx, d.bank.late)
	if err != nil {
		return err
	}
	due := c.CreatedAt.Add(d.cfg.LateAfter)
	if wait := time.Until(due); wait > 0 {
		bar := progress.New(d.cfg.Progress, "      seconds waited", int64(wait.Seconds()+0.5)).WithoutRate()
		start := time.Now()
		for time.Now().Before(due) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
			bar.Set(int64(time.Since(start).Seconds()))
		}
		bar.Finish()
	}
	// The service's clock decides; if it is behind ours, try a few times.
	for try := 0; ; try++ {
		c, err := d.c.RerunCase(ctx, d.bank.late)
		if err != nil || c.SLARisk || try == 10 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

func (d *run) readBack(ctx context.Context) error {
	p := client.ListCasesParams{ListParams: client.ListParams{Limit: 100}}
	for {
		page, err := d.c.ListCases(ctx, p)
		if err != nil {
			return err
		}
		for _, c := range page.Items {
			if _, ours := d.res.Intents[c.ID]; ours {
				d.res.Cases = append(d.res.Cases, c)
			}
		}
		if page.NextCursor == "" {
			break
		}
		p.Cursor = page.NextCursor
	}
	page, err := d.c.ListExpectedPayments(ctx, client.ListExpectedPaymentsParams{CursorParams: client.CursorParams{PerPage: 100}})
	if err != nil {
		return err
	}
	for _, e := range page.Items {
		if e.ExternalID != nil && len(*e.ExternalID) > len(d.cfg.Tag) && (*e.ExternalID)[:len(d.cfg.Tag)] == d.cfg.Tag {
			d.res.Expected = append(d.res.Expected, e)
		}
	}
	if len(d.res.Cases) != len(d.res.Intents) {
		return errors.New("some of the demo's cases are missing from the case list")
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
