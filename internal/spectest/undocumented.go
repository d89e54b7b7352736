package spectest

import (
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// undocumented lists, as JSON pointers with array indices written `*`, the
// members of value (a decoded JSON body) that no schema in ss declares.
//
// JSON Schema lets an object carry members its schema does not name unless
// the schema says additionalProperties: false, which the document does not
// say of every response: without this, a field a handler adds or renames
// (when the old name was optional) would never show as drift. An object
// whose schema names no members at all (metadata, details, payloads) or
// allows additional ones is open-ended and not looked into. The branches of
// oneOf and anyOf are taken together, which may miss a member that only a
// branch the value does not follow declares, never the reverse.
func undocumented(value any, ss []*openapi3.Schema) []string {
	var out []string
	walk(value, ss, "", &out)
	slices.Sort(out)
	return slices.Compact(out)
}

func walk(value any, ss []*openapi3.Schema, at string, out *[]string) {
	flat := flatten(ss)
	switch value := value.(type) {
	case map[string]any:
		props := map[string][]*openapi3.Schema{}
		var extra []*openapi3.Schema
		open := false
		for _, s := range flat {
			for name, p := range s.Properties {
				if p != nil && p.Value != nil {
					props[name] = append(props[name], p.Value)
				}
			}
			ap := s.AdditionalProperties
			switch {
			case ap.Schema != nil && ap.Schema.Value != nil:
				extra = append(extra, ap.Schema.Value)
			case ap.Has != nil && *ap.Has, len(s.PatternProperties) > 0, freeForm(s):
				open = true
			}
		}
		for name, member := range value {
			switch {
			case len(props[name]) > 0:
				walk(member, props[name], at+"/"+escape(name), out)
			case len(extra) > 0:
				walk(member, extra, at+"/"+escape(name), out)
			case !open:
				*out = append(*out, at+"/"+escape(name))
			}
		}
	case []any:
		for i, item := range value {
			var items []*openapi3.Schema
			for _, s := range flat {
				if i < len(s.PrefixItems) && s.PrefixItems[i].Value != nil {
					items = append(items, s.PrefixItems[i].Value)
				} else if s.Items != nil && s.Items.Value != nil {
					items = append(items, s.Items.Value)
				}
			}
			if len(items) > 0 {
				walk(item, items, at+"/*", out)
			}
		}
	}
}

// flatten is ss with every schema they compose (allOf, oneOf, anyOf,
// if/then/else), each once.
func flatten(ss []*openapi3.Schema) []*openapi3.Schema {
	var flat []*openapi3.Schema
	seen := map[*openapi3.Schema]bool{}
	var add func(s *openapi3.Schema)
	add = func(s *openapi3.Schema) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		flat = append(flat, s)
		for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf, {s.If, s.Then, s.Else}} {
			for _, r := range group {
				if r != nil {
					add(r.Value)
				}
			}
		}
	}
	for _, s := range ss {
		add(s)
	}
	return flat
}

// freeForm reports whether s allows any object without naming members:
// `{}`, `true`, `{type: object}` and the like.
func freeForm(s *openapi3.Schema) bool {
	if s.Always != nil {
		return *s.Always
	}
	return len(s.Properties) == 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil &&
		len(s.AllOf) == 0 && len(s.OneOf) == 0 && len(s.AnyOf) == 0 && s.If == nil &&
		len(s.Required) == 0 && s.Const == nil && len(s.Enum) == 0 && s.Type.Permits(openapi3.TypeObject)
}

// escape writes a member name as a JSON pointer token (RFC 6901).
func escape(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}
