package api

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/reconlayer/reconlayer/internal/cases"
	"github.com/reconlayer/reconlayer/internal/db"
	"github.com/reconlayer/reconlayer/internal/numeric"
	"github.com/reconlayer/reconlayer/internal/recon"
	"github.com/reconlayer/reconlayer/internal/resource"
)

// exportFilters echoes the filters an export was made with (seed 001).
type exportFilters struct {
	From                 *string  `json:"from"`
	To                   *string  `json:"to"`
	Status               *string  `json:"status"`
	ReconciliationStatus *string  `json:"reconciliationStatus"`
	ExternalReference    *string  `json:"externalReference"`
	Verdicts             []string `json:"verdicts"`
	// Beyond seed 001: the other filters the export takes.
	ExceptionType   *string `json:"exceptionType"`
	SLARisk         *bool   `json:"slaRisk"`
	PaymentIntentID *string `json:"paymentIntentId"`
}

func queryPtr(c *gin.Context, name string) *string {
	if v, ok := c.GetQuery(name); ok {
		return &v
	}
	return nil
}

// exportCases streams every matching case as the seed 001 JSON bundle or as
// CSV, page by page: memory does not grow with the number of cases.
func (s *server) exportCases(c *gin.Context) {
	var is issues
	p := caseFilters(c, &is, "format")
	format := "json"
	if f := (query{c: c, is: &is}).enum("format", []string{"json", "csv"}); f != nil {
		format = *f
	}
	if err := invalid(is); err != nil {
		abort(c, err)
		return
	}
	w := bufio.NewWriterSize(c.Writer, 64<<10)
	var err error
	if format == "csv" {
		err = s.exportCSV(c, w, p)
	} else {
		err = s.exportJSON(c, w, p)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		if !c.Writer.Written() {
			abort(c, err)
			return
		}
		// Headers are gone: cut the connection so the client sees a broken
		// transfer rather than a short export that looks complete.
		s.logger.ErrorContext(c.Request.Context(), "export failed mid-stream", "err", err.Error())
		panic(http.ErrAbortHandler)
	}
}

func (s *server) exportJSON(c *gin.Context, w *bufio.Writer, p db.ListCasesParams) error {
	filters := exportFilters{
		From: queryPtr(c, "from"), To: queryPtr(c, "to"), Status: p.Status, ReconciliationStatus: p.ReconciliationStatus,
		ExternalReference: p.ExternalReference, Verdicts: p.Verdicts,
		ExceptionType: p.ExceptionType, SLARisk: p.SlaRisk, PaymentIntentID: resource.UUIDStr(p.PaymentIntentID),
	}
	first := true
	var j jsonItem
	err := s.cases.Export(c.Request.Context(), p,
		func(total int64) error {
			head, _ := json.Marshal(struct {
				ExportedAt time.Time     `json:"exportedAt"`
				Filters    exportFilters `json:"filters"`
				Total      int64         `json:"total"`
			}{time.Now().UTC(), filters, total})
			c.Header("Content-Type", contentTypeJSON)
			c.Status(http.StatusOK)
			_, err := w.Write(append(head[:len(head)-1], `,"items":[`...))
			return err
		},
		func(b cases.ExportBatch) error {
			for i := range b.Cases {
				j.b = j.b[:0]
				if !first {
					j.b = append(j.b, ',')
				}
				first = false
				j.item(&b.Cases[i], b.Related)
				if j.err != nil {
					return j.err
				}
				if _, err := w.Write(j.b); err != nil {
					return err
				}
			}
			return flush(c, w)
		})
	if err != nil {
		return err
	}
	_, err = w.WriteString("]}\n")
	return err
}

func flush(c *gin.Context, w *bufio.Writer) error {
	if err := w.Flush(); err != nil {
		return err
	}
	c.Writer.Flush()
	return nil
}

