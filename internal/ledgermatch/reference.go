package ledgermatch

import (
	"cmp"
	"slices"
)

// Pass 1: a shared reference and the exact amount.
//
// A statement line and a ledger entry are candidates of each other when
// they share a normalised reference (one that is not a label, see
// Options.MaxRefEntries), the currency and the exact amount. Candidates
// form connected groups. The usual group is one line and one entry: a
// match. A larger group is resolved between classes of interchangeable
// entries (same day, same reference set): two classes pair when each is
// the other's unique best candidate, best meaning more shared references,
// then fewer days apart; the members of a pair of classes pair in sorted
// order. This repeats until no pair forms, since a pairing can leave a
// class with a new unique best. Members a class has left over once it has
// paired and no candidate remains are duplicates. Ties stay free for the
// later passes.

// unionFind roots every set at its smallest node, so the sets do not
// depend on the order of the unions.
type unionFind []int32

func newUnionFind(n int) unionFind {
	u := make(unionFind, n)
	for i := range u {
		u[i] = int32(i)
	}
	return u
}

func (u unionFind) find(v int32) int32 {
	for u[v] != v {
		u[v] = u[u[v]]
		v = u[v]
	}
	return v
}

func (u unionFind) union(a, b int32) {
	a, b = u.find(a), u.find(b)
	switch {
	case a < b:
		u[b] = a
	case b < a:
		u[a] = b
	}
}

func (e *engine) referencePass() {
	st, lg := e.st, e.lg
	n, m := st.len(), lg.len()
	uf := newUnionFind(int(n + m))
	linked := make([]bool, n+m)
	for s := range n {
		for _, r := range st.refsOf(s) {
			if e.generic[r] {
				continue
			}
			for _, l := range lg.withRef(r) {
				if lg.amt[l] == st.amt[s] && lg.cur[l] == st.cur[s] {
					uf.union(s, n+l)
					linked[s], linked[n+l] = true, true
				}
			}
		}
	}
	// Each group's nodes (statement positions, then ledger positions + n),
	// ascending, as lists threaded through two arrays: no slice per group.
	head := make([]int32, n+m)
	next := make([]int32, n+m)
	for v := range head {
		head[v] = -1
	}
	for v := n + m - 1; v >= 0; v-- {
		if linked[v] {
			r := uf.find(v)
			next[v], head[r] = head[r], v
		}
	}
	var S, L []int32
	for v := range n + m {
		if !linked[v] {
			continue
		}
		r := uf.find(v)
		if head[r] < 0 {
			continue // group already resolved
		}
		S, L = S[:0], L[:0]
		for u := head[r]; u >= 0; u = next[u] {
			if u < n {
				S = append(S, u)
			} else {
				L = append(L, u-n)
			}
		}
		head[r] = -1
		if len(S) == 1 && len(L) == 1 {
			e.referenceMatch(S[0], L[0])
		} else {
			e.resolveReferences(S, L)
		}
	}
}

// referenceMatch pairs s and l, which share a reference and the amount.
// The reference is strong enough to match beyond the window, but then only
// as a suggestion, with the date gap reported.
func (e *engine) referenceMatch(s, l int32) {
	st, lg := e.st, e.lg
	g := gap(st.day[s], lg.day[l])
	b := append(e.text[:0], "Same reference "...)
	b = append(b, e.rawRef(st, s, lg.refsOf(l))...)
	b = append(b, " and amount "...)
	b = e.appendAmount(b, st.amt[s], st.cur[s])
	cut := len(b)
	b = append(b, ", booked "...)
	b = appendApart(b, g)
	if g <= e.window {
		b = append(b, '.')
		e.text = b
		e.addMatch([]int32{s}, []int32{l}, ReferenceAmount, 1, true, string(b))
		return
	}
	b = append(b, ", beyond the window of ±"...)
	b = appendDays(b, e.window)
	b = append(b, '.')
	reason := string(b)
	e.addMatch([]int32{s}, []int32{l}, ReferenceAmount, 0.8, false, reason)

	b = append(b[:0], "Statement line and ledger entry share "...)
	b = append(b, reason[len("Same "):cut]...)
	b = append(b, " but were booked "...)
	b = appendDays(b, g)
	b = append(b, " apart, beyond the window of ±"...)
	b = appendDays(b, e.window)
	b = append(b, '.')
	e.text = b
	e.addDiscrepancy(DateMismatch, Info, []int32{s}, []int32{l}, string(b))
}

// refClass is a set of interchangeable entries of one side within a
// candidate group: same currency and amount (as the whole group), same day,
// same references.
type refClass struct {
	s       *side
	cur     int32
	amt     int64
	day     int32
	refs    []int32
	members []int32 // positions, ascending
	used    int     // members already paired
	paired  bool
	best    int32 // index of the unique best candidate class, or -1
}

func (c *refClass) left() int { return len(c.members) - c.used }

