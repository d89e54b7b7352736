// Package browsertest runs pages in a real headless browser, Debian's
// chromium, for tests: it finds or installs the browser, opens one tab per
// test, records every request the page makes and every console error or
// uncaught exception, and saves screenshots as test artefacts.
//
// Without chromium (and when it cannot be installed: that needs root and
// apt-get) a browser test is skipped with a message that says so, except
// with CI=true, where it fails: CI must run them.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium is where Debian's chromium package puts the browser.
const Chromium = "/usr/bin/chromium"

// Timeout bounds a page's whole life, from the start of the browser on.
const Timeout = 2 * time.Minute

// ArtifactsEnv names a directory for screenshots; a relative one is taken
// from the module root. Without it they go to .artifacts/ there.
const ArtifactsEnv = "RECONLAYER_TEST_ARTIFACTS"

// Page is a tab of a fresh headless browser, closed when the test ends.
type Page struct {
	// Ctx is the tab's context for chromedp.Do and chromedp.Run.
	Ctx context.Context
	t   *testing.T

	mu       sync.Mutex
	requests []Request
	messages []Message
}

// Request is a request the page made (or tried to make: one that the
// Content-Security-Policy blocked is recorded too). Workers are targets of
// their own and their requests are not seen here; the host-resolver rule of
// New still keeps those from leaving the machine.
type Request struct {
	Method string
	URL    string
	Type   string // the resource type: Document, Script, Fetch, Image…
}

// Message is a console error, an uncaught exception, or an error of the
// browser's own log (a failed load, a Content-Security-Policy violation).
type Message struct {
	Kind string // "console.error", "exception" or "log:<source>"
	Text string
	URL  string
}

func (m Message) String() string {
	if m.URL == "" {
		return m.Kind + ": " + m.Text
	}
	return m.Kind + ": " + m.Text + " (" + m.URL + ")"
}

// New starts headless chromium with one tab for t, or skips t (fails it
// with CI=true) when there is no chromium. The browser runs without its
// sandbox, as tests run as root in containers, and reaches no host but
// localhost and the loopback addresses, so that a request elsewhere fails at
// once instead of reaching the internet (it is still recorded). Everything
// is closed in t.Cleanup; a failed test leaves a screenshot named "failure".
func New(t *testing.T) *Page {
	t.Helper()
	exe := findChromium(t)

	// chromedp logs protocol errors from its own goroutines, which may run
	// on after the test; t.Logf would panic then.
	var logMu sync.Mutex
	testDone := false
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		if !testDone {
			t.Logf("chromedp: "+format, args...)
		}
	}
	t.Cleanup(func() { logMu.Lock(); testDone = true; logMu.Unlock() })

	var output syncBuffer
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.WindowSize(1280, 960),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1, EXCLUDE [::1]"),
		chromedp.CombinedOutput(&output),
	)
	base, cancelBase := context.WithTimeout(context.Background(), Timeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelTab := chromedp.NewContext(alloc, chromedp.WithErrorf(logf))
	p := &Page{Ctx: ctx, t: t}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
		cancelBase()
		if t.Failed() && output.Len() > 0 {
			t.Logf("chromium output (end):\n%s", tail([]byte(output.String()), 4000))
		}
	})

	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("browsertest: start chromium (%s): %v\n%s", exe, err, tail([]byte(output.String()), 4000))
	}
	t.Cleanup(func() {
		if t.Failed() && ctx.Err() == nil {
			p.Screenshot("failure")
		}
	})
	return p
}

// record runs in chromedp's event loop, so it only appends.
func (p *Page) record(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, Request{Method: ev.Request.Method, URL: ev.Request.URL, Type: string(ev.Type)})
	case *network.EventWebSocketCreated:
		p.requests = append(p.requests, Request{Method: "GET", URL: ev.URL, Type: "WebSocket"})
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range ev.Args {
				switch s, err := strconv.Unquote(string(a.Value)); {
				case a.Description != "":
					args = append(args, a.Description)
				case err == nil:
					args = append(args, s)
				default:
					args = append(args, string(a.Value))
				}
			}
			p.messages = append(p.messages, Message{Kind: "console." + string(ev.Type), Text: strings.Join(args, " ")})
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		p.messages = append(p.messages, Message{Kind: "exception", Text: text, URL: d.URL})
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError {
			p.messages = append(p.messages, Message{Kind: "log:" + string(ev.Entry.Source), Text: ev.Entry.Text, URL: ev.Entry.URL})
		}
	}
}

