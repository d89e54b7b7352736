package progress

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// clock is a fake time source the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestPlainLinesArePacedAndReadable(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	c := newCounter(&out, "rows", 10000, false, clk.now)

	c.Add(1000) // too soon after the start: no line
	require.Empty(t, out.String())

	clk.advance(5 * time.Second)
	c.Add(1500)
	require.Equal(t, "rows: 2,500/10,000 (25%) 500/s\n", out.String())

	clk.advance(time.Second)
	c.Set(9000) // within the pace: no line
	require.Equal(t, 1, strings.Count(out.String(), "\n"))

	clk.advance(4 * time.Second)
	c.Set(10000)
	c.Finish()
	c.Finish()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, []string{
		"rows: 2,500/10,000 (25%) 500/s",
		"rows: 10,000/10,000 (100%) 1,000/s",
		"rows: 10,000/10,000 (100%) 1,000/s in 10s",
	}, lines)
	require.NotContains(t, out.String(), "\r", "no terminal control in a log")
}

func TestTerminalRedrawsOneLineWithABar(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	c := newCounter(&out, "evidence", 200, true, clk.now)

	clk.advance(time.Second)
	c.Add(100)
	require.Equal(t, "\r\033[Kevidence [###############...............]  50% 100/200 100/s", out.String())

	clk.advance(time.Second)
	c.Add(100)
	c.Finish()
	require.True(t, strings.HasSuffix(out.String(),
		"\r\033[Kevidence [##############################] 100% 200/200 100/s in 2s\n"), out.String())
	require.Equal(t, 1, strings.Count(out.String(), "\n"), "one line on screen, ended once")
}

func TestUnknownTotalShowsCountAndRate(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	c := newCounter(&out, "matched", 0, false, clk.now)
	clk.advance(2 * time.Second)
	c.Add(1234567)
	c.Finish()
	require.Equal(t, "matched: 1,234,567 617,283/s in 2s\n", out.String(), "only the final line within the pace")
}

func TestWithoutRate(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	c := newCounter(&out, "seconds waited", 60, false, clk.now).WithoutRate()
	clk.advance(5 * time.Second)
	c.Set(5)
	require.Equal(t, "seconds waited: 5/60 (8%)\n", out.String())
}

func TestConcurrentAddsAllCount(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	c := New(&out, "posts", 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				c.Add(1)
			}
		})
	}
	wg.Wait()
	c.Finish()
	require.Contains(t, out.String(), "posts: 8,000")
}

func TestBuffersAndPipesAreNotTerminals(t *testing.T) {
	t.Parallel()
	require.False(t, IsTerminal(&bytes.Buffer{}))
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	require.False(t, IsTerminal(w))
}

func TestStep(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	Step(&out, 3, 7, "importing a camt.053 statement")
	require.Equal(t, "[3/7] importing a camt.053 statement\n", out.String())
}