func (e *engine) resolveReferences(S, L []int32) {
	if e.clsOf[0] == nil {
		e.clsOf = [2][]int32{make([]int32, e.st.len()), make([]int32, e.lg.len())}
	}
	cls := e.appendClasses(e.classes[:0], e.st, S, e.clsOf[0])
	nst := len(cls)
	cls = e.appendClasses(cls, e.lg, L, e.clsOf[1])
	e.classes = cls
	if len(e.seen) < len(cls) {
		e.seen = make([]uint32, len(cls))
	}
	for {
		for i := range cls {
			if cls[i].left() > 0 {
				cls[i].best, _ = e.bestClass(cls, i)
			}
		}
		paired := false
		for i := range nst {
			a := &cls[i]
			if a.left() == 0 || a.best < 0 {
				continue
			}
			if c := &cls[a.best]; c.left() > 0 && c.best == int32(i) {
				e.pairClasses(a, c)
				paired = true
			}
		}
		if !paired {
			break
		}
	}
	for i := range cls {
		c := &cls[i]
		if !c.paired || c.left() == 0 {
			continue
		}
		if _, any := e.bestClass(cls, i); any {
			continue // still has candidates, only tied: later passes
		}
		for _, p := range c.members[c.used:] {
			e.duplicateOf(c, p)
		}
	}
}

// appendClasses sorts members by (day, references, position) and appends
// one class per run of equal day and references.
func (e *engine) appendClasses(cls []refClass, s *side, members []int32, clsOf []int32) []refClass {
	slices.SortFunc(members, func(a, b int32) int {
		if c := cmp.Compare(s.day[a], s.day[b]); c != 0 {
			return c
		}
		if c := slices.Compare(s.refsOf(a), s.refsOf(b)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for i := 0; i < len(members); {
		first := members[i]
		j := i + 1
		for j < len(members) && s.day[members[j]] == s.day[first] && slices.Equal(s.refsOf(members[j]), s.refsOf(first)) {
			j++
		}
		for _, p := range members[i:j] {
			clsOf[p] = int32(len(cls))
		}
		cls = append(cls, refClass{s: s, cur: s.cur[first], amt: s.amt[first], day: s.day[first],
			refs: s.refsOf(first), members: members[i:j], best: -1})
		i = j
	}
	return cls
}

// bestClass is class i's unique best candidate class with members left
// (-1 on a tie or when there is none), and whether it has any.
func (e *engine) bestClass(cls []refClass, i int) (int32, bool) {
	a := &cls[i]
	other, otherCls := e.lg, e.clsOf[1]
	if a.s.ledger {
		other, otherCls = e.st, e.clsOf[0]
	}
	e.stamp++
	best, bestShared, bestGap, tie := int32(-1), 0, int32(0), false
	for _, r := range a.refs {
		if e.generic[r] {
			continue
		}
		for _, p := range other.withRef(r) {
			if other.amt[p] != a.amt || other.cur[p] != a.cur {
				continue
			}
			c := otherCls[p]
			if e.seen[c] == e.stamp {
				continue
			}
			e.seen[c] = e.stamp
			if cls[c].left() == 0 {
				continue
			}
			shared, g := e.shared(a.refs, cls[c].refs), gap(a.day, cls[c].day)
			switch {
			case best < 0 && !tie, shared > bestShared, shared == bestShared && g < bestGap:
				best, bestShared, bestGap, tie = c, shared, g, false
			case shared == bestShared && g == bestGap:
				tie = true
			}
		}
	}
	if tie {
		return -1, true
	}
	return best, best >= 0
}

// shared counts the references (labels aside) two ascending lists share.
func (e *engine) shared(a, b []int32) int {
	n := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			if !e.generic[a[i]] {
				n++
			}
			i++
			j++
		}
	}
	return n
}

// pairClasses pairs the members left in statement class a and ledger
// class c, in sorted order.
func (e *engine) pairClasses(a, c *refClass) {
	k := min(a.left(), c.left())
	for j := range k {
		e.referenceMatch(a.members[a.used+j], c.members[c.used+j])
	}
	a.used += k
	c.used += k
	a.paired, c.paired = true, true
}

// duplicateOf reports p, left over in class c after c's other members
// paired: the same posting twice, or a line sent twice. It names p alone:
// the entry it repeats is matched and needs nothing.
func (e *engine) duplicateOf(c *refClass, p int32) {
	s := c.s
	b := append(e.text[:0], "Duplicate "...)
	b = append(b, s.noun()...)
	b = append(b, ": same reference "...)
	b = append(b, e.rawRef(s, p, c.refs)...)
	b = append(b, ", amount "...)
	b = e.appendAmount(b, c.amt, c.cur)
	if s.ledger {
		b = append(b, " and day as an entry already matched, and no statement line left for it."...)
	} else {
		b = append(b, " and day as a line already matched, and no ledger entry left for it."...)
	}
	e.text = b
	if s.ledger {
		e.addDiscrepancy(Duplicate, Warning, nil, []int32{p}, string(b))
	} else {
		e.addDiscrepancy(Duplicate, Warning, []int32{p}, nil, string(b))
	}
}