// Requests returns the requests the page made so far, in order.
func (p *Page) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// OffOrigin returns the requests that went (or tried to go) to another
// origin than base's (scheme, host and port). data:, blob: and about: URLs
// stay in the page and are not counted.
func (p *Page) OffOrigin(base string) []Request {
	want := origin(base)
	var off []Request
	for _, r := range p.Requests() {
		switch {
		case strings.HasPrefix(r.URL, "data:"), strings.HasPrefix(r.URL, "blob:"), strings.HasPrefix(r.URL, "about:"):
		case origin(r.URL) != want:
			off = append(off, r)
		}
	}
	return off
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// Errors returns the console errors, uncaught exceptions and browser log
// errors so far. Warnings and other levels are not kept.
func (p *Page) Errors() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Message(nil), p.messages...)
}

// Screenshot saves what the viewport shows as <artifacts>/<test name>/<name>.png
// and returns the file's path. A failure to take or write it fails the test.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	img, err := chromedp.Run(p.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Errorf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	file := filepath.Join(ArtifactDir(p.t), safeName(name)+".png")
	if err := os.WriteFile(file, img, 0o644); err != nil {
		p.t.Errorf("browsertest: screenshot %s: %v", name, err)
		return ""
	}
	p.t.Logf("browsertest: screenshot %s", file)
	return file
}

// ArtifactDir returns (and creates) the directory for t's artefacts:
// $RECONLAYER_TEST_ARTIFACTS/<test name>, or .artifacts/<test name> at the
// module root. The directory outlives the test, for a person or CI to keep.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	dir := filepath.Join(root, ".artifacts")
	if env := os.Getenv(ArtifactsEnv); env != "" {
		dir = env
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(root, dir)
		}
	}
	dir = filepath.Join(dir, safeName(t.Name()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: %v", err)
	}
	return dir
}

// moduleRoot is the nearest directory above the working directory (a
// test's package) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

var (
	installOnce sync.Once
	installLog  []byte
	installErr  error
)

// findChromium returns the browser's path. When it is missing it installs
// Debian's package if it runs as root with apt-get (once per test binary);
// otherwise it skips t, or fails it when CI=true.
func findChromium(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(Chromium); err == nil {
		return Chromium
	}
	installOnce.Do(func() { installLog, installErr = install(t) })
	err := installErr
	if err == nil {
		if _, err = os.Stat(Chromium); err == nil {
			return Chromium
		}
		err = fmt.Errorf("apt-get installed chromium but %s is missing", Chromium)
	}
	msg := fmt.Sprintf("browsertest: NO BROWSER, %s NOT RUN: %v. "+
		"Install Debian's chromium (`apt-get install -y chromium`) to run the browser tests; "+
		"with CI=true this is a failure, not a skip.", t.Name(), err)
	if len(installLog) > 0 {
		msg += "\napt-get output:\n" + tail(installLog, 4000)
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// install runs apt-get install chromium, after apt-get update when the
// package lists do not know it yet.
func install(t *testing.T) ([]byte, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%s is missing and installing it needs root", Chromium)
	}
	aptGet, err := exec.LookPath("apt-get")
	if err != nil {
		return nil, fmt.Errorf("%s is missing and there is no apt-get to install it", Chromium)
	}
	t.Logf("browsertest: %s is missing; installing Debian's chromium with apt-get (a few minutes)", Chromium)
	var out bytes.Buffer
	apt := func(args ...string) error {
		// Other test binaries may install at the same time: wait for dpkg's lock.
		args = append([]string{"-o", "DPkg::Lock::Timeout=600"}, args...)
		cmd := exec.CommandContext(t.Context(), aptGet, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout, cmd.Stderr = &out, &out
		return cmd.Run()
	}
	if err := apt("install", "-y", "chromium"); err != nil {
		if err := apt("update"); err != nil {
			return out.Bytes(), fmt.Errorf("apt-get update: %w", err)
		}
		if err := apt("install", "-y", "chromium"); err != nil {
			return out.Bytes(), fmt.Errorf("apt-get install -y chromium: %w", err)
		}
	}
	return out.Bytes(), nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// syncBuffer collects chromium's output, which its process writes from
// another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
