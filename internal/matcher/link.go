package matcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/audit"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/match"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/txn"
)

// LinkResult is a link made or ended by hand and the case after it.
type LinkResult struct {
	Link db.MatchLink
	Case db.ReconciliationCase
}

// Link attaches a free leg to a case by hand. Suggestions of the same leg to
// other cases are dismissed and those cases re-evaluated.
func (s *Service) Link(ctx context.Context, org, caseID, legID uuid.UUID, actor string, reason *string,
	finish txn.Finish[LinkResult]) (LinkResult, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (LinkResult, error) {
		q := s.q.WithTx(tx)
		fl, err := q.GetFlowLeg(ctx, db.GetFlowLegParams{OrganizationID: org, ID: legID})
		if errors.Is(err, pgx.ErrNoRows) {
			return LinkResult{}, ErrLegNotFound
		}
		if err != nil {
			return LinkResult{}, fmt.Errorf("read flow leg: %w", err)
		}
		if _, err := q.LockRawRecord(ctx, db.LockRawRecordParams{OrganizationID: org, ID: fl.RawRecordID}); err != nil {
			return LinkResult{}, fmt.Errorf("lock raw record: %w", err)
		}
		// Read again under the lock: the matcher may have attached it meanwhile.
		if fl, err = q.GetFlowLeg(ctx, db.GetFlowLegParams{OrganizationID: org, ID: legID}); err != nil {
			return LinkResult{}, fmt.Errorf("read flow leg: %w", err)
		}
		if fl.CaseID != nil {
			return LinkResult{}, &LinkedElsewhereError{CaseID: *fl.CaseID}
		}
		why := "Linked by hand."
		if reason != nil && *reason != "" {
			why = "Linked by hand: " + *reason
		}
		target, err := q.GetCaseByID(ctx, db.GetCaseByIDParams{OrganizationID: org, ID: caseID})
		if errors.Is(err, pgx.ErrNoRows) {
			return LinkResult{}, ErrCaseNotFound
		}
		if err != nil {
			return LinkResult{}, fmt.Errorf("read case: %w", err)
		}
		if target.Status == "archived" {
			return LinkResult{}, ErrCaseArchived
		}
		w := &work{q: q}
		c, err := s.attachResolving(ctx, w, fl, match.Link{CaseID: caseID, Strategy: match.Manual, Score: decimal.NewFromInt(1), Reason: why}, actor)
		if err != nil {
			return LinkResult{}, err
		}
		res := LinkResult{Case: c}
		if err := w.flush(ctx); err != nil {
			return LinkResult{}, err
		}
		if err := q.MarkRawRecord(ctx, db.MarkRawRecordParams{OrganizationID: org, ID: fl.RawRecordID, MatchStatus: evidence.StatusMatched}); err != nil {
			return LinkResult{}, fmt.Errorf("mark raw record: %w", err)
		}
		links, err := q.MatchLinksForCases(ctx, db.MatchLinksForCasesParams{OrganizationID: org, CaseIds: []string{caseID.String()}})
		if err != nil {
			return LinkResult{}, fmt.Errorf("read link: %w", err)
		}
		for _, l := range links {
			if l.FlowLegID == fl.ID && l.Status == "active" {
				res.Link = l
			}
		}
		return res, nil
	}, finish)
}

