package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/validate"
)

// issues collects validation failures so that one response names every bad field.
type issues = validate.Issues

// invalid is the 400 naming every issue, or nil when there are none.
func invalid(is issues) error {
	if len(is) == 0 {
		return nil
	}
	e := NewError(http.StatusBadRequest, CodeInvalidRequest, "Request validation failed: %s", is[0].Message)
	if len(is) > 1 {
		e.Message = fmt.Sprintf("Request validation failed: %d problems, see issues.", len(is))
	}
	e.Issues = is
	return e
}

// validator is implemented by request bodies with rules beyond their JSON shape.
type validator interface{ validate(is *issues) }

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readBody reads the whole body within the route's limit (413 past it). The
// body is kept on the context so that middleware and handler share one read.
func (s *server) readBody(c *gin.Context) ([]byte, error) {
	if b, ok := c.Get(ctxBody); ok {
		return b.([]byte), nil
	}
	limit := s.opts.MaxJSONBodyBytes
	if l, ok := c.Get(ctxBodyLimit); ok {
		limit = l.(int64)
	}
	tooLarge := func() error {
		e := NewError(http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
			"Request body exceeds the %s limit of this route.", humanBytes(limit))
		e.Details = gin.H{"limitBytes": limit}
		return e
	}
	if c.Request.ContentLength > limit {
		return nil, tooLarge()
	}
	b, err := io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
	if err != nil {
		return nil, NewError(http.StatusBadRequest, CodeInvalidRequest, "Could not read the request body.")
	}
	if int64(len(b)) > limit {
		return nil, tooLarge()
	}
	c.Set(ctxBody, b)
	return b, nil
}

const (
	ctxBody      = "body"
	ctxBodyLimit = "bodyLimit"
)

// bodyLimit sets a route's body limit, for routes that take more than JSON
// (file uploads).
func bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) { c.Set(ctxBodyLimit, n) }
}

// bindJSON decodes the request body into dst strictly: JSON content type,
// well-formed, no unknown fields, every field of the right type, then dst's
// own rules. Every failure is answered in the envelope; it returns false then.
func (s *server) bindJSON(c *gin.Context, dst any) bool {
	if err := s.decodeJSON(c, dst); err != nil {
		abort(c, err)
		return false
	}
	return true
}

// bindOptionalJSON is bindJSON for actions whose body may be left out.
func (s *server) bindOptionalJSON(c *gin.Context, dst any) bool {
	body, err := s.readBody(c)
	if err != nil {
		abort(c, err)
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	return s.bindJSON(c, dst)
}

func (s *server) decodeJSON(c *gin.Context, dst any) error {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
				"Content-Type must be application/json, got %q.", ct)
		}
	} else {
		return NewError(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"Content-Type must be application/json; the header is missing.")
	}
	body, err := s.readBody(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		var is issues
		is.Add(nil, "The request body is empty; send a JSON object.")
		return invalid(is)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return malformed(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return malformed(errors.New("unexpected data after the JSON value"))
	}
	var shape issues
	rejectNUL(raw, nil, &shape)
	checkShape(raw, reflect.TypeOf(dst).Elem(), nil, &shape)
	if len(shape) > 0 {
		// Decode what is well formed, so the rules below still run and one
		// response names every problem: encoding/json would stop at the first
		// bad value.
		for _, is := range shape {
			raw = without(raw, is.Path)
		}
		body, _ = json.Marshal(raw)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		// checkShape accepts only what Unmarshal accepts; this is a safety net.
		shape.Add(nil, "The request body does not match the expected shape.")
		return invalid(shape)
	}
	var rules issues
	if v, ok := dst.(validator); ok {
		v.validate(&rules)
	}
	all := shape
	for _, r := range rules {
		// A field with a shape problem was not decoded: its rule findings are noise.
		if !slices.ContainsFunc(shape, func(s Issue) bool { return overlaps(s.Path, r.Path) }) {
			all = append(all, r)
		}
	}
	return invalid(all)
}

