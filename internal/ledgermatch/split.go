package ledgermatch

import (
	"cmp"
	"slices"
	"strconv"
)

// Pass 3: splits, one line for several entries (1:N) or one entry for
// several lines (N:1).
//
// Every free entry with a non-zero amount is a target, statement lines
// (1:N) before ledger entries (N:1), each side in sorted order. Members come
// from the other side: free, same currency, same sign, a smaller magnitude,
// booked within ±WindowDays of the target; 2 to MaxGroup of them must add
// up to the target exactly. The reference search (split_reference) runs
// for all targets first, over candidates sharing a reference with the
// target; then the window search (split_window) over the nearest free
// entries. Each search takes at most MaxCandidates candidates, the nearest
// by day first, and at most StepBudget steps. A search that finds two exact
// groups, or runs out of steps before it could know, matches nothing, and
// after such a reference search the target is not tried by window either:
// the wider search could only pick one of the groups the narrower one
// could not decide between.

type splitCand struct {
	pos int32
	mag uint64
	gap int32
}

// winItem is a free entry in a (currency, sign) list ordered by day, then
// amount, for the window search.
type winItem struct {
	day int32
	amt int64
	pos int32
}

func (e *engine) splitPass() {
	win := [2][][]winItem{e.windowLists(e.st), e.windowLists(e.lg)}
	e.search.maxGroup, e.search.budget = e.opt.MaxGroup, e.opt.StepBudget
	for _, byWindow := range []bool{false, true} {
		for _, dir := range []struct {
			target, member *side
			lists          [][]winItem
		}{{e.st, e.lg, win[1]}, {e.lg, e.st, win[0]}} {
			t := dir.target
			for p := range t.len() {
				if !t.isFree(p) || t.amt[p] == 0 || byWindow && t.state[p]&noWindowSplit != 0 {
					continue
				}
				e.splitSearch(t, dir.member, p, byWindow, dir.lists)
			}
		}
	}
}

func listKey(cur int32, amt int64) int {
	if amt < 0 {
		return int(cur)*2 + 1
	}
	return int(cur) * 2
}

// windowLists are s's free entries with a non-zero amount, one list per
// currency and sign, carved from one array.
func (e *engine) windowLists(s *side) [][]winItem {
	count := make([]int, 2*len(e.curNames)+1)
	for p := range s.len() {
		if s.isFree(p) && s.amt[p] != 0 {
			count[listKey(s.cur[p], s.amt[p])+1]++
		}
	}
	for k := 1; k < len(count); k++ {
		count[k] += count[k-1]
	}
	all := make([]winItem, count[len(count)-1])
	lists := make([][]winItem, len(count)-1)
	for k := range lists {
		lists[k] = all[count[k]:count[k]:count[k+1]]
	}
	for p := range s.len() {
		if s.isFree(p) && s.amt[p] != 0 {
			k := listKey(s.cur[p], s.amt[p])
			lists[k] = append(lists[k], winItem{day: s.day[p], amt: s.amt[p], pos: p})
		}
	}
	return lists
}

func (e *engine) splitSearch(t, c *side, p int32, byWindow bool, lists [][]winItem) {
	var cands []splitCand
	if byWindow {
		cands = e.windowCands(e.cands[:0], t, c, p, lists[listKey(t.cur[p], t.amt[p])])
	} else {
		cands = e.refCands(e.cands[:0], t, c, p)
	}
	e.cands = cands
	if len(cands) < 2 {
		return
	}
	// Largest first, so the search can stop as soon as what is left cannot
	// reach the target.
	slices.SortFunc(cands, func(a, b splitCand) int {
		if a.mag != b.mag {
			return cmp.Compare(b.mag, a.mag)
		}
		if a.gap != b.gap {
			return cmp.Compare(a.gap, b.gap)
		}
		return cmp.Compare(a.pos, b.pos)
	})
	s := &e.search
	s.mags = s.mags[:0]
	for _, c := range cands {
		s.mags = append(s.mags, c.mag)
	}
	s.run(mag(t.amt[p]))
	if s.aborted || s.found > 1 {
		if !byWindow {
			t.state[p] |= noWindowSplit
		}
		return
	}
	if s.found == 0 {
		return
	}
	members := e.members[:0]
	var within int32
	for _, i := range s.group {
		members = append(members, cands[i].pos)
		within = max(within, cands[i].gap)
	}
	e.members = members
	e.splitMatch(t, c, p, members, within, byWindow, len(cands))
}

