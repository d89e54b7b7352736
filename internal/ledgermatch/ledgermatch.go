// Package ledgermatch owns the matching engine of ledger reconciliation runs:
// it decides which bank-statement lines and general-ledger entries are the
// same movement of money, and explains every line and entry it could not
// pair. It is pure (values in, values out: no SQL, no HTTP) so a run is
// tested and benchmarked without a database.
//
// Run is deterministic: the same entries in any order give the same result.
// Both sides are sorted by a stable key (day, amount, currency, ID) before
// any decision, every later order derives from that sort, and maps are only
// ever looked up, never iterated. Effort limits (candidates, search steps)
// are counts, not wall time, for the same reason.
//
// Run works in four passes, strongest evidence first, and an entry ends in
// at most one match:
//
//  1. reference_amount: a shared reference and the exact amount.
//  2. amount_date_window: the exact amount within ±WindowDays, only when
//     neither side has any other candidate.
//  3. split_reference, split_window: one line is several entries or the
//     reverse, found by a bounded subset-sum search that refuses to choose
//     between two exact groups.
//  4. what is left becomes discrepancies.
//
// Nothing is guessed: where two candidates are equally good the engine
// reports the competition instead of picking one.
package ledgermatch

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

// Entry is one bank-statement line or one general-ledger entry.
type Entry struct {
	// ID is stable across runs; it is the final tie-break everywhere.
	ID uuid.UUID
	// Currency is an upper-case ISO code, compared byte for byte.
	Currency string
	// Amount is in minor units and signed: + is money into the account,
	// - is money out. The caller maps bank credit/debit and GL debit/credit
	// to this sign.
	Amount int64
	// Day is the booking date as days since 1970-01-01. Statements rarely
	// carry times, so many lines share a day.
	Day int32
	// Refs are the references as given (end-to-end id, bank reference, GL
	// reference, external id ...); the engine normalises them.
	Refs []string
}

// Options bound how far the engine looks. The zero value is the defaults.
type Options struct {
	// WindowDays is how many days apart, either way, an amount match or a
	// split member may be booked. 0 means 3; a negative value means the
	// same day only.
	WindowDays int
	// MaxGroup is the largest split group; 0 means 5, and 1 or a negative
	// value turns split matching off.
	MaxGroup int
	// MaxCandidates is how many entries one split search considers, the
	// nearest by day first; 0 means 24.
	MaxCandidates int
	// StepBudget bounds each split search in search steps (not time, so the
	// result does not depend on machine load); 0 means 20000. A search that
	// runs out proves nothing and matches nothing.
	StepBudget int
	// MaxRefEntries is how many entries of one side may carry a reference
	// before it counts as a label (a customer number, "SALARY") rather than
	// a reference, and is ignored; 0 means 64. Without it one common label
	// would make every entry that carries it a candidate of every other.
	MaxRefEntries int
	// Exponent gives a currency's minor-unit exponent, used only to write
	// amounts in reasons and messages; nil means 2 for every currency.
	Exponent func(currency string) int32
}

// Strategies, strongest first.
const (
	ReferenceAmount  = "reference_amount"
	AmountDateWindow = "amount_date_window"
	SplitReference   = "split_reference"
	SplitWindow      = "split_window"
)

// Discrepancy types.
const (
	MissingInLedger    = "missing_in_ledger"
	MissingInStatement = "missing_in_statement"
	AmountMismatch     = "amount_mismatch"
	Duplicate          = "duplicate"
	DateMismatch       = "date_mismatch"
)

// Severities.
const (
	Info     = "info"
	Warning  = "warning"
	Critical = "critical"
)

// Match pairs statement lines with ledger entries. Indexes point into the
// slices given to Run and are ascending.
type Match struct {
	Statement []int
	Ledger    []int
	Strategy  string
	Score     float64 // 0..1
	Reason    string  // one sentence for a person
	// Confident matches are accepted automatically; the others are only
	// suggested.
	Confident bool
}

// Discrepancy is something a person has to look at. Indexes point into the
// slices given to Run and are ascending.
type Discrepancy struct {
	Type      string
	Severity  string
	Statement []int
	Ledger    []int
	Message   string
}

