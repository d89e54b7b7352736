package ledgermatch

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/google/uuid"
)

// genRun builds a reconciliation run the size of a busy month: n statement
// lines and about 1.1n ledger entries over 90 days, in USD and EUR.
// 90% of lines have one ledger entry (85% of those share a reference, the
// rest have none but a unique amount), 5% are splits (one line, 2–4 ledger
// entries with its reference, same or next day) and 5% are unmatched on
// each side. Seeded, so every run of the benchmark sees the same data.
func genRun(seed uint64, n int) (st, lg []Entry) {
	r := rand.New(rand.NewPCG(seed, 1))
	st, lg = make([]Entry, 0, n), make([]Entry, 0, n+n/10)
	id := func() uuid.UUID {
		var u uuid.UUID
		binary.LittleEndian.PutUint64(u[:8], r.Uint64())
		binary.LittleEndian.PutUint64(u[8:], r.Uint64())
		return u
	}
	// 1.00 to 20,000.00; one in ten is money out.
	amount := func() int64 {
		a := 100 + r.Int64N(2_000_000)
		if r.IntN(10) == 0 {
			return -a
		}
		return a
	}
	currencies := []string{"USD", "EUR"}
	const firstDay = 20454 // 2026-01-01
	for i := range n {
		cur, day := currencies[r.IntN(2)], firstDay+r.Int32N(90)
		inv := strconv.Itoa(i)
		switch x := r.IntN(100); {
		case x < 90:
			a := amount()
			var sRefs, lRefs []string
			if x < 77 {
				// Banks and ledgers spell the reference differently; half
				// the lines carry a bank reference the ledger does not know.
				sRefs, lRefs = []string{"INV" + inv}, []string{"INV-" + inv}
				if x%2 == 0 {
					sRefs = append(sRefs, "BNK"+strconv.FormatUint(r.Uint64()>>20, 36))
				}
			} else {
				a = 3_000_000 + int64(i) // above every random amount: unique
			}
			st = append(st, Entry{ID: id(), Currency: cur, Amount: a, Day: day, Refs: sRefs})
			lg = append(lg, Entry{ID: id(), Currency: cur, Amount: a, Day: day + r.Int32N(3), Refs: lRefs})
		case x < 95:
			total := 1000 + r.Int64N(2_000_000)
			st = append(st, Entry{ID: id(), Currency: cur, Amount: total, Day: day, Refs: []string{"INV-" + inv}})
			parts := 2 + r.IntN(3)
			left := total
			for p := range parts {
				part := left
				if p < parts-1 {
					part = 1 + r.Int64N(left-int64(parts-1-p))
				}
				left -= part
				lg = append(lg, Entry{ID: id(), Currency: cur, Amount: part, Day: day + r.Int32N(2), Refs: []string{"inv " + inv}})
			}
		default:
			st = append(st, Entry{ID: id(), Currency: cur, Amount: amount(), Day: day, Refs: []string{"UNM-S" + inv}})
			lg = append(lg, Entry{ID: id(), Currency: cur, Amount: amount(), Day: firstDay + r.Int32N(90), Refs: []string{"UNM-L" + inv}})
		}
	}
	return st, lg
}

func BenchmarkRun(b *testing.B) {
	for _, size := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run(size.name, func(b *testing.B) {
			st, lg := genRun(1, size.n)
			var res Result
			for b.Loop() {
				res = Run(st, lg, Options{})
			}
			confident := 0
			for _, m := range res.Matches {
				if m.Confident {
					confident++
				}
			}
			b.ReportMetric(float64(len(res.Matches)), "matches")
			b.ReportMetric(float64(confident), "confident")
			b.ReportMetric(float64(len(res.Discrepancies)), "discrepancies")
		})
	}
}
