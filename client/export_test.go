package client

// RouteTemplates is every route a typed method calls, as "METHOD
// /path/{template}": the integration tests check they exercised each.
func RouteTemplates() []string {
	out := make([]string, 0, len(routes))
	for _, r := range routes {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}
