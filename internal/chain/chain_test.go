package chain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckAddress(t *testing.T) {
	t.Parallel()
	// EIP-55's own test vectors.
	for _, a := range []string{
		"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
		"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
		"0x52908400098527886e0f7030069857d2e4169ee7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
	} {
		require.Empty(t, CheckAddress(EVM, a), a)
	}
	require.Contains(t, CheckAddress(EVM, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"), "checksum")
	require.Contains(t, CheckAddress(EVM, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA"), "40 hex")
	require.Contains(t, CheckAddress(EVM, "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00"), "40 hex")
	require.Empty(t, CheckAddress(Solana, "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin"))
	require.NotEmpty(t, CheckAddress(Solana, "0OIl"+"9xQeWvG816bUx9EPjHmaT23yvVM2ZW"))
	require.NotEmpty(t, CheckAddress("bitcoin", "x"))
}

func TestCheckTxHash(t *testing.T) {
	t.Parallel()
	require.Empty(t, CheckTxHash(EVM, "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"))
	require.NotEmpty(t, CheckTxHash(EVM, "0x88df01642968"))
	require.NotEmpty(t, CheckTxHash(EVM, "88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"))
	sig := "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW"
	require.Empty(t, CheckTxHash(Solana, sig))
	require.NotEmpty(t, CheckTxHash(Solana, sig[:40]))
}

func FuzzCheck(f *testing.F) {
	f.Add("evm", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	f.Add("solana", "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin")
	f.Fuzz(func(t *testing.T, family, s string) {
		_ = CheckAddress(family, s)
		_ = CheckTxHash(family, s)
	})
}
