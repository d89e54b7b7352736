package ledgermatch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// ent describes a statement line or ledger entry by name, so expectations
// read "s1=l1" rather than indexes.
type ent struct {
	name string
	cur  string
	amt  int64
	day  int32
	refs []string
}

func usd(name string, amt int64, day int32, refs ...string) ent {
	return ent{name: name, cur: "USD", amt: amt, day: day, refs: refs}
}

func eur(name string, amt int64, day int32, refs ...string) ent {
	return ent{name: name, cur: "EUR", amt: amt, day: day, refs: refs}
}

// units is Units for amounts a test spells as decimals, as a caller would
// convert them.
func units(t *testing.T, s string) int64 {
	t.Helper()
	u, ok := Units(decimal.RequireFromString(s), 2)
	require.True(t, ok)
	return u
}

// build turns descriptions into entries whose IDs sort in the order given
// (group, side, position), which is the order interchangeable entries pair
// in.
func build(group int, side byte, es []ent) ([]Entry, map[uuid.UUID]string) {
	out := make([]Entry, len(es))
	names := map[uuid.UUID]string{}
	for i, x := range es {
		id := uuid.UUID{0: byte(group >> 8), 1: byte(group), 2: side, 14: byte(i >> 8), 15: byte(i)}
		out[i] = Entry{ID: id, Currency: x.cur, Amount: x.amt, Day: x.day, Refs: x.refs}
		names[id] = x.name
	}
	return out, names
}

// describe writes a result as lines such as
// "reference_amount s1=l1 1.00 confident" and "duplicate warning s1,s2|",
// naming entries by ID so that it survives reordering the inputs.
func describe(res Result, st, lg []Entry, names map[uuid.UUID]string) []string {
	who := func(in []Entry, idx []int) string {
		var parts []string
		for _, i := range idx {
			parts = append(parts, names[in[i].ID])
		}
		slices.Sort(parts)
		return strings.Join(parts, ",")
	}
	var out []string
	for _, m := range res.Matches {
		how := "suggested"
		if m.Confident {
			how = "confident"
		}
		out = append(out, fmt.Sprintf("%s %s=%s %.2f %s", m.Strategy, who(st, m.Statement), who(lg, m.Ledger), m.Score, how))
	}
	for _, d := range res.Discrepancies {
		out = append(out, fmt.Sprintf("%s %s %s|%s", d.Type, d.Severity, who(st, d.Statement), who(lg, d.Ledger)))
	}
	return out
}

func texts(res Result) string {
	var b strings.Builder
	for _, m := range res.Matches {
		b.WriteString(m.Reason + "\n")
	}
	for _, d := range res.Discrepancies {
		b.WriteString(d.Message + "\n")
	}
	return b.String()
}

type runCase struct {
	name   string
	st, lg []ent
	opt    Options
	want   []string // describe lines, in any order
	says   []string // substrings of the reasons and messages
}

