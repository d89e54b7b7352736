package client

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// queryOf encodes a list's parameters: each field tagged `query:"name"`
// (embedded structs included) whose value is not zero. A []string repeats
// the parameter; a *bool sends false too.
func queryOf(v any) string {
	q := url.Values{}
	addQuery(q, reflect.ValueOf(v))
	return q.Encode()
}

func addQuery(q url.Values, rv reflect.Value) {
	for i := range rv.NumField() {
		sf := rv.Type().Field(i)
		if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			addQuery(q, rv.Field(i))
			continue
		}
		name := sf.Tag.Get("query")
		if name == "" {
			continue
		}
		switch fv := rv.Field(i).Interface().(type) {
		case string:
			if fv != "" {
				q.Set(name, fv)
			}
		case []string:
			for _, s := range fv {
				q.Add(name, s)
			}
		case int:
			if fv != 0 {
				q.Set(name, strconv.Itoa(fv))
			}
		case *bool:
			if fv != nil {
				q.Set(name, strconv.FormatBool(*fv))
			}
		default:
			panic(fmt.Sprintf("client: query parameter %s of type %T", name, fv))
		}
	}
}

// withQuery appends the encoded query to path.
func withQuery(path string, params any) string {
	if params == nil {
		return path
	}
	if q := queryOf(params); q != "" {
		if strings.Contains(path, "?") {
			return path + "&" + q
		}
		return path + "?" + q
	}
	return path
}
