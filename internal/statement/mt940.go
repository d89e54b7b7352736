package statement

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// ParseMT940 reads SWIFT MT940 customer statements and MT942 interim
// transaction reports, with or without the SWIFT block framing
// ({1:…}{2:…}{4: … -}), and hands every :61: statement line to h.Entry and
// every message to h.End.
//
// Each :20: starts a statement. Lines before the first :20: and between
// messages (bank headers such as "ABNANL2A / 940", dashes, free-text
// preambles, SOH/ETX/SUB control characters) are skipped. A message is an
// MT942 when its block 2 says so or it has :34F:, :13D: or :90D:/:90C:; MT942
// lines are entries the bank has already booked during the day, so they are
// StatusBooked like MT940 lines (the format has no way to mark a line as
// pending).
//
// :61: becomes an Entry: C and RD (reversal of a debit) are credits, D and RC
// (reversal of a credit) are debits, with Reversal set for RC/RD. The entry
// date (MMDD) takes the year that puts it closest to the value date, so a
// December value date booked in January lands in the next year; without an
// entry date the booking date is the value date. "NONREF" (SWIFT's "no
// reference") leaves a reference empty. Text after the 16-character customer
// reference on the :61: line (Rabobank's legacy layout) and the supplementary
// details on the line after it go, in file order, into Description ahead of
// the raw :86: text. :86: in the German "GVC?00…?20…" subfield layout (with
// SEPA EREF+/SVWZ+ keywords) and in the "/EREF/…/NAME/…/REMI/…" layout fills
// EndToEndID, CounterpartyName, CounterpartyAcct and Remittance; any other
// :86: is left unparsed in Description.
//
// YYMMDD dates take the century from a 1950–2049 window. Bytes that are not
// valid UTF-8 are read as Latin-1. A :61: whose date, mark or amount cannot
// be read is handed over with Entry.Errors. Fatal errors (*Error with the
// line): a tag outside a statement (e.g. :61: before :20:), :61: before
// :25: or (MT940) :60:, an MT940 message without :60: or :62:, an unreadable
// balance, a SWIFT block not closed by "-}" at the end of the file, a line
// over 1 MiB, and control totals (:90D:/:90C:, ING's ":86:/SUM/") that do not
// match the message's entries. See ParseMT940With to accept messages whose
// control totals do not add up.
func ParseMT940(r io.Reader, h Handler) error {
	return ParseMT940With(r, h, Options{})
}

