-- +goose Up
-- Time changes a case's verdict without any new evidence: a case whose
-- required leg is missing or pending past the rule's settlement threshold is
-- `delayed` (exception timing_delay), one near or past its completion SLA is
-- `sla_risk`. Evaluation writes what the evidence says (base_verdict,
-- base_exception_type); verdict and exception_type are that, overlaid with
-- the SLA outcome at the time of writing. Keeping the base lets the periodic
-- scorer recompute the overlay from the row alone, in SQL.
ALTER TABLE reconciliation_cases
    ADD COLUMN base_verdict text
        CHECK (base_verdict IN ('matched', 'matched_with_exception', 'needs_review', 'unreconciled')),
    ADD COLUMN base_exception_type text
        CHECK (base_exception_type IN ('amount_mismatch', 'missing_leg', 'fee_out_of_tolerance', 'fx_variance',
            'duplicate_evidence', 'conflicting_status', 'currency_mismatch', 'ambiguous_match'));
UPDATE reconciliation_cases SET
    base_verdict = CASE WHEN verdict IN ('sla_risk', 'delayed') THEN 'unreconciled' ELSE verdict END,
    base_exception_type = CASE WHEN exception_type = 'timing_delay' THEN NULL ELSE exception_type END
WHERE verdict IS NOT NULL OR exception_type IS NOT NULL;

-- What the scorer visits: open cases, and any case still carrying an SLA
-- outcome (one resolved or archived by hand while late), to clear it. The
-- predicate is the scorer's, word for word, so the planner can use it.
CREATE INDEX reconciliation_cases_sla ON reconciliation_cases (id)
    WHERE status = 'open' OR sla_risk OR verdict IN ('sla_risk', 'delayed');

-- +goose Down
DROP INDEX reconciliation_cases_sla;
ALTER TABLE reconciliation_cases DROP COLUMN base_exception_type, DROP COLUMN base_verdict;