// Result is everything one run found, in a deterministic order: matches
// and discrepancies in the order the passes produced them.
type Result struct {
	Matches       []Match
	Discrepancies []Discrepancy
}

// minRefLen is the shortest normalised reference that still identifies
// something; shorter ones ("1", "AB") collide by chance.
const minRefLen = 4

// NormalizeRef upper-cases s and keeps only its letters and digits, so
// "inv-1042" and "INV 1042" are the same reference. It returns "" when
// fewer than 4 characters remain: such references are too generic to match
// by and are ignored.
func NormalizeRef(s string) string {
	b, n := appendRef(nil, s)
	if n < minRefLen {
		return ""
	}
	return string(b)
}

// appendRef appends the normalised form of s to dst and reports how many
// characters it kept.
func appendRef(dst []byte, s string) ([]byte, int) {
	kept := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf { // ASCII, nearly every reference: no decoding
			i++
			switch {
			case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
				dst = append(dst, c)
			case 'a' <= c && c <= 'z':
				dst = append(dst, c-'a'+'A')
			default:
				continue
			}
			kept++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			dst = utf8.AppendRune(dst, unicode.ToUpper(r))
			kept++
		}
	}
	return dst, kept
}

// Units converts d to minor units of a currency with the given exponent,
// rounding half away from zero (10.005 → 1001, -10.005 → -1001). It reports
// false when the result does not fit an int64.
func Units(d decimal.Decimal, exponent int32) (int64, bool) {
	b := d.Round(exponent).Shift(exponent).BigInt()
	if !b.IsInt64() {
		return 0, false
	}
	return b.Int64(), true
}

// Run matches statement lines against ledger entries. See the package
// documentation for the passes. It does not modify its inputs.
func Run(statement, ledger []Entry, opt Options) Result {
	e := newEngine(statement, ledger, opt.withDefaults())
	e.referencePass()
	e.windowPass()
	if e.opt.MaxGroup >= 2 {
		e.splitPass()
	}
	e.leftoverPass()
	return e.res
}

// maxWindow keeps day arithmetic far from int32 overflow; no booking gap
// of interest is anywhere near it.
const maxWindow = 1 << 20

func (o Options) withDefaults() Options {
	switch {
	case o.WindowDays == 0:
		o.WindowDays = 3
	case o.WindowDays < 0:
		o.WindowDays = 0
	case o.WindowDays > maxWindow:
		o.WindowDays = maxWindow
	}
	if o.MaxGroup == 0 {
		o.MaxGroup = 5
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 24
	}
	if o.StepBudget <= 0 {
		o.StepBudget = 20000
	}
	if o.MaxRefEntries <= 0 {
		o.MaxRefEntries = 64
	}
	return o
}

// Entry states. An entry is free until a pass matches it or explains it in
// a discrepancy; later passes only look at free entries.
const (
	free     uint8 = 0
	matched  uint8 = 1
	reported uint8 = 2
	// noWindowSplit marks a target whose reference split search was
	// ambiguous or ran out of steps: a wider search must not then pick one
	// of the groups it could not decide between.
	noWindowSplit uint8 = 4
	stateMask     uint8 = 3
)

// side is one input slice, sorted and flattened into parallel arrays
// indexed by position (the rank in the stable sort), which is what every
// pass works with. Positions map back to caller indexes only on output.
type side struct {
	ledger bool
	in     []Entry
	orig   []int32 // position → index in in
	cur    []int32 // currency id; ids follow the sorted currency codes
	amt    []int64
	day    []int32
	// refs of position p are refs[refOff[p]:refOff[p+1]]: interned,
	// ascending, without repeats. refRaw[i] is the index in Entry.Refs of
	// the first spelling of refs[i] and refStr[i] that spelling, which is
	// what reasons quote.
	refOff []int32
	refs   []int32
	refRaw []int32
	refStr []string
	// positions carrying ref r are byRef[byRefOff[r]:byRefOff[r+1]],
	// ascending (so by day).
	byRefOff []int32
	byRef    []int32
	state    []uint8
}

