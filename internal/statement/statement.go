// Package statement reads the files banks and payment providers deliver —
// ISO 20022 camt.052/053/054, BAI2, SWIFT MT940/MT942, and CSV through an
// import profile — into one statement model. Parsers stream: they hand each
// entry to a Handler as soon as it is read, so a file of a million entries
// needs constant memory, and every error names its position (line, and for
// XML the element path).
//
// Amounts are shopspring decimals, always positive, with Direction saying
// which way the money moved; dates are calendar dates at UTC midnight
// unless the file gives a time.
package statement

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"
)

// Format names a file format.
type Format string

// Formats.
const (
	FormatCAMT052 Format = "camt.052"
	FormatCAMT053 Format = "camt.053"
	FormatCAMT054 Format = "camt.054"
	FormatBAI2    Format = "bai2"
	FormatMT940   Format = "mt940"
	FormatMT942   Format = "mt942"
	FormatCSV     Format = "csv"
)

// Direction is which way an entry moved money on the account.
type Direction string

// Directions.
const (
	Credit Direction = "credit"
	Debit  Direction = "debit"
)

// Entry statuses: booked on the account, pending (not yet booked), or
// information only (camt INFO, BAI2 memo records).
const (
	StatusBooked  = "booked"
	StatusPending = "pending"
	StatusInfo    = "info"
)

// Position locates something in a file: its 1-based line, and for XML the
// element path (e.g. "Document/BkToCstmrStmt/Stmt[1]/Ntry[3]/Amt").
type Position struct {
	Line int
	Path string
}

func (p Position) String() string {
	switch {
	case p.Path != "" && p.Line > 0:
		return fmt.Sprintf("line %d (%s)", p.Line, p.Path)
	case p.Path != "":
		return p.Path
	}
	return fmt.Sprintf("line %d", p.Line)
}

