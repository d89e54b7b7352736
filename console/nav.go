package console

// navItem is one entry of the header's navigation. Children make a nested
// list under their parent (Developers → API keys, Webhooks, Rules).
type navItem struct {
	Section  string // what a page names in view.Section to be marked current
	Label    string
	Path     string
	Children []navItem
}

// nav is the console's navigation, in the order the header lists it. A page
// group adds its entry here when its pages exist; the planned ones are, in
// this order: Cases, Imports, Ledger runs, Expected payments, Developers
// (API keys, Webhooks, Rules), Audit.
var nav = []navItem{
	{Section: "overview", Label: "Overview", Path: Prefix},
	{Section: "cases", Label: "Cases", Path: Prefix + "/cases"},
	{Section: "imports", Label: "Imports", Path: Prefix + "/imports"},
	{Section: "ledger-runs", Label: "Ledger runs", Path: Prefix + "/ledger-runs"},
	{Section: "expected-payments", Label: "Expected payments", Path: Prefix + "/expected-payments"},
	{Section: "developers", Label: "Developers", Path: Prefix + "/api-keys", Children: []navItem{
		{Section: "api-keys", Label: "API keys", Path: Prefix + "/api-keys"},
		{Section: "webhooks", Label: "Webhooks", Path: Prefix + "/webhooks"},
		{Section: "rules", Label: "Rules", Path: Prefix + "/rules"},
	}},
	{Section: "audit", Label: "Audit", Path: Prefix + "/audit"},
}

// navLink is a navItem as rendered for one page.
type navLink struct {
	Label, Path string
	Current     bool
	Children    []navLink
}

// navFor renders nav with the entry of section (or its child) marked current.
func navFor(section string) []navLink {
	return linksFor(nav, section)
}

func linksFor(items []navItem, section string) []navLink {
	out := make([]navLink, len(items))
	for i, it := range items {
		out[i] = navLink{Label: it.Label, Path: it.Path, Current: it.Section == section, Children: linksFor(it.Children, section)}
	}
	return out
}
