package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/reconlayer/reconlayer/internal/chain"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/evidence"
	"github.com/reconlayer/reconlayer/internal/idempotency"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/tasks"
	"github.com/reconlayer/reconlayer/internal/validate"
)

// maxPreferWait bounds Prefer: wait=N: a client cannot park a request (and a
// connection) longer than this.
const maxPreferWait = 30 * time.Second

type providerRequest struct{ evidence.Provider }

type onchainRequest struct{ evidence.Onchain }

type bankRequest struct{ evidence.Bank }

func validateMoney(m *evidence.Money, path []string, required bool, is *issues) {
	if m == nil {
		if required {
			is.Add(path, "Required: an object {\"amount\": \"100.25\", \"currency\": \"USD\"}.")
		}
		return
	}
	validate.Positive(m.Amount, append(path, "amount"), true, is)
	validate.Currency(m.Currency, append(path, "currency"), is)
}

func validateNonNegative(a *money.Amount, path []string, is *issues) {
	if a != nil && a.IsNegative() {
		is.Add(path, "Must not be negative.")
	}
}

func validateRequired(v string, path []string, max int, is *issues) {
	if v == "" || validate.Chars(v) > max {
		is.Add(path, "Required; 1 to %d characters.", max)
	}
}

func validateCommon(c *evidence.Common, is *issues) {
	if c.PaymentIntentID != nil {
		if _, err := uuid.Parse(*c.PaymentIntentID); err != nil || len(*c.PaymentIntentID) != 36 {
			is.Add([]string{"paymentIntentId"}, "Must be a payment intent id (a UUID).")
		}
	}
	validate.OptString(c.ExternalReference, []string{"externalReference"}, 255, is)
	validate.OptString(c.SourceRef, []string{"sourceRef"}, 255, is)
	if len(c.References) > 50 {
		is.Add([]string{"references"}, "At most 50 references.")
	}
	for i, r := range c.References {
		validateRequired(r.Type, []string{"references", itoa(i), "type"}, 64, is)
		validateRequired(r.Value, []string{"references", itoa(i), "value"}, 255, is)
	}
}

func (r *providerRequest) validate(is *issues) {
	validateRequired(r.Provider.Provider, []string{"provider"}, 100, is)
	validateRequired(r.ProviderTransferID, []string{"providerTransferId"}, 255, is)
	if !slices.Contains(evidence.ProviderStatuses, r.Status) {
		is.Add([]string{"status"}, "Required; one of %s.", strings.Join(evidence.ProviderStatuses, ", "))
	}
	validateMoney(r.Amount, []string{"amount"}, true, is)
	validateMoney(r.DestinationAmount, []string{"destinationAmount"}, false, is)
	validate.Positive(r.FxRate, []string{"fxRate"}, false, is)
	if r.Fees != nil {
		validateNonNegative(r.Fees.ProviderFee, []string{"fees", "providerFee"}, is)
		validateNonNegative(r.Fees.NetworkFee, []string{"fees", "networkFee"}, is)
		validateNonNegative(r.Fees.DeveloperFee, []string{"fees", "developerFee"}, is)
	}
	validateCommon(&r.Common, is)
}

func (r *onchainRequest) validate(is *issues) {
	family := r.ChainFamily
	if !slices.Contains(chain.Families, family) {
		is.Add([]string{"chainFamily"}, "Required; one of %s.", strings.Join(chain.Families, ", "))
		family = ""
	}
	if r.ChainID != nil && (*r.ChainID == "" || validate.Chars(string(*r.ChainID)) > 64) {
		is.Add([]string{"chainId"}, "Must be 1 to 64 characters.")
	}
	switch {
	case r.TxHash == "":
		is.Add([]string{"txHash"}, "Required.")
	case family != "":
		if msg := chain.CheckTxHash(family, r.TxHash); msg != "" {
			is.Add([]string{"txHash"}, "%s", msg)
		}
	}
	if r.LogIndex != nil && *r.LogIndex < 0 {
		is.Add([]string{"logIndex"}, "Must not be negative.")
	}
	if !slices.Contains(evidence.OnchainStatuses, r.Status) {
		is.Add([]string{"status"}, "Required; one of %s.", strings.Join(evidence.OnchainStatuses, ", "))
	}
	validateMoney(r.Amount, []string{"amount"}, true, is)
	for name, v := range map[string]*string{"fromAddress": r.FromAddress, "toAddress": r.ToAddress, "tokenAddress": r.TokenAddress} {
		if v != nil && family != "" {
			if msg := chain.CheckAddress(family, *v); msg != "" {
				is.Add([]string{name}, "%s", msg)
			}
		}
	}
	validateNonNegative(r.NetworkFee, []string{"networkFee"}, is)
	validateCommon(&r.Common, is)
}

