// Package auth resolves who is calling: an API key (rl_live_…, stored only as
// its SHA-256) or a dashboard session token (a JWT), the organization the
// call acts for, and what it may do (scopes).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// KeyPrefix starts every API key; the rest is 32 random bytes in url-safe base64.
const KeyPrefix = "rl_live_"

const (
	keyRandomBytes = 32
	keyLength      = len(KeyPrefix) + 43 // base64.RawURLEncoding of 32 bytes
	displayPrefix  = 16
)

// Scopes an API key can hold (DESIGN §2). Sessions hold them all.
var AllScopes = []string{
	"payment_intents:read", "payment_intents:write",
	"evidence:write",
	"reconciliation_cases:read", "reconciliation_cases:write",
	"imports:read", "imports:write",
	"exports:read",
	"ledgers:read", "ledgers:write",
	"expected_payments:read", "expected_payments:write",
}

// ValidScope tells whether s is a scope ReconLayer knows.
func ValidScope(s string) bool { return slices.Contains(AllScopes, s) }

// NewKey makes a fresh API key. The plaintext is returned once and never stored.
func NewKey() (plaintext, prefix string, hash []byte, err error) {
	b := make([]byte, keyRandomBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", nil, fmt.Errorf("generate api key: %w", err)
	}
	plaintext = KeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return plaintext, plaintext[:displayPrefix], HashKey(plaintext), nil
}

// HashKey is what is stored and looked up: the SHA-256 of the whole key. A
// key has 256 bits of entropy, so a fast unsalted hash is enough.
func HashKey(plaintext string) []byte {
	h := sha256.Sum256([]byte(plaintext))
	return h[:]
}

// wellFormedKey tells whether tok has the shape of an API key, so malformed
// tokens are refused without a database round trip.
func wellFormedKey(tok string) bool {
	if len(tok) != keyLength || !strings.HasPrefix(tok, KeyPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(tok[len(KeyPrefix):])
	return err == nil
}
