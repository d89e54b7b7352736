package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/intent"
	"github.com/reconlayer/reconlayer/internal/money"
	"github.com/reconlayer/reconlayer/internal/resource"
	"github.com/reconlayer/reconlayer/internal/rule"
	"github.com/reconlayer/reconlayer/internal/tasks"
)

type referenceJSON struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

type createIntentRequest struct {
	ExternalReference    string          `json:"externalReference"`
	SourceAmount         *money.Amount   `json:"sourceAmount"`
	SourceCurrency       string          `json:"sourceCurrency"`
	DestinationAmount    *money.Amount   `json:"destinationAmount"`
	DestinationCurrency  string          `json:"destinationCurrency"`
	PaymentType          string          `json:"paymentType"`
	PaymentSubtype       *string         `json:"paymentSubtype"`
	Direction            string          `json:"direction"`
	Stablecoin           *string         `json:"stablecoin"`
	Chain                *string         `json:"chain"`
	BeneficiaryAccount   *string         `json:"beneficiaryAccount"`
	BeneficiaryName      *string         `json:"beneficiaryName"`
	ExpectedFxRate       *money.Amount   `json:"expectedFxRate"`
	DeveloperFeeExpected *money.Amount   `json:"developerFeeExpected"`
	ProviderTransferID   *string         `json:"providerTransferId"`
	TxHash               *string         `json:"txHash"`
	ClientCompletedAt    *time.Time      `json:"clientCompletedAt"`
	References           []referenceJSON `json:"references"`
	Metadata             map[string]any  `json:"metadata"`
}

var (
	chainPattern  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	evmTxHash     = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)
	genericTxHash = regexp.MustCompile(`^[0-9A-Za-z]{32,128}$`)
)

func validateCurrency(code string, path []string, is *issues) {
	if code == "" {
		is.add(path, "Required.")
		return
	}
	if err := money.ValidateCurrency(code); err != nil {
		is.add(path, "%s", sentence(err.Error()))
	}
}

// chars counts characters, not bytes: limits are stated in characters.
func chars(s string) int { return utf8.RuneCountInString(s) }

func validateOptString(v *string, path []string, max int, is *issues) {
	if v != nil && (*v == "" || chars(*v) > max) {
		is.add(path, "Must be 1 to %d characters (or omitted).", max)
	}
}

func validatePositive(a *money.Amount, path []string, required bool, is *issues) {
	switch {
	case a == nil && required:
		is.add(path, "Required.")
	case a != nil && !a.IsPositive():
		is.add(path, "Must be greater than zero.")
	}
}

// validateTxHash checks shape: an EVM hash, or a base58/hex signature of
// another chain family.
func validateTxHash(h *string, path []string, is *issues) {
	if h == nil {
		return
	}
	if strings.HasPrefix(*h, "0x") || strings.HasPrefix(*h, "0X") {
		if !evmTxHash.MatchString(*h) {
			is.add(path, "An EVM transaction hash is 0x followed by 64 hex digits.")
		}
		return
	}
	if !genericTxHash.MatchString(*h) {
		is.add(path, "Must be a transaction hash (0x + 64 hex digits, or 32 to 128 letters and digits).")
	}
}

func validateReferences(refs []referenceJSON, is *issues) {
	if len(refs) > 50 {
		is.add([]string{"references"}, "At most 50 references.")
	}
	for i, r := range refs {
		if r.Type == "" || chars(r.Type) > 64 {
			is.add([]string{"references", itoa(i), "type"}, "Must be 1 to 64 characters.")
		}
		if r.Value == "" || chars(r.Value) > 255 {
			is.add([]string{"references", itoa(i), "value"}, "Must be 1 to 255 characters.")
		}
	}
}

