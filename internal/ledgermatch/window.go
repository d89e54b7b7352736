package ledgermatch

import (
	"math"
)

// Pass 2: the exact amount within the window, unique candidates only.
//
// Among free entries of one currency and amount, a line and an entry are
// candidates when booked at most WindowDays apart. Candidates form
// connected groups. A group of one line and one entry is a match: each is
// the other's only candidate. A larger group is competition between equal
// amounts, which the engine never settles by guessing: the whole group
// becomes one duplicate discrepancy. The candidate relation is symmetric,
// so matching a pair never changes anyone else's candidates and one pass
// resolves everything iterating would.

type windowItem struct {
	cur    int32
	ledger bool
	day    int32
	amt    int64
	pos    int32
}

func (e *engine) windowPass() {
	n := 0
	for _, s := range []*side{e.st, e.lg} {
		for p := range s.len() {
			if s.isFree(p) {
				n++
			}
		}
	}
	items := make([]windowItem, 0, n)
	for _, s := range []*side{e.st, e.lg} {
		for p := range s.len() {
			if s.isFree(p) {
				items = append(items, windowItem{cur: s.cur[p], ledger: s.ledger, day: s.day[p], amt: s.amt[p], pos: p})
			}
		}
	}
	// Buckets of one currency and amount: statement lines, then ledger
	// entries, each by day. They were collected in that order, and the
	// sort is stable.
	keys := make([]radixItem, len(items))
	for k, it := range items {
		keys[k] = radixItem{hi: uint32(it.cur), lo: orderedAmount(it.amt), i: int32(k)}
	}
	keys = radixSort(keys)
	sorted := make([]windowItem, len(items))
	for k, key := range keys {
		sorted[k] = items[key.i]
	}
	items = sorted
	for i := 0; i < len(items); {
		j, k := i+1, i
		for j < len(items) && items[j].cur == items[i].cur && items[j].amt == items[i].amt {
			j++
		}
		for k < j && !items[k].ledger {
			k++
		}
		e.resolveWindow(items[i:k], items[k:j])
		i = j
	}
}

func (e *engine) resolveWindow(S, L []windowItem) {
	if len(S) == 0 || len(L) == 0 {
		return
	}
	w := e.window
	if len(S) == 1 && len(L) == 1 {
		if gap(S[0].day, L[0].day) <= w {
			e.windowMatch(S[0], L[0])
		}
		return
	}
	// The ledger entries within ±w of a line are a run of L; as lines get
	// later the run only moves right, so linking each run (the line to its
	// first entry, and neighbours within it) costs O(len(S)+len(L)).
	ns := int32(len(S))
	uf := newUnionFind(len(S) + len(L))
	a, b, linkedUpTo := 0, 0, 0
	for i, s := range S {
		for a < len(L) && L[a].day < s.day && gap(L[a].day, s.day) > w {
			a++
		}
		b = max(b, a)
		for b < len(L) && (L[b].day <= s.day || gap(L[b].day, s.day) <= w) {
			b++
		}
		if a == b {
			continue
		}
		uf.union(int32(i), ns+int32(a))
		for linkedUpTo = max(linkedUpTo, a); linkedUpTo < b-1; linkedUpTo++ {
			uf.union(ns+int32(linkedUpTo), ns+int32(linkedUpTo+1))
		}
	}
	// Each group's nodes, ascending, as lists threaded through two arrays.
	head, next := make([]int32, len(uf)), make([]int32, len(uf))
	for v := range head {
		head[v] = -1
	}
	for v := int32(len(uf)) - 1; v >= 0; v-- {
		r := uf.find(v)
		next[v], head[r] = head[r], v
	}
	var groupS, groupL []int32
	for v := range int32(len(uf)) {
		r := uf.find(v)
		if head[r] < 0 {
			continue
		}
		groupS, groupL = groupS[:0], groupL[:0]
		var first [2]windowItem
		for u := head[r]; u >= 0; u = next[u] {
			if u < ns {
				groupS, first[0] = append(groupS, S[u].pos), S[u]
			} else {
				groupL, first[1] = append(groupL, L[u-ns].pos), L[u-ns]
			}
		}
		head[r] = -1
		switch {
		case len(groupS) == 0 || len(groupL) == 0:
			// No candidate: for the later passes.
		case len(groupS) == 1 && len(groupL) == 1:
			e.windowMatch(first[0], first[1])
		default:
			e.competing(groupS, groupL, S[0].amt, S[0].cur)
		}
	}
}

func (e *engine) windowMatch(s, l windowItem) {
	g := gap(s.day, l.day)
	// 0.9 for the same day, 0.05 less per day apart, never below 0.6;
	// rounded so scores compare as the decimals they stand for.
	score := max(0.6, math.Round((0.9-0.05*float64(g))*100)/100)
	b := append(e.text[:0], "Same amount "...)
	b = e.appendAmount(b, s.amt, s.cur)
	b = append(b, ", booked "...)
	b = appendApart(b, g)
	b = append(b, ", and no other line or entry of that amount within ±"...)
	b = appendDays(b, e.window)
	b = append(b, '.')
	e.text = b
	e.addMatch([]int32{s.pos}, []int32{l.pos}, AmountDateWindow, score, g == 0, string(b))
}

func (e *engine) competing(S, L []int32, amt int64, cur int32) {
	b := appendCount(e.text[:0], len(S), "statement line", "statement lines")
	b = append(b, " and "...)
	b = appendCount(b, len(L), "ledger entry", "ledger entries")
	b = append(b, " of "...)
	b = e.appendAmount(b, amt, cur)
	b = append(b, " compete within ±"...)
	b = appendDays(b, e.window)
	b = append(b, " of each other; they need matching by hand."...)
	e.text = b
	e.addDiscrepancy(Duplicate, Warning, S, L, string(b))
}
