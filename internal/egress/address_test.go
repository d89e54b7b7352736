package egress

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRefused(t *testing.T) {
	t.Parallel()

	tests := []struct {
		addr   string
		reason string // empty: allowed
	}{
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"10.0.0.1", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"169.254.0.1", "link-local"},
		{"169.254.169.254", "cloud metadata"},
		{"169.254.170.2", "link-local"},
		{"100.64.0.1", "shared (CGNAT)"},
		{"100.127.255.255", "shared (CGNAT)"},
		{"100.100.100.200", "cloud metadata"},
		{"192.0.0.8", "IETF protocol assignment"},
		{"198.18.0.1", "benchmarking"},
		{"198.19.255.255", "benchmarking"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"255.255.255.255", "broadcast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.254", "reserved"},

		{"::", "unspecified"},
		{"::1", "loopback"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"fd00:ec2::254", "cloud metadata"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"febf::1", "link-local"},
		{"ff02::1", "multicast"},
		{"ff01::1", "multicast"},
		{"ff0e::1", "multicast"},

		// IPv4-mapped IPv6 is the IPv4 address to the kernel.
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.1.2.3", "private"},
		{"::ffff:169.254.169.254", "cloud metadata"},
		{"::ffff:1.1.1.1", ""},

		{"64:ff9b::127.0.0.1", "NAT64-mapped loopback"},
		{"64:ff9b::10.0.0.1", "NAT64-mapped private"},
		{"64:ff9b::169.254.169.254", "NAT64-mapped cloud metadata"},
		{"64:ff9b::1.1.1.1", ""},
		{"64:ff9b:1::a00:1", "local-use NAT64"},

		{"1.1.1.1", ""},
		{"8.8.8.8", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.0.1.1", ""},
		{"198.17.255.255", ""},
		{"198.20.0.0", ""},
		{"223.255.255.255", ""},
		{"2606:4700::1111", ""},
		{"2001:4860:4860::8888", ""},
		{"fec0::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()

			reason, refused := Refused(netip.MustParseAddr(tt.addr))
			require.Equal(t, tt.reason != "", refused)
			require.Equal(t, tt.reason, reason)
		})
	}
}

func TestRefusedInvalid(t *testing.T) {
	t.Parallel()

	_, refused := Refused(netip.Addr{})
	require.True(t, refused)
}