// refCands are the members p could have among entries sharing one of its
// references, the nearest MaxCandidates by day.
func (e *engine) refCands(cands []splitCand, t, c *side, p int32) []splitCand {
	refs := t.refsOf(p)
	for _, r := range refs {
		if e.generic[r] {
			continue
		}
	next:
		for _, q := range c.withRef(r) {
			cand, ok := e.member(t, c, p, q)
			if !ok {
				continue
			}
			if len(refs) > 1 { // q may share several of p's references
				for _, x := range cands {
					if x.pos == q {
						continue next
					}
				}
			}
			cands = append(cands, cand)
		}
	}
	if len(cands) > e.opt.MaxCandidates {
		slices.SortFunc(cands, func(a, b splitCand) int {
			if a.gap != b.gap {
				return cmp.Compare(a.gap, b.gap)
			}
			return cmp.Compare(a.pos, b.pos)
		})
		cands = cands[:e.opt.MaxCandidates]
	}
	return cands
}

func (e *engine) member(t, c *side, p, q int32) (splitCand, bool) {
	if !c.isFree(q) || c.cur[q] != t.cur[p] || c.amt[q] == 0 || (c.amt[q] < 0) != (t.amt[p] < 0) {
		return splitCand{}, false
	}
	m, g := mag(c.amt[q]), gap(t.day[p], c.day[q])
	if m >= mag(t.amt[p]) || g > e.window {
		return splitCand{}, false
	}
	return splitCand{pos: q, mag: m, gap: g}, true
}

// windowCands are the nearest MaxCandidates free entries of list (p's
// currency and sign, on the other side) that could be members of p. It
// walks outward from p's day one day that has entries at a time; of two
// days as near, the earlier comes first, and within a day the larger
// magnitude: closer to the target, so likelier a part of it.
func (e *engine) windowCands(cands []splitCand, t, c *side, p int32, list []winItem) []splitCand {
	limit, amt, day := e.opt.MaxCandidates, t.amt[p], t.day[p]
	left := searchWin(list, 0, func(it *winItem) bool { return it.day >= day })
	right := left // list[:left] is before p's day, list[right:] from it on
	for len(cands) < limit {
		var lo, hi int
		var g int32
		haveLeft := left > 0 && gap(day, list[left-1].day) <= e.window
		haveRight := right < len(list) && gap(day, list[right].day) <= e.window
		switch {
		case haveLeft && (!haveRight || gap(day, list[left-1].day) <= gap(day, list[right].day)):
			d := list[left-1].day
			lo, hi, g = searchWin(list[:left], 0, func(it *winItem) bool { return it.day >= d }), left, gap(day, d)
			left = lo
		case haveRight:
			d := list[right].day
			lo, hi, g = right, searchWin(list, right, func(it *winItem) bool { return it.day > d }), gap(day, d)
			right = hi
		default:
			return cands
		}
		// One day's entries, by amount.
		if amt > 0 { // members below amt, largest first: walk down
			k := searchWin(list[:hi], lo, func(it *winItem) bool { return it.amt >= amt })
			for k--; k >= lo && len(cands) < limit; k-- {
				if c.isFree(list[k].pos) {
					cands = append(cands, splitCand{pos: list[k].pos, mag: mag(list[k].amt), gap: g})
				}
			}
		} else { // members above amt, so of smaller magnitude: walk up
			k := searchWin(list[:hi], lo, func(it *winItem) bool { return it.amt > amt })
			for ; k < hi && len(cands) < limit; k++ {
				if c.isFree(list[k].pos) {
					cands = append(cands, splitCand{pos: list[k].pos, mag: mag(list[k].amt), gap: g})
				}
			}
		}
	}
	return cands
}