var csvHeader = []string{
	"caseId", "organizationId", "paymentIntentId", "externalReference", "status", "reconciliationStatus", "verdict",
	"exceptionType", "expectedAmount", "expectedCurrency", "actualAmount", "unexplainedDelta", "providerFee",
	"networkFee", "developerFee", "fxSpread", "roundingDelta", "slaAgeMinutes", "slaRisk", "requiredLegsTotal",
	"requiredLegsPresent", "coverageExpected", "coverageProvider", "coverageChain", "coverageBank", "coverageFile",
	"paymentType", "paymentSubtype", "direction", "sourceAmount", "sourceCurrency", "destinationAmount",
	"destinationCurrency", "stablecoin", "chain", "beneficiaryAccount", "beneficiaryName", "intentStatus", "notes",
	"reconciledAt", "lastRunAt", "createdAt", "updatedAt",
}

// appendCSVRow appends r as a CSV line: the bytes encoding/csv's Writer
// wrote for the row of strings the export used to build, without building it.
func appendCSVRow(b []byte, r *db.ExportCasesRow) []byte {
	b = appendUUID(b, r.ID)
	b = append(b, ',')
	b = appendUUID(b, r.OrganizationID)
	b = append(b, ',')
	b = appendUUID(b, r.PaymentIntentID)
	b = append(b, ',')
	b = appendCSVField(b, r.ExternalReference, true)
	b = append(b, ',')
	b = appendCSVField(b, r.Status, false)
	b = append(b, ',')
	b = appendCSVField(b, r.ReconciliationStatus, false)
	b = append(b, ',')
	b = appendCSVOpt(b, r.Verdict, false)
	b = append(b, ',')
	b = appendCSVOpt(b, r.ExceptionType, false)
	b = append(b, ',')
	b = numeric.Append(b, r.ExpectedAmount.Dec())
	b = append(b, ',')
	b = appendCSVField(b, r.ExpectedCurrency, false)
	for _, n := range [...]numeric.Null{r.ActualAmount, r.UnexplainedDelta, r.ProviderFee, r.NetworkFee,
		r.DeveloperFee, r.FxSpread, r.RoundingDelta} {
		b = append(b, ',')
		if d, ok := n.DecimalValue(); ok {
			b = numeric.Append(b, d)
		}
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.SlaAgeMinutes), 10)
	b = append(b, ',')
	b = strconv.AppendBool(b, r.SlaRisk)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.RequiredLegsTotal), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(r.RequiredLegsPresent), 10)
	for _, v := range [...]string{recon.CoveragePresent, r.CoverageProvider, r.CoverageChain, r.CoverageBank,
		r.CoverageFile, r.PaymentType} {
		b = append(b, ',')
		b = appendCSVField(b, v, false)
	}
	b = append(b, ',')
	b = appendCSVOpt(b, r.PaymentSubtype, true)
	b = append(b, ',')
	b = appendCSVField(b, r.Direction, false)
	b = append(b, ',')
	b = numeric.Append(b, r.SourceAmount.Dec())
	b = append(b, ',')
	b = appendCSVField(b, r.SourceCurrency, false)
	b = append(b, ',')
	b = numeric.Append(b, r.DestinationAmount.Dec())
	b = append(b, ',')
	b = appendCSVField(b, r.DestinationCurrency, false)
	for _, v := range [...]*string{r.Stablecoin, r.Chain, r.BeneficiaryAccount, r.BeneficiaryName} {
		b = append(b, ',')
		b = appendCSVOpt(b, v, true)
	}
	b = append(b, ',')
	b = appendCSVField(b, r.IntentStatus, false)
	b = append(b, ',')
	b = appendCSVOpt(b, r.Notes, true)
	for _, t := range [...]*time.Time{r.ReconciledAt, r.LastRunAt, &r.CreatedAt, &r.UpdatedAt} {
		b = append(b, ',')
		if t != nil {
			b = t.UTC().AppendFormat(b, time.RFC3339Nano)
		}
	}
	return append(b, '\n')
}

func appendCSVOpt(b []byte, s *string, defuse bool) []byte {
	if s == nil {
		return b
	}
	return appendCSVField(b, *s, defuse)
}

