package matcher

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/caseevent"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/match"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

// ProcessMany matches a batch of raw records. The common case — evidence
// that names its intent by externalReference, which finds exactly one case —
// is done for the whole batch in one transaction with one statement per
// step (legs, candidates, case locks, links, evaluations, events, audit,
// outcomes) instead of one per record and step. Every other record (other
// keys, ambiguity, no candidate, normalization failure) goes through Process
// on its own afterwards, so its semantics are exactly Process's. Records
// processed before are reported, not processed again. The result has an
// outcome for every id that exists.
func (s *Service) ProcessMany(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Outcome, error) {
	outs := make(map[uuid.UUID]Outcome, len(ids))
	var rest []db.RawRecord
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rest = rest[:0]
		clear(outs)
		var err error
		rest, err = s.processMany(ctx, s.q.WithTx(tx), ids, outs)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, raw := range rest {
		out, err := s.Process(ctx, raw.OrganizationID, raw.ID, tasks.EvidenceMatchID(raw.ID))
		if err != nil {
			return outs, fmt.Errorf("raw record %s: %w", raw.ID, err)
		}
		outs[raw.ID] = out
	}
	return outs, nil
}

// batchLeg is a record of the batch on the fast path.
type batchLeg struct {
	raw  db.RawRecord
	leg  db.CopyFlowLegsParams
	link match.Link
}