func runCases(t *testing.T) []runCase {
	return []runCase{
		{
			name: "reference and amount on the same day",
			st:   []ent{usd("s1", 10000, 100, "INV-1042")},
			lg:   []ent{usd("l1", 10000, 100, "inv 1042")},
			want: []string{"reference_amount s1=l1 1.00 confident"},
			says: []string{"Same reference INV-1042 and amount 100.00 USD, booked on the same day."},
		},
		{
			name: "reference and amount within the window",
			st:   []ent{usd("s1", 10000, 100, "E2E-77", "INV-1042")},
			lg:   []ent{usd("l1", 10000, 101, "INV1042")},
			want: []string{"reference_amount s1=l1 1.00 confident"},
			says: []string{"Same reference INV-1042 and amount 100.00 USD, booked 1 day apart."},
		},
		{
			name: "same reference beyond the window: a suggestion and a date mismatch",
			st:   []ent{usd("s1", 10000, 100, "INV-1042")},
			lg:   []ent{usd("l1", 10000, 110, "INV-1042")},
			want: []string{"reference_amount s1=l1 0.80 suggested", "date_mismatch info s1|l1"},
			says: []string{"booked 10 days apart, beyond the window of ±3 days",
				"Statement line and ledger entry share reference INV-1042 and amount 100.00 USD but were booked 10 days apart"},
		},
		{
			name: "a statement line sent twice",
			st:   []ent{usd("s1", 5000, 10, "INV-7"), usd("s2", 5000, 10, "INV-7")},
			lg:   []ent{usd("l1", 5000, 10, "INV-7")},
			want: []string{"reference_amount s1=l1 1.00 confident", "duplicate warning s2|"},
			says: []string{"Duplicate statement line: same reference INV-7, amount 50.00 USD and day as a line already matched, and no ledger entry left for it."},
		},
		{
			name: "a ledger entry posted twice",
			st:   []ent{usd("s1", 5000, 10, "INV-7")},
			lg:   []ent{usd("l1", 5000, 10, "INV-7"), usd("l2", 5000, 10, "INV-7"), usd("l3", 5000, 10, "INV-7")},
			want: []string{"reference_amount s1=l1 1.00 confident", "duplicate warning |l2", "duplicate warning |l3"},
			says: []string{"Duplicate ledger entry: same reference INV-7, amount 50.00 USD and day as an entry already matched, and no statement line left for it."},
		},
		{
			name: "a leftover with tied candidates is competition, not a duplicate",
			st:   []ent{usd("s1", 5000, 10, "INV-7"), usd("s2", 5000, 10, "INV-7")},
			lg:   []ent{usd("l1", 5000, 10, "INV-7"), usd("l2", 5000, 8, "INV-7"), usd("l3", 5000, 12, "INV-7")},
			want: []string{"reference_amount s1=l1 1.00 confident", "duplicate warning s2|l2,l3"},
			says: []string{"1 statement line and 2 ledger entries of 50.00 USD compete"},
		},
		{
			name: "interchangeable lines and entries pair in sorted order",
			st:   []ent{usd("s1", 5000, 10, "INV-7"), usd("s2", 5000, 10, "INV-7")},
			lg:   []ent{usd("l1", 5000, 10, "INV-7"), usd("l2", 5000, 10, "INV-7")},
			want: []string{"reference_amount s1=l1 1.00 confident", "reference_amount s2=l2 1.00 confident"},
		},
		{
			name: "the nearest day wins among reference candidates",
			st:   []ent{usd("s1", 10000, 10, "INV-5")},
			lg:   []ent{usd("l1", 10000, 11, "INV-5"), usd("l2", 10000, 14, "INV-5")},
			want: []string{"reference_amount s1=l1 1.00 confident", "missing_in_statement warning |l2"},
		},
		{
			name: "a reference pairing needs each to be the other's nearest",
			st:   []ent{usd("s1", 10000, 10, "INV-5"), usd("s2", 10000, 12, "INV-5")},
			lg:   []ent{usd("l1", 10000, 12, "INV-5")},
			want: []string{"reference_amount s2=l1 1.00 confident", "missing_in_ledger warning s1|"},
		},
		{
			name: "a tie of nearest days is left to the window pass",
			st:   []ent{usd("s1", 10000, 10, "INV-5")},
			lg:   []ent{usd("l1", 10000, 9, "INV-5"), usd("l2", 10000, 11, "INV-5")},
			want: []string{"duplicate warning s1|l1,l2"},
			says: []string{"1 statement line and 2 ledger entries of 100.00 USD compete within ±3 days of each other; they need matching by hand."},
		},
		{
			name: "more shared references outrank a shared label",
			st: []ent{usd("s1", 250000, 30, "SALARY-MAY", "EMP-1001"),
				usd("s2", 250000, 30, "SALARY-MAY", "EMP-1002")},
			lg: []ent{usd("l1", 250000, 30, "EMP-1002", "SALARY-MAY"),
				usd("l2", 250000, 30, "EMP-1001", "SALARY-MAY")},
			want: []string{"reference_amount s1=l2 1.00 confident", "reference_amount s2=l1 1.00 confident"},
		},
		{
			name: "a reference on more than MaxRefEntries entries is a label, not a reference",
			opt:  Options{MaxRefEntries: 2},
			st: []ent{usd("s1", 10000, 1, "CUST-9"), usd("s2", 20000, 40, "CUST-9"),
				usd("s3", 30000, 80, "CUST-9")},
			lg: []ent{usd("l1", 10000, 1, "CUST-9"), usd("l2", 25000, 40, "CUST-9")},
			want: []string{"amount_date_window s1=l1 0.90 confident", "missing_in_ledger warning s2|",
				"missing_in_ledger warning s3|", "missing_in_statement warning |l2"},
		},
		{
			name: "equal amounts competing within the window are not guessed",
			st:   []ent{usd("s1", 5000, 1), usd("s2", 5000, 2)},
			lg:   []ent{usd("l1", 5000, 1)},
			want: []string{"duplicate warning s1,s2|l1"},
			says: []string{"2 statement lines and 1 ledger entry of 50.00 USD compete within ±3 days of each other; they need matching by hand."},
		},
		{
			name: "many lines on one day: distinct amounts match, equal ones do not",
			st: []ent{usd("s1", 1000, 7), usd("s2", 2000, 7), usd("s3", 3000, 7), usd("s4", 4000, 7),
				usd("s5", 5000, 7), usd("s6", 6000, 7), usd("s7", 6000, 7)},
			lg: []ent{usd("l5", 5000, 7), usd("l4", 4000, 7), usd("l3", 3000, 7), usd("l2", 2000, 7),
				usd("l1", 1000, 7), usd("l6", 6000, 7), usd("l7", 6000, 7)},
			want: []string{"amount_date_window s1=l1 0.90 confident", "amount_date_window s2=l2 0.90 confident",
				"amount_date_window s3=l3 0.90 confident", "amount_date_window s4=l4 0.90 confident",
				"amount_date_window s5=l5 0.90 confident", "duplicate warning s6,s7|l6,l7"},
			says: []string{"Same amount 10.00 USD, booked on the same day, and no other line or entry of that amount within ±3 days."},
		},
		{
			name: "amount and date window, two days apart",
			st:   []ent{usd("s1", 7700, 1)},
			lg:   []ent{usd("l1", 7700, 3)},
			want: []string{"amount_date_window s1=l1 0.80 suggested"},
			says: []string{"booked 2 days apart"},
		},
		{
			name: "the same amount beyond the window without a reference",
			st:   []ent{usd("s1", 7700, 1)},
			lg:   []ent{usd("l1", 7700, 5)},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1"},
			says: []string{"No ledger entry for the statement line of 77.00 USD booked 1970-01-02.",
				"No statement line for the ledger entry of 77.00 USD booked 1970-01-06."},
		},
		{
			name: "split 1:N by reference",
			st:   []ent{usd("s1", 10000, 20, "INV-7")},
			lg:   []ent{usd("l1", 4000, 20, "INV-7"), usd("l2", 6000, 21, "INV-7"), usd("l3", 2000, 20)},
			want: []string{"split_reference s1=l1,l2 0.95 confident", "missing_in_statement warning |l3"},
			says: []string{"Ledger entries of 60.00 and 40.00 USD with reference INV-7 add up to the statement line's 100.00 USD, booked within 1 day of it."},
		},
		{
			name: "split N:1 by reference",
			st:   []ent{usd("s1", 3000, 20, "BATCH-3"), usd("s2", 2000, 20, "BATCH-3"), usd("s3", 5000, 20, "BATCH-3")},
			lg:   []ent{usd("l1", 10000, 20, "batch 3")},
			want: []string{"split_reference s1,s2,s3=l1 0.95 confident"},
			says: []string{"Statement lines of 50.00, 30.00 and 20.00 USD with reference BATCH-3 add up to the ledger entry's 100.00 USD, all booked on the same day."},
		},
		{
			name: "split 1:N by window",
			st:   []ent{usd("s1", 10000, 20)},
			lg:   []ent{usd("l1", 2500, 19), usd("l2", 7500, 21), usd("l3", 50000, 20)},
			want: []string{"split_window s1=l1,l2 0.70 suggested", "missing_in_statement warning |l3"},
			says: []string{"Ledger entries of 75.00 and 25.00 USD add up to the statement line's 100.00 USD, booked within 1 day of it; the only exact combination among 2 nearby ledger entries."},
		},
		{
			name: "split N:1 by window, money out",
			st:   []ent{usd("s1", -2500, 20), usd("s2", -7500, 20), usd("s3", 2500, 20)},
			lg:   []ent{usd("l1", -10000, 20)},
			want: []string{"split_window s1,s2=l1 0.70 suggested", "missing_in_ledger warning s3|"},
		},
		{
			name: "two exact groups are ambiguous: no split",
			st:   []ent{usd("s1", 10000, 20)},
			lg:   []ent{usd("l1", 4000, 20), usd("l2", 6000, 20), usd("l3", 3000, 20), usd("l4", 7000, 20)},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1",
				"missing_in_statement warning |l2", "missing_in_statement warning |l3", "missing_in_statement warning |l4"},
		},
		{
			name: "equal members make two groups: no split",
			st:   []ent{usd("s1", 10000, 20, "INV-8")},
			lg:   []ent{usd("l1", 5000, 20, "INV-8"), usd("l2", 5000, 20, "INV-8"), usd("l3", 5000, 21, "INV-8")},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1",
				"missing_in_statement warning |l2", "missing_in_statement warning |l3"},
		},
		{
			name: "equal members in two different groups: no split",
			st:   []ent{usd("s1", 9000, 20)},
			lg:   []ent{usd("l1", 4000, 20), usd("l2", 4000, 20), usd("l3", 3000, 20), usd("l4", 2000, 20)},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1",
				"missing_in_statement warning |l2", "missing_in_statement warning |l3", "missing_in_statement warning |l4"},
		},
		{
			name: "equal members in one group split fine",
			st:   []ent{usd("s1", 10000, 20)},
			lg:   []ent{usd("l1", 5000, 20), usd("l2", 5000, 21)},
			want: []string{"split_window s1=l1,l2 0.70 suggested"},
		},
		{
			name: "split members beyond the window do not count",
			st:   []ent{usd("s1", 10000, 20, "INV-7")},
			lg:   []ent{usd("l1", 4000, 20, "INV-7"), usd("l2", 6000, 24, "INV-7")},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1", "missing_in_statement warning |l2"},
		},
		{
			name: "a split search out of steps matches nothing",
			opt:  Options{StepBudget: 1},
			st:   []ent{usd("s1", 10000, 20, "INV-7")},
			lg:   []ent{usd("l1", 4000, 20, "INV-7"), usd("l2", 6000, 21, "INV-7")},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1", "missing_in_statement warning |l2"},
		},
		{
			name: "MaxGroup 1 turns splits off",
			opt:  Options{MaxGroup: 1},
			st:   []ent{usd("s1", 10000, 20)},
			lg:   []ent{usd("l1", 4000, 20), usd("l2", 6000, 20)},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1", "missing_in_statement warning |l2"},
		},
		{
			name: "reversal: only the credit pairs",
			st:   []ent{usd("s1", 10000, 5, "INV-9"), usd("s2", -10000, 6, "INV-9")},
			lg:   []ent{usd("l1", 10000, 5, "INV-9")},
			want: []string{"reference_amount s1=l1 1.00 confident", "missing_in_ledger warning s2|"},
			says: []string{"No ledger entry for the statement line of -100.00 USD booked 1970-01-07, reference INV-9."},
		},
		{
			name: "reversal without references",
			st:   []ent{usd("s1", -10000, 6), usd("s2", 10000, 5)},
			lg:   []ent{usd("l1", 10000, 5)},
			want: []string{"amount_date_window s2=l1 0.90 confident", "missing_in_ledger warning s1|"},
		},
		{
			name: "members that add up only after each is rounded",
			// 33.335 + 33.335 + 33.33 is 100.00 before rounding, 100.01 after.
			st:   []ent{usd("s1", units(t, "100.01"), 3)},
			lg:   []ent{usd("l1", units(t, "33.335"), 3), usd("l2", units(t, "33.335"), 3), usd("l3", units(t, "33.33"), 4)},
			want: []string{"split_window s1=l1,l2,l3 0.70 suggested"},
			says: []string{"Ledger entries of 33.34, 33.34 and 33.33 USD add up to the statement line's 100.01 USD"},
		},
		{
			name: "0.1 + 0.2 is exactly 0.3 in minor units",
			st:   []ent{usd("s1", units(t, "0.3"), 3, "PAY-42")},
			lg:   []ent{usd("l1", units(t, "0.1"), 3, "PAY-42"), usd("l2", units(t, "0.2"), 3, "PAY-42")},
			want: []string{"split_reference s1=l1,l2 0.95 confident"},
		},
		{
			name: "different currencies are never matched or paired",
			st:   []ent{usd("s1", 10000, 1, "INV-3"), usd("s2", 10000, 5), usd("s3", 4000, 9, "INV-4")},
			lg: []ent{eur("l1", 10000, 1, "INV-3"), eur("l2", 4000, 5), eur("l3", 6000, 5),
				eur("l4", 3900, 9, "INV-4")},
			want: []string{"missing_in_ledger warning s1|", "missing_in_ledger warning s2|", "missing_in_ledger warning s3|",
				"missing_in_statement warning |l1", "missing_in_statement warning |l2", "missing_in_statement warning |l3",
				"missing_in_statement warning |l4"},
		},
		{
			name: "amount mismatch with the same reference",
			st:   []ent{usd("s1", 10000, 3, "INV-77")},
			lg:   []ent{usd("l1", 9950, 3, "inv77")},
			want: []string{"amount_mismatch critical s1|l1"},
			says: []string{"Statement line and ledger entry share reference INV-77 but differ in amount: statement 100.00 USD, ledger 99.50 USD, difference 0.50 USD."},
		},
		{
			name: "an amount mismatch needs a unique counterpart on both sides",
			st: []ent{usd("s1", 10000, 3, "INV-77"),
				usd("s2", 20000, 40, "INV-88"), usd("s3", 21000, 50, "INV-88")},
			lg: []ent{usd("l1", 9950, 3, "INV-77"), usd("l2", 9900, 4, "INV-77"),
				usd("l3", 19000, 40, "INV-88")},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1", "missing_in_statement warning |l2",
				"missing_in_ledger warning s2|", "missing_in_ledger warning s3|", "missing_in_statement warning |l3"},
		},
		{
			name: "references shorter than four characters are ignored",
			st:   []ent{usd("s1", 10000, 1, "A-1")},
			lg:   []ent{usd("l1", 10000, 30, "a1")},
			want: []string{"missing_in_ledger warning s1|", "missing_in_statement warning |l1"},
		},
		{
			name: "a negative window means the same day only",
			opt:  Options{WindowDays: -1},
			st:   []ent{usd("s1", 7700, 1), usd("s2", 8800, 2)},
			lg:   []ent{usd("l1", 7700, 2), usd("l2", 8800, 2)},
			want: []string{"amount_date_window s2=l2 0.90 confident", "missing_in_ledger warning s1|", "missing_in_statement warning |l1"},
		},
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	for _, c := range runCases(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			st, stNames := build(0, 's', c.st)
			lg, lgNames := build(0, 'l', c.lg)
			for id, n := range lgNames {
				stNames[id] = n
			}
			res := Run(st, lg, c.opt)
			require.ElementsMatch(t, c.want, describe(res, st, lg, stNames))
			all := texts(res)
			for _, s := range c.says {
				require.Contains(t, all, s)
			}
		})
	}
}

