package ledgermatch

// Pass 4: everything left.
//
// A free line and a free entry of one currency that share a reference, and
// are each other's only free counterpart by reference, are one movement
// booked with different amounts: an amount_mismatch. Every other free line
// is missing in the ledger, every other free entry missing in the
// statement. Requiring the pairing to be unique keeps a shared reference
// from turning a random pair of leftovers into a critical finding.

func (e *engine) leftoverPass() {
	st, lg := e.st, e.lg
	for s := range st.len() {
		if !st.isFree(s) {
			continue
		}
		l, ok := e.onlyRefPartner(st, lg, s)
		if !ok {
			continue
		}
		if back, ok := e.onlyRefPartner(lg, st, l); !ok || back != s || st.amt[s] == lg.amt[l] {
			// Equal amounts got here only because pass 1 found them tied
			// with an entry a later pass took; they stay missing rather
			// than being called a mismatch they are not.
			continue
		}
		e.amountMismatch(s, l)
	}
	for _, sd := range []*side{st, lg} {
		for p := range sd.len() {
			if sd.isFree(p) {
				e.missing(sd, p)
			}
		}
	}
}

// onlyRefPartner is the one free entry of other, in p's currency, that
// shares a reference with p; false when there are none or several.
func (e *engine) onlyRefPartner(s, other *side, p int32) (int32, bool) {
	found := int32(-1)
	for _, r := range s.refsOf(p) {
		if e.generic[r] {
			continue
		}
		for _, q := range other.withRef(r) {
			if q == found || !other.isFree(q) || other.cur[q] != s.cur[p] {
				continue
			}
			if found >= 0 {
				return 0, false
			}
			found = q
		}
	}
	return found, found >= 0
}

func (e *engine) amountMismatch(s, l int32) {
	st, lg := e.st, e.lg
	b := append(e.text[:0], "Statement line and ledger entry share reference "...)
	b = append(b, e.rawRef(st, s, lg.refsOf(l))...)
	b = append(b, " but differ in amount: statement "...)
	b = e.appendAmount(b, st.amt[s], st.cur[s])
	b = append(b, ", ledger "...)
	b = e.appendAmount(b, lg.amt[l], lg.cur[l])
	b = append(b, ", difference "...)
	b = e.appendDiff(b, st.amt[s], lg.amt[l], st.cur[s])
	b = append(b, '.')
	e.text = b
	e.addDiscrepancy(AmountMismatch, Critical, []int32{s}, []int32{l}, string(b))
}

func (e *engine) missing(s *side, p int32) {
	b := append(e.text[:0], "No "...)
	typ := MissingInLedger
	if s.ledger {
		b = append(b, "statement line"...)
		typ = MissingInStatement
	} else {
		b = append(b, "ledger entry"...)
	}
	b = append(b, " for the "...)
	b = append(b, s.noun()...)
	b = append(b, " of "...)
	b = e.appendAmount(b, s.amt[p], s.cur[p])
	b = append(b, " booked "...)
	b = appendDate(b, s.day[p])
	if ref := e.firstRef(s, p); ref != "" {
		b = append(b, ", reference "...)
		b = append(b, ref...)
	}
	b = append(b, '.')
	e.text = b
	if s.ledger {
		e.addDiscrepancy(typ, Warning, nil, []int32{p}, string(b))
	} else {
		e.addDiscrepancy(typ, Warning, []int32{p}, nil, string(b))
	}
}