// Error is a problem at a position: returned by a parser when the file
// cannot be read on (a fatal error), or listed on an entry that is read but
// invalid (Entry.Errors).
type Error struct {
	Pos Position
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Errorf builds an *Error.
func Errorf(pos Position, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrStop, returned by a Handler, ends parsing early without an error.
var ErrStop = errors.New("stop")

// Account is the account a statement is about.
type Account struct {
	ID       string // IBAN when there is one, else the account number or other id
	IBAN     string
	Currency string
	Name     string
	Servicer string // the bank: BIC, routing or bank code
}

// Balance is a balance a file states. Amount is signed: negative for a
// debit (overdrawn) balance.
type Balance struct {
	Type     string // as the file names it: camt OPBD/CLBD/…, BAI2 type code, MT940 tag (60F, 62M, …)
	Amount   decimal.Decimal
	Currency string
	Date     time.Time
}

// Statement is one statement (camt Stmt/Rpt/Ntfctn, MT940 message, BAI2
// account within a group, a CSV file) and what the file says about it.
type Statement struct {
	Format    Format
	ID        string // camt Id, MT940 :20:, BAI2 file id + group + account
	Sequence  string // camt ElctrncSeqNb/LglSeqNb, MT940 :28C:, BAI2 file sequence
	CreatedAt *time.Time
	From, To  *time.Time // period covered, when stated
	Account   Account
	Currency  string
	// Opening and Closing are the booked opening and closing balances
	// when the file states them (camt OPBD/PRCD and CLBD, MT940 :60: and
	// :62:, BAI2 010/015); Balances has every balance stated.
	Opening  *Balance
	Closing  *Balance
	Balances []Balance
	// Control totals the file states (camt TxsSummry, BAI2 trailers), to
	// check the entries against; nil when not stated.
	StatedCount  *int
	StatedCredit *decimal.Decimal
	StatedDebit  *decimal.Decimal
	Pos          Position
	// Filled by Collect only: parsers stream entries to the Handler.
	Entries []Entry
}

// Entry is one movement. A camt batch entry with several transaction
// details becomes one Entry per transaction, with the batch's reference in
// BatchRef and its 1-based place in BatchIndex.
type Entry struct {
	Pos         Position
	Amount      decimal.Decimal // always ≥ 0
	Currency    string
	Direction   Direction
	BookingDate *time.Time
	ValueDate   *time.Time
	Status      string // StatusBooked, StatusPending, StatusInfo
	Reversal    bool
	// BankReference is the bank's own reference (camt AcctSvcrRef, MT940
	// bank reference, BAI2 bank reference); CustomerReference the
	// account owner's (MT940 customer reference, BAI2 customer reference).
	BankReference     string
	CustomerReference string
	EndToEndID        string
	TransactionID     string // camt TxId / UETR, when given
	CounterpartyName  string
	CounterpartyAcct  string
	Remittance        string
	TypeCode          string // camt BkTxCd (Domn/Fmly/SubFmly or Prtry), BAI2 type code, MT940 transaction type
	Description       string // free text beyond remittance (MT940 :86: unparsed, BAI2 text)
	BatchRef          string
	BatchIndex        int
	// Fields is a CSV row's mapped values by canonical path (nil for
	// other formats).
	Fields map[string]string
	// Errors make the entry invalid; it is still handed over, so that the
	// import can record it with its position and reasons.
	Errors []string
}

// Options tune a parser.
type Options struct {
	// ControlMismatch hears of each control total or count a file states
	// (camt TxsSummry, BAI2 trailers, MT940 :90D:/:90C:) that its entries
	// do not add up to; parsing goes on unless it returns an error (ErrStop
	// ends it quietly). When nil, a mismatch is a fatal *Error.
	ControlMismatch func(*Error) error
}

// Handler receives a file's content in order. Entry is called for every
// entry as soon as it is read, with its statement as known so far
// (balances stated after the entries are not there yet); End once a
// statement is complete. Either may return ErrStop.
type Handler struct {
	Entry func(s *Statement, e *Entry) error
	End   func(s *Statement) error
}

func (h Handler) entry(s *Statement, e *Entry) error {
	if h.Entry == nil {
		return nil
	}
	return h.Entry(s, e)
}

func (h Handler) end(s *Statement) error {
	if h.End == nil {
		return nil
	}
	return h.End(s)
}

// Collect parses a whole file into memory (for tests and small files):
// every statement, with its entries.
func Collect(parse func(io.Reader, Handler) error, r io.Reader) ([]*Statement, error) {
	var out []*Statement
	err := parse(r, Handler{
		Entry: func(s *Statement, e *Entry) error {
			s.Entries = append(s.Entries, *e)
			return nil
		},
		End: func(s *Statement) error {
			out = append(out, s)
			return nil
		},
	})
	return out, err
}

// Totals sums a statement's booked entries (pending and information-only
// entries do not move the booked balance).
func Totals(entries []Entry) (credit, debit decimal.Decimal, booked int) {
	for _, e := range entries {
		if e.Status != StatusBooked {
			continue
		}
		booked++
		if e.Direction == Credit {
			credit = credit.Add(e.Amount)
		} else {
			debit = debit.Add(e.Amount)
		}
	}
	return credit, debit, booked
}

// Reconciles reports whether opening + credits − debits of the booked
// entries equals closing, when the statement states both balances (ok is
// false and stated false when it does not), and the difference.
func Reconciles(s *Statement) (ok, stated bool, diff decimal.Decimal) {
	credit, debit, _ := Totals(s.Entries)
	diff, stated = Difference(s, credit, debit)
	return stated && diff.IsZero(), stated, diff
}

// Difference is opening + credit − debit − closing, for booked totals
// summed elsewhere (a streaming reader keeps no entries); stated is false
// when the statement does not give both balances.
func Difference(s *Statement, credit, debit decimal.Decimal) (diff decimal.Decimal, stated bool) {
	if s.Opening == nil || s.Closing == nil {
		return decimal.Zero, false
	}
	return s.Opening.Amount.Add(credit).Sub(debit).Sub(s.Closing.Amount), true
}

// currencyCode is s as an ISO 4217-shaped code: three letters of either
// case, returned upper-case.
func currencyCode(s string) (string, bool) {
	if len(s) != 3 {
		return "", false
	}
	var b [3]byte
	for i := 0; i < 3; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		default:
			return "", false
		}
		b[i] = c
	}
	return string(b[:]), true
}