// searchWin is the first index from lo on where ok holds, ok being false
// then true along list.
func searchWin(list []winItem, lo int, ok func(*winItem) bool) int {
	hi := len(list)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ok(&list[m]) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

func (e *engine) splitMatch(t, c *side, p int32, members []int32, within int32, byWindow bool, considered int) {
	b := append(e.text[:0], "Ledger entries of "...)
	if !c.ledger {
		b = append(b[:0], "Statement lines of "...)
	}
	for i, q := range members {
		switch {
		case i == 0:
		case i == len(members)-1:
			b = append(b, " and "...)
		default:
			b = append(b, ", "...)
		}
		b = appendMag(b, c.amt[q] < 0, mag(c.amt[q]), e.exps[c.cur[q]])
	}
	b = append(b, ' ')
	b = append(b, e.curNames[t.cur[p]]...)
	if !byWindow {
		b = append(b, " with reference "...)
		// The statement's spelling, as in every other reason.
		if t.ledger {
			b = append(b, e.rawRef(c, members[0], t.refsOf(p))...)
		} else {
			b = append(b, e.rawRef(t, p, c.refsOf(members[0]))...)
		}
	}
	b = append(b, " add up to the "...)
	b = append(b, t.noun()...)
	b = append(b, "'s "...)
	b = e.appendAmount(b, t.amt[p], t.cur[p])
	if within == 0 {
		b = append(b, ", all booked on the same day"...)
	} else {
		b = append(b, ", booked within "...)
		b = appendDays(b, within)
		b = append(b, " of it"...)
	}
	strategy, score, confident := SplitReference, 0.95, true
	if byWindow {
		strategy, score, confident = SplitWindow, 0.7, false
		b = append(b, "; the only exact combination among "...)
		b = strconv.AppendInt(b, int64(considered), 10)
		b = append(b, " nearby "...)
		b = append(b, c.nouns()...)
	}
	b = append(b, '.')
	e.text = b
	if t.ledger {
		e.addMatch(members, []int32{p}, strategy, score, confident, string(b))
	} else {
		e.addMatch([]int32{p}, members, strategy, score, confident, string(b))
	}
}

// subsetSearch finds whether exactly one group of 2..maxGroup of mags
// (descending) adds up to a target, within budget steps.
type subsetSearch struct {
	mags     []uint64
	maxGroup int
	budget   int
	steps    int
	stack    []int32
	group    []int32 // the first group found, indexes into mags
	found    int     // groups found, counting stops at 2
	aborted  bool    // out of steps: found proves nothing
}

func (s *subsetSearch) run(target uint64) {
	s.steps, s.found, s.aborted = 0, 0, false
	s.stack = s.stack[:0]
	s.dfs(0, target)
}

// dfs extends the group on the stack with mags from i on; rem is what is
// still missing, and is never negative since only smaller mags are added.
func (s *subsetSearch) dfs(i int, rem uint64) {
	s.steps++
	if s.steps > s.budget {
		s.aborted = true
		return
	}
	mags := s.mags
	// The last member is looked up, not tried one by one: the first mag at
	// or below rem, by binary search on the descending list.
	j, hi := i, len(mags)
	for j < hi {
		m := int(uint(j+hi) >> 1)
		if mags[m] > rem {
			j = m + 1
		} else {
			hi = m
		}
	}
	for ; j < len(mags) && mags[j] == rem; j++ {
		if len(s.stack) == 0 {
			continue // a group of one is not a split
		}
		s.found++
		if s.found > 1 {
			return
		}
		s.group = append(append(s.group[:0], s.stack...), int32(j))
	}
	if len(s.stack)+2 > s.maxGroup {
		return // no room for a member and then a last one
	}
	more := s.maxGroup - len(s.stack) - 1 // members allowed after the next
	prevEmpty := false
	for k := j; k < len(mags); k++ {
		if !reaches(mags, k, more, rem) {
			break // later mags are smaller: they cannot reach either
		}
		// A sibling with the same mag explores a subset of what the
		// previous one explored; if that found nothing, so will this.
		if prevEmpty && mags[k] == mags[k-1] {
			continue
		}
		before := s.found
		s.stack = append(s.stack, int32(k))
		s.dfs(k+1, rem-mags[k])
		s.stack = s.stack[:len(s.stack)-1]
		if s.found > 1 || s.aborted {
			return
		}
		prevEmpty = s.found == before
	}
}

// reaches reports whether mags[k] plus at most more of the mags after it
// can add up to rem (mags[k] < rem). The largest sum of that kind is the
// mags right after k, as the list is descending.
func reaches(mags []uint64, k, more int, rem uint64) bool {
	need := rem - mags[k]
	for x := k + 1; x < len(mags) && x <= k+more; x++ {
		if mags[x] >= need {
			return true
		}
		need -= mags[x]
	}
	return false
}