// without removes the value at path from a decoded JSON document (an array
// element becomes null, keeping the other indices).
func without(v any, path []string) any {
	if len(path) == 0 {
		return map[string]any{}
	}
	switch t := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(t, path[0])
		} else if child, ok := t[path[0]]; ok {
			t[path[0]] = without(child, path[1:])
		}
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(t) {
			return v
		}
		if len(path) == 1 {
			t[i] = nil
		} else {
			t[i] = without(t[i], path[1:])
		}
	}
	return v
}

// overlaps tells whether one path is a prefix of the other.
func overlaps(a, b []string) bool {
	n := min(len(a), len(b))
	return slices.Equal(a[:n], b[:n])
}

func malformed(err error) error {
	var is issues
	msg := err.Error()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		msg = fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	is.Add(nil, "Malformed JSON: %s", strings.TrimPrefix(msg, "json: "))
	return invalid(is)
}

// rejectNUL finds strings (keys or values, free-form metadata included) that
// hold U+0000: valid JSON, but Postgres text and jsonb cannot store it, so
// it would otherwise fail the write with a 500.
func rejectNUL(v any, path []string, is *issues) {
	const msg = "Must not contain the NUL character (\\u0000)."
	switch t := v.(type) {
	case string:
		if strings.ContainsRune(t, 0) {
			is.Add(path, msg)
		}
	case []any:
		for i, e := range t {
			rejectNUL(e, append(path, strconv.Itoa(i)), is)
		}
	case map[string]any:
		for k, e := range t {
			if strings.ContainsRune(k, 0) {
				is.Add(append(path, k), msg)
				continue
			}
			rejectNUL(e, append(path, k), is)
		}
	}
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	timeType        = reflect.TypeFor[time.Time]()
)

// checkShape walks the decoded JSON against dst's type and records every
// unknown field and wrongly typed value with its path, so a client sees all
// of them at once (encoding/json stops at the first and names no path).
func checkShape(raw any, t reflect.Type, path []string, is *issues) {
	if t == rawMessageType || t.Kind() == reflect.Interface {
		return
	}
	if t.Kind() == reflect.Pointer {
		if raw == nil {
			return
		}
		checkShape(raw, t.Elem(), path, is)
		return
	}
	if d, ok := reflect.New(t).Elem().Interface().(interface{ shapeType() reflect.Type }); ok {
		if raw != nil {
			checkShape(raw, d.shapeType(), path, is)
		}
		return
	}
	if t == timeType {
		s, ok := raw.(string)
		if _, err := time.Parse(time.RFC3339, s); !ok || err != nil {
			is.Add(path, "Must be an RFC 3339 timestamp such as 2026-01-02T15:04:05Z.")
		}
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, reflect.New(t).Interface()); err != nil {
			is.Add(path, "%s", validate.Sentence(strings.TrimPrefix(err.Error(), "json: ")))
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			is.Add(path, "Must be an object.")
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				is.Add(append(path, k), "Unknown field %q.", k)
				continue
			}
			checkShape(obj[k], f, append(path, k), is)
		}
	case reflect.Slice:
		if raw == nil {
			return
		}
		arr, ok := raw.([]any)
		if !ok {
			is.Add(path, "Must be an array.")
			return
		}
		for i, v := range arr {
			checkShape(v, t.Elem(), append(path, strconv.Itoa(i)), is)
		}
	case reflect.Map:
		if raw == nil {
			return
		}
		obj, ok := raw.(map[string]any)
		if !ok {
			is.Add(path, "Must be an object.")
			return
		}
		for k, v := range obj {
			checkShape(v, t.Elem(), append(path, k), is)
		}
	case reflect.String:
		if _, ok := raw.(string); !ok {
			is.Add(path, "Must be a string.")
		}
	case reflect.Bool:
		if _, ok := raw.(bool); !ok {
			is.Add(path, "Must be true or false.")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := raw.(json.Number)
		if !ok {
			is.Add(path, "Must be an integer.")
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			is.Add(path, "Must be an integer that fits in %d bits.", t.Bits())
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := raw.(json.Number); !ok {
			is.Add(path, "Must be a number.")
		}
	default:
		is.Add(path, "Unsupported value.")
	}
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps a struct's JSON names to field types (exported fields,
// embedded structs flattened, `json:"-"` skipped).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for k, v := range jsonFields(ft) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