func TestRunEmpty(t *testing.T) {
	t.Parallel()
	res := Run(nil, nil, Options{})
	require.Empty(t, res.Matches)
	require.Empty(t, res.Discrepancies)
	res = Run(nil, []Entry{{ID: uuid.UUID{1}, Currency: "USD", Amount: 1, Refs: []string{"INV-1"}}}, Options{})
	require.Empty(t, res.Matches)
	require.Equal(t, []Discrepancy{{Type: MissingInStatement, Severity: Warning, Ledger: []int{0},
		Message: "No statement line for the ledger entry of 0.01 USD booked 1970-01-01, reference INV-1."}}, res.Discrepancies)
}

func TestNormalizeRef(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"INV-1042", "INV1042"},
		{" inv 1042 ", "INV1042"},
		{"ab-cd", "ABCD"},
		{"Überweisung 12", "ÜBERWEISUNG12"},
		{"١٢٣٤", "١٢٣٤"}, // digits of another script are digits
		{"A-1", ""},      // too short: matches by chance
		{"abc", ""},
		{"----", ""},
		{"", ""},
		{"\xff\xfeABCD", "ABCD"}, // invalid UTF-8 is not a letter
	} {
		require.Equal(t, c.want, NormalizeRef(c.in), "%q", c.in)
	}
}