func (s *Service) processMany(ctx context.Context, q *db.Queries, ids []uuid.UUID, outs map[uuid.UUID]Outcome) ([]db.RawRecord, error) {
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, compareUUID)
	raws, err := q.LockRawRecords(ctx, sorted)
	if err != nil {
		return nil, fmt.Errorf("lock raw records: %w", err)
	}

	// Sort the batch: done before, fast path, or on its own.
	var (
		rest     []db.RawRecord
		fast     []batchLeg
		done     []string // outbox rows of records processed before
		byOrgRef = map[uuid.UUID][]string{}
	)
	for _, raw := range raws {
		if raw.ProcessedAt != nil {
			out, err := evidence.OutcomeOf(ctx, q, raw)
			if err != nil {
				return nil, err
			}
			outs[raw.ID] = out
			done = append(done, tasks.EvidenceMatchID(raw.ID))
			continue
		}
		l, err := evidence.Normalize(raw.Source, raw.Payload, raw.ReceivedAt)
		if err != nil || l.ExternalReference == nil || l.PaymentIntentID != nil {
			rest = append(rest, raw)
			continue
		}
		// The same columns as InsertFlowLeg, sent by COPY.
		fast = append(fast, batchLeg{raw: raw, leg: db.CopyFlowLegsParams(legParams(raw, l))})
		byOrgRef[raw.OrganizationID] = append(byOrgRef[raw.OrganizationID], *l.ExternalReference)
	}

	// Candidates by externalReference, one query per organization.
	cands := map[uuid.UUID]map[string][]match.Candidate{}
	for org, refs := range byOrgRef {
		rows, err := q.CandidatesByExternalReferences(ctx, db.CandidatesByExternalReferencesParams{OrganizationID: org, ExternalReferences: refs})
		if err != nil {
			return nil, fmt.Errorf("find candidates: %w", err)
		}
		cands[org] = map[string][]match.Candidate{}
		for _, r := range rows {
			rl, err := s.rule(ctx, q, org, r.RuleSnapshotID)
			if err != nil {
				return nil, err
			}
			cands[org][r.Reference] = append(cands[org][r.Reference], match.Candidate{
				Strategy: r.Strategy, CaseID: r.ID, Rule: rl, ExpectedAmount: r.ExpectedAmount.Dec(),
				ExpectedCurrency: r.ExpectedCurrency, IntentCreatedAt: r.IntentCreatedAt, ExternalReference: r.ExternalReference,
				PaymentIntentID: r.PaymentIntentID,
			})
		}
	}
	kept := fast[:0]
	for _, b := range fast {
		d := match.Decide(match.Leg{
			Amount: b.leg.Amount.Dec(), Currency: b.leg.Currency, DestinationAmount: b.leg.DestinationAmount.Dec(),
			DestinationCurrency: b.leg.DestinationCurrency, OccurredAt: b.leg.OccurredAt, NamesIntent: true,
		}, cands[b.raw.OrganizationID][*b.leg.ExternalReference])
		if d.Kind != match.Matched {
			// Not found by its reference: other keys may apply; Process
			// tries them all.
			rest = append(rest, b.raw)
			continue
		}
		b.link = d.Links[0]
		kept = append(kept, b)
	}
	fast = kept
	if len(fast) == 0 {
		return rest, finish(ctx, q, nil, nil, done)
	}

	legs := make([]db.CopyFlowLegsParams, len(fast))
	for i, b := range fast {
		legs[i] = b.leg
	}
	if _, err := q.CopyFlowLegs(ctx, legs); err != nil {
		return nil, fmt.Errorf("insert flow legs: %w", err)
	}
	var caseIDs []uuid.UUID
	for _, b := range fast {
		if !slices.Contains(caseIDs, b.link.CaseID) {
			caseIDs = append(caseIDs, b.link.CaseID)
		}
	}
	slices.SortFunc(caseIDs, compareUUID)
	locked, err := q.LockCasesWithIntents(ctx, caseIDs)
	if err != nil {
		return nil, fmt.Errorf("lock cases: %w", err)
	}
	if len(locked) != len(caseIDs) {
		return nil, fmt.Errorf("lock cases: %d of %d found", len(locked), len(caseIDs))
	}

	w := &work{q: q}
	links := db.LinkLegsParams{CreatedBy: ActorSystem}
	for _, b := range fast {
		links.OrganizationIds = append(links.OrganizationIds, b.raw.OrganizationID)
		links.CaseIds = append(links.CaseIds, b.link.CaseID)
		links.FlowLegIds = append(links.FlowLegIds, b.leg.ID)
		links.RawRecordIds = append(links.RawRecordIds, b.raw.ID)
		links.Strategies = append(links.Strategies, b.link.Strategy)
		links.Scores = append(links.Scores, numeric.From(b.link.Score))
		links.Reasons = append(links.Reasons, b.link.Reason)
		caseID, intentID := b.link.CaseID, b.link.PaymentIntentID
		w.audit.Add(receivedEvent(b.raw, &caseID, &intentID))
		w.audit.Add(normalizedEvent(b.raw, &caseID, &intentID, b.leg.ID, b.leg.Type, b.leg.Status, b.leg.Amount, b.leg.Currency))
	}
	attached, err := q.LinkLegs(ctx, links)
	if err != nil {
		return nil, fmt.Errorf("link legs: %w", err)
	}
	if int(attached) != len(fast) {
		return nil, fmt.Errorf("link legs: %d of %d attached", attached, len(fast))
	}
	rows, err := q.LinksOfLegs(ctx, links.FlowLegIds)
	if err != nil {
		return nil, fmt.Errorf("read links: %w", err)
	}
	linkIDs := make(map[uuid.UUID]uuid.UUID, len(rows))
	for _, r := range rows {
		linkIDs[r.FlowLegID] = r.ID
	}
	for _, b := range fast {
		w.audit.Add(linkEvent(b.raw.OrganizationID, b.link.CaseID, b.link.PaymentIntentID, b.raw.ID, linkIDs[b.leg.ID],
			b.leg.ID, b.leg.Type, b.link, "active", ActorSystem))
	}
	if _, err := s.evaluateMany(ctx, w, locked, ActorSystem); err != nil {
		return nil, err
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	for _, b := range fast {
		outs[b.raw.ID] = Outcome{RawRecordID: b.raw.ID, Status: match.Matched, FlowLegIDs: []uuid.UUID{b.leg.ID},
			MatchedCaseIDs: []uuid.UUID{b.link.CaseID}, Strategy: b.link.Strategy}
	}
	return rest, finish(ctx, q, fast, outs, done)
}

