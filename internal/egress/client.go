package egress

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// MaxRedirects is how many redirects the client follows before giving up.
const MaxRedirects = 3

// defaultTimeout replaces a non-positive timeout: a client that can wait forever on a
// customer's server is never what a caller wants.
const defaultTimeout = 10 * time.Second

// RefusedError is the error of a connection the client refused to open. It reaches the
// caller wrapped in *url.Error and *net.OpError; find it with errors.As.
type RefusedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused to connect to %s: %s address", e.Addr, e.Reason)
}

// NewClient returns a client for sending requests to customer URLs under policy p, with
// timeout bounding each request including redirects and reading the body.
//
// Every connection, including those for redirects, is checked against Refused at the moment
// it is opened, against the address actually dialled, so a name that resolves (or is
// rebound) to an internal address is refused. Proxies from the environment are ignored,
// since a proxy would make the connection on our behalf, past the check.
//
// Only 307 and 308 redirects are followed, at most MaxRedirects of them, and each target must
// pass the scheme rule of CheckURL. http.Client turns a POST into a bodiless GET on 301, 302
// and 303, which would report a delivery as successful without ever delivering the payload,
// so those responses are returned to the caller as they are. 307 and 308 keep the method and
// body; the body is sent again only if the request has GetBody, which http.NewRequest sets for
// *bytes.Reader, *bytes.Buffer and *strings.Reader bodies.
//
// The request URL itself is not re-validated: check it with CheckURL.
func NewClient(p Policy, timeout time.Duration) *http.Client {
	return newClient(p, timeout, nil)
}

// newClient is NewClient with allow consulted before the address rule, so that tests can let
// the client reach exactly the test servers they start.
func newClient(p Policy, timeout time.Duration, allow func(netip.Addr) bool) *http.Client {
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	dialer := &net.Dialer{
		Timeout:   min(timeout, 10*time.Second),
		KeepAlive: 30 * time.Second,
		Control:   control(p, allow),
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           512,
		MaxIdleConnsPerHost:    32,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  timeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	return &http.Client{
		Transport:     transport,
		CheckRedirect: checkRedirect(p),
		Timeout:       timeout,
	}
}

// control runs after the name is resolved and before the connection is made, with the
// address being connected to.
func control(p Policy, allow func(netip.Addr) bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("refused to connect to %q: not an IP address and port", address)
		}
		addr := ap.Addr()
		if allow != nil && allow(addr) {
			return nil
		}
		if p.AllowPrivate {
			return nil
		}
		if reason, refused := Refused(addr); refused {
			return &RefusedError{Addr: addr, Reason: reason}
		}
		return nil
	}
}

func checkRedirect(p Policy) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if req.Response != nil {
			switch req.Response.StatusCode {
			case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			default:
				return http.ErrUseLastResponse
			}
		}
		if len(via) > MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		if err := checkScheme(req.URL, p); err != nil {
			return fmt.Errorf("redirect to %s refused: %w", req.URL.Redacted(), err)
		}
		return nil
	}
}
