package api

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/auth"
)

// sessSign signs claims with method and key, failing the test on error.
func sessSign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.Claims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// sessClaims are valid session claims for user acting for orgs, expiring in an hour.
func sessClaims(user string, orgs ...uuid.UUID) auth.SessionClaims {
	ids := make([]string, len(orgs))
	for i, o := range orgs {
		ids[i] = o.String()
	}
	now := time.Now()
	return auth.SessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   user,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		OrgIDs: ids,
	}
}

// sessListOrgs lists API keys and returns the organizationId of every item.
func sessListOrgs(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	list := decode[listResponse[apiKeyJSON]](t, rec)
	orgs := make([]string, len(list.Items))
	for i, it := range list.Items {
		orgs[i] = it.OrganizationID
	}
	return orgs
}

// sessJWKS serves a JWK Set holding pub under kid k1 and returns a Keyfunc on it.
func sessJWKS(t *testing.T, pub *rsa.PublicKey) keyfunc.Keyfunc {
	t.Helper()
	set, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	}))
	t.Cleanup(srv.Close)
	k, err := keyfunc.NewDefaultCtx(t.Context(), []string{srv.URL})
	require.NoError(t, err)
	return k
}

func sessRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

// A valid HS256 session reaches the session-only route; every malformed,
// forged, expired or missing credential is 401 unauthorized.
func TestSessionHS256Credentials(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")

	expired, err := auth.SignSession(testSecret, "u", []string{org.String()}, time.Hour, time.Now().Add(-2*time.Hour))
	require.NoError(t, err)
	otherSecret, err := auth.SignSession([]byte("another-secret-0123456789abcdefghij"), "u", []string{org.String()}, time.Hour, time.Now())
	require.NoError(t, err)
	noSub, err := auth.SignSession(testSecret, "", []string{org.String()}, time.Hour, time.Now())
	require.NoError(t, err)
	algNone := sessSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, sessClaims("u", org), nil)
	noExp := sessClaims("u", org)
	noExp.ExpiresAt = nil

	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
		code    string
		message string // a substring of the error message, when checked
	}{
		{"valid session", map[string]string{"Authorization": "Bearer " + b.session("user_1", org)}, http.StatusOK, "", ""},
		{"expired", map[string]string{"Authorization": "Bearer " + expired}, http.StatusUnauthorized, CodeUnauthorized, "expired"},
		{"signed with another secret", map[string]string{"Authorization": "Bearer " + otherSecret}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"alg none", map[string]string{"Authorization": "Bearer " + algNone}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"no subject", map[string]string{"Authorization": "Bearer " + noSub}, http.StatusUnauthorized, CodeUnauthorized, "subject"},
		{"no expiry", map[string]string{"Authorization": "Bearer " + sessSign(t, jwt.SigningMethodHS256, testSecret, noExp, nil)}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"garbage", map[string]string{"Authorization": "Bearer abc.def"}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"basic scheme", map[string]string{"Authorization": "Basic xyz"}, http.StatusUnauthorized, CodeUnauthorized, "Bearer"},
		{"bearer without token", map[string]string{"Authorization": "Bearer "}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"missing header", nil, http.StatusUnauthorized, CodeUnauthorized, "Missing Authorization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(t, b.router, req{method: http.MethodGet, path: "/v1/api-keys", headers: tc.headers})
			if tc.status == http.StatusOK {
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.Empty(t, sessListOrgs(t, rec))
				return
			}
			e := envelope(t, rec, tc.status, tc.code)
			require.Contains(t, e.Message, tc.message)
		})
	}
}

