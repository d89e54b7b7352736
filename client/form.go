package client

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// File is a file to upload: its name as it came from the bank or the
// system that produced it, and its bytes.
type File struct {
	Name    string
	Content []byte
	// ContentType of the part; application/octet-stream when empty.
	ContentType string
}

// Form is a multipart/form-data body for Do.
type Form struct {
	Fields map[string]string
	Files  map[string]File // by form field name
}

// encode writes the form with a boundary derived from its content, so the
// same form is the same bytes on every retry and every call: the server
// fingerprints the raw body under the Idempotency-Key, and a random
// boundary would make a retry of the same upload a different request.
func (f *Form) encode() ([]byte, string, error) {
	fields := sortedKeys(f.Fields)
	files := sortedKeys(f.Files)
	h := sha256.New()
	for _, k := range fields {
		fmt.Fprintf(h, "field %d:%s %d:%s\n", len(k), k, len(f.Fields[k]), f.Fields[k])
	}
	for _, k := range files {
		file := f.Files[k]
		fmt.Fprintf(h, "file %d:%s %d:%s %d:%s %d:", len(k), k, len(file.Name), file.Name,
			len(file.ContentType), file.ContentType, len(file.Content))
		h.Write(file.Content)
	}

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	// A content's own hash cannot occur in it, so it is a safe boundary.
	if err := w.SetBoundary("reconlayer-" + hex.EncodeToString(h.Sum(nil))[:48]); err != nil {
		return nil, "", err
	}
	for _, k := range fields {
		if err := w.WriteField(k, f.Fields[k]); err != nil {
			return nil, "", err
		}
	}
	for _, k := range files {
		file := f.Files[k]
		ph := textproto.MIMEHeader{}
		ph.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, quoteEscaper.Replace(k), quoteEscaper.Replace(file.Name)))
		ph.Set("Content-Type", cmp.Or(file.ContentType, "application/octet-stream"))
		part, err := w.CreatePart(ph)
		if err != nil {
			return nil, "", err
		}
		if _, err := part.Write(file.Content); err != nil {
			return nil, "", err
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

// quoteEscaper is mime/multipart's escaping of names in Content-Disposition.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// formOf builds the Form of an upload's parameters: each field tagged
// `form:"name"` is a form value (zero values left out) or, a File, the
// file part.
func formOf(v any) *Form {
	f := &Form{Fields: map[string]string{}, Files: map[string]File{}}
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		name := rv.Type().Field(i).Tag.Get("form")
		if name == "" {
			continue
		}
		switch fv := rv.Field(i).Interface().(type) {
		case File:
			f.Files[name] = fv
		case string:
			if fv != "" {
				f.Fields[name] = fv
			}
		case bool:
			if fv {
				f.Fields[name] = strconv.FormatBool(fv)
			}
		default:
			panic(fmt.Sprintf("client: form field %s of type %T", name, fv))
		}
	}
	return f
}
