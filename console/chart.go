package console

import (
	"fmt"
	"math"
	"time"

	"github.com/reconlayer/reconlayer/internal/db"
)

// chartDays is how many days the overview's chart covers, today included.
const chartDays = 14

// chartVerdicts are the stacked series, bottom up; "none" is a case not
// judged yet. Each has a CSS class v-<verdict> (static/console.css) whose
// colours come from the Okabe–Ito palette, told apart with colour blindness.
var chartVerdicts = []string{"matched", "matched_with_exception", "needs_review", "unreconciled", "delayed", "sla_risk", "none"}

// The chart's geometry, in SVG user units (the viewBox; the SVG scales to
// its container).
const (
	chartWidth   = 720
	chartHeight  = 260
	chartLeft    = 48 // room for the y-axis labels
	chartRight   = 8
	chartTop     = 12
	chartBottom  = 36 // room for the day labels
	chartBarFill = 0.7
)

// chart is the overview's stacked bar chart of cases created per day by
// verdict, laid out for the template: an inline SVG rendered on the server,
// with the same numbers as a table.
type chart struct {
	Width, Height int
	From, To      time.Time // the first and last day shown
	Total         int64
	Bars          []chartBar
	Ticks         []chartTick
	Legend        []chartSeries
	Verdicts      []string // the table's columns
	BaselineY     string
	PlotLeft      int
	PlotRight     int
}

type chartBar struct {
	Day      time.Time
	Label    string // "Jan 2"
	X, Width string
	LabelX   string
	LabelY   string
	Total    int64
	Counts   []int64 // by chartVerdicts, for the table
	Segments []chartSegment
}

type chartSegment struct {
	Verdict string
	Count   int64
	Y       string
	Height  string
}

type chartTick struct {
	Value int64
	Y     string
}

type chartSeries struct {
	Verdict string
	Total   int64
}

// buildChart lays out rows (cases per UTC day and verdict) as chartDays
// bars ending on today's UTC date. Rows outside those days are ignored.
func buildChart(rows []db.CasesCreatedPerDayRow, today time.Time) chart {
	last := today.UTC().Truncate(24 * time.Hour)
	first := last.AddDate(0, 0, -(chartDays - 1))
	index := map[string]int{}
	for i, v := range chartVerdicts {
		index[v] = i
	}
	counts := make([][]int64, chartDays)
	for i := range counts {
		counts[i] = make([]int64, len(chartVerdicts))
	}
	for _, r := range rows {
		d := int(r.Day.UTC().Sub(first) / (24 * time.Hour))
		verdict := "none"
		if r.Verdict != nil {
			verdict = *r.Verdict
		}
		v, ok := index[verdict]
		if d < 0 || d >= chartDays || !ok {
			continue
		}
		counts[d][v] += r.Cases
	}

	c := chart{Width: chartWidth, Height: chartHeight, From: first, To: last, Verdicts: chartVerdicts,
		PlotLeft: chartLeft, PlotRight: chartWidth - chartRight}
	var highest int64
	totals := make([]int64, len(chartVerdicts))
	for d := range counts {
		var sum int64
		for v, n := range counts[d] {
			sum += n
			totals[v] += n
		}
		highest = max(highest, sum)
		c.Total += sum
	}
	step := niceStep(highest)
	top := max(step*((highest+step-1)/step), step)
	plotH := float64(chartHeight - chartTop - chartBottom)
	baseline := float64(chartHeight - chartBottom)
	c.BaselineY = px(baseline)
	for v := int64(0); v <= top; v += step {
		c.Ticks = append(c.Ticks, chartTick{Value: v, Y: px(baseline - float64(v)/float64(top)*plotH)})
	}

	slot := float64(chartWidth-chartLeft-chartRight) / chartDays
	barW := slot * chartBarFill
	for d := range counts {
		day := first.AddDate(0, 0, d)
		x := float64(chartLeft) + float64(d)*slot + (slot-barW)/2
		b := chartBar{Day: day, Label: day.Format("Jan 2"), X: px(x), Width: px(barW),
			LabelX: px(x + barW/2), LabelY: px(baseline + 16), Counts: counts[d]}
		y := baseline
		for v, n := range counts[d] {
			b.Total += n
			if n == 0 {
				continue
			}
			h := float64(n) / float64(top) * plotH
			y -= h
			b.Segments = append(b.Segments, chartSegment{Verdict: chartVerdicts[v], Count: n, Y: px(y), Height: px(h)})
		}
		c.Bars = append(c.Bars, b)
	}
	for v, verdict := range chartVerdicts {
		c.Legend = append(c.Legend, chartSeries{Verdict: verdict, Total: totals[v]})
	}
	return c
}

// niceStep is a gridline step of 1, 2 or 5 times a power of ten that splits
// highest into about four parts (1 at least: counts are whole).
func niceStep(highest int64) int64 {
	if highest <= 4 {
		return 1
	}
	raw := float64(highest) / 4
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	var f float64
	switch r := raw / pow; {
	case r <= 1:
		f = 1
	case r <= 2:
		f = 2
	case r <= 5:
		f = 5
	default:
		f = 10
	}
	return int64(f * pow)
}

func px(v float64) string { return fmt.Sprintf("%.1f", v) }
