// Package chain checks the shape of on-chain identifiers (addresses,
// transaction hashes) per chain family, so that evidence with a mistyped
// hash is refused at the door instead of never matching.
package chain

import (
	"encoding/hex"
	"regexp"
	"strings"

	"golang.org/x/crypto/sha3"
)

// Families supported.
const (
	EVM    = "evm"
	Solana = "solana"
)

// Families lists the supported chain families.
var Families = []string{EVM, Solana}

var (
	evmAddress = regexp.MustCompile(`^0x[0-9a-fA-F]{40}$`)
	evmHash    = regexp.MustCompile(`^0x[0-9a-fA-F]{64}$`)
	base58     = regexp.MustCompile(`^[1-9A-HJ-NP-Za-km-z]+$`)
)

// CheckAddress returns "" for a well-formed address of family, else why not.
func CheckAddress(family, s string) string {
	switch family {
	case EVM:
		if !evmAddress.MatchString(s) {
			return "An EVM address is 0x followed by 40 hex digits."
		}
		if !checksumOK(s) {
			return "The EIP-55 checksum (upper/lower case of the hex digits) does not match: the address is mistyped."
		}
	case Solana:
		if !base58.MatchString(s) || len(s) < 32 || len(s) > 44 {
			return "A Solana address is 32 to 44 base58 characters."
		}
	default:
		return "Unknown chain family."
	}
	return ""
}

// CheckTxHash returns "" for a well-formed transaction hash (signature) of
// family, else why not.
func CheckTxHash(family, s string) string {
	switch family {
	case EVM:
		if !evmHash.MatchString(s) {
			return "An EVM transaction hash is 0x followed by 64 hex digits."
		}
	case Solana:
		if !base58.MatchString(s) || len(s) < 64 || len(s) > 88 {
			return "A Solana transaction signature is 64 to 88 base58 characters."
		}
	default:
		return "Unknown chain family."
	}
	return ""
}

// checksumOK applies EIP-55: an all-lower or all-upper address carries no
// checksum; a mixed-case one must match the Keccak-256 of its lower-case hex.
func checksumOK(addr string) bool {
	h := addr[2:]
	if h == strings.ToLower(h) || h == strings.ToUpper(h) {
		return true
	}
	k := sha3.NewLegacyKeccak256()
	k.Write([]byte(strings.ToLower(h)))
	sum := hex.EncodeToString(k.Sum(nil))
	for i, c := range h {
		if c >= '0' && c <= '9' {
			continue
		}
		upper := sum[i] >= '8'
		if upper != (c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