// appendCSVField appends s as encoding/csv's Writer writes a field (quoted
// when it holds a comma, quote, CR or LF, starts with a space, or is \.).
// With defuse, a text cell starting with = + - @ (or a tab or carriage
// return) is first prefixed with a quote, so a spreadsheet does not run it
// as a formula. Amounts are not text: they are written by us as plain
// decimals and stay numbers.
func appendCSVField(b []byte, s string, defuse bool) []byte {
	prefix := false
	if defuse && s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			prefix = true
		}
	}
	quote := strings.ContainsAny(s, "\"\r\n,")
	if !prefix && s != "" {
		r, _ := utf8.DecodeRuneInString(s)
		quote = quote || s == `\.` || unicode.IsSpace(r)
	}
	if !quote {
		if prefix {
			b = append(b, '\'')
		}
		return append(b, s...)
	}
	b = append(b, '"')
	if prefix {
		b = append(b, '\'')
	}
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		b = append(b, s[:i+1]...)
		b = append(b, '"')
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '"')
}

func (s *server) exportCSV(c *gin.Context, w *bufio.Writer, p db.ListCasesParams) error {
	var row []byte
	return s.cases.Export(c.Request.Context(), p,
		func(int64) error {
			c.Header("Content-Type", "text/csv; charset=utf-8")
			c.Header("Content-Disposition", `attachment; filename="reconciliation-cases.csv"`)
			c.Status(http.StatusOK)
			row = row[:0]
			for i, h := range csvHeader {
				if i > 0 {
					row = append(row, ',')
				}
				row = appendCSVField(row, h, false)
			}
			_, err := w.Write(append(row, '\n'))
			return err
		},
		func(b cases.ExportBatch) error {
			for i := range b.Cases {
				row = appendCSVRow(row[:0], &b.Cases[i])
				if _, err := w.Write(row); err != nil {
					return err
				}
			}
			return flush(c, w)
		})
}

// jsonItem appends an item of the JSON export: the bytes goccy/go-json wrote
// for the exportItem structs the export used to build (and encoding/json
// writes, but for \b and \f, which goccy/go-json escapes as \u0008 and
// \u000c), without building them: encoding was the export's busiest
// goroutine, mostly allocating. The first error (a time RFC 3339 cannot
// represent, a payload that is not JSON) sticks in err.
type jsonItem struct {
	b       []byte
	err     error
	compact bytes.Buffer
}

