package ledgermatch

import (
	"hash/maphash"
	"math/bits"
)

// Interning gives every distinct normalised reference an int32 id, so the
// passes compare and index references as integers.
//
// One hash map over the millions of references of a large run would miss
// the cache on nearly every lookup. Instead every reference is normalised
// into one byte arena and hashed, the references are bucketed by hash, and
// each bucket is interned on its own with a small map that stays in cache.
// The ids this hands out depend on the hash seed; they are renumbered by
// first appearance in the sorted sides, so that, like everything else, they
// do not depend on the input order or on the seed.

// occurrences are the usable references of both sides, in the caller's
// order (statement first): occurrence k is arena[off[k]:off[k+1]].
type occurrences struct {
	arena  []byte
	off    []int
	bucket []uint32
	id     []int32
	raw    []int32  // index in Entry.Refs
	str    []string // Entry.Refs[raw], read here in order rather than later at random
	// entries: the occurrences of caller index i of side k are
	// entry[k][i] to entry[k][i+1].
	entry [2][]int32
}

// occurrencesPerBucket keeps a bucket's map at a few hundred kilobytes.
const occurrencesPerBucket = 4096

func (e *engine) internRefs() {
	var o occurrences
	total, size := 0, 0
	for _, s := range []*side{e.st, e.lg} {
		for i := range s.in {
			total += len(s.in[i].Refs)
			for _, raw := range s.in[i].Refs {
				size += len(raw) // normalising rarely grows a reference
			}
		}
	}
	o.arena = make([]byte, 0, size)
	o.off = make([]int, 1, total+1)
	o.raw = make([]int32, 0, total)
	o.str = make([]string, 0, total)
	// Normalise in the caller's order: the order the strings were most
	// likely allocated in, so reading them is sequential.
	for k, s := range []*side{e.st, e.lg} {
		o.entry[k] = make([]int32, len(s.in)+1)
		o.entry[k][0] = int32(len(o.raw))
		for i := range s.in {
			for r, raw := range s.in[i].Refs {
				start := len(o.arena)
				var kept int
				o.arena, kept = appendRef(o.arena, raw)
				if kept < minRefLen {
					o.arena = o.arena[:start]
					continue
				}
				o.off = append(o.off, len(o.arena))
				o.raw = append(o.raw, int32(r))
				o.str = append(o.str, raw)
			}
			o.entry[k][i+1] = int32(len(o.raw))
		}
	}
	n := len(o.raw)
	shift := 64 - bits.Len(uint(n/occurrencesPerBucket))
	seed := maphash.MakeSeed()
	o.bucket = make([]uint32, n)
	count := make([]int32, 1<<(64-shift)+1)
	for k := range n {
		b := uint32(0)
		if shift < 64 {
			b = uint32(maphash.Bytes(seed, o.arena[o.off[k]:o.off[k+1]]) >> shift)
		}
		o.bucket[k] = b
		count[b+1]++
	}
	for b := 1; b < len(count); b++ {
		count[b] += count[b-1]
	}
	// Scatter the keys themselves, not just occurrence numbers, so each
	// bucket is then read in one sweep rather than from all over the arena.
	// Normalised bytes are never 0, so zero padding cannot make two
	// references equal, and the zero key marks a reference too long for
	// one.
	type keyed struct {
		key [16]byte
		k   int32
	}
	order := make([]keyed, n)
	for k, b := range o.bucket {
		if ref := o.arena[o.off[k]:o.off[k+1]]; len(ref) <= 16 {
			copy(order[count[b]].key[:], ref)
		}
		order[count[b]].k = int32(k)
		count[b]++
	}
	// count[b] is now where bucket b ends.
	o.id = make([]int32, n)
	short := make(map[[16]byte]int32, 2*occurrencesPerBucket)
	long := map[string]int32{}
	next, start := int32(0), int32(0)
	for _, end := range count[:len(count)-1] {
		clear(short)
		for _, x := range order[start:end] {
			id, ok := int32(0), false
			if x.key != ([16]byte{}) {
				if id, ok = short[x.key]; !ok {
					id, short[x.key] = next, next
					next++
				}
			} else if ref := o.arena[o.off[x.k]:o.off[x.k+1]]; true {
				if id, ok = long[string(ref)]; !ok {
					id, long[string(ref)] = next, next
					next++
				}
			}
			o.id[x.k] = id
		}
		start = end
	}
	e.layOutRefs(&o, next)
}

// layOutRefs stores each position's references, renumbered by first
// appearance in the sorted sides, ascending and without repeats.
func (e *engine) layOutRefs(o *occurrences, nIDs int32) {
	renumber := make([]int32, nIDs)
	for i := range renumber {
		renumber[i] = -1
	}
	next := int32(0)
	for k, s := range []*side{e.st, e.lg} {
		first := o.entry[k]
		s.refOff = make([]int32, s.len()+1)
		s.refs = make([]int32, 0, first[len(first)-1]-first[0])
		s.refRaw = make([]int32, 0, cap(s.refs))
		s.refStr = make([]string, 0, cap(s.refs))
		for p := range s.len() {
			start := len(s.refs)
			i := s.orig[p]
			for occ := first[i]; occ < first[i+1]; occ++ {
				id := &renumber[o.id[occ]]
				if *id < 0 {
					*id = next
					next++
				}
				s.refs = append(s.refs, *id)
				s.refRaw = append(s.refRaw, o.raw[occ])
				s.refStr = append(s.refStr, o.str[occ])
			}
			// Sort the few references of one entry by id, then by raw
			// index, and keep the first spelling of each.
			refs, raw, str := s.refs[start:], s.refRaw[start:], s.refStr[start:]
			for a := 1; a < len(refs); a++ {
				for b := a; b > 0 && (refs[b-1] > refs[b] || refs[b-1] == refs[b] && raw[b-1] > raw[b]); b-- {
					refs[b-1], refs[b] = refs[b], refs[b-1]
					raw[b-1], raw[b] = raw[b], raw[b-1]
					str[b-1], str[b] = str[b], str[b-1]
				}
			}
			kept := start
			for a := range refs {
				if a == 0 || refs[a] != refs[a-1] {
					s.refs[kept], s.refRaw[kept], s.refStr[kept] = refs[a], raw[a], str[a]
					kept++
				}
			}
			s.refs, s.refRaw, s.refStr = s.refs[:kept], s.refRaw[:kept], s.refStr[:kept]
			s.refOff[p+1] = int32(kept)
		}
	}
	e.nRefs = next
}
