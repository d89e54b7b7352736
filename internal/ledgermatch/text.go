package ledgermatch

import (
	"slices"
	"strconv"
	"time"
)

// Reasons and messages are built by appending into one scratch buffer: a
// run writes a sentence per match, and fmt would cost more than the
// matching itself.

// appendMag writes a minor-unit magnitude as a decimal with exp fraction
// digits: (12345, 2) → "123.45", (5, 2) → "0.05".
func appendMag(b []byte, neg bool, m uint64, exp int32) []byte {
	if neg {
		b = append(b, '-')
	}
	if exp <= 0 {
		b = strconv.AppendUint(b, m, 10)
		for range -exp {
			b = append(b, '0')
		}
		return b
	}
	var d [20]byte
	digits := strconv.AppendUint(d[:0], m, 10)
	if len(digits) <= int(exp) {
		b = append(b, '0', '.')
		for range int(exp) - len(digits) {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	cut := len(digits) - int(exp)
	b = append(b, digits[:cut]...)
	b = append(b, '.')
	return append(b, digits[cut:]...)
}

// appendAmount writes "100.00 USD".
func (e *engine) appendAmount(b []byte, v int64, cur int32) []byte {
	b = appendMag(b, v < 0, mag(v), e.exps[cur])
	b = append(b, ' ')
	return append(b, e.curNames[cur]...)
}

// appendDiff writes a-b, which may not fit an int64 but always fits a
// sign and a uint64.
func (e *engine) appendDiff(b []byte, a, c int64, cur int32) []byte {
	if a >= c {
		b = appendMag(b, false, uint64(a)-uint64(c), e.exps[cur])
	} else {
		b = appendMag(b, true, uint64(c)-uint64(a), e.exps[cur])
	}
	b = append(b, ' ')
	return append(b, e.curNames[cur]...)
}

// appendApart writes "on the same day", "1 day apart", "4 days apart".
func appendApart(b []byte, days int32) []byte {
	switch days {
	case 0:
		return append(b, "on the same day"...)
	case 1:
		return append(b, "1 day apart"...)
	}
	b = strconv.AppendInt(b, int64(days), 10)
	return append(b, " days apart"...)
}

func appendDays(b []byte, days int32) []byte {
	b = strconv.AppendInt(b, int64(days), 10)
	if days == 1 {
		return append(b, " day"...)
	}
	return append(b, " days"...)
}

func appendCount(b []byte, n int, one, many string) []byte {
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, ' ')
	if n == 1 {
		return append(b, one...)
	}
	return append(b, many...)
}

func appendDate(b []byte, day int32) []byte {
	return time.Unix(int64(day)*86400, 0).UTC().AppendFormat(b, time.DateOnly)
}

func (s *side) noun() string {
	if s.ledger {
		return "ledger entry"
	}
	return "statement line"
}

func (s *side) nouns() string {
	if s.ledger {
		return "ledger entries"
	}
	return "statement lines"
}

// rawRef is the reference p shares with refs (ascending ids, labels
// aside) that comes first in p's Refs, as the caller spelled it: what a
// person would search for.
func (e *engine) rawRef(s *side, p int32, refs []int32) string {
	mine, raw := s.refsOf(p), s.refRaw[s.refOff[p]:s.refOff[p+1]]
	best := -1
	for i, j := 0, 0; i < len(mine) && j < len(refs); {
		switch {
		case mine[i] < refs[j]:
			i++
		case mine[i] > refs[j]:
			j++
		default:
			if !e.generic[mine[i]] && (best < 0 || raw[i] < raw[best]) {
				best = i
			}
			i++
			j++
		}
	}
	if best < 0 {
		return ""
	}
	return s.refStr[int(s.refOff[p])+best]
}

// firstRef is p's first usable reference as the caller spelled it.
func (e *engine) firstRef(s *side, p int32) string {
	raw := s.refRaw[s.refOff[p]:s.refOff[p+1]]
	if len(raw) == 0 {
		return ""
	}
	return s.refStr[int(s.refOff[p])+slices.Index(raw, slices.Min(raw))]
}
