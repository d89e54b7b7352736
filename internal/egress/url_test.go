package egress

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckURL(t *testing.T) {
	t.Parallel()

	var (
		prod     = Policy{}
		insecure = Policy{AllowInsecure: true}
		private  = Policy{AllowPrivate: true}
		dev      = Policy{AllowPrivate: true, AllowInsecure: true}
	)
	tests := []struct {
		name    string
		raw     string
		policy  Policy
		wantErr string // substring; empty: accepted
	}{
		{"https", "https://example.com/webhooks", prod, ""},
		{"https with port and query", "https://hooks.example.com:8443/in?tenant=a", prod, ""},
		{"upper-case scheme", "HTTPS://example.com/", prod, ""},
		{"trailing dot", "https://example.com./", prod, ""},
		{"public IPv4", "https://1.1.1.1/", prod, ""},
		{"public IPv6", "https://[2606:4700::1111]/", prod, ""},
		{"public IPv6 with port", "https://[2606:4700::1111]:8443/", prod, ""},
		{"http refused", "http://example.com/", prod, "must use https (http is allowed only when RECONLAYER_WEBHOOK_ALLOW_INSECURE=true)"},
		{"http allowed", "http://example.com/", insecure, ""},
		{"ftp", "ftp://example.com/", dev, `must use https, not "ftp"`},
		{"javascript", "javascript:alert(1)", dev, `must use https, not "javascript"`},
		{"opaque", "https:example.com", prod, "must be of the form https://host/path"},
		{"credentials", "https://user:pass@example.com/", prod, "must not contain credentials"},
		{"user only", "https://user@example.com/", prod, "must not contain credentials"},
		{"fragment", "https://example.com/#top", prod, "must not contain a fragment"},
		{"empty fragment", "https://example.com/#", prod, "must not contain a fragment"},
		{"relative", "/webhooks", prod, "must be an absolute URL"},
		{"scheme-relative", "//example.com/webhooks", prod, "must be an absolute URL"},
		{"no host", "https:///webhooks", prod, "must have a host"},
		{"port only", "https://:443/", prod, "must have a host"},
		{"empty", "", prod, "must not be empty"},
		{"spaces", " https://example.com/", prod, "must not have leading or trailing spaces"},
		{"unparsable", "https://exa mple.com/", prod, "is not a valid URL"},
		{"port zero", "https://example.com:0/", prod, "port 0 is not between 1 and 65535"},
		{"port too big", "https://example.com:65536/", prod, "port 65536 is not between 1 and 65535"},
		{"bad hostname", "https://exa_mple..com/", prod, "is not a valid host name"},
		{"unicode hostname", "https://bücher.example/", prod, "xn-- form"},
		{"too long", "https://example.com/" + strings.Repeat("a", MaxURLLength), prod, "must be at most 2048 characters long"},
		{"longest", "https://example.com/" + strings.Repeat("a", MaxURLLength-len("https://example.com/")), prod, ""},

		{"loopback literal", "https://127.0.0.1/", prod, "host 127.0.0.1 is a loopback address; private, loopback, link-local, multicast and metadata addresses are refused (set RECONLAYER_WEBHOOK_ALLOW_PRIVATE=true to allow them)"},
		{"loopback literal allowed", "https://127.0.0.1:8080/", private, ""},
		{"private literal", "https://10.0.0.1/", prod, "host 10.0.0.1 is a private address"},
		{"metadata literal", "http://169.254.169.254/latest/meta-data/", insecure, "host 169.254.169.254 is a cloud metadata address"},
		{"unspecified literal", "https://0.0.0.0/", prod, "host 0.0.0.0 is an unspecified address"},
		{"bracketed IPv6 loopback", "https://[::1]:8443/", prod, "host ::1 is a loopback address"},
		{"bracketed IPv6 loopback allowed", "https://[::1]:8443/", private, ""},
		{"bracketed mapped IPv4", "https://[::ffff:127.0.0.1]/", prod, "is a loopback address"},
		{"bracketed NAT64", "https://[64:ff9b::a9fe:a9fe]/", prod, "is a NAT64-mapped cloud metadata address"},
		{"bracketed zone", "https://[fe80::1%25eth0]/", prod, "is a link-local address"},
		{"percent-encoded literal", "https://%31%32%37.0.0.1/", prod, "is not a valid URL"},
		{"bracketed IPv4", "https://[127.0.0.1]/", private, "is not a valid URL"},
		{"bracketed name", "https://[example.com]/", prod, "is not a valid"},
		{"short IPv4", "https://127.1/", prod, "non-standard notation"},
		{"decimal IPv4", "https://2130706433/", prod, "non-standard notation"},
		{"hex IPv4", "https://0x7f.0.0.1/", prod, "non-standard notation"},
		{"octal IPv4", "https://0177.0.0.1/", prod, "non-standard notation"},
		{"numeric label not last", "https://1.example.com/", prod, ""},
		{"localhost", "https://localhost/", prod, "host localhost is a loopback name"},
		{"sub.localhost", "https://api.localhost/", prod, "loopback name"},
		{"localhost allowed", "http://localhost:8080/", dev, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			u, err := CheckURL(tt.raw, tt.policy)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				require.Nil(t, u)
				return
			}
			require.NoError(t, err)
			require.True(t, u.IsAbs())
		})
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, seed := range []string{
		"https://example.com/webhooks",
		"http://example.com:8080/a?b=c",
		"https://[2606:4700::1111]:443/",
		"https://[fe80::1%25eth0]/",
		"https://user:pass@example.com/",
		"https://127.0.0.1/",
		"https://0x7f.1/",
		"https://example.com/#frag",
		"ftp://example.com/",
		"/relative",
		"https:opaque",
	} {
		f.Add(seed, false, false)
	}
	f.Fuzz(func(t *testing.T, raw string, allowPrivate, allowInsecure bool) {
		p := Policy{AllowPrivate: allowPrivate, AllowInsecure: allowInsecure}
		u, err := CheckURL(raw, p)
		if err != nil {
			require.Nil(t, u)
			return
		}
		require.LessOrEqual(t, len(raw), MaxURLLength)
		require.True(t, u.IsAbs())
		require.True(t, u.Scheme == "https" || u.Scheme == "http" && allowInsecure, "scheme %q", u.Scheme)
		require.NotEmpty(t, u.Hostname())
		require.Nil(t, u.User)
		require.Empty(t, u.Fragment)
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && !allowPrivate {
			_, refused := Refused(ip)
			require.False(t, refused, "accepted %s", ip)
		}
	})
}
