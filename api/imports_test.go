package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// Helpers of this file are prefixed with im.

const imProfile = `{"name":"Bank CSV","recordType":"bank_statement","headerRow":true,"dateFormat":"DD.MM.YYYY",
"decimalSeparator":",","thousandsSeparator":".","fields":[{"column":"Datum","path":"bookingDate"},
{"column":"Betrag","path":"amount"},{"column":"Referenz","path":"bankReference"},{"column":"Name","path":"counterpartyName"}],
"defaults":{"currency":"EUR"}}`

const imCSV = "Datum;Betrag;Referenz;Name\n01.11.2026;1.250,00;R-1;Alice GmbH\n02.11.2026;-99,90;R-2;Bob AG\n03.11.2026;abc;R-3;Carol\n"

func imFixture(t *testing.T, format, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "statements", format, name))
	require.NoError(t, err)
	return b
}

// imMultipart builds a multipart upload of content with form fields.
func imMultipart(t *testing.T, fileName string, content []byte, fields map[string]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	fw, err := mw.CreateFormFile("file", fileName)
	require.NoError(t, err)
	_, err = fw.Write(content)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	return buf.String(), mw.FormDataContentType()
}

func imPost(b *bundle, token, path, body, contentType string) *httptest.ResponseRecorder {
	h := map[string]string{"Idempotency-Key": uuid.NewString()}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return b.do(req{method: "POST", path: path, token: token, body: body, headers: h})
}

type imBatch struct {
	ID         string          `json:"id"`
	Status     string          `json:"status"`
	Format     string          `json:"format"`
	RecordType string          `json:"recordType"`
	Duplicate  bool            `json:"duplicate"`
	Error      *string         `json:"error"`
	Statements json.RawMessage `json:"statements"`
	Counts     struct {
		Total, Valid, Invalid, Matched int
	} `json:"counts"`
}

func imWait(t *testing.T, b *bundle, token, id string, done func(imBatch) bool) imBatch {
	t.Helper()
	var got imBatch
	require.Eventually(t, func() bool {
		rec := b.do(req{method: "GET", path: "/v1/import-batches/" + id, token: token})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		got = decode[imBatch](t, rec)
		return done(got)
	}, 30*time.Second, 50*time.Millisecond)
	return got
}

