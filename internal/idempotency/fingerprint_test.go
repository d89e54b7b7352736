package idempotency

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"testing"

	"github.com/stretchr/testify/require"
)

// part is one form part: a plain field when file is empty.
type part struct{ name, file, contentType, value string }

// form writes parts with boundary; handWritten chooses how the headers are
// written (as Go writes them, or parameters the other way round, a name
// unquoted and a Content-Type on plain fields).
func form(t *testing.T, boundary string, handWritten bool, parts ...part) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.SetBoundary(boundary))
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		switch {
		case handWritten && p.file != "":
			h.Set("Content-Disposition", fmt.Sprintf("form-data; filename=%q; name=%s", p.file, p.name))
		case p.file != "":
			h.Set("Content-Disposition", fmt.Sprintf("form-data; name=%q; filename=%q", p.name, p.file))
		case handWritten:
			h.Set("Content-Disposition", "form-data; name="+p.name)
			h.Set("Content-Type", "text/plain; charset=utf-8")
		default:
			h.Set("Content-Disposition", fmt.Sprintf("form-data; name=%q", p.name))
		}
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, err = w.Write([]byte(p.value))
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

func fingerprintOf(t *testing.T, boundary string, handWritten bool, parts ...part) []byte {
	t.Helper()
	ct, body := form(t, boundary, handWritten, parts...)
	return FingerprintRequest(ct, body)
}

// A form is fingerprinted by its fields and files, not by its boundary,
// the order of its parts or how their headers are written.
func TestMultipartFingerprintIgnoresBoundaryOrderAndHeaders(t *testing.T) {
	t.Parallel()
	file := part{name: "file", file: "statement.xml", contentType: "application/octet-stream", value: "<Document>…</Document>"}
	key := part{name: "idempotency_key", value: "k-1"}
	format := part{name: "format", value: "camt.053"}
	want := fingerprintOf(t, "------------------------d74496d66958873e", false, key, format, file)
	require.Len(t, want, 32)

	xml := file
	xml.contentType = "application/xml"
	for i, same := range [][]byte{
		fingerprintOf(t, "------------------------0123456789abcdef", false, key, format, file),
		fingerprintOf(t, "x", true, file, key, format),
		fingerprintOf(t, "WebKitFormBoundary7MA4YWxkTrZu0gW", false, format, xml, key),
	} {
		require.Equal(t, want, same, "form %d", i)
	}

	for name, other := range map[string][]part{
		"another content":     {key, format, {name: "file", file: "statement.xml", value: "<Document>…</Document> "}},
		"another file name":   {key, format, {name: "file", file: "other.xml", value: file.value}},
		"another field value": {key, {name: "format", value: "csv"}, file},
		"another field name":  {key, {name: "formats", value: "camt.053"}, file},
		"a field less":        {key, file},
		"a field more":        {key, format, format, file},
		"a name split":        {key, format, {name: "fil", file: "estatement.xml", value: file.value}},
	} {
		require.NotEqual(t, want, fingerprintOf(t, "b", false, other...), name)
	}
}

// Bodies that are not forms are fingerprinted as before; a form that cannot
// be read is fingerprinted by its bytes (its handler refuses it).
func TestFingerprintRequestOfOtherBodies(t *testing.T) {
	t.Parallel()
	require.Equal(t, Fingerprint([]byte(`{"a": 1, "b": 2}`)), FingerprintRequest("application/json", []byte(`{"b":2,"a":1}`)))
	broken := []byte("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno closing boundary")
	require.Equal(t, Fingerprint(broken), FingerprintRequest("multipart/form-data; boundary=b", broken))
	require.Equal(t, Fingerprint(broken), FingerprintRequest("multipart/form-data", broken), "no boundary")
}