// attachResolving attaches a free leg to l's case and dismisses the leg's
// suggestions to other cases, re-evaluating every case involved. The caller
// holds the leg's raw record lock; cases are locked here in id order.
func (s *Service) attachResolving(ctx context.Context, w *work, fl db.FlowLeg, l match.Link, actor string) (db.ReconciliationCase, error) {
	q := w.q
	suggested, err := q.SuggestedLinksOfLeg(ctx, fl.ID)
	if err != nil {
		return db.ReconciliationCase{}, fmt.Errorf("suggestions of leg: %w", err)
	}
	ids := []uuid.UUID{l.CaseID}
	for _, sl := range suggested {
		if !slices.Contains(ids, sl.CaseID) {
			ids = append(ids, sl.CaseID)
		}
	}
	slices.SortFunc(ids, compareUUID)
	locked := map[uuid.UUID]db.LockCaseWithIntentRow{}
	for _, id := range ids {
		c, err := lockCase(ctx, q, fl.OrganizationID, id)
		if err != nil {
			return db.ReconciliationCase{}, err
		}
		locked[id] = c
	}
	for _, sl := range suggested {
		if _, err := q.EndMatchLink(ctx, db.EndMatchLinkParams{Status: "dismissed", EndedBy: &actor, ID: sl.ID}); err != nil {
			return db.ReconciliationCase{}, fmt.Errorf("dismiss suggestion: %w", err)
		}
	}
	if err := attach(ctx, w, locked[l.CaseID].ReconciliationCase, fl, l, "active", actor); err != nil {
		return db.ReconciliationCase{}, err
	}
	var target db.ReconciliationCase
	for _, id := range ids {
		c, err := s.evaluate(ctx, w, locked[id].ReconciliationCase, locked[id].PaymentIntent, actor)
		if err != nil {
			return db.ReconciliationCase{}, err
		}
		if id == l.CaseID {
			target = c
		}
	}
	return target, nil
}