func TestUnits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		exp  int32
		want int64
		ok   bool
	}{
		{"10.005", 2, 1001, true},
		{"-10.005", 2, -1001, true},
		{"10.004", 2, 1000, true},
		{"-10.0049", 2, -1000, true},
		{"100", 2, 10000, true},
		{"0.1", 2, 10, true},
		{"1.5", 0, 2, true},
		{"-1.5", 0, -2, true},
		{"0.0005", 3, 1, true},
		{"92233720368547758.07", 2, math.MaxInt64, true},
		{"-92233720368547758.08", 2, math.MinInt64, true},
		{"92233720368547758.08", 2, 0, false},
		{"1e30", 2, 0, false},
	} {
		got, ok := Units(decimal.RequireFromString(c.in), c.exp)
		require.Equal(t, c.ok, ok, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	// Floats would make 0.1 + 0.2 = 0.30000000000000004; minor units do not.
	a, _ := Units(decimal.RequireFromString("0.1"), 2)
	b, _ := Units(decimal.RequireFromString("0.2"), 2)
	c, _ := Units(decimal.RequireFromString("0.3"), 2)
	require.Equal(t, c, a+b)
}

func TestAmountsAreWrittenWithTheCurrencyExponent(t *testing.T) {
	t.Parallel()
	exponent := func(cur string) int32 {
		return map[string]int32{"JPY": 0, "BHD": 3}[cur]
	}
	st := []Entry{{ID: uuid.UUID{1}, Currency: "JPY", Amount: 1500, Day: 1}, {ID: uuid.UUID{2}, Currency: "BHD", Amount: -5, Day: 1}}
	res := Run(st, nil, Options{Exponent: exponent})
	all := texts(res)
	require.Contains(t, all, "of 1500 JPY")
	require.Contains(t, all, "of -0.005 BHD")
}

// mixedRun is every table case side by side, each case's days moved far
// from the others (references still connect across cases, which is more to
// get right), plus generated volume.
func mixedRun(t *testing.T) ([]Entry, []Entry, map[uuid.UUID]string) {
	var st, lg []Entry
	names := map[uuid.UUID]string{}
	for i, c := range runCases(t) {
		for _, sd := range []*[]ent{&c.st, &c.lg} {
			moved := slices.Clone(*sd)
			for j := range moved {
				moved[j].day += int32(i) * 1000
			}
			*sd = moved
		}
		s, sn := build(i+1, 's', c.st)
		l, ln := build(i+1, 'l', c.lg)
		st, lg = append(st, s...), append(lg, l...)
		for id, n := range sn {
			names[id] = fmt.Sprintf("%d/%s", i, n)
		}
		for id, n := range ln {
			names[id] = fmt.Sprintf("%d/%s", i, n)
		}
	}
	gs, gl := genRun(7, 3000)
	for i := range gs {
		names[gs[i].ID] = gs[i].ID.String()
	}
	for i := range gl {
		names[gl[i].ID] = gl[i].ID.String()
	}
	return append(st, gs...), append(lg, gl...), names
}

// byID is a result with indexes replaced by entry IDs, comparable across
// runs whose inputs were shuffled.
type byID struct {
	Statement, Ledger []uuid.UUID
	What              string // strategy or type and severity
	Score             float64
	Confident         bool
	Text              string
}

func resultByID(res Result, st, lg []Entry) []byID {
	ids := func(in []Entry, idx []int) []uuid.UUID {
		var out []uuid.UUID
		for _, i := range idx {
			out = append(out, in[i].ID)
		}
		slices.SortFunc(out, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		return out
	}
	var out []byID
	for _, m := range res.Matches {
		out = append(out, byID{ids(st, m.Statement), ids(lg, m.Ledger), m.Strategy, m.Score, m.Confident, m.Reason})
	}
	for _, d := range res.Discrepancies {
		out = append(out, byID{ids(st, d.Statement), ids(lg, d.Ledger), d.Type + " " + d.Severity, 0, false, d.Message})
	}
	return out
}

func TestRunIsDeterministic(t *testing.T) {
	t.Parallel()
	st, lg, _ := mixedRun(t)
	want := resultByID(Run(st, lg, Options{}), st, lg)
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(seed, 99))
			s, l := slices.Clone(st), slices.Clone(lg)
			r.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
			r.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
			require.Equal(t, want, resultByID(Run(s, l, Options{}), s, l))
		})
	}
}

