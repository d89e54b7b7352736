-- Counts behind the state gauges the scheduler refreshes (internal/metrics).
-- They read every organization's rows: the scheduler runs them once per
-- refresh interval, never per scrape.

-- name: CountCasesByState :many
SELECT status, coalesce(verdict, 'none')::text AS verdict, reconciliation_status,
       sla_risk, count(*)::bigint AS cases
FROM reconciliation_cases
WHERE status <> 'archived'
GROUP BY status, verdict, reconciliation_status, sla_risk;

-- name: CountLedgerRunsByStatus :many
SELECT status, count(*)::bigint AS runs
FROM ledger_runs
GROUP BY status;

-- name: CountWebhookEndpointsByStatus :many
SELECT status, count(*)::bigint AS endpoints
FROM webhook_endpoints
GROUP BY status;