// The organization a session acts for: the only one it names, or the one
// x-organization-id picks among those it names; anything else is 400.
func TestSessionOrganizationResolution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	orgA, orgB, stranger := b.org("A"), b.org("B"), b.org("Stranger")
	_, keyA := b.apiKey(orgA)
	_, keyB := b.apiKey(orgB)
	_, _ = b.apiKey(stranger)
	both := b.session("user_1", orgA, orgB)

	t.Run("several orgs without header", func(t *testing.T) {
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: both})
		e := envelope(t, rec, http.StatusBadRequest, CodeInvalidOrganizationContext)
		require.Contains(t, e.Message, "x-organization-id")
	})
	for _, tc := range []struct {
		org uuid.UUID
		key string
	}{{orgA, keyA.ID.String()}, {orgB, keyB.ID.String()}} {
		t.Run("header picks "+tc.org.String(), func(t *testing.T) {
			rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: both,
				headers: map[string]string{"X-Organization-Id": tc.org.String()}})
			require.Equal(t, []string{tc.org.String()}, sessListOrgs(t, rec))
			list := decode[listResponse[apiKeyJSON]](t, rec)
			require.Equal(t, tc.key, list.Items[0].ID)
			require.EqualValues(t, 1, list.Total)
		})
	}
	t.Run("single org without header", func(t *testing.T) {
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: b.session("user_1", orgB)})
		require.Equal(t, []string{orgB.String()}, sessListOrgs(t, rec))
	})

	for _, tc := range []struct {
		name    string
		token   string
		header  string
		message string
	}{
		{"header names an org not in the token", both, stranger.String(), "not an organization this session may act for"},
		{"header names a random uuid", both, uuid.NewString(), "not an organization this session may act for"},
		{"single org token, header names another", b.session("user_1", orgA), orgB.String(), "not an organization this session may act for"},
		{"token names an org that does not exist", b.session("user_1", uuid.New()), "", "does not exist"},
		{"token names a non-uuid org", sessSign(t, jwt.SigningMethodHS256, testSecret, auth.SessionClaims{
			RegisteredClaims: sessClaims("user_1").RegisteredClaims, OrgID: "acme"}, nil), "", "does not exist"},
		{"token names no org", b.session("user_1"), "", "names no organization"},
		{"token names no org, header names one", b.session("user_1"), orgA.String(), "not an organization this session may act for"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tc.token,
				headers: map[string]string{"X-Organization-Id": tc.header}})
			e := envelope(t, rec, http.StatusBadRequest, CodeInvalidOrganizationContext)
			require.Contains(t, e.Message, tc.message)
		})
	}
}

// Identity providers name the active organization with a single org_id
// claim; it is accepted alone and alongside org_ids.
func TestSessionOrgIDClaim(t *testing.T) {
	t.Parallel()
	b := setup(t)
	orgA, orgB := b.org("A"), b.org("B")
	b.apiKey(orgA)
	b.apiKey(orgB)

	single := sessClaims("user_1")
	single.OrgIDs = nil
	single.OrgID = orgA.String()
	rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: sessSign(t, jwt.SigningMethodHS256, testSecret, single, nil)})
	require.Equal(t, []string{orgA.String()}, sessListOrgs(t, rec))

	// org_id plus org_ids: several organizations, so the header must choose,
	// and it may choose the one named by org_id.
	mixed := sessClaims("user_1", orgB)
	mixed.OrgID = orgA.String()
	tok := sessSign(t, jwt.SigningMethodHS256, testSecret, mixed, nil)
	rec = b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tok})
	envelope(t, rec, http.StatusBadRequest, CodeInvalidOrganizationContext)
	for _, org := range []uuid.UUID{orgA, orgB} {
		rec = b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tok,
			headers: map[string]string{"X-Organization-Id": org.String()}})
		require.Equal(t, []string{org.String()}, sessListOrgs(t, rec))
	}

	// org_id repeating an entry of org_ids is still one organization.
	same := sessClaims("user_1", orgB)
	same.OrgID = orgB.String()
	rec = b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: sessSign(t, jwt.SigningMethodHS256, testSecret, same, nil)})
	require.Equal(t, []string{orgB.String()}, sessListOrgs(t, rec))
}

// An API key's organization is fixed: x-organization-id may repeat it but
// not contradict it.
func TestAPIKeyOrganizationHeader(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org, other := b.org("Acme"), b.org("Other")
	key, _ := b.apiKey(org)

	for _, tc := range []struct {
		name   string
		header string
		status int
		code   string
	}{
		{"contradicting header", other.String(), http.StatusBadRequest, CodeInvalidOrganizationContext},
		{"header naming a random uuid", uuid.NewString(), http.StatusBadRequest, CodeInvalidOrganizationContext},
		{"header naming a non-uuid", "acme", http.StatusBadRequest, CodeInvalidOrganizationContext},
		// Authentication passes; the route is for sessions only.
		{"header equal to the key's org", org.String(), http.StatusForbidden, CodeForbidden},
		{"no header", "", http.StatusForbidden, CodeForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: key,
				headers: map[string]string{"X-Organization-Id": tc.header}})
			e := envelope(t, rec, tc.status, tc.code)
			if tc.code == CodeForbidden {
				require.Contains(t, e.Message, "dashboard session")
			}
		})
	}
}

