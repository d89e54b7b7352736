package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// The API reference at /docs is Swagger UI (vendored under docs/swagger-ui,
// see its README) rendering /openapi.json, all served from the binary.
//
//go:embed docs/docs.html docs/docs.js
//go:embed docs/swagger-ui/swagger-ui-bundle.js docs/swagger-ui/swagger-ui.css
//go:embed docs/swagger-ui/LICENSE docs/swagger-ui/NOTICE docs/swagger-ui/swagger-ui-bundle.js.LICENSE.txt
var docsFiles embed.FS

// docsCSP allows the page to load from its own origin only, so that a
// request the vendored code might make elsewhere is blocked, not just unseen.
// Images may be data: URIs (Swagger UI's icons are).
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// docsAssetFiles maps each name under /docs/assets/ to its embedded file:
// the page's script, and Swagger UI's with its licenses (the script's
// header points at swagger-ui-bundle.js.LICENSE.txt beside it).
var docsAssetFiles = map[string]string{
	"docs.js":                          "docs/docs.js",
	"swagger-ui-bundle.js":             "docs/swagger-ui/swagger-ui-bundle.js",
	"swagger-ui.css":                   "docs/swagger-ui/swagger-ui.css",
	"LICENSE":                          "docs/swagger-ui/LICENSE",
	"NOTICE":                           "docs/swagger-ui/NOTICE",
	"swagger-ui-bundle.js.LICENSE.txt": "docs/swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
}

type docsAsset struct {
	contentType string
	body        []byte
	// version is a hash of body. The page asks for ?v=version, so a URL
	// that carries the current version can be cached for good.
	version string
}

// docsAssets reads and hashes the files once, when /docs is first asked for.
var docsAssets = sync.OnceValue(func() map[string]docsAsset {
	assets := make(map[string]docsAsset, len(docsAssetFiles))
	for name, file := range docsAssetFiles {
		body, err := docsFiles.ReadFile(file)
		if err != nil {
			panic(err) // the go:embed lines and the map disagree
		}
		contentType := "text/plain; charset=utf-8"
		switch path.Ext(name) {
		case ".js":
			contentType = "text/javascript; charset=utf-8"
		case ".css":
			contentType = "text/css; charset=utf-8"
		}
		sum := sha256.Sum256(body)
		assets[name] = docsAsset{contentType: contentType, body: body, version: hex.EncodeToString(sum[:8])}
	}
	return assets
})

var docsPage = sync.OnceValue(func() []byte {
	assets := docsAssets()
	page := template.Must(template.New("docs.html").Funcs(template.FuncMap{
		"asset": func(name string) (string, error) {
			a, ok := assets[name]
			if !ok {
				return "", fmt.Errorf("no docs asset %s", name)
			}
			return "/docs/assets/" + name + "?v=" + a.version, nil
		},
	}).ParseFS(docsFiles, "docs/docs.html"))
	var b bytes.Buffer
	if err := page.Execute(&b, nil); err != nil {
		panic(fmt.Errorf("render docs.html: %w", err))
	}
	return b.Bytes()
})

func (s *server) docs(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/html; charset=utf-8", docsPage())
}

func (s *server) docsAsset(c *gin.Context) {
	a, ok := docsAssets()[c.Param("name")]
	if !ok {
		abort(c, NewError(http.StatusNotFound, CodeNotFound, "No file %s for /docs.", c.Param("name")))
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+a.version+`"`)
	if c.Query("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(a.body))
}