func (r *createIntentRequest) validate(is *issues) {
	if r.ExternalReference == "" || chars(r.ExternalReference) > 255 {
		is.add([]string{"externalReference"}, "Required; 1 to 255 characters.")
	}
	validatePositive(r.SourceAmount, []string{"sourceAmount"}, true, is)
	validateCurrency(r.SourceCurrency, []string{"sourceCurrency"}, is)
	switch {
	case r.DestinationAmount == nil && r.DestinationCurrency != "":
		is.add([]string{"destinationAmount"}, "Required with destinationCurrency.")
	case r.DestinationAmount != nil && r.DestinationCurrency == "":
		is.add([]string{"destinationCurrency"}, "Required with destinationAmount.")
	case r.DestinationAmount != nil:
		validatePositive(r.DestinationAmount, []string{"destinationAmount"}, true, is)
		validateCurrency(r.DestinationCurrency, []string{"destinationCurrency"}, is)
	}
	if !slices.Contains(rule.PaymentTypes, r.PaymentType) {
		is.add([]string{"paymentType"}, "Required; one of %s.", strings.Join(rule.PaymentTypes, ", "))
	}
	if r.Direction != "" && r.Direction != "debit" && r.Direction != "credit" {
		is.add([]string{"direction"}, "Must be debit or credit.")
	}
	validateOptString(r.PaymentSubtype, []string{"paymentSubtype"}, 100, is)
	if r.Stablecoin != nil {
		if c, ok := money.LookupCurrency(*r.Stablecoin); !ok || c.Kind != money.Token {
			is.add([]string{"stablecoin"}, "Must be a supported token symbol such as USDC or USDT.")
		}
	}
	if r.Chain != nil && !chainPattern.MatchString(*r.Chain) {
		is.add([]string{"chain"}, "Must be a lower-case chain name such as ethereum, polygon or base.")
	}
	validateOptString(r.BeneficiaryAccount, []string{"beneficiaryAccount"}, 255, is)
	validateOptString(r.BeneficiaryName, []string{"beneficiaryName"}, 255, is)
	validatePositive(r.ExpectedFxRate, []string{"expectedFxRate"}, false, is)
	if r.DeveloperFeeExpected != nil && r.DeveloperFeeExpected.IsNegative() {
		is.add([]string{"developerFeeExpected"}, "Must not be negative.")
	}
	validateOptString(r.ProviderTransferID, []string{"providerTransferId"}, 255, is)
	validateTxHash(r.TxHash, []string{"txHash"}, is)
	validateReferences(r.References, is)
	validateMetadata(r.Metadata, is)
}

func decPtr(a *money.Amount) *decimal.Decimal {
	if a == nil {
		return nil
	}
	return &a.Decimal
}

// actor names the credential behind a change, for the audit trail.
func actor(p auth.Principal) string {
	if p.Kind == auth.KindSession {
		return "user:" + p.UserID
	}
	return "api_key:" + p.APIKeyID.String()
}

type createIntentResponse struct {
	PaymentIntentID   string  `json:"paymentIntentId"`
	CaseID            string  `json:"caseId"`
	ExternalReference string  `json:"externalReference"`
	Status            string  `json:"status"`
	Verdict           *string `json:"verdict"`
	Outcome           string  `json:"outcome"`
}