// A bank's camt.053 uploaded as a file: the worker parses it into one row
// per transaction and the matcher takes them; the same file again is the
// same batch (200, duplicate).
func TestImportStatementFileEndToEnd(t *testing.T) {
	t.Parallel()
	b := setup(t).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org, "imports:read", "imports:write")
	content := imFixture(t, "camt053", "camt_parser__valid_example.xml")

	body, ct := imMultipart(t, "valid_example.xml", content, nil)
	rec := imPost(b, key, "/v1/import-batches", body, ct)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	batch := decode[imBatch](t, rec)
	require.Equal(t, "camt.053", batch.Format)
	require.Equal(t, "bank_statement", batch.RecordType)
	require.False(t, batch.Duplicate)

	got := imWait(t, b, key, batch.ID, func(x imBatch) bool {
		return x.Status == "completed" && x.Counts.Matched+x.Counts.Invalid <= x.Counts.Total
	})
	require.Equal(t, 5, got.Counts.Total)
	require.Equal(t, 5, got.Counts.Valid)
	var summaries []map[string]any
	require.NoError(t, json.Unmarshal(got.Statements, &summaries))
	require.Len(t, summaries, 1)
	require.Equal(t, true, summaries[0]["reconciles"])

	rec = b.do(req{method: "GET", path: "/v1/import-batches/" + batch.ID + "/raw-records?limit=2", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	page := decode[struct {
		Items []struct {
			RowNumber        int             `json:"rowNumber"`
			Source           string          `json:"source"`
			ValidationStatus string          `json:"validationStatus"`
			ValidationErrors []string        `json:"validationErrors"`
			Payload          json.RawMessage `json:"payload"`
		} `json:"items"`
		Total      int    `json:"total"`
		NextCursor string `json:"nextCursor"`
	}](t, rec)
	require.Equal(t, 5, page.Total)
	require.Len(t, page.Items, 2)
	require.Equal(t, 1, page.Items[0].RowNumber)
	require.Equal(t, "bank", page.Items[0].Source)
	require.Equal(t, "valid", page.Items[0].ValidationStatus)
	require.Empty(t, page.Items[0].ValidationErrors)
	require.Equal(t, "2", page.NextCursor)
	rec = b.do(req{method: "GET", path: "/v1/import-batches/" + batch.ID + "/raw-records?limit=2&cursor=" + page.NextCursor, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"rowNumber":3`)

	again := imPost(b, key, "/v1/import-batches", body, ct)
	require.Equal(t, http.StatusOK, again.Code, again.Body.String())
	dup := decode[imBatch](t, again)
	require.True(t, dup.Duplicate)
	require.Equal(t, batch.ID, dup.ID)
}

// A CSV through a profile, sent as JSON: invalid rows are kept with their
// line and reason.
func TestImportCSVThroughProfile(t *testing.T) {
	t.Parallel()
	b := setup(t).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org, "imports:read", "imports:write", "reconciliation_cases:read")

	profile := strings.Replace(imProfile, `"headerRow":true,`, `"headerRow":true,"delimiter":";",`, 1)
	rec := imPost(b, key, "/v1/import-profiles", profile, "")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	pid := decode[map[string]any](t, rec)["id"].(string)

	body, _ := json.Marshal(map[string]any{"importProfileId": pid, "originalFileName": "umsatz.csv", "content": imCSV})
	rec = imPost(b, key, "/v1/import-batches", string(body), "")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	batch := decode[imBatch](t, rec)
	require.Equal(t, "csv", batch.Format)
	got := imWait(t, b, key, batch.ID, func(x imBatch) bool { return x.Status == "completed" })
	require.Equal(t, 3, got.Counts.Total)
	require.Equal(t, 2, got.Counts.Valid)
	require.Equal(t, 1, got.Counts.Invalid)

	rec = b.do(req{method: "GET", path: "/v1/import-batches/" + batch.ID + "/raw-records?validationStatus=invalid", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"rowNumber":4`)
	require.Contains(t, rec.Body.String(), "line 4")
	require.Contains(t, rec.Body.String(), "abc")

	// The evidence list shows it too, as never matched.
	rec = b.do(req{method: "GET", path: "/v1/evidence?status=invalid", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.EqualValues(t, 1, decode[map[string]any](t, rec)["total"])

	// Base64 content works too, and is the same file.
	body, _ = json.Marshal(map[string]any{"importProfileId": pid, "originalFileName": "again.csv", "contentBase64": base64.StdEncoding.EncodeToString([]byte(imCSV))})
	rec = imPost(b, key, "/v1/import-batches", string(body), "")
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.True(t, decode[imBatch](t, rec).Duplicate)
}

// A client_internal_ledger CSV through the API: its rows become payment
// intents with cases (a webhook-visible create, found by GET
// /v1/payment-intents), a row is refused with the very message POST
// /v1/payment-intents gives the same fields, and a row that conflicts with
// a stored intent turns invalid.
func TestImportLedgerCSVRecordsPaymentIntents(t *testing.T) {
	t.Parallel()
	b := setup(t).withWorker()
	org := b.org("Acme")
	key, _ := b.apiKey(org, "imports:read", "imports:write", "payment_intents:read", "payment_intents:write", "reconciliation_cases:read")

	rec := b.do(req{method: "POST", path: "/v1/payment-intents", token: key, headers: map[string]string{"Idempotency-Key": uuid.NewString()},
		body: `{"externalReference":"L-3","sourceAmount":"30","sourceCurrency":"EUR","paymentType":"bank"}`})
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	rec = b.do(req{method: "POST", path: "/v1/payment-intents", token: key, headers: map[string]string{"Idempotency-Key": uuid.NewString()},
		body: `{"externalReference":"L-2","sourceAmount":"20","sourceCurrency":"EUR","paymentType":"bank","chain":"Not A Chain"}`})
	require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	apiIssue := decode[Error](t, rec).Issues[0]

	rec = imPost(b, key, "/v1/import-profiles", `{"name":"ERP export","recordType":"client_internal_ledger","delimiter":";",
		"fields":[{"column":"Ref","path":"externalReference"},{"column":"Amount","path":"sourceAmount"},{"column":"Ccy","path":"sourceCurrency"},
		{"column":"Chain","path":"chain"},{"column":"Customer","path":"metadata.customer"}],"defaults":{"paymentType":"bank"}}`, "")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	pid := decode[map[string]any](t, rec)["id"].(string)
	content := "Ref;Amount;Ccy;Chain;Customer\nL-1;10.50;EUR;;C-77\nL-2;20;EUR;Not A Chain;\nL-3;31;EUR;;\n"
	body, _ := json.Marshal(map[string]any{"importProfileId": pid, "originalFileName": "erp.csv", "content": content})
	rec = imPost(b, key, "/v1/import-batches", string(body), "")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	batch := decode[imBatch](t, rec)
	require.Equal(t, "client_internal_ledger", batch.RecordType)

	got := imWait(t, b, key, batch.ID, func(x imBatch) bool {
		return x.Status == "completed" && x.Counts.Matched+x.Counts.Invalid == x.Counts.Total
	})
	require.Equal(t, [4]int{3, 1, 2, 1}, [4]int{got.Counts.Total, got.Counts.Valid, got.Counts.Invalid, got.Counts.Matched})

	rec = b.do(req{method: "GET", path: "/v1/import-batches/" + batch.ID + "/raw-records", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	rows := decode[struct {
		Items []struct {
			RowNumber        int      `json:"rowNumber"`
			Source           string   `json:"source"`
			MatchStatus      string   `json:"matchStatus"`
			ValidationErrors []string `json:"validationErrors"`
			PaymentIntentID  *string  `json:"paymentIntentId"`
		} `json:"items"`
	}](t, rec).Items
	require.Len(t, rows, 3)
	require.Equal(t, "ledger", rows[0].Source)
	require.Equal(t, "matched", rows[0].MatchStatus)
	require.NotNil(t, rows[0].PaymentIntentID)
	require.Equal(t, []string{"line 3: " + apiIssue.String()}, rows[1].ValidationErrors, "the API's own message")
	require.Len(t, rows[2].ValidationErrors, 1)
	require.Contains(t, rows[2].ValidationErrors[0], `sourceAmount is "30" there, "31" here`)
	require.Nil(t, rows[2].PaymentIntentID)

	rec = b.do(req{method: "GET", path: "/v1/payment-intents/" + *rows[0].PaymentIntentID, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Body.String(), `"externalReference":"L-1"`)
	require.Contains(t, rec.Body.String(), `"customer":"C-77"`)
	require.Contains(t, rec.Body.String(), `"caseId"`)

	// Ledger rows are not evidence.
	rec = b.do(req{method: "GET", path: "/v1/evidence", token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.EqualValues(t, 0, decode[map[string]any](t, rec)["total"])
}

// Bad uploads are refused in the envelope, naming the field, and store
// nothing.
func TestImportBatchValidation(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.MaxImportBytes = 1 << 10 })
	org := b.org("Acme")
	key, _ := b.apiKey(org, "imports:read", "imports:write")
	readOnly, _ := b.apiKey(org, "imports:read")

	e := envelope(t, imPost(b, readOnly, "/v1/import-batches", `{"originalFileName":"a.xml","content":"x"}`, ""), http.StatusForbidden, CodeForbidden)
	require.Contains(t, e.Message, "imports:write")

	for _, tc := range []struct{ body, path, msg string }{
		{`{"originalFileName":"a.csv","content":"a,b\n1,2\n"}`, "format", "not camt.05x XML"},
		{`{"originalFileName":"a.csv","content":"a,b\n","format":"csv"}`, "importProfileId", "needs an importProfileId"},
		{`{"originalFileName":"a.txt","content":""}`, "content", "empty"},
		{`{"content":"x"}`, "originalFileName", "Required"},
		{`{"originalFileName":"a.xml","content":"x","format":"pdf"}`, "format", "Must be one of"},
		{`{"originalFileName":"a.xml","content":"x","recordType":"ledger"}`, "recordType", "Must be one of"},
		{`{"originalFileName":"a.xml","contentBase64":"***"}`, "contentBase64", "base64"},
		{`{"originalFileName":"a.xml","content":"` + strings.Repeat("x", 2000) + `"}`, "content", "limit is 1 KiB"},
		{`{"originalFileName":"a.csv","content":"x","recordType":"client_internal_ledger","format":"mt940"}`, "recordType", "is a CSV read through an import profile"},
	} {
		e := envelope(t, imPost(b, key, "/v1/import-batches", tc.body, ""), http.StatusBadRequest, CodeInvalidRequest)
		require.NotEmpty(t, e.Issues, tc.body)
		require.Equal(t, []string{tc.path}, e.Issues[0].Path, tc.body)
		require.Contains(t, e.Issues[0].Message, tc.msg, tc.body)
	}
	// Past what even base64 of the largest file needs, the body is not read.
	envelope(t, imPost(b, key, "/v1/import-batches", `{"originalFileName":"a.xml","content":"`+strings.Repeat("x", 2<<20)+`"}`, ""),
		http.StatusRequestEntityTooLarge, CodePayloadTooLarge)
	rec := b.do(req{method: "GET", path: "/v1/import-batches", token: key})
	require.Equal(t, http.StatusOK, rec.Code)
	require.EqualValues(t, 0, decode[map[string]any](t, rec)["total"], "nothing stored")
	envelope(t, b.do(req{method: "GET", path: "/v1/import-batches/" + uuid.NewString(), token: key}), http.StatusNotFound, CodeNotFound)
}

// Profiles: validated, readable, editable, deletable.
func TestImportProfilesCRUD(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org, "imports:read", "imports:write")

	e := envelope(t, imPost(b, key, "/v1/import-profiles", `{"name":"x","recordType":"bank_statement","delimiter":";;","decimalSeparator":",","thousandsSeparator":",","fields":[]}`, ""),
		http.StatusBadRequest, CodeInvalidRequest)
	paths := map[string]bool{}
	for _, is := range e.Issues {
		paths[strings.Join(is.Path, ".")] = true
	}
	require.True(t, paths["delimiter"], "%v", e.Issues)
	require.True(t, paths["fields"], "%v", e.Issues)
	e = envelope(t, imPost(b, key, "/v1/import-profiles", `{"name":"x","fields":[{"column":"a","path":"amount"}]}`, ""), http.StatusBadRequest, CodeInvalidRequest)
	require.Equal(t, []string{"recordType"}, e.Issues[0].Path)

	rec := imPost(b, key, "/v1/import-profiles", imProfile, "")
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	p := decode[map[string]any](t, rec)
	id := p["id"].(string)
	require.Equal(t, "Bank CSV", p["name"])
	require.Equal(t, ",", p["decimalSeparator"])
	require.Len(t, p["fields"], 4)

	rec = b.do(req{method: "PATCH", path: "/v1/import-profiles/" + id, token: key, body: `{"name":"Bank CSV v2"}`})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	p = decode[map[string]any](t, rec)
	require.Equal(t, "Bank CSV v2", p["name"])
	require.Len(t, p["fields"], 4, "settings unchanged when none is sent")
	rec = b.do(req{method: "GET", path: "/v1/import-profiles/" + id, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, "Bank CSV v2", decode[map[string]any](t, rec)["name"])

	rec = b.do(req{method: "GET", path: "/v1/import-profiles", token: key})
	require.Equal(t, http.StatusOK, rec.Code)
	require.EqualValues(t, 1, decode[map[string]any](t, rec)["total"])
	rec = b.do(req{method: "DELETE", path: "/v1/import-profiles/" + id, token: key})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	envelope(t, b.do(req{method: "GET", path: "/v1/import-profiles/" + id, token: key}), http.StatusNotFound, CodeNotFound)
}
