package client

import (
	"context"
	"fmt"
	"net/url"
	"reflect"
	"strings"
)

// none stands for a route's missing query, body or response.
type none struct{}

// route is one operation of the API as the typed methods call it: its
// method, path template and the Go types of its query parameters (Q), body
// (B) and success answer (R). A typed method can only send what its route
// declares, and routes lists every route, so a test checks each against
// api/openapi.yaml: the operation exists and the JSON names of Q, B and R
// are the spec's.
type route[Q, B, R any] struct {
	method, path string
	multipart    bool // B is sent as multipart/form-data (form tags)
}

// routeInfo is a route without its type parameters.
type routeInfo struct {
	Method, Path          string
	Query, Body, Response reflect.Type // nil: none
	Multipart             bool
}

var routes []routeInfo

func typeOf[T any]() reflect.Type {
	t := reflect.TypeFor[T]()
	if t == reflect.TypeFor[none]() {
		return nil
	}
	return t
}

func newRoute[Q, B, R any](method, path string) *route[Q, B, R] {
	routes = append(routes, routeInfo{Method: method, Path: path, Query: typeOf[Q](), Body: typeOf[B](), Response: typeOf[R]()})
	return &route[Q, B, R]{method: method, path: path}
}

func newMultipartRoute[Q, B, R any](method, path string) *route[Q, B, R] {
	r := newRoute[Q, B, R](method, path)
	routes[len(routes)-1].Multipart = true
	r.multipart = true
	return r
}

// call sends the route with its path parameters args (in the order of the
// template) and returns the decoded answer.
func (rt *route[Q, B, R]) call(ctx context.Context, c *Client, args []string, query Q, body B, opts []RequestOption) (*R, *Response, error) {
	path, err := expand(rt.path, args)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", rt.method, rt.path, err)
	}
	if !isNone(query) {
		path = withQuery(path, query)
	}
	var b any
	switch {
	case isNone(body):
	case rt.multipart:
		b = formOf(body)
	default:
		b = body
	}
	var out R
	resp, err := c.Do(ctx, rt.method, path, b, &out, opts...)
	if err != nil {
		return nil, resp, err
	}
	return &out, resp, nil
}

func isNone[T any](v T) bool {
	_, ok := any(v).(none)
	return ok
}

// expand fills the template's {placeholders} with args, escaped.
func expand(template string, args []string) (string, error) {
	var sb strings.Builder
	rest, i := template, 0
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			sb.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest[open:], '}')
		if i >= len(args) {
			return "", fmt.Errorf("missing %s", rest[open:open+end+1])
		}
		if args[i] == "" {
			return "", fmt.Errorf("empty %s", rest[open:open+end+1])
		}
		sb.WriteString(rest[:open])
		sb.WriteString(url.PathEscape(args[i]))
		rest, i = rest[open+end+1:], i+1
	}
	if i != len(args) {
		return "", fmt.Errorf("%d path parameters for %d placeholders", len(args), i)
	}
	return sb.String(), nil
}
