package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/reconlayer/reconlayer/internal/consoleauth"
)

// notices are the status lines a redirect may ask a page to show
// (?notice=key): fixed texts, so a crafted link cannot put words there.
var notices = map[string]string{
	"signed_out":       "You have signed out.",
	"password_changed": "Your password has been changed.",
	"session_ended":    "Your session has ended. Sign in again.",
}

func notice(c *gin.Context) string { return notices[c.Query("notice")] }

// safeNext returns raw when it is a console page of this origin to return
// to after signing in (path and query, re-encoded), else "". Anything that
// could leave the console — another origin, a scheme, a protocol-relative
// or backslashed path, dot segments — is refused, and so are the sign-in,
// sign-out and static paths.
func safeNext(raw string) string {
	if raw == "" || len(raw) > 2048 || strings.ContainsAny(raw, "\\\x00\r\n\t") || strings.HasPrefix(raw, "//") {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	if !Owns(u.Path) || path.Clean(u.Path) != u.Path {
		return ""
	}
	if u.Path == loginPath || u.Path == logoutPath || strings.HasPrefix(u.Path, staticPath) {
		return ""
	}
	return u.RequestURI()
}

type signInData struct {
	Email, Next, Error string
}

// signInPage shows the sign-in form with a fresh double-submit token, or
// sends a signed-in browser on.
func (s *Console) signInPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if _, ok := sessionOf(c); ok {
		c.Redirect(http.StatusSeeOther, orDefault(next, Prefix))
		return
	}
	s.renderSignIn(c, http.StatusOK, signInData{Next: next}, notice(c))
}

// renderSignIn renders the form with a new double-submit token in its
// cookie and hidden field.
func (s *Console) renderSignIn(c *gin.Context, status int, d signInData, note string) {
	tok, err := consoleauth.NewToken()
	if err != nil {
		s.fail(c, err)
		return
	}
	s.setCookie(c, loginCookie, tok, loginPath, int(loginCookieTTL/time.Second), http.SameSiteStrictMode)
	s.render(c, status, "signin.html", view{Title: "Sign in", CSRF: tok, Notice: note, Data: d})
}

// signIn checks the form's double-submit token, then the credentials, and
// opens a session.
func (s *Console) signIn(c *gin.Context) {
	if !s.readForm(c) {
		return
	}
	d := signInData{Email: strings.TrimSpace(c.PostForm("email")), Next: safeNext(c.PostForm("next"))}
	cookieTok, _ := c.Cookie(loginCookie)
	if err := s.origin.Check(c.Request); err != nil || !sameToken(c.PostForm(csrfField), cookieTok) {
		// An expired form is the usual cause: a fresh one, refused all the same.
		d.Error = "This sign-in form expired or did not come from this console. Try again."
		s.renderSignIn(c, http.StatusForbidden, d, "")
		return
	}
	sess, token, err := s.auth.SignIn(c.Request.Context(), consoleauth.SignInInput{
		Email: d.Email, Password: c.PostForm("password"), UserAgent: c.Request.UserAgent(), IP: c.ClientIP(),
	})
	switch {
	case errors.Is(err, consoleauth.ErrInvalidCredentials):
		d.Error = "Incorrect email or password."
		s.renderSignIn(c, http.StatusUnauthorized, d, "")
		return
	case errors.Is(err, consoleauth.ErrThrottled):
		d.Error = "Too many sign-in attempts. Wait a minute and try again."
		c.Header("Retry-After", "60")
		s.renderSignIn(c, http.StatusTooManyRequests, d, "")
		return
	case err != nil:
		s.fail(c, err)
		return
	}
	s.setCookie(c, sessionCookie, token, Prefix, max(int(time.Until(sess.ExpiresAt)/time.Second), 1), http.SameSiteLaxMode)
	s.setCookie(c, loginCookie, "", loginPath, -1, http.SameSiteStrictMode)
	if sess.MustChangePassword {
		c.Redirect(http.StatusSeeOther, passwordPath)
		return
	}
	c.Redirect(http.StatusSeeOther, orDefault(d.Next, Prefix))
}

// signOut ends the session and clears its cookie.
func (s *Console) signOut(c *gin.Context) {
	// Signing out completes even if the browser goes away meanwhile.
	if err := s.auth.SignOut(context.WithoutCancel(c.Request.Context()), session(c)); err != nil {
		s.fail(c, err)
		return
	}
	s.setCookie(c, sessionCookie, "", Prefix, -1, http.SameSiteLaxMode)
	c.Redirect(http.StatusSeeOther, loginPath+"?notice=signed_out")
}

type passwordData struct {
	Required bool // the current password is a one-time one
	Error    string
	Min      int
}

func (s *Console) passwordPage(c *gin.Context) {
	s.renderPassword(c, http.StatusOK, "")
}

func (s *Console) renderPassword(c *gin.Context, status int, msg string) {
	s.render(c, status, "password.html", view{Title: "Change password", Section: "password",
		Data: passwordData{Required: session(c).MustChangePassword, Error: msg, Min: consoleauth.MinPasswordLength}})
}

// changePassword sets a new password; the user's other sessions end.
func (s *Console) changePassword(c *gin.Context) {
	current, next := c.PostForm("current_password"), c.PostForm("new_password")
	if next != c.PostForm("confirm_password") {
		s.renderPassword(c, http.StatusBadRequest, "The new password and its confirmation differ.")
		return
	}
	err := s.auth.ChangePassword(c.Request.Context(), session(c), current, next)
	var weak *consoleauth.PasswordError
	switch {
	case errors.Is(err, consoleauth.ErrWrongPassword):
		s.renderPassword(c, http.StatusBadRequest, "The current password is wrong.")
	case errors.Is(err, consoleauth.ErrSamePassword):
		s.renderPassword(c, http.StatusBadRequest, "Choose a password other than the current one.")
	case errors.As(err, &weak):
		s.renderPassword(c, http.StatusBadRequest, weak.Msg)
	case err != nil:
		s.fail(c, err)
	default:
		c.Redirect(http.StatusSeeOther, Prefix+"?notice=password_changed")
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