func (r *bankRequest) validate(is *issues) {
	if r.Direction != "debit" && r.Direction != "credit" {
		is.Add([]string{"direction"}, "Required; debit or credit.")
	}
	validateMoney(r.Amount, []string{"amount"}, true, is)
	if !slices.Contains(evidence.BankStatuses, r.Status) {
		is.Add([]string{"status"}, "Required; one of %s.", strings.Join(evidence.BankStatuses, ", "))
	}
	for name, v := range map[string]*string{"bookingDate": r.BookingDate, "valueDate": r.ValueDate} {
		if v == nil {
			continue
		}
		if _, err := time.Parse(time.DateOnly, *v); err != nil {
			is.Add([]string{name}, "Must be a date like 2026-01-31.")
		}
	}
	validate.OptString(r.InternalAccountID, []string{"internalAccountId"}, 255, is)
	validate.OptString(r.BankAccount, []string{"bankAccount"}, 255, is)
	validate.OptString(r.BankReference, []string{"bankReference"}, 255, is)
	validate.OptString(r.EndToEndID, []string{"endToEndId"}, 255, is)
	validate.OptString(r.CounterpartyName, []string{"counterpartyName"}, 255, is)
	validate.OptString(r.RemittanceInformation, []string{"remittanceInformation"}, 1000, is)
	if r.Common.SourceRef == nil && r.BankReference == nil && r.EndToEndID == nil {
		is.Add([]string{"sourceRef"}, "Required when neither bankReference nor endToEndId is given: it is what a resent line is recognized by.")
	}
	validateCommon(&r.Common, is)
}

type receiptJSON struct {
	Accepted       bool     `json:"accepted"`
	Duplicate      bool     `json:"duplicate"`
	RawRecordID    string   `json:"rawRecordId"`
	Source         string   `json:"source"`
	SourceRef      string   `json:"sourceRef"`
	FlowLegIDs     []string `json:"flowLegIds"`
	MatchedCaseIDs []string `json:"matchedCaseIds"`
	SignatureValid *bool    `json:"signatureValid"`
	Status         string   `json:"status"`
	ReceivedAt     string   `json:"receivedAt"`
	// StatusURL is where to poll while the status is queued.
	StatusURL string `json:"statusUrl"`
}

func renderEvidence(source, sourceRef string, receivedAt time.Time, signatureValid *bool, duplicate bool, o evidence.Outcome) receiptJSON {
	out := receiptJSON{
		Accepted: true, Duplicate: duplicate, RawRecordID: o.RawRecordID.String(), Source: source, SourceRef: sourceRef,
		FlowLegIDs: resource.MapSlice(o.FlowLegIDs, uuid.UUID.String), MatchedCaseIDs: resource.MapSlice(o.MatchedCaseIDs, uuid.UUID.String), SignatureValid: signatureValid,
		Status: o.Status, ReceivedAt: receivedAt.UTC().Format(time.RFC3339Nano), StatusURL: "/v1/evidence/" + o.RawRecordID.String(),
	}
	return out
}

// awaitOutcome waits up to wait for the worker's outcome on ch (nil: no
// waiter, nobody will publish) and decodes it into v; false when none came
// in time, and the caller answers 202.
func awaitOutcome(ctx context.Context, ch <-chan []byte, wait time.Duration, v any) bool {
	if ch == nil {
		return false
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case msg := <-ch:
		return json.Unmarshal(msg, v) == nil
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}

// preference is what the client asked for in Prefer (RFC 7240): answer at
// once, or wait up to a bound for the outcome. Unknown or malformed
// preferences are ignored, as the RFC asks.
type preference struct {
	async   bool
	wait    time.Duration
	applied string
}

func parsePrefer(h []string, def time.Duration) preference {
	p := preference{wait: def}
	for _, line := range h {
		for _, part := range strings.Split(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "respond-async":
				p.async, p.applied = true, "respond-async"
			case "wait":
				n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(value), `"`))
				if err == nil && n >= 0 {
					p.wait = min(time.Duration(n)*time.Second, maxPreferWait)
					if !p.async {
						p.applied = "wait=" + strconv.Itoa(int(p.wait/time.Second))
					}
				}
			}
		}
	}
	if p.async {
		p.applied = "respond-async"
	}
	return p
}