// finish records the outcomes of the fast path's records and clears the
// outbox rows of everything the transaction settled.
func finish(ctx context.Context, q *db.Queries, fast []batchLeg, outs map[uuid.UUID]Outcome, done []string) error {
	p := db.FinishRawRecordsParams{TaskIds: done}
	for _, b := range fast {
		p.Ids = append(p.Ids, b.raw.ID)
		p.Statuses = append(p.Statuses, outs[b.raw.ID].Status)
		p.TaskIds = append(p.TaskIds, tasks.EvidenceMatchID(b.raw.ID))
	}
	if len(p.Ids) == 0 && len(p.TaskIds) == 0 {
		return nil
	}
	if p.Ids == nil {
		p.Ids, p.Statuses = []uuid.UUID{}, []string{}
	}
	if err := q.FinishRawRecords(ctx, p); err != nil {
		return fmt.Errorf("finish raw records: %w", err)
	}
	return nil
}

// evaluateMany re-evaluates cases locked by the caller, writing all of them
// with one statement (and their webhook events with one more), and returns
// them as written, in the order given.
func (s *Service) evaluateMany(ctx context.Context, w *work, locked []db.LockCasesWithIntentsRow, actor string) ([]db.ReconciliationCase, error) {
	q := w.q
	ids := make([]uuid.UUID, len(locked))
	for i, l := range locked {
		ids[i] = l.ReconciliationCase.ID
	}
	legRows, err := q.LegsOfCases(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("legs of cases: %w", err)
	}
	legsOf := map[uuid.UUID][]recon.EvidenceLeg{}
	for _, l := range legRows {
		legsOf[*l.CaseID] = append(legsOf[*l.CaseID], recon.EvidenceLeg{
			ID: l.ID, Type: l.Type, Status: l.Status, Identity: deref(l.Identity), Amount: l.Amount.Dec(), Currency: l.Currency,
			DestinationAmount: l.DestinationAmount.Dec(), DestinationCurrency: l.DestinationCurrency, FxRate: l.FxRate.Dec(),
			ProviderFee: l.ProviderFee.Dec(), NetworkFee: l.NetworkFee.Dec(), DeveloperFee: l.DeveloperFee.Dec(), OccurredAt: l.OccurredAt,
		})
	}
	counts, err := q.SuggestedLinkCounts(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("suggested links: %w", err)
	}
	suggested := map[uuid.UUID]int{}
	for _, c := range counts {
		suggested[c.CaseID] = int(c.Suggested)
	}
	var p db.SetCaseEvaluationsParams
	outcomes := map[uuid.UUID]recon.Outcome{}
	now := s.now()
	for _, l := range locked {
		c, pi := l.ReconciliationCase, l.PaymentIntent
		r, err := s.rule(ctx, q, c.OrganizationID, c.RuleSnapshotID)
		if err != nil {
			return nil, err
		}
		o := recon.Evaluate(recon.Input{
			Intent: recon.Intent{
				SourceAmount: pi.SourceAmount.Dec(), SourceCurrency: pi.SourceCurrency,
				DestinationAmount: pi.DestinationAmount.Dec(), DestinationCurrency: pi.DestinationCurrency,
				ExpectedFxRate: pi.ExpectedFxRate.Dec(), DeveloperFeeExpected: pi.DeveloperFeeExpected.Dec(),
			},
			Rule: r, Legs: legsOf[c.ID], Ambiguous: suggested[c.ID],
		})
		// Time counts too: a case still missing a leg past its thresholds
		// stays delayed or at SLA risk however much evidence arrives.
		status := c.Status
		if c.Status == "resolved" && c.AutoResolved && o.ReconciliationStatus != recon.StatusReconciled {
			status = "open" // SetCaseEvaluations reopens it
		}
		sla := recon.ApplySLA(recon.SLAInput{
			Verdict: o.Verdict, ExceptionType: o.ExceptionType, ReconciliationStatus: o.ReconciliationStatus,
			Open: status == "open", Coverage: o.Coverage, Rule: r, Age: now.Sub(c.CreatedAt),
		})
		outcomes[c.ID] = o
		p.Ids = append(p.Ids, c.ID)
		p.BaseVerdicts = append(p.BaseVerdicts, deref(o.Verdict))
		p.BaseExceptionTypes = append(p.BaseExceptionTypes, deref(o.ExceptionType))
		p.SlaRisks = append(p.SlaRisks, sla.SLARisk)
		p.ActualAmounts = append(p.ActualAmounts, text(o.ActualAmount))
		p.UnexplainedDeltas = append(p.UnexplainedDeltas, text(o.UnexplainedDelta))
		p.ProviderFees = append(p.ProviderFees, text(o.ProviderFee))
		p.NetworkFees = append(p.NetworkFees, text(o.NetworkFee))
		p.DeveloperFees = append(p.DeveloperFees, text(o.DeveloperFee))
		p.FxSpreads = append(p.FxSpreads, text(o.FxSpread))
		p.RoundingDeltas = append(p.RoundingDeltas, text(o.RoundingDelta))
		p.Verdicts = append(p.Verdicts, deref(sla.Verdict))
		p.ReconciliationStatuses = append(p.ReconciliationStatuses, o.ReconciliationStatus)
		p.ExceptionTypes = append(p.ExceptionTypes, deref(sla.ExceptionType))
		p.CoverageProviders = append(p.CoverageProviders, o.Coverage.Provider)
		p.CoverageChains = append(p.CoverageChains, o.Coverage.Chain)
		p.CoverageBanks = append(p.CoverageBanks, o.Coverage.Bank)
		p.CoverageFiles = append(p.CoverageFiles, o.Coverage.File)
		p.RequiredLegsTotals = append(p.RequiredLegsTotals, int32(o.RequiredLegsTotal))
		p.RequiredLegsPresents = append(p.RequiredLegsPresents, int32(o.RequiredLegsPresent))
	}
	p.EvaluatedAt = now
	rows, err := q.SetCaseEvaluations(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("write evaluations: %w", err)
	}
	if len(rows) != len(locked) {
		return nil, fmt.Errorf("write evaluations: %d of %d cases written", len(rows), len(locked))
	}
	byID := make(map[uuid.UUID]db.ReconciliationCase, len(rows))
	for _, r := range rows {
		byID[r.ID] = r
	}
	updated := make([]db.ReconciliationCase, len(locked))
	var events caseevent.Outbox
	for i, l := range locked {
		c, o, after := l.ReconciliationCase, outcomes[l.ReconciliationCase.ID], byID[l.ReconciliationCase.ID]
		updated[i] = after
		w.audit.Add(audit.Event{
			OrganizationID: c.OrganizationID, CaseID: &c.ID, PaymentIntentID: &c.PaymentIntentID, Type: "case.evaluated", Actor: actor,
			Message: evaluationMessage(o, after), Payload: map[string]any{
				"verdict": after.Verdict, "reconciliationStatus": o.ReconciliationStatus, "exceptionType": after.ExceptionType,
				"slaRisk": after.SlaRisk, "unexplainedDelta": decStr(o.UnexplainedDelta), "requiredLegsPresent": o.RequiredLegsPresent,
				"requiredLegsTotal": o.RequiredLegsTotal,
			},
		})
		if after.Status != c.Status {
			verb, eventType := "resolved automatically: it reconciled", "case.resolved"
			if after.Status == "open" {
				verb, eventType = "reopened automatically: it no longer reconciles", "case.reopened"
			}
			w.audit.Add(audit.Event{
				OrganizationID: c.OrganizationID, CaseID: &c.ID, PaymentIntentID: &c.PaymentIntentID, Type: eventType, Actor: actor,
				Message: "Case " + verb + ".", Payload: map[string]any{"from": c.Status, "to": after.Status},
			})
		}
		if err := events.Add(c, after); err != nil {
			return nil, err
		}
	}
	if err := events.Flush(ctx, q); err != nil {
		return nil, err
	}
	return updated, nil
}

// text is a decimal for a text[] parameter; "" stands for NULL.
func text(d *decimal.Decimal) string {
	if d == nil {
		return ""
	}
	return d.String()
}