func (s *side) len() int32                { return int32(len(s.orig)) }
func (s *side) refsOf(p int32) []int32    { return s.refs[s.refOff[p]:s.refOff[p+1]] }
func (s *side) withRef(r int32) []int32   { return s.byRef[s.byRefOff[r]:s.byRefOff[r+1]] }
func (s *side) isFree(p int32) bool       { return s.state[p]&stateMask == free }
func (s *side) setState(p int32, v uint8) { s.state[p] = s.state[p]&^stateMask | v }

// mag is |amt| without the overflow of -math.MinInt64.
func mag(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1
	}
	return uint64(v)
}

// gap is how many days apart a and b are, saturating rather than
// overflowing for days no booking has.
func gap(a, b int32) int32 {
	return int32(min(max(int64(a)-int64(b), int64(b)-int64(a)), math.MaxInt32))
}

type engine struct {
	opt      Options
	window   int32
	st, lg   *side
	curNames []string
	exps     []int32
	nRefs    int32
	generic  []bool // by ref id: carried by more than MaxRefEntries entries of a side
	res      Result
	arena    []int  // backing store for the index slices of the result
	text     []byte // scratch for building reasons and messages

	// Pass 1 scratch, reused across candidate groups.
	clsOf   [2][]int32 // position → class index, statement and ledger
	classes []refClass
	seen    []uint32 // stamps, by class index
	stamp   uint32

	// Pass 3 scratch.
	cands   []splitCand
	members []int32
	search  subsetSearch
}

func newEngine(statement, ledger []Entry, opt Options) *engine {
	e := &engine{opt: opt, window: int32(opt.WindowDays)}
	curID := map[string]int32{}
	for _, in := range [][]Entry{statement, ledger} {
		for i := range in {
			if i > 0 && in[i].Currency == in[i-1].Currency {
				continue // the common case, without hashing
			}
			if _, ok := curID[in[i].Currency]; !ok {
				curID[in[i].Currency] = 0
				e.curNames = append(e.curNames, in[i].Currency)
			}
		}
	}
	// Currency ids take the order of the codes, not of first appearance,
	// which would depend on the input order.
	slices.Sort(e.curNames)
	e.exps = make([]int32, len(e.curNames))
	for i, c := range e.curNames {
		curID[c] = int32(i)
		e.exps[i] = 2
		if opt.Exponent != nil {
			e.exps[i] = opt.Exponent(c)
		}
	}
	e.st = newSide(statement, false, curID, e.curNames)
	e.lg = newSide(ledger, true, curID, e.curNames)
	e.internRefs()
	e.indexRefs()
	if n := min(len(statement), len(ledger)); n > 0 {
		e.res.Matches = make([]Match, 0, n)
	}
	return e
}

// radixItem is what radixSort orders by: (hi, lo), with whatever a caller
// wants to carry along in i.
type radixItem struct {
	lo uint64
	hi uint32
	i  int32
}

