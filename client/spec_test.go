package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/api"
)

// The client is checked against api/openapi.yaml, the contract: every route
// a typed method calls is an operation of the spec, with the query
// parameters, request fields and response fields the client uses. A field
// renamed on either side fails here.
func TestRoutesMatchTheSpec(t *testing.T) {
	t.Parallel()
	doc, err := api.Spec()
	require.NoError(t, err)
	require.NotEmpty(t, routes)
	for _, r := range routes {
		name := r.Method + " " + r.Path
		if r.Multipart {
			name += " (multipart)"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Empty(t, checkRoute(doc, r))
		})
	}
}

// The envelope the client decodes errors into is the spec's Error.
func TestErrorMatchesTheSpec(t *testing.T) {
	t.Parallel()
	doc, err := api.Spec()
	require.NoError(t, err)
	schema := doc.Components.Schemas["Error"]
	require.NotNil(t, schema)
	require.Empty(t, checkType("Error", reflect.TypeFor[Error](), schema, "json", true))
}

// The check itself catches what it is for: a field the spec does not name,
// a required field the client lacks, a query parameter or an operation the
// spec does not have.
func TestSpecCheckCatchesDrift(t *testing.T) {
	t.Parallel()
	doc, err := api.Spec()
	require.NoError(t, err)

	type renamed struct {
		ExternalRef string `json:"externalRef"`
	}
	problems := checkRoute(doc, routeInfo{Method: http.MethodPost, Path: "/v1/payment-intents",
		Body: reflect.TypeFor[renamed](), Response: reflect.TypeFor[PaymentIntentCreated]()})
	require.Contains(t, strings.Join(problems, "\n"), "externalRef: not in the spec")
	require.Contains(t, strings.Join(problems, "\n"), "lacks required externalReference")

	type shortCase struct {
		ID string `json:"id"`
	}
	problems = checkRoute(doc, routeInfo{Method: http.MethodGet, Path: "/v1/reconciliation-cases/{id}", Response: reflect.TypeFor[shortCase]()})
	require.Contains(t, strings.Join(problems, "\n"), "lacks required verdict")

	type nested struct {
		Items []struct {
			Verdikt string `json:"verdikt"`
		} `json:"items"`
	}
	problems = checkRoute(doc, routeInfo{Method: http.MethodGet, Path: "/v1/reconciliation-cases", Response: reflect.TypeFor[nested]()})
	require.Contains(t, strings.Join(problems, "\n"), "items[].verdikt: not in the spec")

	type badQuery struct {
		Sort string `query:"sort"`
	}
	problems = checkRoute(doc, routeInfo{Method: http.MethodGet, Path: "/v1/reconciliation-cases", Query: reflect.TypeFor[badQuery]()})
	require.Contains(t, strings.Join(problems, "\n"), "query parameter sort")

	problems = checkRoute(doc, routeInfo{Method: http.MethodPost, Path: "/v1/payment-intent"})
	require.Contains(t, strings.Join(problems, "\n"), "no such path")
}

// checkRoute lists what r does not share with the spec's operation.
func checkRoute(doc *openapi3.T, r routeInfo) []string {
	item := doc.Paths.Value(r.Path)
	if item == nil {
		return []string{r.Path + ": no such path in the spec"}
	}
	op := item.GetOperation(r.Method)
	if op == nil {
		return []string{r.Method + " " + r.Path + ": no such operation in the spec"}
	}
	var problems []string
	params := append(slices.Clone(item.Parameters), op.Parameters...)
	has := func(in, name string) bool {
		return slices.ContainsFunc(params, func(p *openapi3.ParameterRef) bool {
			return p.Value.In == in && strings.EqualFold(p.Value.Name, name)
		})
	}
	// The client sends an Idempotency-Key on POST only: the spec must take
	// it on every POST, and on no other method.
	if (r.Method == http.MethodPost) != has(openapi3.ParameterInHeader, "Idempotency-Key") {
		problems = append(problems, fmt.Sprintf("Idempotency-Key: the client sends it on POST only, the spec takes it here: %v",
			has(openapi3.ParameterInHeader, "Idempotency-Key")))
	}
	if r.Query != nil {
		for _, name := range tagNames(r.Query, "query") {
			if !has(openapi3.ParameterInQuery, name) {
				problems = append(problems, "query parameter "+name+": not in the spec")
			}
		}
	}
	if r.Body != nil {
		contentType, tag := "application/json", "json"
		if r.Multipart {
			contentType, tag = "multipart/form-data", "form"
		}
		var mt *openapi3.MediaType
		if op.RequestBody != nil {
			mt = op.RequestBody.Value.Content.Get(contentType)
		}
		if mt == nil {
			problems = append(problems, "request body: the spec takes no "+contentType)
		} else {
			problems = append(problems, checkType("request", r.Body, mt.Schema, tag, true)...)
		}
	}
	if r.Response != nil {
		checked := 0
		for code, resp := range op.Responses.Map() {
			if !strings.HasPrefix(code, "2") || resp.Value == nil {
				continue
			}
			if mt := resp.Value.Content.Get("application/json"); mt != nil {
				checked++
				problems = append(problems, checkType("response "+code, r.Response, mt.Schema, "json", true)...)
			}
		}
		if checked == 0 {
			problems = append(problems, "response: the spec answers no JSON")
		}
	}
	return problems
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
	fileType = reflect.TypeFor[File]()
)