// Session tokens of an identity provider are verified against its JWKS;
// with no HS256 secret configured, HS256 tokens are refused.
func TestSessionJWKS(t *testing.T) {
	t.Parallel()
	key := sessRSAKey(t)
	jwks := sessJWKS(t, &key.PublicKey)
	b := setup(t, func(o *Options) { o.Session = auth.SessionConfig{JWKS: jwks} })
	org := b.org("Acme")
	b.apiKey(org)
	kid := map[string]any{"kid": "k1"}

	t.Run("RS256 signed by the published key", func(t *testing.T) {
		tok := sessSign(t, jwt.SigningMethodRS256, key, sessClaims("user_rs", org), kid)
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tok})
		require.Equal(t, []string{org.String()}, sessListOrgs(t, rec))
	})
	t.Run("HS256 on a JWKS-only server", func(t *testing.T) {
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: b.session("user_1", org)})
		envelope(t, rec, http.StatusUnauthorized, CodeUnauthorized)
	})
	t.Run("RS256 signed by another key with the same kid", func(t *testing.T) {
		tok := sessSign(t, jwt.SigningMethodRS256, sessRSAKey(t), sessClaims("user_rs", org), kid)
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tok})
		envelope(t, rec, http.StatusUnauthorized, CodeUnauthorized)
	})
	t.Run("RS256 with an unknown kid", func(t *testing.T) {
		tok := sessSign(t, jwt.SigningMethodRS256, key, sessClaims("user_rs", org), map[string]any{"kid": "k2"})
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tok})
		envelope(t, rec, http.StatusUnauthorized, CodeUnauthorized)
	})
	t.Run("expired RS256", func(t *testing.T) {
		c := sessClaims("user_rs", org)
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: sessSign(t, jwt.SigningMethodRS256, key, c, kid)})
		e := envelope(t, rec, http.StatusUnauthorized, CodeUnauthorized)
		require.Contains(t, e.Message, "expired")
	})
	t.Run("HS256 keyed with the RSA public key (alg confusion)", func(t *testing.T) {
		tok := sessSign(t, jwt.SigningMethodHS256, key.PublicKey.N.Bytes(), sessClaims("user_rs", org), kid)
		rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tok})
		envelope(t, rec, http.StatusUnauthorized, CodeUnauthorized)
	})
}

// With an issuer and audience configured, tokens must carry both.
func TestSessionJWKSIssuerAndAudience(t *testing.T) {
	t.Parallel()
	key := sessRSAKey(t)
	jwks := sessJWKS(t, &key.PublicKey)
	b := setup(t, func(o *Options) {
		o.Session = auth.SessionConfig{JWKS: jwks, Issuer: "https://idp.example", Audience: "reconlayer"}
	})
	org := b.org("Acme")

	claims := func(iss string, aud ...string) auth.SessionClaims {
		c := sessClaims("user_rs", org)
		c.Issuer, c.Audience = iss, aud
		return c
	}
	for _, tc := range []struct {
		name   string
		claims auth.SessionClaims
		status int
	}{
		{"issuer and audience", claims("https://idp.example", "reconlayer"), http.StatusOK},
		{"audience among several", claims("https://idp.example", "other", "reconlayer"), http.StatusOK},
		{"no issuer", claims("", "reconlayer"), http.StatusUnauthorized},
		{"another issuer", claims("https://evil.example", "reconlayer"), http.StatusUnauthorized},
		{"no audience", claims("https://idp.example"), http.StatusUnauthorized},
		{"another audience", claims("https://idp.example", "other"), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := sessSign(t, jwt.SigningMethodRS256, key, tc.claims, map[string]any{"kid": "k1"})
			rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: tok})
			if tc.status == http.StatusOK {
				require.Empty(t, sessListOrgs(t, rec))
				return
			}
			envelope(t, rec, tc.status, CodeUnauthorized)
		})
	}
}

// With only an issuer configured (HS256 secret), the iss claim alone decides.
func TestSessionHS256Issuer(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.Session.Issuer = "https://idp.example" })
	org := b.org("Acme")

	rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: b.session("user_1", org)})
	envelope(t, rec, http.StatusUnauthorized, CodeUnauthorized)

	c := sessClaims("user_1", org)
	c.Issuer = "https://idp.example"
	rec = b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: sessSign(t, jwt.SigningMethodHS256, testSecret, c, nil)})
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// Without a secret or a JWKS, session tokens are refused outright.
func TestSessionTokensDisabled(t *testing.T) {
	t.Parallel()
	b := setup(t, func(o *Options) { o.Session = auth.SessionConfig{} })
	org := b.org("Acme")
	rec := b.do(req{method: http.MethodGet, path: "/v1/api-keys", token: b.session("user_1", org)})
	e := envelope(t, rec, http.StatusUnauthorized, CodeUnauthorized)
	require.Contains(t, e.Message, "not enabled")
}

// An organization id in another letter case is the same organization.
func TestOrganizationHeaderIsComparedAsUUID(t *testing.T) {
	t.Parallel()
	b := setup(t)
	org := b.org("Acme")
	upper := strings.ToUpper(org.String())
	rec := b.do(req{method: "GET", path: "/v1/api-keys", token: b.session("u", org), headers: map[string]string{"X-Organization-Id": upper}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	key, _ := b.apiKey(org)
	envelope(t, b.do(req{method: "GET", path: "/v1/api-keys", token: key, headers: map[string]string{"X-Organization-Id": upper}}), 403, "forbidden")
}
