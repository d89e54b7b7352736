package consoleauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's costs. A hash records the parameters it was made
// with (PHC string format), so changing them affects new hashes only; a user
// whose hash is older is rehashed at their next sign-in.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8
}

// DefaultParams are OWASP's first argon2id configuration (Password Storage
// Cheat Sheet): 19 MiB, 2 passes, 1 lane, about 30 ms on a current core.
// One lane because the api serves many requests at once: more lanes would
// make one sign-in faster, not the server able to take more of them. Salts
// are 16 random bytes and keys 32 bytes (RFC 9106 §3.1).
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// The bounds a stored hash's parameters must fall in: a hash is only
	// read from our own table, but a corrupted or hand-edited row must not
	// make a sign-in allocate gigabytes.
	maxMemory  = 1 << 20 // 1 GiB
	maxTime    = 16
	maxThreads = 16
)

// Password length bounds, in characters. The maximum only keeps requests
// small: argon2 takes a password of any length at the same cost.
const (
	MinPasswordLength = 12
	MaxPasswordLength = 256
)

// PasswordError says why a new password is refused.
type PasswordError struct{ Msg string }

func (e *PasswordError) Error() string { return e.Msg }

// CheckPassword applies the password policy: length only, as NIST SP
// 800-63B advises (no composition rules), and no surrounding spaces, which
// are usually a paste gone wrong.
func CheckPassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return &PasswordError{"The password is not valid UTF-8."}
	case n < MinPasswordLength:
		return &PasswordError{fmt.Sprintf("The password must be at least %d characters long.", MinPasswordLength)}
	case n > MaxPasswordLength:
		return &PasswordError{fmt.Sprintf("The password must be at most %d characters long.", MaxPasswordLength)}
	case strings.TrimSpace(pw) != pw:
		return &PasswordError{"The password must not start or end with a space."}
	}
	return nil
}

// GeneratePassword makes a one-time password: 18 random bytes (144 bits) in
// url-safe base64, 24 characters.
func GeneratePassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// b64 is the PHC string format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id under p into a PHC string:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>.
func HashPassword(pw string, p Params) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errMalformedHash = errors.New("malformed argon2id hash")

// parsedHash is a PHC string taken apart.
type parsedHash struct {
	params    Params
	salt, key []byte
}

func parseHash(encoded string) (parsedHash, error) {
	var h parsedHash
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, errMalformedHash
	}
	var m, t, p uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, p) != parts[3] {
		return h, errMalformedHash
	}
	if m < 8 || m > maxMemory || t < 1 || t > maxTime || p < 1 || p > maxThreads || m < 8*p {
		return h, errMalformedHash
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return h, errMalformedHash
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return h, errMalformedHash
	}
	return parsedHash{params: Params{Memory: m, Time: t, Threads: uint8(p)}, salt: salt, key: key}, nil
}

// VerifyPassword tells whether pw matches the PHC string encoded, comparing
// the keys in constant time. An error means the hash itself is unusable.
func VerifyPassword(pw, encoded string) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// needsRehash tells whether encoded was made with other parameters than p.
func needsRehash(encoded string, p Params) bool {
	h, err := parseHash(encoded)
	return err != nil || h.params != p || len(h.salt) != saltLen || len(h.key) != keyLen
}