func (j *jsonItem) item(r *db.ExportCasesRow, rel cases.Related) {
	legs := rel.Legs[r.ID]
	j.raw(`{"case":{"id":`)
	j.uuid(r.ID)
	j.raw(`,"organizationId":`)
	j.uuid(r.OrganizationID)
	j.raw(`,"paymentIntentId":`)
	j.uuid(r.PaymentIntentID)
	j.raw(`,"expectedAmount":`)
	j.dec(r.ExpectedAmount.Dec())
	j.raw(`,"actualAmount":`)
	j.decNull(r.ActualAmount)
	j.raw(`,"exceptionType":`)
	j.strPtr(r.ExceptionType)
	j.raw(`,"createdAt":`)
	j.time(r.CreatedAt)
	j.raw(`,"updatedAt":`)
	j.time(r.UpdatedAt)
	j.raw(`,"paymentIntent":{"id":`)
	j.uuid(r.PaymentIntentID)
	j.raw(`,"organizationId":`)
	j.uuid(r.IntentOrganizationID)
	j.raw(`,"externalReference":`)
	j.str(r.ExternalReference)
	j.raw(`,"source":{"amount":`)
	j.dec(r.SourceAmount.Dec())
	j.raw(`,"currency":`)
	j.str(r.SourceCurrency)
	j.raw(`},"destination":{"amount":`)
	j.dec(r.DestinationAmount.Dec())
	j.raw(`,"currency":`)
	j.str(r.DestinationCurrency)
	j.raw(`},"paymentType":`)
	j.str(r.PaymentType)
	j.raw(`,"paymentSubtype":`)
	j.strPtr(r.PaymentSubtype)
	j.raw(`,"stablecoin":`)
	j.strPtr(r.Stablecoin)
	j.raw(`,"chain":`)
	j.strPtr(r.Chain)
	j.raw(`,"beneficiaryAccount":`)
	j.strPtr(r.BeneficiaryAccount)
	j.raw(`,"beneficiaryName":`)
	j.strPtr(r.BeneficiaryName)
	j.raw(`,"status":`)
	j.str(r.IntentStatus)
	j.raw(`,"createdAt":`)
	j.time(r.IntentCreatedAt)
	j.raw(`,"updatedAt":`)
	j.time(r.IntentUpdatedAt)
	j.raw(`},"verdict":`)
	j.strPtr(r.Verdict)
	j.raw(`,"unexplainedDelta":`)
	j.decNull(r.UnexplainedDelta)
	j.raw(`,"slaAgeMinutes":`)
	j.b = strconv.AppendInt(j.b, int64(r.SlaAgeMinutes), 10)
	j.raw(`,"slaRisk":`)
	j.b = strconv.AppendBool(j.b, r.SlaRisk)
	j.raw(`,"requiredLegsTotal":`)
	j.b = strconv.AppendInt(j.b, int64(r.RequiredLegsTotal), 10)
	j.raw(`,"requiredLegsPresent":`)
	j.b = strconv.AppendInt(j.b, int64(r.RequiredLegsPresent), 10)
	j.raw(`,"evidenceCoverage":{"expected":`)
	j.str(recon.CoveragePresent)
	j.raw(`,"provider":`)
	j.str(r.CoverageProvider)
	j.raw(`,"chain":`)
	j.str(r.CoverageChain)
	j.raw(`,"bank":`)
	j.str(r.CoverageBank)
	j.raw(`,"file":`)
	j.str(r.CoverageFile)
	j.raw(`},"flowLegs":`)
	j.legs(legs)
	j.raw(`,"providerFee":`)
	j.decNull(r.ProviderFee)
	j.raw(`,"networkFee":`)
	j.decNull(r.NetworkFee)
	j.raw(`,"developerFee":`)
	j.decNull(r.DeveloperFee)
	j.raw(`,"fxSpread":`)
	j.decNull(r.FxSpread)
	j.raw(`,"roundingDelta":`)
	j.decNull(r.RoundingDelta)
	j.raw(`,"notes":`)
	j.strPtr(r.Notes)
	j.raw(`,"reconciledAt":`)
	j.timePtr(r.ReconciledAt)
	j.raw(`,"lastRunAt":`)
	j.timePtr(r.LastRunAt)
	j.raw(`,"auditEvents":[`)
	for i, e := range rel.Audit[r.ID] {
		if i > 0 {
			j.raw(`,`)
		}
		j.audit(&e)
	}
	j.raw(`],"status":`)
	j.str(r.Status)
	j.raw(`,"reconciliationStatus":`)
	j.str(r.ReconciliationStatus)
	j.raw(`,"expectedCurrency":`)
	j.str(r.ExpectedCurrency)
	j.raw(`,"ruleId":`)
	j.uuidPtr(r.RuleID)
	j.raw(`,"version":`)
	j.b = strconv.AppendInt(j.b, r.Version, 10)
	j.raw(`,"resolvedAt":`)
	j.timePtr(r.ResolvedAt)
	j.raw(`},"evidence":{"caseId":`)
	j.uuid(r.ID)
	j.raw(`,"paymentIntentId":`)
	j.uuid(r.PaymentIntentID)
	j.raw(`,"rawRecords":[`)
	for i, rr := range rel.Raw[r.ID] {
		if i > 0 {
			j.raw(`,`)
		}
		j.rawRecord(&rr)
	}
	j.raw(`],"flowLegs":`)
	j.legs(legs)
	j.raw(`,"matchLinks":[`)
	for i, l := range rel.Links[r.ID] {
		if i > 0 {
			j.raw(`,`)
		}
		j.link(&l)
	}
	j.raw(`]}}`)
}

// audit is resource.AuditEvent.
func (j *jsonItem) audit(e *db.AuditEvent) {
	j.raw(`{"id":`)
	j.uuid(e.ID)
	j.raw(`,"organizationId":`)
	j.uuid(e.OrganizationID)
	j.raw(`,"paymentIntentId":`)
	j.uuidPtr(e.PaymentIntentID)
	j.raw(`,"caseId":`)
	j.uuidPtr(e.CaseID)
	j.raw(`,"rawRecordId":`)
	j.uuidPtr(e.RawRecordID)
	j.raw(`,"importBatchId":`)
	j.uuidPtr(e.ImportBatchID)
	j.raw(`,"eventType":`)
	j.str(e.EventType)
	j.raw(`,"actor":`)
	j.str(e.Actor)
	j.raw(`,"payload":`)
	j.rawJSON(e.Payload)
	j.raw(`,"message":`)
	j.str(e.Message)
	j.raw(`,"occurredAt":`)
	j.time(e.OccurredAt)
	j.raw(`}`)
}

