package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// mpPart is one part of a hand-built multipart/form-data body.
type mpPart struct {
	name, fileName, contentType string
	value                       []byte
}

// mpBody builds a multipart/form-data body of parts, in their order, with
// boundary; headerStyle varies how the part headers are written (the order
// of the disposition's parameters, extra headers), as clients differ.
func mpBody(boundary string, headerStyle int, parts ...mpPart) (string, string) {
	var b bytes.Buffer
	for _, p := range parts {
		fmt.Fprintf(&b, "--%s\r\n", boundary)
		switch {
		case p.fileName != "" && headerStyle == 1:
			fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Disposition: form-data; filename=%q; name=%q\r\n", p.contentType, p.fileName, p.name)
		case p.fileName != "":
			fmt.Fprintf(&b, "Content-Disposition: form-data; name=%q; filename=%q\r\nContent-Type: %s\r\n", p.name, p.fileName, p.contentType)
		case headerStyle == 1:
			fmt.Fprintf(&b, "Content-Disposition: form-data; name=%s\r\nContent-Type: text/plain; charset=utf-8\r\n", p.name)
		default:
			fmt.Fprintf(&b, "Content-Disposition: form-data; name=%q\r\n", p.name)
		}
		b.WriteString("\r\n")
		b.Write(p.value)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "--%s--\r\n", boundary)
	return b.String(), "multipart/form-data; boundary=" + boundary
}

// mpPost posts a multipart body with headers.
func mpPost(b *bundle, token, path, body, contentType string, headers map[string]string) *httptest.ResponseRecorder {
	h := map[string]string{"Content-Type": contentType}
	for k, v := range headers {
		h[k] = v
	}
	return b.do(req{method: "POST", path: path, token: token, body: body, headers: h})
}

// A multipart upload retried with the same Idempotency-Key is the same
// request whatever its boundary, the order of its parts and how their
// headers are written (curl draws a fresh boundary each time): it is
// replayed. Another file content, file name or field under the key is
// another request: 409 idempotency_key_conflict.
func TestMultipartImportRetryIsReplayedWhateverTheBoundary(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org, "imports:read", "imports:write")
	content := imFixture(t, "camt053", "camt_parser__valid_example.xml")
	// curl labels an .xml file application/xml: any part type is accepted.
	file := mpPart{name: "file", fileName: "valid_example.xml", contentType: "application/xml", value: content}
	record := mpPart{name: "recordType", value: []byte("bank_statement")}
	idem := map[string]string{"Idempotency-Key": uuid.NewString()}

	body, ct := mpBody("------------------------d74496d66958873e", 0, record, file)
	first := mpPost(b, key, "/v1/import-batches", body, ct, idem)
	require.Equal(t, http.StatusCreated, first.Code, first.Body.String())
	require.Equal(t, "false", first.Header().Get("Idempotency-Replayed"))

	for i, retry := range []struct{ boundary, style int }{{1, 0}, {2, 1}} {
		parts := []mpPart{record, file}
		if retry.style == 1 {
			parts = []mpPart{file, record}
		}
		body, ct := mpBody(fmt.Sprintf("------------------------%016x", retry.boundary*0x1f2e3d), retry.style, parts...)
		again := mpPost(b, key, "/v1/import-batches", body, ct, idem)
		require.Equal(t, http.StatusCreated, again.Code, "retry %d: %s", i, again.Body.String())
		require.Equal(t, "true", again.Header().Get("Idempotency-Replayed"), "retry %d", i)
		require.Equal(t, first.Body.String(), again.Body.String(), "retry %d", i)
	}

	changed := append(bytes.Clone(content[:len(content)-1]), ' ', content[len(content)-1])
	for name, parts := range map[string][]mpPart{
		"another content":   {record, {name: "file", fileName: "valid_example.xml", contentType: "application/octet-stream", value: changed}},
		"another file name": {record, {name: "file", fileName: "other.xml", contentType: "application/octet-stream", value: content}},
		"another field":     {{name: "recordType", value: []byte("provider_settlement")}, file},
		"one more field":    {record, {name: "format", value: []byte("camt.053")}, file},
	} {
		t.Run(name, func(t *testing.T) {
			body, ct := mpBody("xyz-"+uuid.NewString(), 0, parts...)
			envelope(t, mpPost(b, key, "/v1/import-batches", body, ct, idem), http.StatusConflict, CodeIdempotencyKeyConflict)
		})
	}
}

// The ledger source upload takes its key from the form's idempotency_key
// when no header gives one: the same form again under another boundary is
// replayed, another file under that key is refused.
func TestLedgerUploadRetryIsReplayedWhateverTheBoundary(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	key, _ := b.apiKey(org, "ledgers:read", "ledgers:write")
	rec := lgPost(b, key, "/v1/ledgers", `{"name":"Main books","currency":"EUR"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	ledgerID := decode[map[string]any](t, rec)["id"].(string)
	rec = lgPost(b, key, "/v1/ledgers/reconciliation/runs", `{"ledger_id":"`+ledgerID+`","mode":"manual","source_type":"upload"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	upload := "/v1/ledgers/reconciliation/runs/" + decode[map[string]any](t, rec)["id"].(string) + "/sources/upload"

	content := imFixture(t, "camt053", "camt_parser__valid_example.xml")
	formKey := mpPart{name: "idempotency_key", value: []byte("statement-" + uuid.NewString())}
	file := mpPart{name: "file", fileName: "statement.xml", contentType: "application/octet-stream", value: content}

	body, ct := mpBody("boundary-one", 0, formKey, file)
	first := mpPost(b, key, upload, body, ct, nil)
	require.Contains(t, []int{http.StatusCreated, http.StatusAccepted}, first.Code, first.Body.String())
	require.Equal(t, "false", first.Header().Get("Idempotency-Replayed"))

	body, ct = mpBody("boundary-two-"+uuid.NewString(), 1, file, formKey)
	again := mpPost(b, key, upload, body, ct, nil)
	require.Equal(t, first.Code, again.Code, again.Body.String())
	require.Equal(t, "true", again.Header().Get("Idempotency-Replayed"))
	require.Equal(t, first.Body.String(), again.Body.String())

	// The same key in a header, the form otherwise alike: replayed too.
	h := map[string]string{"Idempotency-Key": string(formKey.value)}
	body, ct = mpBody("boundary-three", 0, formKey, file)
	again = mpPost(b, key, upload, body, ct, h)
	require.Equal(t, "true", again.Header().Get("Idempotency-Replayed"), again.Body.String())
	require.Equal(t, first.Body.String(), again.Body.String())

	other := file
	other.value = imFixture(t, "camt053", "camt_parser__valid_example_v4.xml")
	body, ct = mpBody("boundary-four", 0, formKey, other)
	envelope(t, mpPost(b, key, upload, body, ct, nil), http.StatusConflict, CodeIdempotencyKeyConflict)
	body, ct = mpBody("boundary-five", 0, formKey, file, mpPart{name: "format", value: []byte("camt.053")})
	envelope(t, mpPost(b, key, upload, body, ct, nil), http.StatusConflict, CodeIdempotencyKeyConflict)
}