// submitEvidence is POST /v1/evidence/{source}: validate, store the raw
// record with its match task in the outbox, enqueue, then — unless the
// client prefers an immediate 202 — wait a bounded time for the worker's
// outcome and answer 201 with it.
func submitEvidence[T any, PT interface {
	*T
	validator
	sourceRef() string
}](s *server, source string) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req T
		if !s.bindJSON(c, PT(&req)) {
			return
		}
		sourceRef := PT(&req).sourceRef()
		body, _ := s.readBody(c)
		pref := parsePrefer(c.Request.Header.Values("Prefer"), s.opts.EvidenceWait)
		ctx := c.Request.Context()
		p := mustPrincipal(c)

		var claim *idempotency.Claim
		if v, ok := c.Get(ctxClaim); ok {
			claim = v.(*idempotency.Claim)
		}
		render := func(r evidence.Receipt) []byte {
			b, _ := json.Marshal(renderEvidence(source, r.Raw.SourceRef, r.Raw.ReceivedAt, r.Raw.SignatureValid, r.Duplicate, r.Outcome))
			return b
		}
		// respond-async knows its answer before the write: the statement that
		// stores the evidence stores the idempotent response too. Others
		// record theirs once known (a duplicate at once, a waiting request
		// after the worker's outcome or the wait's end).
		var respond *evidence.Respond
		if pref.async && claim != nil {
			respond = &evidence.Respond{Claim: claim.Completion(), Render: func(r evidence.Receipt) (int, []byte) {
				return http.StatusAccepted, render(r)
			}}
		}
		r, err := s.evidence.Accept(ctx, evidence.Submission{
			OrganizationID: p.OrganizationID, Source: source, SourceRef: sourceRef, Payload: body,
		}, respond)
		if err != nil {
			abort(c, serviceError(err))
			return
		}
		if r.Completed {
			claim.MarkCompleted()
		}
		if pref.applied != "" {
			c.Header("Preference-Applied", pref.applied)
		}
		if r.Duplicate {
			s.evidenceCount.WithLabelValues(source, "duplicate").Inc()
			s.respondRaw(c, http.StatusOK, render(r))
			return
		}
		s.evidenceCount.WithLabelValues(source, "new").Inc()

		var (
			channel string
			outcome <-chan []byte
			cancel  = func() {}
		)
		if !pref.async && pref.wait > 0 {
			channel, outcome, cancel = s.waiter.Register(r.Raw.ID.String())
		}
		defer cancel()
		job := tasks.NewEvidenceMatch(tasks.EvidenceMatch{OrganizationID: p.OrganizationID, RawRecordID: r.Raw.ID, Notify: channel})
		enqueueCtx, stop := context.WithTimeout(ctx, s.opts.EnqueueTimeout)
		err = s.enqueuer.Enqueue(enqueueCtx, job)
		stop()
		if err != nil {
			// The outbox has it: the sweeper enqueues it once Redis is back.
			s.logger.WarnContext(ctx, "enqueue evidence; left to the outbox sweeper", "raw_record_id", r.Raw.ID.String(), "err", err.Error())
			outcome = nil
		}
		if pref.async {
			c.Header("Location", "/v1/evidence/"+r.Raw.ID.String())
			s.respondRaw(c, http.StatusAccepted, render(r))
			return
		}

		status, o := http.StatusAccepted, r.Outcome
		var got evidence.Outcome
		if awaitOutcome(ctx, outcome, pref.wait, &got) {
			status, o = http.StatusCreated, got
		}
		r.Outcome = o
		if status == http.StatusAccepted {
			c.Header("Location", "/v1/evidence/"+r.Raw.ID.String())
		}
		s.respondRaw(c, status, render(r))
	}
}

func (r *providerRequest) sourceRef() string { return r.Provider.SourceRef() }
func (r *onchainRequest) sourceRef() string  { return r.Onchain.SourceRef() }
func (r *bankRequest) sourceRef() string     { return r.Bank.SourceRef() }

type evidenceDetailJSON struct {
	receiptJSON
	Payload json.RawMessage `json:"payload"`
}

// getEvidence is GET /v1/evidence/{id}: a raw record as received and what
// the matcher made of it (where a 202 says to poll).
func (s *server) getEvidence(c *gin.Context) {
	id, ok := pathID(c, "Evidence")
	if !ok {
		return
	}
	raw, o, err := s.evidence.Get(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	if errors.Is(err, evidence.ErrNotFound) {
		abort(c, NewError(http.StatusNotFound, CodeNotFound, "Evidence not found."))
		return
	}
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, evidenceDetailJSON{
		receiptJSON: renderEvidence(raw.Source, raw.SourceRef, raw.ReceivedAt, raw.SignatureValid, false, o),
		Payload:     raw.Payload,
	})
}

var evidenceStatuses = []string{evidence.StatusQueued, evidence.StatusMatched, evidence.StatusUnmatched, evidence.StatusAmbiguous, evidence.StatusInvalid}

// listEvidence is GET /v1/evidence: raw records newest first, filtered by
// what became of them (e.g. status=unmatched: evidence no case has claimed).
func (s *server) listEvidence(c *gin.Context) {
	var is issues
	q := listQuery(c, &is, "status", "source", "from", "to")
	p := db.ListRawRecordsParams{
		OrganizationID: mustPrincipal(c).OrganizationID,
		MatchStatus:    q.enum("status", evidenceStatuses),
		Source:         q.enum("source", []string{evidence.SourceProvider, evidence.SourceOnchain, evidence.SourceBank, evidence.SourceFile}),
	}
	p.ReceivedFrom, p.ReceivedTo = q.timeRange("from", "to")
	pg := parsePage(c, &is)
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	p.Lim, p.Off = int32(pg.Limit), int32(pg.Offset)
	p.AfterReceivedAt, p.AfterID = pg.Bound()
	rows, outcomes, total, err := s.evidence.List(c.Request.Context(), p)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total,
		func(r db.RawRecord) evidenceDetailJSON {
			return evidenceDetailJSON{
				receiptJSON: renderEvidence(r.Source, r.SourceRef, r.ReceivedAt, r.SignatureValid, false, outcomes[r.ID]),
				Payload:     r.Payload,
			}
		},
		func(r db.RawRecord) (time.Time, uuid.UUID) { return r.ReceivedAt, r.ID })
}