func TestRunInvariants(t *testing.T) {
	t.Parallel()
	st, lg, names := mixedRun(t)
	requireInvariants(t, st, lg, Run(st, lg, Options{}), names)
}

// requireInvariants checks what must hold for any input: an entry is in at
// most one match and accounted for exactly once (matched, or explained by a
// duplicate, amount_mismatch or missing discrepancy); a match is within one
// currency and its two sides add up to the same amount.
func requireInvariants(t *testing.T, st, lg []Entry, res Result, names map[uuid.UUID]string) {
	t.Helper()
	accounted := [2]map[int]string{{}, {}}
	account := func(side int, idx []int, how string) {
		require.True(t, slices.IsSorted(idx))
		for _, i := range idx {
			if before, ok := accounted[side][i]; ok {
				require.Failf(t, "accounted for twice", "%s is also %s", how, before)
			}
			accounted[side][i] = how
		}
	}
	for _, m := range res.Matches {
		require.NotEmpty(t, m.Statement)
		require.NotEmpty(t, m.Ledger)
		account(0, m.Statement, m.Strategy)
		account(1, m.Ledger, m.Strategy)
		var sum int64
		for _, i := range m.Statement {
			sum += st[i].Amount
			require.Equal(t, st[m.Statement[0]].Currency, st[i].Currency)
		}
		for _, i := range m.Ledger {
			sum -= lg[i].Amount
			require.Equal(t, st[m.Statement[0]].Currency, lg[i].Currency)
		}
		require.Zero(t, sum, m.Reason)
		require.True(t, m.Score > 0 && m.Score <= 1)
	}
	strategies := []string{ReferenceAmount, AmountDateWindow, SplitReference, SplitWindow}
	for _, d := range res.Discrepancies {
		if d.Type != DateMismatch {
			account(0, d.Statement, d.Type)
			account(1, d.Ledger, d.Type)
			continue
		}
		for side, idx := range [][]int{d.Statement, d.Ledger} {
			for _, i := range idx {
				require.Contains(t, strategies, accounted[side][i], "a date mismatch is about a match")
			}
		}
	}
	for side, in := range [][]Entry{st, lg} {
		for i := range in {
			if _, ok := accounted[side][i]; !ok {
				require.Failf(t, "not accounted for", "%s", names[in[i].ID])
			}
		}
	}
}

