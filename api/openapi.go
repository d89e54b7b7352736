package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// openAPIYAML is the contract, kept true by tests: they compare its paths
// with the router's routes, and check every exchange they make against it
// (internal/spectest).
//
//go:embed openapi.yaml
var openAPIYAML []byte

var (
	specOnce sync.Once
	spec     *openapi3.T
	specJSON []byte
	specErr  error
)

// Spec parses and validates the embedded OpenAPI document.
func Spec() (*openapi3.T, error) {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		spec, specErr = loader.LoadFromData(openAPIYAML)
		if specErr != nil {
			specErr = fmt.Errorf("parse openapi.yaml: %w", specErr)
			return
		}
		if specErr = spec.Validate(context.Background()); specErr != nil {
			specErr = fmt.Errorf("validate openapi.yaml: %w", specErr)
			return
		}
		specJSON, specErr = json.Marshal(spec)
	})
	return spec, specErr
}

func (s *server) openAPIJSON(c *gin.Context) {
	if _, err := Spec(); err != nil {
		abort(c, err)
		return
	}
	c.Data(http.StatusOK, contentTypeJSON, specJSON)
}

func (s *server) openAPIYAML(c *gin.Context) {
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", openAPIYAML)
}