// legs is a []resource.FlowLeg.
func (j *jsonItem) legs(legs []db.FlowLeg) {
	j.raw(`[`)
	for i := range legs {
		l := &legs[i]
		if i > 0 {
			j.raw(`,`)
		}
		j.raw(`{"id":`)
		j.uuid(l.ID)
		j.raw(`,"type":`)
		j.str(l.Type)
		j.raw(`,"status":`)
		j.str(l.Status)
		j.raw(`,"provider":`)
		j.strPtr(l.Provider)
		j.raw(`,"providerTransferId":`)
		j.strPtr(l.ProviderTransferID)
		j.raw(`,"txHash":`)
		j.strPtr(l.TxHash)
		j.raw(`,"amount":`)
		j.dec(l.Amount.Dec())
		j.raw(`,"currency":`)
		j.str(l.Currency)
		j.raw(`,"rawRecordId":`)
		j.uuid(l.RawRecordID)
		j.raw(`,"caseId":`)
		j.uuidPtr(l.CaseID)
		j.raw(`,"sourceStatus":`)
		j.str(l.SourceStatus)
		j.raw(`,"destinationAmount":`)
		if d, ok := l.DestinationAmount.DecimalValue(); ok && l.DestinationCurrency != nil {
			j.raw(`{"amount":`)
			j.dec(d)
			j.raw(`,"currency":`)
			j.str(*l.DestinationCurrency)
			j.raw(`}`)
		} else {
			j.raw(`null`)
		}
		j.raw(`,"fxRate":`)
		j.decNull(l.FxRate)
		j.raw(`,"providerFee":`)
		j.decNull(l.ProviderFee)
		j.raw(`,"networkFee":`)
		j.decNull(l.NetworkFee)
		j.raw(`,"developerFee":`)
		j.decNull(l.DeveloperFee)
		j.raw(`,"chainId":`)
		j.strPtr(l.ChainID)
		j.raw(`,"bankReference":`)
		j.strPtr(l.BankReference)
		j.raw(`,"endToEndId":`)
		j.strPtr(l.EndToEndID)
		j.raw(`,"externalReference":`)
		j.strPtr(l.ExternalReference)
		j.raw(`,"occurredAt":`)
		j.time(l.OccurredAt)
		j.raw(`,"createdAt":`)
		j.time(l.CreatedAt)
		j.raw(`}`)
	}
	j.raw(`]`)
}

// link is resource.MatchLink.
func (j *jsonItem) link(l *db.MatchLink) {
	j.raw(`{"id":`)
	j.uuid(l.ID)
	j.raw(`,"caseId":`)
	j.uuid(l.CaseID)
	j.raw(`,"flowLegId":`)
	j.uuid(l.FlowLegID)
	j.raw(`,"rawRecordId":`)
	j.uuid(l.RawRecordID)
	j.raw(`,"status":`)
	j.str(l.Status)
	j.raw(`,"strategy":`)
	j.str(l.Strategy)
	j.raw(`,"score":`)
	j.dec(l.Score.Dec())
	j.raw(`,"reason":`)
	j.str(l.Reason)
	j.raw(`,"createdBy":`)
	j.str(l.CreatedBy)
	j.raw(`,"createdAt":`)
	j.time(l.CreatedAt)
	j.raw(`,"endedAt":`)
	j.timePtr(l.EndedAt)
	j.raw(`,"endedBy":`)
	j.strPtr(l.EndedBy)
	j.raw(`}`)
}