// FuzzRun gives Run small, dense inputs, few amounts, days and references
// so that everything competes with everything, and checks the invariants
// and that reversing the inputs changes nothing.
func FuzzRun(f *testing.F) {
	f.Add([]byte("\x00\x10\x01\x00\x01\x10\x01\x00\x00\x08\x02\x01\x01\x08\x02\x01"))
	f.Add([]byte("\x08\x14\x03\x02\x09\x0a\x03\x02\x09\x0a\x04\x02\x00\x14\x03\x03\x05\x14\x03\x03"))
	f.Add(make([]byte, 64))
	refs := []string{"INV-1", "INV-2", "inv 1", "BATCH-9", "x"}
	f.Fuzz(func(t *testing.T, data []byte) {
		var st, lg []Entry
		for i := 0; i+4 <= len(data) && i < 4*64; i += 4 {
			flags, amt, day, ref := data[i], data[i+1], data[i+2], data[i+3]
			e := Entry{ID: uuid.UUID{0: byte(i >> 8), 1: byte(i)}, Currency: "USD",
				Amount: int64(amt%40+1) * 250, Day: int32(day % 12)}
			if flags&2 != 0 {
				e.Currency = "EUR"
			}
			if flags&4 != 0 {
				e.Amount = -e.Amount
			}
			for r := range int(flags>>3) % 3 {
				e.Refs = append(e.Refs, refs[(int(ref)+r)%len(refs)])
			}
			if flags&1 == 0 {
				st = append(st, e)
			} else {
				lg = append(lg, e)
			}
		}
		opt := Options{MaxRefEntries: 3, StepBudget: 500}
		res := Run(st, lg, opt)
		requireInvariants(t, st, lg, res, map[uuid.UUID]string{})
		rs, rl := slices.Clone(st), slices.Clone(lg)
		slices.Reverse(rs)
		slices.Reverse(rl)
		require.Equal(t, resultByID(res, st, lg), resultByID(Run(rs, rl, opt), rs, rl))
	})
}
