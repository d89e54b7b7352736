package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/reconlayer/reconlayer/internal/spectest"
)

// Every exchange the tests of this package make goes through the contract
// check (serve, and contractClient for tests that need a real server), so
// that a handler and api/openapi.yaml cannot drift apart unnoticed.

var (
	contractOnce sync.Once
	contract     *spectest.Validator
	contractErr  error
)

// contractValidator is the package's one validator: building it compiles
// the whole document, and its coverage is counted across all tests.
func contractValidator(t testing.TB) *spectest.Validator {
	t.Helper()
	contractOnce.Do(func() {
		doc, err := Spec()
		if err != nil {
			contractErr = err
			return
		}
		contract, contractErr = spectest.New(doc)
	})
	require.NoError(t, contractErr)
	return contract
}

// described reports whether path is in the contract's scope: asynq's web
// UI under /admin/queues is served beside the API but not described by it.
func described(path string) bool {
	return path != adminQueues && !strings.HasPrefix(path, adminQueues+"/")
}

// checkContract checks one exchange served by a recorder.
func checkContract(t testing.TB, r *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	if described(r.URL.Path) {
		contractValidator(t).Check(t, r, body, rec.Code, rec.Header(), rec.Body.Bytes())
	}
}

// contractClient is an http.Client whose every exchange is checked.
func contractClient(t testing.TB, base *http.Client) *http.Client {
	c := *base
	c.Transport = contractValidator(t).Transport(t, base.Transport)
	return &c
}

// TestMain prints, after the package's tests, which operations of the
// contract no checked exchange exercised (a -run subset exercises fewer).
func TestMain(m *testing.M) {
	code := m.Run()
	if contract != nil {
		c := contract.Coverage()
		fmt.Fprintf(os.Stderr, "openapi: %d of %d operations exercised by checked exchanges (%d of them only by errors)\n",
			c.Exercised, c.Total, len(c.NoSuccess))
		for _, op := range c.Missed {
			fmt.Fprintf(os.Stderr, "openapi: not exercised: %s\n", op)
		}
		for _, op := range c.NoSuccess {
			fmt.Fprintf(os.Stderr, "openapi: exercised only by errors: %s\n", op)
		}
	}
	os.Exit(code)
}