// rawRecord is resource.RawRecord.
func (j *jsonItem) rawRecord(r *db.RawRecord) {
	j.raw(`{"id":`)
	j.uuid(r.ID)
	j.raw(`,"source":`)
	j.str(r.Source)
	j.raw(`,"sourceRef":`)
	j.str(r.SourceRef)
	j.raw(`,"matchStatus":`)
	j.str(r.MatchStatus)
	j.raw(`,"signatureValid":`)
	if r.SignatureValid == nil {
		j.raw(`null`)
	} else {
		j.b = strconv.AppendBool(j.b, *r.SignatureValid)
	}
	j.raw(`,"importBatchId":`)
	j.uuidPtr(r.ImportBatchID)
	j.raw(`,"rowNumber":`)
	if r.RowNumber == nil {
		j.raw(`null`)
	} else {
		j.b = strconv.AppendInt(j.b, int64(*r.RowNumber), 10)
	}
	j.raw(`,"payload":`)
	j.rawJSON(r.Payload)
	j.raw(`,"receivedAt":`)
	j.time(r.ReceivedAt)
	j.raw(`,"processedAt":`)
	j.timePtr(r.ProcessedAt)
	j.raw(`}`)
}

func (j *jsonItem) raw(s string) { j.b = append(j.b, s...) }

func (j *jsonItem) str(s string) { j.b = appendJSONString(j.b, s) }

func (j *jsonItem) strPtr(s *string) {
	if s == nil {
		j.raw(`null`)
		return
	}
	j.str(*s)
}

func (j *jsonItem) uuid(id uuid.UUID) {
	j.b = append(j.b, '"')
	j.b = appendUUID(j.b, id)
	j.b = append(j.b, '"')
}

func (j *jsonItem) uuidPtr(id *uuid.UUID) {
	if id == nil {
		j.raw(`null`)
		return
	}
	j.uuid(*id)
}

func (j *jsonItem) dec(d decimal.Decimal) {
	j.b = append(j.b, '"')
	j.b = numeric.Append(j.b, d)
	j.b = append(j.b, '"')
}

func (j *jsonItem) decNull(n numeric.Null) {
	d, ok := n.DecimalValue()
	if !ok {
		j.raw(`null`)
		return
	}
	j.dec(d)
}

// time is time.Time's MarshalJSON of t in UTC (RFC 3339 with nanoseconds,
// refused for a year outside 0 to 9999).
func (j *jsonItem) time(t time.Time) {
	j.b = append(j.b, '"')
	b, err := t.UTC().AppendText(j.b)
	if err != nil {
		j.fail(err)
		return
	}
	j.b = append(b, '"')
}

func (j *jsonItem) timePtr(t *time.Time) {
	if t == nil {
		j.raw(`null`)
		return
	}
	j.time(*t)
}

// rawJSON is a json.RawMessage as Marshal writes it: compacted, with < > &
// and U+2028/U+2029 escaped; empty is null.
func (j *jsonItem) rawJSON(p []byte) {
	if len(p) == 0 {
		j.raw(`null`)
		return
	}
	j.compact.Reset()
	if err := json.Compact(&j.compact, p); err != nil {
		j.fail(err)
		return
	}
	// json.HTMLEscape, appending (these bytes only occur in strings).
	src := j.compact.Bytes()
	start := 0
	for i, c := range src {
		if c == '<' || c == '>' || c == '&' {
			j.b = append(j.b, src[start:i]...)
			j.b = append(j.b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			start = i + 1
		}
		if c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8 {
			j.b = append(j.b, src[start:i]...)
			j.b = append(j.b, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xF])
			start = i + len("\u2029")
		}
	}
	j.b = append(j.b, src[start:]...)
}

func (j *jsonItem) fail(err error) {
	if j.err == nil {
		j.err = fmt.Errorf("export: %w", err)
	}
}

// appendJSONString is encoding/json's string encoding with HTML escaping
// (its appendString), but for \b and \f, written as \u0008 and \u000c as
// goccy/go-json did.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendUUID appends id as uuid.UUID's String does, without the string.
func appendUUID(b []byte, id uuid.UUID) []byte {
	n := len(b)
	b = append(b, "00000000-0000-0000-0000-000000000000"...)
	dst := b[n:]
	hex.Encode(dst[0:8], id[0:4])
	hex.Encode(dst[9:13], id[4:6])
	hex.Encode(dst[14:18], id[6:8])
	hex.Encode(dst[19:23], id[8:10])
	hex.Encode(dst[24:], id[10:])
	return b
}