// radixSort orders items by (hi, lo), stably: an LSD radix sort, a byte at
// a time, skipping bytes that are the same everywhere (the high bytes of
// amounts, most bytes of days). On the million-entry runs this package is
// built for it is several times faster than a comparison sort.
func radixSort(items []radixItem) []radixItem {
	tmp := make([]radixItem, len(items))
	for pass := range 12 {
		digit := func(x *radixItem) byte {
			if pass < 8 {
				return byte(x.lo >> (8 * pass))
			}
			return byte(x.hi >> (8 * (pass - 8)))
		}
		var count [256]int
		for k := range items {
			count[digit(&items[k])]++
		}
		if len(items) == 0 || count[digit(&items[0])] == len(items) {
			continue
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for k := range items {
			d := digit(&items[k])
			tmp[count[d]] = items[k]
			count[d]++
		}
		items, tmp = tmp, items
	}
	return items
}

// orderedAmount and orderedDay map signed values to unsigned ones that
// sort the same way.
func orderedAmount(v int64) uint64 { return uint64(v) ^ 1<<63 }
func orderedDay(v int32) uint32    { return uint32(v) ^ 1<<31 }

// cmpTie orders entries of the same day and amount: by currency code, then
// ID, then (IDs being unique by contract, only for a caller's mistake)
// caller index.
func cmpTie(in []Entry, curOf []int32, a, b int32) int {
	if c := cmp.Compare(curOf[a], curOf[b]); c != 0 {
		return c
	}
	if c := bytes.Compare(in[a].ID[:], in[b].ID[:]); c != 0 {
		return c
	}
	return cmp.Compare(a, b)
}

func newSide(in []Entry, ledger bool, curID map[string]int32, curNames []string) *side {
	if len(in) > math.MaxInt32 {
		panic("ledgermatch: more than 2^31 entries on one side")
	}
	items := make([]radixItem, len(in))
	curOf := make([]int32, len(in))
	last := int32(-1)
	for i := range in {
		e := &in[i]
		// Runs rarely mix more than a few currencies: compare with the
		// previous entry's before asking the map.
		if last < 0 || curNames[last] != e.Currency {
			last = curID[e.Currency]
		}
		curOf[i] = last
		items[i] = radixItem{hi: orderedDay(e.Day), lo: orderedAmount(e.Amount), i: int32(i)}
	}
	items = radixSort(items)
	s := &side{ledger: ledger, in: in, orig: make([]int32, len(in)), cur: make([]int32, len(in)),
		amt: make([]int64, len(in)), day: make([]int32, len(in)), state: make([]uint8, len(in))}
	for p := range items {
		s.orig[p] = items[p].i
	}
	for p := 0; p < len(items); {
		q := p + 1
		for q < len(items) && items[q].lo == items[p].lo && items[q].hi == items[p].hi {
			q++
		}
		if q-p > 1 {
			slices.SortFunc(s.orig[p:q], func(a, b int32) int { return cmpTie(in, curOf, a, b) })
		}
		p = q
	}
	for p, i := range s.orig {
		// Ties kept their day and amount: read them from the sorted items,
		// not from the entries in random order.
		s.cur[p], s.amt[p], s.day[p] = curOf[i], int64(items[p].lo^1<<63), int32(items[p].hi^1<<31)
	}
	return s
}

func (e *engine) indexRefs() {
	nRefs := int(e.nRefs)
	e.generic = make([]bool, nRefs)
	for _, s := range []*side{e.st, e.lg} {
		s.byRefOff = make([]int32, nRefs+1)
		for _, r := range s.refs {
			s.byRefOff[r+1]++
		}
		for r := range nRefs {
			if int(s.byRefOff[r+1]) > e.opt.MaxRefEntries {
				e.generic[r] = true
			}
			s.byRefOff[r+1] += s.byRefOff[r]
		}
		s.byRef = make([]int32, len(s.refs))
		fill := slices.Clone(s.byRefOff[:nRefs])
		for p := range s.len() {
			for _, r := range s.refsOf(p) {
				s.byRef[fill[r]] = p
				fill[r]++
			}
		}
	}
}

// indexes turns positions into ascending caller indexes, carved from one
// shared backing array rather than one allocation per match.
func (e *engine) indexes(s *side, pos ...int32) []int {
	if len(pos) == 0 {
		return nil
	}
	if len(e.arena) < len(pos) {
		e.arena = make([]int, max(len(pos), 1<<13))
	}
	out := e.arena[:len(pos):len(pos)]
	e.arena = e.arena[len(pos):]
	for i, p := range pos {
		out[i] = int(s.orig[p])
	}
	slices.Sort(out)
	return out
}

func (e *engine) addMatch(st, lg []int32, strategy string, score float64, confident bool, reason string) {
	for _, p := range st {
		e.st.setState(p, matched)
	}
	for _, p := range lg {
		e.lg.setState(p, matched)
	}
	e.res.Matches = append(e.res.Matches, Match{Statement: e.indexes(e.st, st...), Ledger: e.indexes(e.lg, lg...),
		Strategy: strategy, Score: score, Reason: reason, Confident: confident})
}

// addDiscrepancy records d; the entries it names stop being free unless
// they are already matched (a date_mismatch names a match's entries).
func (e *engine) addDiscrepancy(typ, severity string, st, lg []int32, message string) {
	for _, p := range st {
		if e.st.isFree(p) {
			e.st.setState(p, reported)
		}
	}
	for _, p := range lg {
		if e.lg.isFree(p) {
			e.lg.setState(p, reported)
		}
	}
	e.res.Discrepancies = append(e.res.Discrepancies, Discrepancy{Type: typ, Severity: severity,
		Statement: e.indexes(e.st, st...), Ledger: e.indexes(e.lg, lg...), Message: message})
}
