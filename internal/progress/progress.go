// Package progress tells the person running a long command (demo, bench,
// import) how far it has got: on a terminal one line redrawn in place with a
// bar, elsewhere (CI logs, pipes, files) plain lines at a slow pace so that a
// log stays readable.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Intervals between two reports: a terminal redraws often, a log gets a line
// every few seconds at most.
const (
	ttyEvery   = 100 * time.Millisecond
	plainEvery = 5 * time.Second
	barWidth   = 30
)

// Counter counts work done towards an optional total (0 = unknown). It is
// safe for concurrent use.
type Counter struct {
	w     io.Writer
	tty   bool
	label string
	now   func() time.Time

	mu      sync.Mutex
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	stopped bool
	noRate  bool
}

// New starts a counter labelled label writing to w. A terminal is detected
// when w is an *os.File on a character device and TERM is not "dumb".
func New(w io.Writer, label string, total int64) *Counter {
	return newCounter(w, label, total, IsTerminal(w), time.Now)
}

func newCounter(w io.Writer, label string, total int64, tty bool, now func() time.Time) *Counter {
	t := now()
	return &Counter{w: w, tty: tty, label: label, total: total, now: now, start: t, last: t}
}

// IsTerminal reports whether w is an interactive terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// WithoutRate leaves the rate out of the report, for counts where it means
// nothing (seconds waited).
func (c *Counter) WithoutRate() *Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noRate = true
	return c
}

// Add records n more units done.
func (c *Counter) Add(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done += n
	c.maybeReport()
}

// Set records that n units are done in all (for work polled from elsewhere,
// such as an import batch's counters).
func (c *Counter) Set(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = n
	c.maybeReport()
}

// SetTotal changes the total once it becomes known.
func (c *Counter) SetTotal(total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total = total
}

// Finish reports the final count once, with the elapsed time, and ends the
// terminal line. Later calls do nothing.
func (c *Counter) Finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	c.stopped = true
	line := c.line() + " in " + c.now().Sub(c.start).Round(time.Millisecond).String()
	if c.tty {
		fmt.Fprintf(c.w, "\r\033[K%s\n", line)
		return
	}
	fmt.Fprintln(c.w, line)
}

func (c *Counter) maybeReport() {
	if c.stopped {
		return
	}
	every := plainEvery
	if c.tty {
		every = ttyEvery
	}
	now := c.now()
	if now.Sub(c.last) < every {
		return
	}
	c.last = now
	if c.tty {
		fmt.Fprintf(c.w, "\r\033[K%s", c.line())
		return
	}
	fmt.Fprintln(c.w, c.line())
}

// line is "label [#####.....] 45% 4,500/10,000 1,234/s" on a terminal and
// "label: 4,500/10,000 (45%) 1,234/s" elsewhere; without a total, just the
// count and the rate.
func (c *Counter) line() string {
	var b strings.Builder
	b.WriteString(c.label)
	rate := ""
	if secs := c.now().Sub(c.start).Seconds(); secs > 0 && c.done > 0 && !c.noRate {
		rate = " " + thousands(int64(float64(c.done)/secs)) + "/s"
	}
	if c.total <= 0 {
		fmt.Fprintf(&b, ": %s%s", thousands(c.done), rate)
		return b.String()
	}
	pct := min(100, c.done*100/c.total)
	if c.tty {
		filled := int(pct) * barWidth / 100
		fmt.Fprintf(&b, " [%s%s] %3d%% %s/%s%s", strings.Repeat("#", filled), strings.Repeat(".", barWidth-filled),
			pct, thousands(c.done), thousands(c.total), rate)
		return b.String()
	}
	fmt.Fprintf(&b, ": %s/%s (%d%%)%s", thousands(c.done), thousands(c.total), pct, rate)
	return b.String()
}

// thousands writes n with comma separators: counts of a million rows are
// read at a glance.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// Step prints one line saying what a multi-step command is doing now, e.g.
// "[3/7] importing a camt.053 statement": the same on a terminal and in a
// log.
func Step(w io.Writer, n, of int, what string) {
	fmt.Fprintf(w, "[%d/%d] %s\n", n, of, what)
}