// ParseMT940With is ParseMT940 with options. With opt.ControlMismatch set,
// every control total (:90D:/:90C:, ING's ":86:/SUM/") whose count or sum
// disagrees with the message's entries goes to it, once the message's
// entries have been handed over and before h.End; parsing goes on unless it
// returns an error (returned as-is; ErrStop ends parsing without one). The
// statement's StatedCount, StatedCredit and StatedDebit are still what the
// file states.
func ParseMT940With(r io.Reader, h Handler, opt Options) error {
	p := &mt940Parser{h: h, opt: opt, sc: bufio.NewScanner(r)}
	p.sc.Buffer(make([]byte, 0, 64*1024), mt940MaxLine+2)
	p.sc.Split(mt940SplitLines)
	err := p.run()
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// mt940MaxLine bounds one line, and the text (:61: details plus :86:) of one
// entry, so that a corrupt file cannot exhaust memory.
const mt940MaxLine = 1 << 20

// mt940SubfieldLen is the width of a German :86: ?20–?29 subfield; a shorter
// subfield means the writer ended the item there rather than wrapping it.
const mt940SubfieldLen = 27

// What continuation lines (lines without a tag) belong to.
const (
	mt940ContNone = iota
	mt940ContSupp // supplementary details of the pending :61:
	mt940ContInfo // :86: of the pending :61:
)

type mt940Parser struct {
	h    Handler
	opt  Options
	sc   *bufio.Scanner
	line int

	hint      Format // from SWIFT block 2 or a bare "942" header line
	blockLine int    // line of the open {4: block, 0 outside a block
	lastEnd   int    // line where the previous message ended

	st       *Statement
	ent      *Entry
	supp     []string // supplementary details of ent, in file order
	info     []string // :86: lines of ent
	textLen  int
	cont     int
	openIdx  int // index of :60: in st.Balances, -1 before it
	closeIdx int // index of :62: in st.Balances, -1 before it
	closeTag int // line of :62:

	// Entries of the message by direction, to check stated control totals.
	debN, credN     int
	debSum, credSum decimal.Decimal
	checks          []mt940Check
}

// mt940Check is a control total the file states: count and sum of the
// debits or credits of a message.
type mt940Check struct {
	line   int
	what   string // ":90D:", ":90C:", "/SUM/"
	dir    Direction
	count  int
	amount decimal.Decimal
}

func (p *mt940Parser) pos() Position { return Position{Line: p.line} }

func (p *mt940Parser) run() error {
	for p.sc.Scan() {
		p.line++
		b := p.sc.Bytes()
		if len(b) > mt940MaxLine {
			return Errorf(p.pos(), "line %d is longer than 1 MiB", p.line)
		}
		if err := p.handleLine(mt940Text(b)); err != nil {
			return err
		}
	}
	if err := p.sc.Err(); err != nil {
		p.line++
		if errors.Is(err, bufio.ErrTooLong) {
			return Errorf(p.pos(), "line %d is longer than 1 MiB", p.line)
		}
		return Errorf(p.pos(), "reading line %d: %v", p.line, err)
	}
	if p.blockLine != 0 {
		return Errorf(p.pos(), "file ends inside the SWIFT message opened at line %d (no closing \"-}\"): truncated?", p.blockLine)
	}
	return p.endMessage()
}

// handleLine processes one line; a line may hold several pieces of SWIFT
// framing ("-}{5:…}{1:…}{2:…}{4:"), which the loop takes one at a time.
func (p *mt940Parser) handleLine(s string) error {
	for {
		if len(s) >= 3 && s[0] == '{' && mt940IsDigit(s[1]) && s[2] == ':' {
			rest, err := p.blockHeader(s)
			if err != nil || rest == "" {
				return err
			}
			s = rest
			continue
		}
		trimmed := strings.TrimSpace(s)
		if trimmed == "}" && p.st == nil {
			// "-" and "}" on lines of their own.
			p.blockLine = 0
			return nil
		}
		if trimmed == "-" || strings.HasPrefix(trimmed, "-}") {
			if err := p.endMessage(); err != nil {
				return err
			}
			if trimmed == "-" {
				return nil
			}
			p.blockLine = 0
			s = strings.TrimSpace(trimmed[2:])
			if s == "" {
				return nil
			}
			continue
		}
		if tag, v, ok := mt940Tag(s); ok {
			return p.tag(tag, v)
		}
		return p.continuation(s, trimmed)
	}
}

// blockHeader reads SWIFT basic/application/user header blocks and returns
// what follows "{4:" on the same line (the message text), if anything.
func (p *mt940Parser) blockHeader(s string) (string, error) {
	if strings.HasPrefix(s, "{1:") {
		if p.blockLine != 0 {
			return "", Errorf(p.pos(), "a new SWIFT message starts before the one opened at line %d was closed with \"-}\"", p.blockLine)
		}
		p.hint = ""
	}
	if i := strings.Index(s, "{2:"); i >= 0 && len(s) >= i+7 {
		switch s[i+4 : i+7] {
		case "942":
			p.hint = FormatMT942
		case "940":
			p.hint = FormatMT940
		}
	}
	i := strings.Index(s, "{4:")
	if i < 0 {
		return "", nil
	}
	if p.blockLine != 0 {
		return "", Errorf(p.pos(), "a new SWIFT text block starts before the one opened at line %d was closed with \"-}\"", p.blockLine)
	}
	if err := p.endMessage(); err != nil {
		return "", err
	}
	p.blockLine = p.line
	return strings.TrimSpace(s[i+3:]), nil
}

func (p *mt940Parser) continuation(s, trimmed string) error {
	switch p.cont {
	case mt940ContSupp:
		if trimmed == "" {
			return nil
		}
		p.supp = append(p.supp, trimmed)
	case mt940ContInfo:
		p.info = append(p.info, s)
	default:
		// Headers, preambles and separators between messages; a bare "942"
		// header line (ABN AMRO style) announces an MT942.
		if p.st == nil {
			switch trimmed {
			case "940":
				p.hint = FormatMT940
			case "942":
				p.hint = FormatMT942
			}
		}
		return nil
	}
	p.textLen += len(s)
	if p.textLen > mt940MaxLine {
		return Errorf(p.pos(), "the details of the statement line at line %d are longer than 1 MiB", p.ent.Pos.Line)
	}
	return nil
}

func (p *mt940Parser) tag(tag, v string) error {
	if tag == "20" {
		if err := p.endMessage(); err != nil {
			return err
		}
		p.startStatement(strings.TrimSpace(v))
		return nil
	}
	if tag != "86" {
		if err := p.flushEntry(); err != nil {
			return err
		}
	}
	st := p.st
	if st == nil {
		if p.lastEnd > 0 {
			return Errorf(p.pos(), "tag :%s: outside a statement: the message before ended at line %d and no :20: follows it", tag, p.lastEnd)
		}
		return Errorf(p.pos(), "tag :%s: outside a statement: no :20: before it", tag)
	}
	switch tag {
	case "28", "28C":
		st.Sequence = strings.TrimSpace(v)
	case "25":
		acct := mt940Account(v)
		if acct.ID == "" {
			return Errorf(p.pos(), "account :25: is empty")
		}
		if acct.Currency == "" {
			acct.Currency = st.Account.Currency
		}
		st.Account = acct
		if st.Currency == "" {
			st.Currency = acct.Currency
		}
	case "60F", "60M", "62F", "62M", "64", "65":
		b, err := mt940Balance(tag, v)
		if err != nil {
			return Errorf(p.pos(), "balance :%s: %s", tag, err)
		}
		st.Balances = append(st.Balances, b)
		switch tag[:2] {
		case "60":
			p.openIdx = len(st.Balances) - 1
			st.Currency = b.Currency
			if st.Account.Currency == "" {
				st.Account.Currency = b.Currency
			}
		case "62":
			p.closeIdx = len(st.Balances) - 1
			p.closeTag = p.line
		}
		// Opening and Closing point into Balances, which append may have
		// moved.
		if p.openIdx >= 0 {
			st.Opening = &st.Balances[p.openIdx]
		}
		if p.closeIdx >= 0 {
			st.Closing = &st.Balances[p.closeIdx]
		}
	case "61":
		return p.statementLine(v)
	case "86":
		return p.information(v)
	case "34F":
		st.Format = FormatMT942
		v = strings.TrimSpace(v)
		if len(v) < 3 || !mt940IsUpper(v[:3]) {
			return Errorf(p.pos(), "floor limit :34F: %q does not start with a currency code", v)
		}
		if st.Currency == "" {
			st.Currency = v[:3]
		}
		if st.Account.Currency == "" {
			st.Account.Currency = v[:3]
		}
	case "13", "13D":
		if tag == "13D" {
			st.Format = FormatMT942
		}
		t, ok := mt940DateTime(strings.TrimSpace(v))
		if !ok {
			return Errorf(p.pos(), "date-time :%s: %q is not YYMMDDHHMM[±HHMM]", tag, strings.TrimSpace(v))
		}
		st.CreatedAt = &t
	case "90D", "90C":
		st.Format = FormatMT942
		return p.statedTotal(tag, v)
	}
	return nil
}

func (p *mt940Parser) startStatement(id string) {
	format := FormatMT940
	if p.hint == FormatMT942 {
		format = FormatMT942
	}
	p.st = &Statement{Format: format, ID: id, Pos: p.pos()}
	p.openIdx, p.closeIdx, p.closeTag = -1, -1, 0
	p.debN, p.credN = 0, 0
	p.debSum, p.credSum = decimal.Zero, decimal.Zero
	p.checks = p.checks[:0]
}

func (p *mt940Parser) statementLine(v string) error {
	st := p.st
	switch {
	case st.Account.ID == "":
		return Errorf(p.pos(), "statement line :61: before the account :25: of the statement at line %d", st.Pos.Line)
	case st.Opening == nil && st.Format != FormatMT942:
		return Errorf(p.pos(), "statement line :61: before the opening balance :60F:/:60M: of the statement at line %d", st.Pos.Line)
	case st.Closing != nil:
		return Errorf(p.pos(), "statement line :61: after the closing balance :62: at line %d", p.closeTag)
	}
	e := &Entry{Pos: p.pos(), Currency: st.Currency, Status: StatusBooked}
	p.supp = mt940ParseLine61(e, strings.TrimRight(v, " \t"), p.supp[:0])
	p.ent = e
	p.cont = mt940ContSupp
	p.textLen = len(v)
	return nil
}

// information handles :86:. After a :61: it describes that entry (several
// :86: tags for one entry are joined, as Rabobank writes them); elsewhere it
// is statement-level text, of which only ING's "/SUM/" totals are used.
func (p *mt940Parser) information(v string) error {
	if p.ent != nil {
		p.info = append(p.info, v)
		p.cont = mt940ContInfo
		p.textLen += len(v)
		if p.textLen > mt940MaxLine {
			return Errorf(p.pos(), "the details of the statement line at line %d are longer than 1 MiB", p.ent.Pos.Line)
		}
		return nil
	}
	p.cont = mt940ContNone
	v = strings.TrimSpace(v)
	if !strings.HasPrefix(v, "/SUM/") {
		return nil
	}
	// /SUM/<debit count>/<credit count>/<debit sum>/<credit sum>/
	f := strings.Split(strings.TrimSuffix(v[len("/SUM/"):], "/"), "/")
	if len(f) != 4 {
		return Errorf(p.pos(), "totals %q are not /SUM/debits/credits/debit sum/credit sum/", v)
	}
	dn, err1 := strconv.Atoi(f[0])
	cn, err2 := strconv.Atoi(f[1])
	da, ok1 := mt940Amount(f[2])
	ca, ok2 := mt940Amount(f[3])
	if err1 != nil || err2 != nil || !ok1 || !ok2 || dn < 0 || cn < 0 {
		return Errorf(p.pos(), "totals %q are not /SUM/debits/credits/debit sum/credit sum/", v)
	}
	p.checks = append(p.checks,
		mt940Check{line: p.line, what: "/SUM/", dir: Debit, count: dn, amount: da},
		mt940Check{line: p.line, what: "/SUM/", dir: Credit, count: cn, amount: ca})
	return nil
}

// statedTotal reads :90D:/:90C: "<count><currency><amount>".
func (p *mt940Parser) statedTotal(tag, v string) error {
	v = strings.TrimSpace(v)
	i := 0
	for i < len(v) && mt940IsDigit(v[i]) {
		i++
	}
	n, err := strconv.Atoi(v[:i])
	if err != nil || len(v) < i+3 || !mt940IsUpper(v[i:i+3]) {
		return Errorf(p.pos(), "total :%s: %q is not <count><currency><amount>", tag, v)
	}
	amt, ok := mt940Amount(v[i+3:])
	if !ok {
		return Errorf(p.pos(), "total :%s: amount %q is not a valid amount", tag, v[i+3:])
	}
	dir := Debit
	if tag == "90C" {
		dir = Credit
	}
	p.checks = append(p.checks, mt940Check{line: p.line, what: ":" + tag + ":", dir: dir, count: n, amount: amt})
	return nil
}

// flushEntry completes the pending entry and hands it over.
func (p *mt940Parser) flushEntry() error {
	e := p.ent
	if e == nil {
		return nil
	}
	p.ent = nil
	p.cont = mt940ContNone
	mt940Describe(e, p.supp, p.info)
	p.supp, p.info, p.textLen = p.supp[:0], p.info[:0], 0
	switch e.Direction {
	case Debit:
		p.debN++
		p.debSum = p.debSum.Add(e.Amount)
	case Credit:
		p.credN++
		p.credSum = p.credSum.Add(e.Amount)
	}
	return p.h.entry(p.st, e)
}

// endMessage completes the open statement, if any, checks it and hands it
// over.
func (p *mt940Parser) endMessage() error {
	if err := p.flushEntry(); err != nil {
		return err
	}
	st := p.st
	if st == nil {
		return nil
	}
	p.st = nil
	p.lastEnd = p.line
	p.cont = mt940ContNone
	switch {
	case st.Account.ID == "":
		return Errorf(p.pos(), "statement :20: %q at line %d has no account :25:", st.ID, st.Pos.Line)
	case st.Format == FormatMT940 && st.Opening == nil:
		return Errorf(p.pos(), "statement :20: %q at line %d has no opening balance :60F:/:60M:", st.ID, st.Pos.Line)
	case st.Format == FormatMT940 && st.Closing == nil:
		return Errorf(p.pos(), "statement :20: %q at line %d ends without a closing balance :62F:/:62M: (truncated?)", st.ID, st.Pos.Line)
	}
	var stated [2]*mt940Check // debit, credit: the last the file states
	for i := range p.checks {
		c := &p.checks[i]
		n, sum, k := p.credN, p.credSum, 1
		if c.dir == Debit {
			n, sum, k = p.debN, p.debSum, 0
		}
		if c.count != n || !c.amount.Equal(sum) {
			err := Errorf(Position{Line: c.line}, "%s states %d %s(s) totalling %s but the message has %d totalling %s",
				c.what, c.count, c.dir, c.amount, n, sum)
			if p.opt.ControlMismatch == nil {
				return err
			}
			if err := p.opt.ControlMismatch(err); err != nil {
				return err
			}
		}
		stated[k] = c
	}
	if stated[0] != nil {
		debit := stated[0].amount
		st.StatedDebit = &debit
	}
	if stated[1] != nil {
		credit := stated[1].amount
		st.StatedCredit = &credit
	}
	if stated[0] != nil && stated[1] != nil {
		count := stated[0].count + stated[1].count
		st.StatedCount = &count
	}
	return p.h.end(st)
}

// mt940ParseLine61 reads a :61: statement line
// (6!n[4!n]2a[1!a]15d1!a3!c16x[//16x][34x]) into e; what the line carries
// beyond the references is appended to supp.
func mt940ParseLine61(e *Entry, s string, supp []string) []string {
	n := 0
	for n < len(s) && mt940IsDigit(s[n]) {
		n++
	}
	i := n
	if n == 6 || n == 10 {
		vd, ok := mt940Date(s[:6])
		if ok {
			e.ValueDate = &vd
			if n == 10 {
				bd, ok := mt940EntryDate(vd, s[6:10])
				if ok {
					e.BookingDate = &bd
				} else {
					e.Errors = append(e.Errors, fmt.Sprintf("entry date: %q is not a valid MMDD date", s[6:10]))
				}
			} else {
				e.BookingDate = &vd
			}
		} else {
			e.Errors = append(e.Errors, fmt.Sprintf("value date: %q is not a valid YYMMDD date", s[:6]))
		}
	} else {
		e.Errors = append(e.Errors, fmt.Sprintf("value date: %q is not YYMMDD with an optional MMDD entry date", s[:n]))
	}

	rest := s[i:]
	switch {
	case strings.HasPrefix(rest, "RC"):
		e.Direction, e.Reversal, i = Debit, true, i+2
	case strings.HasPrefix(rest, "RD"):
		e.Direction, e.Reversal, i = Credit, true, i+2
	case strings.HasPrefix(rest, "C"):
		e.Direction, i = Credit, i+1
	case strings.HasPrefix(rest, "D"):
		e.Direction, i = Debit, i+1
	default:
		j := i
		for j < len(s) && mt940IsLetter(s[j]) {
			j++
		}
		e.Errors = append(e.Errors, fmt.Sprintf("debit/credit mark: %q is not C, D, RC or RD", s[i:j]))
		i = j
	}
	// Funds code: the third letter of the currency code, some banks add it.
	if i < len(s) && mt940IsLetter(s[i]) {
		i++
	}
	j := i
	for j < len(s) && (mt940IsDigit(s[j]) || s[j] == ',' || s[j] == '.') {
		j++
	}
	if amt, ok := mt940Amount(s[i:j]); ok {
		e.Amount = amt
	} else if i == j {
		e.Errors = append(e.Errors, "amount is missing")
	} else {
		e.Errors = append(e.Errors, fmt.Sprintf("amount: %q is not a valid amount", s[i:j]))
	}
	for j < len(s) && s[j] == ' ' {
		j++
	}
	rest = s[j:]

	switch {
	case rest == "NONREF" || strings.HasPrefix(rest, "NONREF//") || strings.HasPrefix(rest, "NONREF "):
		// No transaction type, just the reference (Penta).
	case strings.HasPrefix(rest, "//"):
		// No type and no customer reference (Zenith).
	case len(rest) >= 4 && (rest[0] == 'N' || rest[0] == 'F' || rest[0] == 'S'):
		e.TypeCode = strings.TrimSpace(rest[:4])
		rest = rest[4:]
	}
	ref, bank, hasBank := strings.Cut(rest, "//")
	ref, extra := mt940SplitRef(ref)
	e.CustomerReference = mt940Ref(ref)
	if extra != "" {
		supp = append(supp, extra)
	}
	if hasBank {
		bank, extra = mt940SplitRef(bank)
		e.BankReference = mt940Ref(bank)
		if extra != "" {
			supp = append(supp, extra)
		}
	}
	return supp
}

// mt940SplitRef splits a 16x reference from text a bank wrote after it on
// the same line: Rabobank's legacy layout pads the reference with spaces to
// 16 characters and follows it with the counterparty's name. A longer
// reference without a space at the 16th character (ASN's 18-character
// IBAN) is kept whole.
func mt940SplitRef(s string) (ref, extra string) {
	if len(s) > 16 && (s[15] == ' ' || s[16] == ' ') {
		return strings.TrimSpace(s[:16]), strings.TrimSpace(s[16:])
	}
	return strings.TrimSpace(s), ""
}

func mt940Ref(s string) string {
	if s == "NONREF" {
		return ""
	}
	return s
}

// mt940Describe fills e's text fields from the supplementary details and
// the :86: lines.
func mt940Describe(e *Entry, supp, info []string) {
	// Description: the text as the file has it, lines kept, without the
	// trailing padding of lines (Rabobank pads them to 65 characters) and
	// without leading or trailing blank lines.
	var b strings.Builder
	for _, s := range supp {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	blank := 0
	for _, s := range info {
		s = strings.TrimRight(s, " \t")
		if s == "" {
			if b.Len() > 0 {
				blank++
			}
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		for ; blank > 0; blank-- {
			b.WriteByte('\n')
		}
		b.WriteString(s)
	}
	e.Description = b.String()

	if len(info) > 0 {
		// Lines are wrapped at 65 characters regardless of the content, so
		// the structured forms are read from the lines joined without a
		// separator.
		joined := strings.TrimSpace(strings.Join(info, ""))
		switch {
		case mt940IsGVC(joined):
			mt940ParseGVC(e, joined)
		case mt940IsSlashKeys(joined):
			mt940ParseSlashKeys(e, joined)
		}
	}
	if e.CounterpartyAcct == "" && len(supp) == 1 && mt940IsIBAN(supp[0]) {
		// Rabobank's and ASN's supplementary details are the counterparty
		// account.
		e.CounterpartyAcct = supp[0]
	}
}

// mt940IsGVC reports whether :86: is in the German layout: a three-digit
// business transaction code (GVC) followed by ?NN subfields.
func mt940IsGVC(s string) bool {
	return len(s) >= 6 && mt940IsDigit(s[0]) && mt940IsDigit(s[1]) && mt940IsDigit(s[2]) &&
		s[3] == '?' && mt940IsDigit(s[4]) && mt940IsDigit(s[5])
}

// mt940ParseGVC reads the German subfields: ?20–?29 and ?60–?63 remittance
// (with SEPA keywords such as EREF+ and SVWZ+), ?30 bank code, ?31 account,
// ?32/?33 counterparty name, ?38 counterparty IBAN.
func mt940ParseGVC(e *Entry, s string) {
	var name, acct, iban strings.Builder
	var parts []string
	rest := s[3:]
	for len(rest) >= 3 {
		// rest starts with "?NN".
		code := rest[1:3]
		rest = rest[3:]
		end := 0
		for {
			k := strings.IndexByte(rest[end:], '?')
			if k < 0 {
				end = len(rest)
				break
			}
			end += k
			if end+2 < len(rest) && mt940IsDigit(rest[end+1]) && mt940IsDigit(rest[end+2]) {
				break
			}
			end++
		}
		val := rest[:end]
		rest = rest[end:]
		switch {
		case code[0] == '2' || (code[0] == '6' && code[1] <= '3'):
			parts = append(parts, val)
		case code == "31":
			acct.WriteString(val)
		case code == "32" || code == "33":
			name.WriteString(val)
		case code == "38":
			iban.WriteString(val)
		}
	}
	e.CounterpartyName = mt940Squash(name.String())
	e.CounterpartyAcct = strings.TrimSpace(acct.String())
	if v := strings.TrimSpace(iban.String()); v != "" {
		e.CounterpartyAcct = v
	}
	mt940ParseSEPA(e, parts)
}

// mt940SEPAKeys are the keywords German banks put in the remittance
// subfields. Identifiers end at the next keyword or at a subfield the
// writer left short; the texts (SVWZ, ABWA, ABWE) only at the next keyword.
var mt940SEPAKeys = map[string]bool{
	"EREF": true, "KREF": true, "MREF": true, "CRED": true, "DEBT": true,
	"IBAN": true, "BIC": true, "OAMT": true, "COAM": true, "PURP": true,
	"BREF": true, "RREF": true,
	"SVWZ": false, "ABWA": false, "ABWE": false,
}

func mt940ParseSEPA(e *Entry, parts []string) {
	var b strings.Builder
	var bounds []int // offsets in the joined text where a part starts
	var short []bool // whether the part before that offset was short
	for i, p := range parts {
		if i > 0 {
			bounds = append(bounds, b.Len())
			short = append(short, utf8.RuneCountInString(parts[i-1]) < mt940SubfieldLen)
		}
		b.WriteString(p)
	}
	r := b.String()
	type kw struct {
		key        string
		start, val int
	}
	var kws []kw
	next := 0 // index in bounds of the first boundary ≥ i
	for i := 0; i < len(r); i++ {
		for next < len(bounds) && bounds[next] < i {
			next++
		}
		atBound := next < len(bounds) && bounds[next] == i
		if r[i] < 'A' || r[i] > 'Z' || (i > 0 && r[i-1] != ' ' && !atBound) {
			continue
		}
		for _, n := range [2]int{4, 3} {
			if i+n < len(r) && r[i+n] == '+' {
				if _, ok := mt940SEPAKeys[r[i:i+n]]; ok {
					kws = append(kws, kw{key: r[i : i+n], start: i, val: i + n + 1})
					i += n
					break
				}
			}
		}
	}
	var leftover, remittance []string
	prev := 0
	for k, w := range kws {
		if t := strings.TrimSpace(r[prev:w.start]); t != "" {
			leftover = append(leftover, t)
		}
		end := len(r)
		if k+1 < len(kws) {
			end = kws[k+1].start
		}
		if mt940SEPAKeys[w.key] {
			for j := sort.SearchInts(bounds, w.val+1); j < len(bounds) && bounds[j] < end; j++ {
				if short[j] {
					end = bounds[j]
					break
				}
			}
		}
		val := strings.TrimSpace(r[w.val:end])
		prev = end
		switch w.key {
		case "EREF":
			if e.EndToEndID == "" {
				e.EndToEndID = mt940EndToEnd(val)
			}
		case "SVWZ":
			if val != "" {
				remittance = append(remittance, val)
			}
		case "IBAN":
			if e.CounterpartyAcct == "" {
				e.CounterpartyAcct = val
			}
		}
	}
	if t := strings.TrimSpace(r[prev:]); t != "" {
		leftover = append(leftover, t)
	}
	e.Remittance = strings.Join(append(remittance, leftover...), " ")
}

// mt940SlashKeys are the field names of the "/KEY/value" :86: layout (ING,
// ABN AMRO, Rabobank, bunq; SWIFT's structured narrative), longest first.
var mt940SlashKeys = []string{
	"CDTRREFTP", "CDTRREF",
	"TRTP", "IBAN", "NAME", "REMI", "EREF", "ORDP", "BENM", "ADDR", "ISDT",
	"CSID", "MARF", "PREF", "RTRN", "CNTP", "ULTC", "ULTD", "ULTB", "PURP",
	"OCMT", "CHGS", "EXCH", "ACCW", "SVCL", "BUSP", "TRCD", "SUM",
	"BIC", "FX",
}

// mt940SlashKey returns the key of a "/KEY/" at s[i:], if there is one.
func mt940SlashKey(s string, i int) string {
	if s[i] != '/' {
		return ""
	}
	for _, k := range mt940SlashKeys {
		j := i + 1 + len(k)
		if j < len(s) && s[j] == '/' && s[i+1:j] == k {
			return k
		}
	}
	return ""
}

func mt940IsSlashKeys(s string) bool { return s != "" && mt940SlashKey(s, 0) != "" }

func mt940ParseSlashKeys(e *Entry, s string) {
	var cntp, ibanv, accw string
	nameSet := false
	for i := 0; i < len(s); {
		key := mt940SlashKey(s, i)
		if key == "" {
			i++
			continue
		}
		start := i + len(key) + 2
		end := start
		for end < len(s) {
			k := strings.IndexByte(s[end:], '/')
			if k < 0 {
				end = len(s)
				break
			}
			end += k
			if mt940SlashKey(s, end) != "" {
				break
			}
			end++
		}
		val := strings.TrimSpace(s[start:end])
		i = end
		switch key {
		case "EREF":
			if e.EndToEndID == "" {
				e.EndToEndID = mt940EndToEnd(strings.TrimRight(val, "/ "))
			}
		case "NAME":
			if !nameSet {
				e.CounterpartyName = strings.TrimRight(val, "/ ")
				nameSet = true
			}
		case "IBAN":
			ibanv = strings.TrimRight(val, "/ ")
		case "ACCW":
			accw = strings.TrimRight(val, "/ ")
		case "CNTP":
			cntp = val
		case "REMI":
			val = strings.TrimPrefix(val, "USTD//")
			val = strings.TrimPrefix(val, "STRD/CUR/")
			e.Remittance = strings.TrimSpace(strings.TrimRight(val, "/ "))
		}
	}
	// ING: /CNTP/account/BIC/name/city/
	if cntp != "" {
		f := strings.Split(cntp, "/")
		if ibanv == "" {
			ibanv = strings.TrimSpace(f[0])
		}
		if !nameSet && len(f) > 2 {
			e.CounterpartyName = strings.TrimSpace(f[2])
		}
	}
	if ibanv == "" {
		ibanv = accw
	}
	e.CounterpartyAcct = ibanv
}

// mt940EndToEnd drops the SEPA placeholders for "no end-to-end id".
func mt940EndToEnd(s string) string {
	switch s {
	case "NOTPROVIDED", "NONREF":
		return ""
	}
	return s
}

// mt940Squash trims s and collapses runs of spaces (names padded to the
// subfield width).
func mt940Squash(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// mt940Balance reads "<C|D><YYMMDD><currency><amount>".
func mt940Balance(tag, v string) (Balance, error) {
	v = strings.TrimSpace(v)
	if len(v) < 11 {
		return Balance{}, fmt.Errorf("%q is too short for <C|D><YYMMDD><currency><amount>", v)
	}
	var neg bool
	switch v[0] {
	case 'C':
	case 'D':
		neg = true
	default:
		return Balance{}, fmt.Errorf("debit/credit mark %q is not C or D", v[:1])
	}
	d, ok := mt940Date(v[1:7])
	if !ok {
		return Balance{}, fmt.Errorf("date %q is not a valid YYMMDD date", v[1:7])
	}
	if !mt940IsUpper(v[7:10]) {
		return Balance{}, fmt.Errorf("currency %q is not an ISO currency code", v[7:10])
	}
	amt, ok := mt940Amount(v[10:])
	if !ok {
		return Balance{}, fmt.Errorf("amount %q is not a valid amount", v[10:])
	}
	if neg {
		amt = amt.Neg()
	}
	return Balance{Type: tag, Amount: amt, Currency: v[7:10], Date: d}, nil
}

// mt940Amount reads a SWIFT amount: digits with a decimal comma ("1234,5",
// "500,", "500"); a decimal point is accepted too (Rabobank's legacy files).
func mt940Amount(s string) (decimal.Decimal, bool) {
	if s == "" || len(s) > 64 {
		return decimal.Decimal{}, false
	}
	sep := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case mt940IsDigit(c):
		case (c == ',' || c == '.') && sep < 0:
			sep = i
		default:
			return decimal.Decimal{}, false
		}
	}
	if sep == 0 {
		return decimal.Decimal{}, false
	}
	intPart, frac := s, ""
	if sep > 0 {
		intPart, frac = s[:sep], s[sep+1:]
	}
	if len(intPart)+len(frac) <= 18 {
		var v int64
		for i := 0; i < len(intPart); i++ {
			v = v*10 + int64(intPart[i]-'0')
		}
		for i := 0; i < len(frac); i++ {
			v = v*10 + int64(frac[i]-'0')
		}
		return decimal.New(v, -int32(len(frac))), true
	}
	d, err := decimal.NewFromString(intPart + "." + frac + "0")
	return d, err == nil
}

// mt940Year puts a two-digit year into 1950–2049.
func mt940Year(yy int) int {
	if yy < 50 {
		return 2000 + yy
	}
	return 1900 + yy
}

func mt940Date(s string) (time.Time, bool) {
	if len(s) != 6 || !mt940AllDigits(s) {
		return time.Time{}, false
	}
	y := mt940Year(int(s[0]-'0')*10 + int(s[1]-'0'))
	return mt940YMD(y, int(s[2]-'0')*10+int(s[3]-'0'), int(s[4]-'0')*10+int(s[5]-'0'))
}

func mt940YMD(y, m, d int) (time.Time, bool) {
	if m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// mt940EntryDate gives an MMDD entry date the year that puts it closest to
// the value date: a value date of 31 December booked on 0102 is booked in
// the next year, one of 2 January booked on 1231 in the year before.
func mt940EntryDate(value time.Time, mmdd string) (time.Time, bool) {
	if len(mmdd) != 4 || !mt940AllDigits(mmdd) {
		return time.Time{}, false
	}
	m := int(mmdd[0]-'0')*10 + int(mmdd[1]-'0')
	d := int(mmdd[2]-'0')*10 + int(mmdd[3]-'0')
	var best time.Time
	var bestDiff time.Duration
	found := false
	for _, y := range [3]int{value.Year(), value.Year() - 1, value.Year() + 1} {
		t, ok := mt940YMD(y, m, d)
		if !ok {
			continue
		}
		diff := t.Sub(value)
		if diff < 0 {
			diff = -diff
		}
		if !found || diff < bestDiff {
			best, bestDiff, found = t, diff, true
		}
	}
	return best, found
}

// mt940DateTime reads :13D: "YYMMDDHHMM±HHMM" (or :13: without the offset)
// and returns the instant in UTC.
func mt940DateTime(s string) (time.Time, bool) {
	if len(s) < 10 || !mt940AllDigits(s[:10]) {
		return time.Time{}, false
	}
	d, ok := mt940Date(s[:6])
	if !ok {
		return time.Time{}, false
	}
	hh := int(s[6]-'0')*10 + int(s[7]-'0')
	mm := int(s[8]-'0')*10 + int(s[9]-'0')
	if hh > 23 || mm > 59 {
		return time.Time{}, false
	}
	loc := time.UTC
	switch rest := s[10:]; {
	case rest == "":
	case len(rest) == 5 && (rest[0] == '+' || rest[0] == '-') && mt940AllDigits(rest[1:]):
		oh := int(rest[1]-'0')*10 + int(rest[2]-'0')
		om := int(rest[3]-'0')*10 + int(rest[4]-'0')
		if oh > 14 || om > 59 {
			return time.Time{}, false
		}
		off := (oh*60 + om) * 60
		if rest[0] == '-' {
			off = -off
		}
		loc = time.FixedZone("", off)
	default:
		return time.Time{}, false
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hh, mm, 0, 0, loc).UTC(), true
}

// mt940Account reads :25:: an account number or IBAN, optionally after a
// BIC or bank code and a slash ("DABADKKK/1234567890", "25040066/0123456789")
// and optionally followed by the currency ("1291.99.348EUR",
// "NL10BUNQ2290325473 EUR", ".../HUF").
func mt940Account(v string) Account {
	v = strings.TrimSpace(v)
	var a Account
	if i := strings.IndexByte(v, '/'); i > 0 && mt940IsBankID(v[:i]) {
		a.Servicer, v = v[:i], strings.TrimSpace(v[i+1:])
	}
	if n := len(v); n > 4 && mt940IsCurrency(v[n-3:]) {
		switch c := v[n-4]; {
		case c == '/' || c == ' ':
			a.Currency, v = v[n-3:], strings.TrimRight(v[:n-4], " /")
		case mt940IsDigit(c):
			a.Currency, v = v[n-3:], v[:n-3]
		}
	}
	a.ID = v
	if mt940IsIBAN(v) {
		a.IBAN = v
	}
	return a
}

// mt940IsBankID reports whether s is a BIC or a numeric bank code.
func mt940IsBankID(s string) bool {
	if len(s) >= 3 && len(s) <= 12 && mt940AllDigits(s) {
		return true
	}
	if len(s) != 8 && len(s) != 11 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !mt940IsLetter(c) && (i < 6 || !mt940IsDigit(c)) {
			return false
		}
	}
	return true
}

// mt940IsIBAN reports whether s has the shape of an IBAN (country, check
// digits, 11–30 alphanumerics); the checksum is not verified, as sample and
// anonymised files rarely have valid ones.
func mt940IsIBAN(s string) bool {
	if len(s) < 15 || len(s) > 34 || !mt940IsLetter(s[0]) || !mt940IsLetter(s[1]) ||
		!mt940IsDigit(s[2]) || !mt940IsDigit(s[3]) {
		return false
	}
	for i := 4; i < len(s); i++ {
		if !mt940IsLetter(s[i]) && !mt940IsDigit(s[i]) {
			return false
		}
	}
	return true
}

// mt940Currencies lists ISO 4217 codes (and a few pre-euro ones), to tell a
// currency suffix in :25: from the end of an account number.
const mt940Currencies = " AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL ATS BEF DEM ESP FRF ITL NLG "

func mt940IsCurrency(s string) bool {
	return len(s) == 3 && mt940IsUpper(s) && strings.Contains(mt940Currencies, " "+s+" ")
}

// mt940Tag splits ":NN[a]:value".
func mt940Tag(s string) (tag, value string, ok bool) {
	if len(s) < 4 || s[0] != ':' || !mt940IsDigit(s[1]) || !mt940IsDigit(s[2]) {
		return "", "", false
	}
	if s[3] == ':' {
		return s[1:3], s[4:], true
	}
	if len(s) >= 5 && s[3] >= 'A' && s[3] <= 'Z' && s[4] == ':' {
		return s[1:4], s[5:], true
	}
	return "", "", false
}

// mt940SplitLines splits on LF, CRLF or a lone CR.
func mt940SplitLines(data []byte, atEOF bool) (int, []byte, error) {
	if atEOF && len(data) == 0 {
		return 0, nil, nil
	}
	i := bytes.IndexAny(data, "\r\n")
	switch {
	case i < 0:
		if atEOF {
			return len(data), data, nil
		}
		return 0, nil, nil
	case data[i] == '\n':
		return i + 1, data[:i], nil
	case i+1 < len(data):
		if data[i+1] == '\n' {
			return i + 2, data[:i], nil
		}
		return i + 1, data[:i], nil
	case atEOF:
		return i + 1, data[:i], nil
	}
	return 0, nil, nil // a CR at the end of the buffer: is an LF next?
}

// mt940Text turns a line into a string: control characters (SWIFT's SOH and
// ETX, DOS's end-of-file SUB) are dropped, and a line that is not valid
// UTF-8 is read as Latin-1.
func mt940Text(b []byte) string {
	clean := true
	for _, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		out := make([]byte, 0, len(b))
		for _, c := range b {
			if c < 0x20 && c != '\t' || c == 0x7f {
				continue
			}
			out = append(out, c)
		}
		b = out
	}
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func mt940IsDigit(c byte) bool  { return c >= '0' && c <= '9' }
func mt940IsLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func mt940AllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !mt940IsDigit(s[i]) {
			return false
		}
	}
	return true
}

func mt940IsUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