func (s *server) createIntent(c *gin.Context) {
	var req createIntentRequest
	if !s.bindJSON(c, &req) {
		return
	}
	p := mustPrincipal(c)
	in := intent.CreateInput{
		OrganizationID: p.OrganizationID, Actor: actor(p), ExternalReference: req.ExternalReference,
		SourceAmount: req.SourceAmount.Decimal, SourceCurrency: req.SourceCurrency,
		DestinationAmount: req.SourceAmount.Decimal, DestinationCurrency: req.SourceCurrency,
		PaymentType: req.PaymentType, PaymentSubtype: req.PaymentSubtype, Direction: req.Direction,
		Stablecoin: req.Stablecoin, Chain: req.Chain, BeneficiaryAccount: req.BeneficiaryAccount,
		BeneficiaryName: req.BeneficiaryName, ExpectedFxRate: decPtr(req.ExpectedFxRate),
		DeveloperFeeExpected: decPtr(req.DeveloperFeeExpected), ProviderTransferID: req.ProviderTransferID,
		TxHash: req.TxHash, ClientCompletedAt: req.ClientCompletedAt,
	}
	if req.DestinationAmount != nil {
		in.DestinationAmount, in.DestinationCurrency = req.DestinationAmount.Decimal, req.DestinationCurrency
	}
	if in.Direction == "" {
		in.Direction = "debit"
	}
	in.References, _ = json.Marshal(orEmpty(req.References))
	for _, r := range req.References {
		in.ReferenceValues = append(in.ReferenceValues, r.Value)
	}
	in.Metadata, _ = json.Marshal(orEmptyMap(req.Metadata))

	res, err := s.intents.Create(c.Request.Context(), in, completeWith(c,
		func(r intent.Result) int {
			if r.Outcome == intent.OutcomeReused {
				return http.StatusOK
			}
			return http.StatusCreated
		},
		plain(func(r intent.Result) any {
			return createIntentResponse{
				PaymentIntentID: r.Intent.ID.String(), CaseID: r.Case.ID.String(),
				ExternalReference: r.Intent.ExternalReference, Status: r.Intent.Status,
				Verdict: r.Case.Verdict, Outcome: r.Outcome,
			}
		}), nil))
	var conflict *intent.ConflictError
	if errors.As(err, &conflict) {
		e := NewError(http.StatusConflict, CodePaymentIntentConflict,
			"A payment intent with externalReference %q exists with different %s.", conflict.Existing.ExternalReference,
			conflictFields(conflict.Conflicts))
		e.Details = gin.H{
			"paymentIntentId": conflict.Existing.ID.String(), "externalReference": conflict.Existing.ExternalReference,
			"conflicts": conflict.Conflicts,
		}
		abort(c, e)
		return
	}
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	if res.Claim != nil {
		s.enqueueLater(c.Request.Context(), *res.Claim)
	}
	respondCompleted(c)
}

// enqueueLater enqueues a job recorded in the outbox; if Redis is away the
// sweeper enqueues it later, so the request does not fail.
func (s *server) enqueueLater(ctx context.Context, j tasks.Job) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.EnqueueTimeout)
	defer cancel()
	if err := s.enqueuer.Enqueue(ctx, j); err != nil {
		s.logger.WarnContext(ctx, "enqueue; left to the outbox sweeper", "task_id", j.ID, "err", err.Error())
	}
}

func conflictFields(cs []intent.FieldConflict) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Field
	}
	return strings.Join(names, ", ")
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orEmptyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

var intentStatuses = []string{"pending", "processing", "completed", "failed", "reversed"}

func (s *server) listIntents(c *gin.Context) {
	var is issues
	q := listQuery(c, &is, "status", "externalReference", "from", "to")
	p := db.ListPaymentIntentsParams{
		OrganizationID:    mustPrincipal(c).OrganizationID,
		Status:            q.enum("status", intentStatuses),
		ExternalReference: q.str("externalReference", 255),
	}
	p.CreatedFrom, p.CreatedTo = q.timeRange("from", "to")
	pg := parsePage(c, &is)
	if err := is.err(); err != nil {
		abort(c, err)
		return
	}
	p.Lim, p.Off = int32(pg.Limit), int32(pg.Offset)
	p.AfterCreatedAt, p.AfterID = pg.Bound()
	rows, total, err := s.intents.List(c.Request.Context(), p)
	if err != nil {
		abort(c, err)
		return
	}
	respondList(c, pg, rows, total, resource.RenderIntentFull, func(pi db.PaymentIntent) (time.Time, uuid.UUID) { return pi.CreatedAt, pi.ID })
}

func (s *server) getIntent(c *gin.Context) {
	id, ok := pathID(c, "Payment intent")
	if !ok {
		return
	}
	d, err := s.intents.GetDetail(c.Request.Context(), mustPrincipal(c).OrganizationID, id)
	if err != nil {
		abort(c, serviceError(err))
		return
	}
	c.JSON(http.StatusOK, resource.RenderIntentDetail(d.Intent, d.Case, d.Audit))
}