// Unlink detaches a leg from a case by hand; the leg is free again (shown as
// unmatched) and the case is re-evaluated without it.
func (s *Service) Unlink(ctx context.Context, org, caseID, linkID uuid.UUID, actor string, finish txn.Finish[LinkResult]) (LinkResult, error) {
	return txn.Run(ctx, s.pool, func(tx pgx.Tx) (LinkResult, error) {
		q := s.q.WithTx(tx)
		link, err := q.GetMatchLink(ctx, db.GetMatchLinkParams{OrganizationID: org, CaseID: caseID, ID: linkID})
		if errors.Is(err, pgx.ErrNoRows) {
			return LinkResult{}, ErrLinkNotFound
		}
		if err != nil {
			return LinkResult{}, fmt.Errorf("read match link: %w", err)
		}
		if _, err := q.LockRawRecord(ctx, db.LockRawRecordParams{OrganizationID: org, ID: link.RawRecordID}); err != nil {
			return LinkResult{}, fmt.Errorf("lock raw record: %w", err)
		}
		locked, err := lockCase(ctx, q, org, caseID)
		if err != nil {
			return LinkResult{}, err
		}
		c := locked.ReconciliationCase
		ended, err := q.EndMatchLink(ctx, db.EndMatchLinkParams{Status: "unlinked", EndedBy: &actor, ID: link.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return LinkResult{}, &LinkStateError{Status: link.Status}
		}
		if err != nil {
			return LinkResult{}, fmt.Errorf("end match link: %w", err)
		}
		if link.Status == "active" {
			if err := q.DetachLeg(ctx, link.FlowLegID); err != nil {
				return LinkResult{}, fmt.Errorf("detach leg: %w", err)
			}
		}
		// A leg with no active link and no suggestion left is free again:
		// unmatched, so that a case opened later can still claim it.
		remaining, err := q.SuggestedLinksOfLeg(ctx, link.FlowLegID)
		if err != nil {
			return LinkResult{}, fmt.Errorf("suggestions of leg: %w", err)
		}
		if link.Status == "active" || len(remaining) == 0 {
			if err := q.MarkRawRecord(ctx, db.MarkRawRecordParams{OrganizationID: org, ID: link.RawRecordID, MatchStatus: evidence.StatusUnmatched}); err != nil {
				return LinkResult{}, fmt.Errorf("mark raw record: %w", err)
			}
		}
		w := &work{q: q}
		w.audit.Add(audit.Event{
			OrganizationID: org, CaseID: &c.ID, PaymentIntentID: &c.PaymentIntentID, RawRecordID: &link.RawRecordID,
			Type: "match_link.removed", Actor: actor,
			Message: fmt.Sprintf("Unlinked flow leg %s (was %s by %s).", link.FlowLegID, link.Status, link.Strategy),
			Payload: map[string]any{"matchLinkId": link.ID, "flowLegId": link.FlowLegID},
		})
		updated, err := s.evaluate(ctx, w, c, locked.PaymentIntent, actor)
		if err != nil {
			return LinkResult{}, err
		}
		return LinkResult{Link: ended, Case: updated}, w.flush(ctx)
	}, finish)
}

// Claim attaches free evidence to a case opened after it: every unmatched
// leg that names the case's intent (or fits its amount) is matched again,
// now that the case exists. Each leg is its own transaction.
func (s *Service) Claim(ctx context.Context, org, caseID uuid.UUID, taskID string) (int, error) {
	c, err := s.q.GetCaseByID(ctx, db.GetCaseByIDParams{OrganizationID: org, ID: caseID})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrCaseNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("read case: %w", err)
	}
	pi, err := s.q.GetPaymentIntent(ctx, db.GetPaymentIntentParams{OrganizationID: org, ID: c.PaymentIntentID})
	if err != nil {
		return 0, fmt.Errorf("read intent: %w", err)
	}
	r, err := s.rule(ctx, s.q, org, c.RuleSnapshotID)
	if err != nil {
		return 0, err
	}
	allowance := match.Allowance(r, c.ExpectedAmount.Dec())
	var currency *string
	if r.AllowAmountAndTimeWindowMatch {
		currency = &c.ExpectedCurrency
	}
	free, err := s.q.FreeLegsForIntent(ctx, db.FreeLegsForIntentParams{
		OrganizationID: org, PaymentIntentID: pi.ID, ExternalReference: pi.ExternalReference,
		ProviderTransferID: pi.ProviderTransferID, TxHash: pi.TxHash, ReferenceValues: append(pi.ReferenceValues, pi.ExternalReference),
		WindowCurrency: currency, AmountLow: numeric.From(c.ExpectedAmount.Dec().Sub(allowance)),
		AmountHigh: numeric.From(c.ExpectedAmount.Dec().Add(allowance)),
	})
	if err != nil {
		return 0, fmt.Errorf("free legs for case %s: %w", caseID, err)
	}
	claimed := 0
	for _, f := range free {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			q := s.q.WithTx(tx)
			raw, err := q.LockRawRecord(ctx, db.LockRawRecordParams{OrganizationID: org, ID: f.RawRecordID})
			if err != nil {
				return fmt.Errorf("lock raw record: %w", err)
			}
			fl, err := q.GetFlowLeg(ctx, db.GetFlowLegParams{OrganizationID: org, ID: f.ID})
			if err != nil {
				return fmt.Errorf("read flow leg: %w", err)
			}
			if fl.CaseID != nil {
				return nil // claimed meanwhile
			}
			w := &work{q: q}
			var (
				status string
				cases  []uuid.UUID
			)
			switch raw.MatchStatus {
			case evidence.StatusUnmatched:
				if status, cases, err = s.place(ctx, w, fl); err != nil {
					return err
				}
			case evidence.StatusAmbiguous:
				// Suggested to several cases by a weak strategy; the new case
				// may claim it by a strong key, which settles the question.
				d, err := s.decide(ctx, q, fl)
				if err != nil {
					return err
				}
				if d.Kind != match.Matched {
					return nil
				}
				if _, err := s.attachResolving(ctx, w, fl, d.Links[0], ActorSystem); err != nil {
					return err
				}
				status, cases = evidence.StatusMatched, []uuid.UUID{d.Links[0].CaseID}
			default:
				return nil
			}
			if err := w.flush(ctx); err != nil {
				return err
			}
			if slices.Contains(cases, caseID) {
				claimed++
			}
			return q.MarkRawRecord(ctx, db.MarkRawRecordParams{OrganizationID: org, ID: raw.ID, MatchStatus: status})
		})
		if err != nil {
			return claimed, err
		}
	}
	return claimed, tasks.Done(ctx, s.q, taskID)
}

func compareUUID(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) }
