package egress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testTimeout = 5 * time.Second

// echo answers with the method and body it received and counts its requests.
type echo struct{ hits atomic.Int32 }

func (e *echo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.hits.Add(1)
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "%s %s", r.Method, body)
}

func newEcho(t *testing.T) (*httptest.Server, *echo) {
	t.Helper()
	e := &echo{}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, e
}

func redirectTo(t *testing.T, code int, target string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target, code)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func only(allowed ...netip.Addr) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		for _, b := range allowed {
			if a == b {
				return true
			}
		}
		return false
	}
}

var localhost = netip.MustParseAddr("127.0.0.1")

func post(t *testing.T, c *http.Client, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	resp, err := c.Do(req)
	if resp != nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func requireRefused(t *testing.T, err error, reason string) *RefusedError {
	t.Helper()
	var refused *RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, reason, refused.Reason)
	return refused
}

func TestClientRefusesLoopback(t *testing.T) {
	t.Parallel()

	srv, e := newEcho(t)
	_, err := post(t, NewClient(Policy{AllowInsecure: true}, testTimeout), srv.URL, "{}")
	refused := requireRefused(t, err, "loopback")
	require.Equal(t, localhost, refused.Addr)
	require.ErrorContains(t, err, "refused to connect to 127.0.0.1: loopback address")
	require.Zero(t, e.hits.Load())
}

func TestClientAllowPrivate(t *testing.T) {
	t.Parallel()

	srv, e := newEcho(t)
	resp, err := post(t, NewClient(Policy{AllowPrivate: true, AllowInsecure: true}, testTimeout), srv.URL, "{}")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "POST {}", readBody(t, resp))
	require.EqualValues(t, 1, e.hits.Load())
}

// The check is on the address dialled, not on the URL, so a name is refused once resolved.
func TestClientRefusesResolvedName(t *testing.T) {
	t.Parallel()

	srv, e := newEcho(t)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	require.NoError(t, err)
	_, err = post(t, NewClient(Policy{AllowInsecure: true}, testTimeout), "http://localhost:"+port+"/", "{}")
	requireRefused(t, err, "loopback")
	require.Zero(t, e.hits.Load())
}

func TestClientRefusesRedirectTarget(t *testing.T) {
	t.Parallel()

	// Linux routes all of 127/8 to lo, so a second loopback address stands in for an
	// internal host.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	e := &echo{}
	internal := httptest.NewUnstartedServer(e)
	internal.Listener.Close()
	internal.Listener = l
	internal.Start()
	t.Cleanup(internal.Close)

	srv := redirectTo(t, http.StatusTemporaryRedirect, internal.URL)
	c := newClient(Policy{AllowInsecure: true}, testTimeout, only(localhost))
	_, err = post(t, c, srv.URL, "{}")
	refused := requireRefused(t, err, "loopback")
	require.Equal(t, netip.MustParseAddr("127.0.0.2"), refused.Addr)
	require.Zero(t, e.hits.Load())
}

func TestClientFollows307And308WithBody(t *testing.T) {
	t.Parallel()

	for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()

			target, e := newEcho(t)
			srv := redirectTo(t, code, target.URL)
			c := NewClient(Policy{AllowPrivate: true, AllowInsecure: true}, testTimeout)
			resp, err := post(t, c, srv.URL, `{"id":"evt_1"}`)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, `POST {"id":"evt_1"}`, readBody(t, resp))
			require.EqualValues(t, 1, e.hits.Load())
		})
	}
}

func TestClientReturnsOtherRedirects(t *testing.T) {
	t.Parallel()

	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			t.Parallel()

			target, e := newEcho(t)
			srv := redirectTo(t, code, target.URL)
			c := NewClient(Policy{AllowPrivate: true, AllowInsecure: true}, testTimeout)
			resp, err := post(t, c, srv.URL, "{}")
			require.NoError(t, err)
			require.Equal(t, code, resp.StatusCode)
			require.Equal(t, target.URL, resp.Header.Get("Location"))
			require.Zero(t, e.hits.Load())
		})
	}
}

func TestClientStopsAfterMaxRedirects(t *testing.T) {
	t.Parallel()

	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/again", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)

	c := NewClient(Policy{AllowPrivate: true, AllowInsecure: true}, testTimeout)
	_, err := post(t, c, srv.URL, "{}")
	require.ErrorContains(t, err, "stopped after 3 redirects")
	require.EqualValues(t, 1+MaxRedirects, hits.Load())
}

func TestClientRefusesHTTPSDowngrade(t *testing.T) {
	t.Parallel()

	plain, e := newEcho(t)
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/downgrade" {
			http.Redirect(w, r, plain.URL, http.StatusTemporaryRedirect)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(secure.Close)

	c := newClient(Policy{}, testTimeout, only(localhost))
	c.Transport.(*http.Transport).TLSClientConfig.RootCAs = secure.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	// The client trusts the server, so the failure below is the downgrade and nothing else.
	resp, err := post(t, c, secure.URL, "{}")
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	_, err = post(t, c, secure.URL+"/downgrade", "{}")
	require.ErrorContains(t, err, "redirect to "+plain.URL+" refused: must use https")
	var refused *RefusedError
	require.False(t, errors.As(err, &refused))
	require.Zero(t, e.hits.Load())
}

func TestCheckRedirect(t *testing.T) {
	t.Parallel()

	redirect := func(code int, target string, hops int) (*http.Request, []*http.Request) {
		req := httptest.NewRequest(http.MethodPost, target, strings.NewReader("{}"))
		req.Response = &http.Response{StatusCode: code}
		return req, make([]*http.Request, hops)
	}
	tests := []struct {
		name    string
		policy  Policy
		code    int
		target  string
		hops    int
		wantErr string
	}{
		{"307 https", Policy{}, 307, "https://example.com/", 1, ""},
		{"308 https", Policy{}, 308, "https://example.com/", 1, ""},
		{"302 returned", Policy{}, 302, "https://example.com/", 1, "use last response"},
		{"downgrade", Policy{}, 307, "http://example.com/", 1, "must use https"},
		{"http allowed", Policy{AllowInsecure: true}, 307, "http://example.com/", 1, ""},
		{"third", Policy{}, 307, "https://example.com/", MaxRedirects, ""},
		{"fourth", Policy{}, 307, "https://example.com/", MaxRedirects + 1, "stopped after 3 redirects"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			err := checkRedirect(tt.policy)(redirect(tt.code, tt.target, tt.hops))
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}
