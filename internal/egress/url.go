package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLength is the longest URL CheckURL accepts.
const MaxURLLength = 2048

const (
	refusedHint = "private, loopback, link-local, multicast and metadata addresses are refused " +
		"(set RECONLAYER_WEBHOOK_ALLOW_PRIVATE=true to allow them)"
	insecureHint = "http is allowed only when RECONLAYER_WEBHOOK_ALLOW_INSECURE=true"
)

// CheckURL validates a webhook URL when a customer saves it and returns it parsed. Errors are
// sentences meant for the API client, written to follow the field name ("url must not contain
// credentials").
//
// Host names are not resolved: what they resolve to is checked on every connection by the
// client from NewClient, which is what actually keeps requests out of our network.
func CheckURL(raw string, p Policy) (*url.URL, error) {
	switch {
	case raw == "":
		return nil, errors.New("must not be empty")
	case len(raw) > MaxURLLength:
		return nil, fmt.Errorf("must be at most %d characters long", MaxURLLength)
	case strings.TrimSpace(raw) != raw:
		return nil, errors.New("must not have leading or trailing spaces")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the whole URL back; the client already knows it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fmt.Errorf("is not a valid URL: %v", err)
	}
	if !u.IsAbs() {
		return nil, errors.New("must be an absolute URL such as https://example.com/webhooks")
	}
	if err := checkScheme(u, p); err != nil {
		return nil, err
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("must be of the form %s://host/path", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("must not contain credentials")
	}
	// url.Parse drops an empty fragment ("…/hook#"), so look at the input.
	if strings.Contains(raw, "#") {
		return nil, errors.New("must not contain a fragment (#…)")
	}
	if err := checkHost(u, p); err != nil {
		return nil, err
	}
	return u, nil
}

// checkScheme is the scheme rule of CheckURL, also applied to every redirect target.
func checkScheme(u *url.URL, p Policy) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if p.AllowInsecure {
			return nil
		}
		return fmt.Errorf("must use https (%s)", insecureHint)
	default:
		return fmt.Errorf("must use https, not %q", u.Scheme)
	}
}

func checkHost(u *url.URL, p Policy) error {
	host := u.Hostname()
	if host == "" {
		return errors.New("must have a host")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s is not between 1 and 65535", port)
		}
	}

	// url.Parse has already refused brackets around anything but an IPv6 address.
	if ip, err := netip.ParseAddr(host); err == nil {
		return checkIP(ip, p)
	}
	return checkHostname(host, p)
}

func checkIP(ip netip.Addr, p Policy) error {
	if p.AllowPrivate {
		return nil
	}
	if reason, refused := Refused(ip); refused {
		return fmt.Errorf("host %s is %s %s address; %s", ip, article(reason), reason, refusedHint)
	}
	return nil
}

// checkHostname refuses what is not a DNS name, and names that are internal by definition.
// Anything else may still resolve to an internal address; the dialer catches that.
func checkHostname(host string, p Policy) error {
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if len(name) > 253 {
		return errors.New("host name must be at most 253 characters long")
	}
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("host %q is not a valid host name", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("host %q is not a valid host name (international names must be written in their xn-- form)", host)
			}
		}
	}
	// Resolvers and browsers read 127.1, 0x7f.0.0.1 and 2130706433 as IPv4 addresses
	// (WHATWG URL: a numeric last label makes the host an IPv4 address), so they are not
	// names, and refusing them keeps the address rule from being dodged by notation.
	if numeric(labels[len(labels)-1]) {
		return fmt.Errorf("host %q looks like an IPv4 address in a non-standard notation; write it as four decimal numbers (a.b.c.d)", host)
	}
	if !p.AllowPrivate && (name == "localhost" || strings.HasSuffix(name, ".localhost")) {
		return fmt.Errorf("host %s is a loopback name; %s", host, refusedHint)
	}
	return nil
}

func numeric(label string) bool {
	if hex, ok := strings.CutPrefix(label, "0x"); ok {
		return strings.Trim(hex, "0123456789abcdef") == ""
	}
	return strings.Trim(label, "0123456789") == ""
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}
