package console

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/auth"
	"github.com/reconlayer/reconlayer/internal/consoleauth"
)

const (
	// sessionCookie carries the session token. Path /console keeps it away
	// from the api, which authenticates with headers only.
	sessionCookie = "reconlayer_console"
	// loginCookie is the sign-in form's double-submit token (there is no
	// session to hold a synchronizer token yet).
	loginCookie    = "reconlayer_console_login"
	loginCookieTTL = time.Hour

	csrfField = "csrf_token"
	ctxSess   = "console.session"
	ctxEnded  = "console.sessionEnded" // the cookie named a session that ended

	// maxFormBytes bounds a form's body unless formLimits says otherwise.
	maxFormBytes = 64 << 10
)

const (
	loginPath    = Prefix + "/login"
	logoutPath   = Prefix + "/logout"
	passwordPath = Prefix + "/password"
	staticPath   = Prefix + "/static/"
)

// formLimits are body limits of routes (gin's full path) whose forms take
// more than maxFormBytes, such as file uploads. A literal: it is only read
// while serving.
var formLimits = map[string]int64{
	importsPath: maxUploadBytes + 1<<20, // the file and the form's few fields
}

// contentSecurityPolicy allows this origin's stylesheet and nothing inline
// (no script at all is served); no framing, forms post only here.
const contentSecurityPolicy = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// securityHeaders go on every console response, pages and errors alike.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// recoverPanic turns a panic in a console handler into the 500 page (the
// stack goes to the log), before the api's recovery would answer JSON.
func (s *Console) recoverPanic(c *gin.Context) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if r == http.ErrAbortHandler {
			panic(r)
		}
		s.logger.ErrorContext(c.Request.Context(), "console: panic serving request",
			"panic", fmt.Sprint(r), "stack", string(debug.Stack()), "method", c.Request.Method, "route", c.FullPath())
		if c.Writer.Written() {
			c.Abort()
			return
		}
		s.errorPage(c, http.StatusInternalServerError)
	}()
	c.Next()
}

// sessionOf returns the request's console session, set by loadSession.
func sessionOf(c *gin.Context) (consoleauth.Session, bool) {
	v, ok := c.Get(ctxSess)
	if !ok {
		return consoleauth.Session{}, false
	}
	return v.(consoleauth.Session), true
}

// session is the session of a request behind requireSession.
func session(c *gin.Context) consoleauth.Session {
	sess, _ := sessionOf(c)
	return sess
}

// principal is what a page passes to the services: a dashboard session of
// the user's organization with every scope.
func principal(c *gin.Context) auth.Principal { return session(c).Principal() }

// loadSession resolves the session cookie, if any, and goes on either way;
// requireSession decides what a request without one gets.
func (s *Console) loadSession(c *gin.Context) {
	if err := s.trySession(c); err != nil {
		s.fail(c, err)
		return
	}
	c.Next()
}

// trySession resolves the cookie into the request's session. A cookie that
// names no live session is cleared; only a database failure is an error.
func (s *Console) trySession(c *gin.Context) error {
	tok, err := c.Cookie(sessionCookie)
	if err != nil || tok == "" {
		return nil
	}
	sess, err := s.auth.Lookup(c.Request.Context(), tok)
	if errors.Is(err, consoleauth.ErrNoSession) {
		s.setCookie(c, sessionCookie, "", Prefix, -1, http.SameSiteLaxMode)
		c.Set(ctxEnded, true)
		return nil
	}
	if err != nil {
		return err
	}
	c.Set(ctxSess, sess)
	return nil
}

// requireSession sends a request without a session to the sign-in page,
// which brings a GET back to where it was going once signed in.
func (s *Console) requireSession(c *gin.Context) {
	if _, ok := sessionOf(c); ok {
		c.Next()
		return
	}
	q := url.Values{}
	if c.Request.Method == http.MethodGet {
		if next := safeNext(c.Request.URL.RequestURI()); next != "" && next != Prefix {
			q.Set("next", next)
		}
	}
	if c.GetBool(ctxEnded) {
		q.Set("notice", "session_ended")
	}
	target := loginPath
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	c.Redirect(http.StatusSeeOther, target)
	c.Abort()
}

// guardForm admits a POST (any unsafe method) only with a bounded body,
// from this origin, carrying the session's CSRF token; anything else gets
// the 403 page before any handler runs.
func (s *Console) guardForm(c *gin.Context) {
	if safeMethod(c.Request.Method) {
		c.Next()
		return
	}
	if !s.readForm(c) {
		return
	}
	if err := s.origin.Check(c.Request); err != nil {
		s.logger.WarnContext(c.Request.Context(), "console: cross-origin form refused", "route", c.FullPath(), "err", err.Error())
		s.errorPage(c, http.StatusForbidden)
		return
	}
	if !sameToken(c.PostForm(csrfField), session(c).CSRFToken) {
		s.logger.WarnContext(c.Request.Context(), "console: form without a valid CSRF token refused", "route", c.FullPath())
		s.errorPage(c, http.StatusForbidden)
		return
	}
	c.Next()
}

// readForm parses the form under the route's body limit; false when it
// answered (too large, unreadable).
func (s *Console) readForm(c *gin.Context) bool {
	limit, ok := formLimits[c.FullPath()]
	if !ok {
		limit = maxFormBytes
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	var err error
	if c.ContentType() == "multipart/form-data" {
		err = c.Request.ParseMultipartForm(min(limit, 32<<20))
	} else {
		err = c.Request.ParseForm()
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.errorPage(c, http.StatusRequestEntityTooLarge)
		} else {
			s.errorPage(c, http.StatusBadRequest)
		}
		return false
	}
	return true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameToken compares a form's token with the expected one in constant time;
// an empty expected token matches nothing.
func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// requirePasswordChosen keeps a user signed in with a one-time password on
// the password page (signing out is allowed) until they choose their own.
func (s *Console) requirePasswordChosen(c *gin.Context) {
	if !session(c).MustChangePassword {
		c.Next()
		return
	}
	switch c.FullPath() {
	case passwordPath, logoutPath:
		c.Next()
		return
	}
	c.Redirect(http.StatusSeeOther, passwordPath)
	c.Abort()
}

// setCookie sets (maxAge > 0) or clears (maxAge < 0) a console cookie.
// Secure when the request came over TLS or the console is configured to
// sit behind a TLS-terminating proxy.
func (s *Console) setCookie(c *gin.Context, name, value, path string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   c.Request.TLS != nil || s.opts.SecureCookie,
		SameSite: sameSite,
	})
}
