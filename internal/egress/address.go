package egress

import (
	"net/netip"
)

type refusedRange struct {
	prefix netip.Prefix
	reason string
}

// refusedRanges is checked in order, so the specific metadata addresses come before the
// ranges that contain them and name them more usefully.
var refusedRanges = []refusedRange{
	{netip.MustParsePrefix("169.254.169.254/32"), "cloud metadata"}, // AWS, GCP, Azure, …
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata"}, // Alibaba Cloud
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},  // AWS over IPv6

	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("255.255.255.255/32"), "broadcast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},

	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("fc00::/7"), "private"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
	// RFC 8215: translated by the local network to addresses of its choosing.
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): a DNS64/NAT64 network, as in AWS and GCP
// IPv6-only subnets, forwards 64:ff9b::a.b.c.d to the IPv4 address a.b.c.d.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Refused reports whether the service must not connect to ip, and if so names the class of
// address in reason ("loopback", "private", "link-local", "cloud metadata", …), phrased to be
// followed by the word "address".
func Refused(ip netip.Addr) (reason string, refused bool) {
	if !ip.IsValid() {
		return "invalid", true
	}
	// Prefix.Contains never matches a zoned address, and ::ffff:127.0.0.1 is 127.0.0.1 to the
	// kernel.
	ip = ip.WithZone("").Unmap()
	for _, r := range refusedRanges {
		if r.prefix.Contains(ip) {
			return r.reason, true
		}
	}
	if nat64.Contains(ip) {
		b := ip.As16()
		if reason, refused := Refused(netip.AddrFrom4([4]byte(b[12:]))); refused {
			return "NAT64-mapped " + reason, true
		}
	}
	return "", false
}