// checkType lists where t's field names (by tag) differ from schema: a
// field the schema does not have, and, with required, a required property
// t does not have. Nested structs, slices and maps are followed.
func checkType(at string, t reflect.Type, schema *openapi3.SchemaRef, tag string, required bool) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if schema == nil || schema.Value == nil || t == timeType || t == rawType || t == fileType {
		return nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil // []byte: a base64 string
		}
		items := collect(schema, func(s *openapi3.Schema) *openapi3.SchemaRef { return s.Items })
		if items == nil {
			return []string{at + ": a list in the client, not in the spec"}
		}
		return checkType(at+"[]", t.Elem(), items, tag, required)
	case reflect.Map:
		add := collect(schema, func(s *openapi3.Schema) *openapi3.SchemaRef { return s.AdditionalProperties.Schema })
		if add == nil {
			return nil
		}
		return checkType(at+"{}", t.Elem(), add, tag, required)
	case reflect.Struct:
	default:
		return nil
	}
	props, req := properties(schema)
	var problems []string
	fields := structFields(t, tag)
	for name, ft := range fields {
		p, ok := props[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s.%s: not in the spec", at, name))
			continue
		}
		if tag == "json" {
			problems = append(problems, checkType(at+"."+name, ft, p, tag, required)...)
		}
	}
	if required {
		for _, name := range req {
			if _, ok := fields[name]; !ok {
				problems = append(problems, fmt.Sprintf("%s: the client lacks required %s", at, name))
			}
		}
	}
	slices.Sort(problems)
	return problems
}

// collect finds f's schema in s or, through allOf, anyOf and oneOf, in the
// schemas s combines (nullable fields are anyOf [X, null]).
func collect(s *openapi3.SchemaRef, f func(*openapi3.Schema) *openapi3.SchemaRef) *openapi3.SchemaRef {
	if s == nil || s.Value == nil {
		return nil
	}
	if r := f(s.Value); r != nil {
		return r
	}
	for _, group := range []openapi3.SchemaRefs{s.Value.AllOf, s.Value.AnyOf, s.Value.OneOf} {
		for _, sub := range group {
			if r := collect(sub, f); r != nil {
				return r
			}
		}
	}
	return nil
}

// properties is every property s may have, and those it always has:
// required at the top or in an allOf member (an anyOf or oneOf member's
// required holds for that alternative only).
func properties(s *openapi3.SchemaRef) (map[string]*openapi3.SchemaRef, []string) {
	props := map[string]*openapi3.SchemaRef{}
	var required []string
	var walk func(s *openapi3.SchemaRef, always bool)
	walk = func(s *openapi3.SchemaRef, always bool) {
		if s == nil || s.Value == nil {
			return
		}
		for name, p := range s.Value.Properties {
			// A property an allOf member narrows (a const, a null) keeps
			// its fuller schema for the nested check.
			if _, seen := props[name]; !seen || len(p.Value.Properties) > 0 || p.Value.Items != nil {
				props[name] = p
			}
		}
		if always {
			required = append(required, s.Value.Required...)
		}
		for _, sub := range s.Value.AllOf {
			walk(sub, always)
		}
		for _, sub := range append(slices.Clone(s.Value.AnyOf), s.Value.OneOf...) {
			walk(sub, false)
		}
	}
	walk(s, true)
	slices.Sort(required)
	return props, slices.Compact(required)
}

// structFields maps the names encoding/json (tag "json") or the client's
// own encoders (tag "form", "query") give t's fields to their types,
// embedded structs flattened.
func structFields(t reflect.Type, tag string) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get(tag), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range structFields(f.Type, tag) {
				out[k] = v
			}
			continue
		}
		if name == "-" || !f.IsExported() || (name == "" && tag != "json") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func tagNames(t reflect.Type, tag string) []string {
	var names []string
	for name := range structFields(t, tag) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
