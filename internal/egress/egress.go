// Package egress sends HTTP requests to URLs customers configure (webhook endpoints) without
// letting them reach the service's own network (SSRF).
//
// There are two layers. CheckURL validates a URL when a customer saves it and refuses what is
// wrong on its face (wrong scheme, credentials, an IP literal inside our network). It does not
// resolve host names, because what a name resolves to can change after it was checked. The
// client from NewClient is the layer that matters: it checks the address of every connection it
// actually opens, so DNS rebinding, redirects and names that resolve to internal addresses are
// all refused at dial time.
package egress

// Policy relaxes the rules for local development and tests. The zero value is the production
// policy.
type Policy struct {
	// AllowPrivate allows loopback, private, link-local, metadata and other non-public
	// destinations.
	AllowPrivate bool
	// AllowInsecure allows http:// URLs; otherwise only https:// is accepted.
	AllowInsecure bool
}
