package statement

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// bai2MaxLine bounds a physical line and a logical record with its
// continuations, so that a file without line breaks cannot exhaust memory.
const bai2MaxLine = 1 << 20

// ParseBAI2 reads a BAI2 (BAI Cash Management Balance Reporting, version 2)
// file: every 03 account of every 02 group is a Statement and every 16
// transaction detail an Entry. The 49, 98 and 99 trailers' control totals
// and record counts are checked against the records read; a mismatch, a
// missing trailer or a record out of place is a fatal *Error naming the
// line. See ParseBAI2With to accept files whose trailers do not add up.
//
// How the file maps onto the model:
//   - Statement.ID is "<file id>/<group number in the file>/<account
//     number>", Sequence the file id, Account.Servicer the group's
//     originator, CreatedAt the group's as-of date and time (2400 and 9999,
//     "end of day", are midnight at the end of the as-of date), From and To
//     the as-of date.
//   - The currency is the 03's, else the 02's, else USD (the BAI2 default);
//     amounts are in the currency's ISO 4217 minor units: 2 decimals, 0 for
//     JPY, KRW and the other zero-decimal currencies, 3 for BHD, KWD, OMR,
//     JOD, TND, IQD and LYD.
//   - Status summaries (001–099, loan status 700–719, custom status 900–929)
//     become Balances, 010 and 015 Opening and Closing; the 100 and 400
//     summaries (total credits and debits, with their item counts) become
//     StatedCredit, StatedDebit and StatedCount.
//   - A 16's type code gives its direction: 100–399 credit, 400–699 debit,
//     720–728 credit and 760 debit (the loan codes the BAI2 table gives a
//     direction), 930–959 credit and 960–999 debit (BAI's ranges for custom
//     codes). Other codes have no direction in BAI2 — loan status, 890
//     "non-monetary information", custom status 900–929 — and become
//     StatusInfo entries with Direction Credit as a placeholder; 000–099 in
//     a 16 is an entry error.
//   - Entry.Description is the text field with its 88 continuations, joined
//     by spaces. Tagged continuations ("EREF: …", "REMI: …", "CRNM: …",
//     "DBNM: …", "CACT: …", "DACT: …", as Goldman Sachs writes them) also
//     fill EndToEndID, Remittance and the counterparty (the debtor of a
//     credit, the creditor of a debit).
//
// The reader accepts the variations real files have: CRLF or LF; records
// with or without the '/' terminator; several records on one line
// ("…/ 16,…"); a record broken across lines without an 88; "88:" for "88,";
// trailing spaces and '9' padding of fixed-length records; blank amounts in
// trailers (not checked). In a 16 the text runs to the end of the record,
// so commas and slashes in it are kept; only a final '/' is dropped, and a
// "/ NN," (slash, blank, record code) starts a new record. An unreadable
// 16 amount is an entry error, and the control totals that would include
// it are not checked.
func ParseBAI2(r io.Reader, h Handler) error {
	return ParseBAI2With(r, h, Options{})
}

// ParseBAI2With is ParseBAI2 with options. With opt.ControlMismatch set,
// every 49, 98 or 99 trailer whose control total or counts disagree with
// the records read goes to it, and parsing goes on unless it returns an
// error (returned as-is; ErrStop ends parsing without one). Some bank
// exports and test generators write trailers that do not add up: this
// imports them while still recording the discrepancy.
func ParseBAI2With(r io.Reader, h Handler, opt Options) error {
	p := &bai2Parser{h: h, opt: opt}
	p.lex.init(r)
	err := p.run()
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// ---- lexer: physical lines to records ----

// bai2Record is one record as read: its code, the line it starts on and
// its content after "NN," (terminator and padding not yet removed).
type bai2Record struct {
	code string
	line int
	text string
}

type bai2Lexer struct {
	sc       *bufio.Scanner
	line     int
	cur      bai2Record
	hasCur   bool
	lastMain string // code of the last record that is not an 88
	ready    []bai2Record
	head     int
	eof      bool

	// A record broken across lines is gathered in buf (wrapped), so that
	// many short lines cost linear time; ts* scan its fields once, to know
	// whether a 16 has reached its text.
	buf       []byte
	wrapped   bool
	tsPos     int
	tsField   int
	tsNeed    int
	tsStarted bool
}

func (l *bai2Lexer) init(r io.Reader) {
	l.sc = bufio.NewScanner(r)
	l.sc.Buffer(make([]byte, 0, 64*1024), bai2MaxLine+2)
}

// next returns the next complete record, or io.EOF. A record is complete
// once the next one starts, since a following line may continue it.
func (l *bai2Lexer) next() (bai2Record, error) {
	for {
		if l.head < len(l.ready) {
			rec := l.ready[l.head]
			l.head++
			return rec, nil
		}
		l.ready, l.head = l.ready[:0], 0
		if l.eof {
			return bai2Record{}, io.EOF
		}
		if !l.sc.Scan() {
			if err := l.sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					return bai2Record{}, Errorf(Position{Line: l.line + 1}, "line %d is longer than 1 MiB", l.line+1)
				}
				return bai2Record{}, Errorf(Position{Line: l.line + 1}, "reading line %d: %v", l.line+1, err)
			}
			l.eof = true
			l.flush()
			continue
		}
		l.line++
		raw := l.sc.Bytes()
		if len(raw) > bai2MaxLine {
			return bai2Record{}, Errorf(Position{Line: l.line}, "line %d is longer than 1 MiB", l.line)
		}
		if err := l.feed(string(raw)); err != nil {
			return bai2Record{}, err
		}
	}
}

func (l *bai2Lexer) flush() {
	if !l.hasCur {
		return
	}
	if l.wrapped {
		l.cur.text = string(l.buf)
		l.buf, l.wrapped = l.buf[:0], false
	}
	l.ready = append(l.ready, l.cur)
	l.hasCur = false
}

func (l *bai2Lexer) begin(code string) {
	l.flush()
	l.cur = bai2Record{code: code, line: l.line}
	l.hasCur = true
	l.tsPos, l.tsField, l.tsNeed, l.tsStarted = 0, 0, -1, false
	if code != "88" {
		l.lastMain = code
	}
}

func (l *bai2Lexer) appendText(frag string) error {
	if l.wrapped {
		l.buf = append(l.buf, frag...)
	} else {
		l.cur.text += frag // the record's first fragment: later ones are wrapped
	}
	if max(len(l.buf), len(l.cur.text)) > bai2MaxLine {
		return Errorf(Position{Line: l.cur.line}, "record at line %d is longer than 1 MiB", l.cur.line)
	}
	return nil
}

// textStarted reports whether the current 16 has reached its text field,
// scanning each byte of the gathered record once over successive calls.
func (l *bai2Lexer) textStarted() bool {
	if l.cur.code == "88" {
		return true
	}
	for !l.tsStarted {
		k := bytes.IndexByte(l.buf[l.tsPos:], ',')
		if k < 0 {
			return false
		}
		field := strings.ToUpper(strings.TrimSpace(string(l.buf[l.tsPos : l.tsPos+k])))
		l.tsPos += k + 1
		// Fields before the text: type code, amount, funds type, its
		// extras, bank and customer references.
		switch {
		case l.tsField == 2 && field == "V":
			l.tsNeed = 7
		case l.tsField == 2 && field == "S":
			l.tsNeed = 8
		case l.tsField == 2 && field != "D":
			l.tsNeed = 5
		case l.tsField == 3 && l.tsNeed < 0:
			n, err := strconv.Atoi(field)
			if err != nil || n < 0 || n > bai2MaxLine {
				n = 0
			}
			l.tsNeed = 6 + 2*n
		}
		l.tsField++
		l.tsStarted = l.tsNeed >= 0 && l.tsField >= l.tsNeed
	}
	return true
}

// textBearing reports whether the current record ends in free text, where
// a '/' is not a terminator: a 16, or an 88 continuing one.
func (l *bai2Lexer) textBearing() bool {
	return l.cur.code == "16" || (l.cur.code == "88" && l.lastMain == "16")
}

func (l *bai2Lexer) terminated() bool {
	if l.wrapped {
		b := bytes.TrimRight(l.buf, " \t")
		return len(b) > 0 && b[len(b)-1] == '/'
	}
	return strings.HasSuffix(strings.TrimRight(l.cur.text, " \t"), "/")
}

func (l *bai2Lexer) feed(s string) error {
	if l.line == 1 {
		s = strings.TrimPrefix(s, "\uFEFF")
	}
	s = strings.Trim(s, " \t\r")
	if s == "" {
		return nil
	}
	if code, start, ok := bai2CodeAt(s, 0, true); ok {
		l.begin(code)
		return l.fragments(s, start)
	}
	pos := Position{Line: l.line}
	if bai2IsDigit(s[0]) && len(s) > 2 && bai2IsDigit(s[1]) && s[2] == ',' {
		// An unknown record code, unless it can only be the wrapped free
		// text of the record before.
		if !l.hasCur || !l.textBearing() || l.terminated() {
			if !l.hasCur {
				return Errorf(pos, "unknown record type %q: a BAI2 file starts with a 01 file header", s[:2])
			}
			return Errorf(pos, "unknown record type %q", s[:2])
		}
	}
	if bai2IsPadding(s) && (!l.hasCur || l.terminated()) {
		return nil // fill of a fixed-length block
	}
	if !l.hasCur {
		return Errorf(pos, "line %d does not start with a record code: a BAI2 file starts with a 01 file header", l.line)
	}
	if !l.textBearing() && l.terminated() {
		return Errorf(pos, "line %d does not start with a record code (\"NN,\")", l.line)
	}
	// A record broken across lines without an 88: free text was broken
	// at a blank, other fields anywhere.
	if !l.wrapped {
		l.buf = append(l.buf[:0], l.cur.text...)
		l.wrapped = true
	}
	if l.textBearing() && l.textStarted() {
		l.buf = append(l.buf, ' ')
	}
	return l.fragments(s, 0)
}

// fragments appends s[i:] to the current record, starting new records
// where one ends and another follows on the same line.
func (l *bai2Lexer) fragments(s string, i int) error {
	for {
		end, next, err := l.fragmentEnd(s, i)
		if err != nil {
			return err
		}
		if err := l.appendText(s[i:end]); err != nil {
			return err
		}
		if next < 0 {
			return nil
		}
		code, start, _ := bai2CodeAt(s, next, false)
		l.begin(code)
		i = start
	}
}

// fragmentEnd finds where the current record's text ends in s (from i) and
// where the next record on the line starts (-1 if none). A '/' ends a
// record unless the record is free text, where only "/ NN," (with a blank)
// or a '/' followed by nothing but padding does.
func (l *bai2Lexer) fragmentEnd(s string, i int) (end, next int, err error) {
	text := l.textBearing()
	for j := i; ; {
		k := strings.IndexByte(s[j:], '/')
		if k < 0 {
			return len(s), -1, nil
		}
		k += j
		if bai2IsPadding(s[k+1:]) {
			return k + 1, -1, nil
		}
		m := k + 1
		for m < len(s) && (s[m] == ' ' || s[m] == '\t') {
			m++
		}
		if _, _, ok := bai2CodeAt(s, m, false); ok && (m > k+1 || !text) {
			return k + 1, m, nil
		}
		if !text {
			return 0, 0, Errorf(Position{Line: l.line}, "unexpected %q after the end of the %s record", bai2Clip(s[k+1:]), l.cur.code)
		}
		j = k + 1
	}
}

// bai2CodeAt reports whether a known record code ("NN,", or "88:" at the
// start of a line) starts at s[i], and where its content starts.
func bai2CodeAt(s string, i int, lineStart bool) (code string, start int, ok bool) {
	if i+3 > len(s) {
		return "", 0, false
	}
	code = s[i : i+2]
	switch code {
	case "01", "02", "03", "16", "49", "88", "98", "99":
	default:
		return "", 0, false
	}
	if s[i+2] == ',' || (lineStart && code == "88" && s[i+2] == ':') {
		return code, i + 3, true
	}
	return "", 0, false
}

// bai2IsPadding reports whether s is only blanks and the 9s that pad
// fixed-length records.
func bai2IsPadding(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '9' {
			return false
		}
	}
	return true
}

func bai2Clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func bai2IsDigit(c byte) bool { return c >= '0' && c <= '9' }

// ---- fields of a logical record (a record and its 88 continuations) ----

type bai2Seg struct {
	line int
	text string
}

// bai2Fields walks the comma-separated fields of a record and its
// continuations: an 88 goes on with the next field of the record before.
type bai2Fields struct {
	segs []bai2Seg
	i    int
	pos  int
	done bool // segs[i] has no field left
}

func (f *bai2Fields) next() (string, bool) {
	for f.done {
		if f.i+1 >= len(f.segs) {
			return "", false
		}
		f.i++
		f.pos, f.done = 0, false
	}
	rest := f.segs[f.i].text[f.pos:]
	if k := strings.IndexByte(rest, ','); k >= 0 {
		f.pos += k + 1
		return strings.TrimSpace(rest[:k]), true
	}
	f.done = true
	return strings.TrimSpace(rest), true
}

// line is the line of the field last read.
func (f *bai2Fields) line() int {
	if f.i < len(f.segs) {
		return f.segs[f.i].line
	}
	return f.segs[len(f.segs)-1].line
}

// bai2Content strips a record's terminator and trailing blanks.
func bai2Content(text string) string {
	text = strings.TrimRight(text, " \t")
	return strings.TrimSuffix(text, "/")
}

// ---- parser: records to statements ----

type bai2State int

const (
	bai2Start bai2State = iota
	bai2InFile
	bai2InGroup
	bai2InAccount
	bai2AfterFile
)

type bai2Parser struct {
	lex   bai2Lexer
	h     Handler
	opt   Options
	state bai2State

	// The record being gathered with its continuations.
	pend     bai2Record
	hasPend  bool
	segs     []bai2Seg
	pendSize int

	fileLine, fileRecords, fileGroups int
	fileID                            string
	fileTotal                         int64
	fileTotalUnknown                  bool

	groupLine, groupIndex, groupRecords, groupAccounts int
	groupTotal                                         int64
	groupTotalUnknown                                  bool
	groupCurrency, originator                          string
	asOf, createdAt                                    time.Time

	stmt             *Statement
	acctRecords      int
	acctTotal        int64
	acctTotalUnknown bool
	decimals         int32
}

func (p *bai2Parser) run() error {
	for {
		rec, err := p.lex.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if rec.code == "88" {
			if !p.hasPend {
				return Errorf(Position{Line: rec.line}, "88 continuation with no record before it to continue")
			}
			p.pendSize += len(rec.text) + 16
			if p.pendSize > bai2MaxLine {
				return Errorf(Position{Line: p.pend.line}, "record at line %d with its 88 continuations is longer than 1 MiB", p.pend.line)
			}
			p.segs = append(p.segs, bai2Seg{line: rec.line, text: bai2Content(rec.text)})
			continue
		}
		if p.hasPend {
			if err := p.process(); err != nil {
				return err
			}
		}
		p.pend, p.hasPend, p.pendSize = rec, true, len(rec.text)
		p.segs = append(p.segs[:0], bai2Seg{line: rec.line, text: bai2Content(rec.text)})
	}
	if p.hasPend {
		if err := p.process(); err != nil {
			return err
		}
	}
	return p.finish()
}

func (p *bai2Parser) finish() error {
	pos := Position{Line: max(p.lex.line, 1)}
	switch p.state {
	case bai2Start:
		return Errorf(pos, "no BAI2 records: the input is empty")
	case bai2InFile:
		return Errorf(pos, "the file ends at line %d without its 99 file trailer (truncated?)", p.lex.line)
	case bai2InGroup:
		return Errorf(pos, "the file ends at line %d inside the group of line %d, without its 98 group trailer (truncated?)", p.lex.line, p.groupLine)
	case bai2InAccount:
		return Errorf(pos, "the file ends at line %d inside account %s (line %d), without its 49 account trailer (truncated?)", p.lex.line, p.stmt.Account.ID, p.stmt.Pos.Line)
	}
	return nil
}

var bai2Names = map[string]string{
	"01": "01 file header",
	"02": "02 group header",
	"03": "03 account identifier",
	"16": "16 transaction detail",
	"49": "49 account trailer",
	"98": "98 group trailer",
	"99": "99 file trailer",
}

// unexpected explains why the pending record cannot come where it is.
func (p *bai2Parser) unexpected() error {
	pos := Position{Line: p.pend.line}
	name := bai2Names[p.pend.code]
	switch p.state {
	case bai2Start:
		return Errorf(pos, "%s before any 01 file header: a BAI2 file starts with a 01 file header", name)
	case bai2InFile:
		return Errorf(pos, "%s outside a group: expected a 02 group header or the 99 file trailer", name)
	case bai2InGroup:
		return Errorf(pos, "%s outside an account: expected a 03 account identifier or the 98 group trailer of the group at line %d", name, p.groupLine)
	case bai2InAccount:
		return Errorf(pos, "%s inside account %s (line %d), which has no 49 account trailer yet", name, p.stmt.Account.ID, p.stmt.Pos.Line)
	}
	return Errorf(pos, "%s after the 99 file trailer: expected the end of the input or another 01 file header", name)
}

func (p *bai2Parser) mismatch(line int, format string, args ...any) error {
	err := Errorf(Position{Line: line}, format, args...)
	if p.opt.ControlMismatch == nil {
		return err
	}
	return p.opt.ControlMismatch(err)
}

func (p *bai2Parser) process() error {
	n := len(p.segs) // the record and its continuations
	f := bai2Fields{segs: p.segs}
	switch p.pend.code {
	case "01":
		if p.state != bai2Start && p.state != bai2AfterFile {
			return p.unexpected()
		}
		p.fileRecords = n
		return p.fileHeader(&f)
	case "02":
		if p.state != bai2InFile {
			return p.unexpected()
		}
		p.fileRecords += n
		p.groupRecords = n
		return p.groupHeader(&f)
	case "03":
		if p.state != bai2InGroup {
			return p.unexpected()
		}
		p.fileRecords += n
		p.groupRecords += n
		p.acctRecords = n
		return p.accountHeader(&f)
	case "16":
		if p.state != bai2InAccount {
			return p.unexpected()
		}
		p.fileRecords += n
		p.groupRecords += n
		p.acctRecords += n
		return p.detail(&f)
	case "49":
		if p.state != bai2InAccount {
			return p.unexpected()
		}
		p.fileRecords += n
		p.groupRecords += n
		p.acctRecords += n
		return p.accountTrailer(&f)
	case "98":
		if p.state != bai2InGroup {
			return p.unexpected()
		}
		p.fileRecords += n
		p.groupRecords += n
		return p.groupTrailer(&f)
	case "99":
		if p.state != bai2InFile {
			return p.unexpected()
		}
		p.fileRecords += n
		return p.fileTrailer(&f)
	}
	return Errorf(Position{Line: p.pend.line}, "unknown record type %q", p.pend.code)
}

func (p *bai2Parser) fileHeader(f *bai2Fields) error {
	pos := Position{Line: p.pend.line}
	f.next() // sender
	f.next() // receiver
	date, _ := f.next()
	tm, _ := f.next()
	p.fileID, _ = f.next()
	f.next() // physical record length
	f.next() // block size
	version, _ := f.next()
	if _, ok := bai2Date(date); !ok {
		return Errorf(pos, "file header: creation date %q is not a valid YYMMDD date", date)
	}
	if _, ok := bai2Time(tm); !ok {
		return Errorf(pos, "file header: creation time %q is not a valid HHMM time", tm)
	}
	if version != "" && version != "2" {
		return Errorf(pos, "file header: version %q is not supported, only BAI version 2", version)
	}
	p.fileLine = p.pend.line
	p.fileGroups, p.groupIndex = 0, 0
	p.fileTotal, p.fileTotalUnknown = 0, false
	p.state = bai2InFile
	return nil
}

func (p *bai2Parser) groupHeader(f *bai2Fields) error {
	pos := Position{Line: p.pend.line}
	f.next() // ultimate receiver
	p.originator, _ = f.next()
	f.next() // group status
	date, _ := f.next()
	tm, _ := f.next()
	ccy, _ := f.next()
	f.next() // as-of-date modifier
	d, ok := bai2Date(date)
	if !ok {
		return Errorf(pos, "group header: as-of date %q is not a valid YYMMDD date", date)
	}
	clock, ok := bai2Time(tm)
	if !ok {
		return Errorf(pos, "group header: as-of time %q is not a valid HHMM time", tm)
	}
	ccy = strings.ToUpper(ccy)
	if ccy != "" && !bai2ValidCurrency(ccy) {
		return Errorf(pos, "group header: currency %q is not a 3-letter ISO 4217 code", ccy)
	}
	p.asOf, p.createdAt = d, d.Add(clock)
	p.groupCurrency = ccy
	p.groupLine = p.pend.line
	p.groupIndex++
	p.groupAccounts = 0
	p.groupTotal, p.groupTotalUnknown = 0, false
	p.state = bai2InGroup
	return nil
}

func (p *bai2Parser) accountHeader(f *bai2Fields) error {
	line := p.pend.line
	acct, _ := f.next()
	if acct == "" {
		return Errorf(Position{Line: line}, "account identifier: the account number is missing")
	}
	ccy, _ := f.next()
	ccy = strings.ToUpper(ccy)
	if ccy != "" && !bai2ValidCurrency(ccy) {
		return Errorf(Position{Line: f.line()}, "account identifier: currency %q is not a 3-letter ISO 4217 code", ccy)
	}
	if ccy == "" {
		ccy = p.groupCurrency
	}
	if ccy == "" {
		ccy = "USD"
	}
	created, asOf := p.createdAt, p.asOf
	s := &Statement{
		Format:    FormatBAI2,
		ID:        p.fileID + "/" + strconv.Itoa(p.groupIndex) + "/" + acct,
		Sequence:  p.fileID,
		CreatedAt: &created,
		From:      &asOf,
		To:        &asOf,
		Account:   Account{ID: acct, Currency: ccy, Servicer: p.originator},
		Currency:  ccy,
		Pos:       Position{Line: line},
	}
	p.stmt = s
	p.decimals = bai2Decimals(ccy)
	p.acctTotal, p.acctTotalUnknown = 0, false
	p.state = bai2InAccount

	creditCount, debitCount := -1, -1
	for {
		code, ok := f.next()
		if !ok {
			break
		}
		at := f.line()
		amount, _ := f.next()
		count, _ := f.next()
		funds, _ := f.next()
		if _, problems, _ := bai2Funds(f, funds); len(problems) > 0 {
			return Errorf(Position{Line: at}, "account identifier: summary %s: %s", code, problems[0])
		}
		if code == "" && amount == "" && count == "" && funds == "" {
			continue // an empty summary, as some banks write
		}
		tc, err := bai2TypeCode(code)
		if err != nil {
			return Errorf(Position{Line: at}, "account identifier: summary %s", err)
		}
		items := -1
		if count != "" {
			if items, err = strconv.Atoi(count); err != nil || items < 0 {
				return Errorf(Position{Line: at}, "account identifier: summary %s: item count %q is not a number", code, count)
			}
		}
		v, blank, err := bai2Amount(amount)
		if err != nil {
			return Errorf(Position{Line: at}, "account identifier: summary %s: %s", code, err)
		}
		if blank {
			continue
		}
		if p.acctTotal, ok = bai2Add(p.acctTotal, v); !ok {
			return Errorf(Position{Line: at}, "account identifier: the amounts overflow")
		}
		amt := decimal.New(v, -p.decimals)
		switch {
		case tc == 100:
			s.StatedCredit, creditCount = &amt, items
		case tc == 400:
			s.StatedDebit, debitCount = &amt, items
		case tc < 100 || (tc >= 700 && tc < 720) || (tc >= 900 && tc < 930):
			s.Balances = append(s.Balances, Balance{Type: code, Amount: amt, Currency: ccy, Date: asOf})
		}
	}
	if s.StatedCredit != nil && s.StatedDebit != nil && creditCount >= 0 && debitCount >= 0 {
		c := creditCount + debitCount
		s.StatedCount = &c
	}
	for i := range s.Balances {
		switch s.Balances[i].Type {
		case "010":
			s.Opening = &s.Balances[i]
		case "015":
			s.Closing = &s.Balances[i]
		}
	}
	return nil
}

func (p *bai2Parser) detail(f *bai2Fields) error {
	s := p.stmt
	asOf := p.asOf
	e := Entry{
		Pos:         Position{Line: p.pend.line},
		Currency:    s.Currency,
		BookingDate: &asOf,
	}
	code, _ := f.next()
	e.TypeCode = code
	if tc, err := bai2TypeCode(code); err != nil {
		e.Errors = append(e.Errors, err.Error())
	} else {
		var problem string
		e.Direction, e.Status, problem = bai2Classify(tc)
		if problem != "" {
			e.Errors = append(e.Errors, problem)
		}
	}
	amount, _ := f.next()
	switch v, blank, err := bai2Amount(amount); {
	case err != nil:
		e.Errors = append(e.Errors, err.Error())
		p.acctTotalUnknown = true
	case blank:
		e.Errors = append(e.Errors, "amount is blank")
	default:
		var ok bool
		if p.acctTotal, ok = bai2Add(p.acctTotal, v); !ok {
			return Errorf(e.Pos, "transaction detail: the account's amounts overflow")
		}
		if v < 0 {
			e.Errors = append(e.Errors, "amount "+amount+" is negative: a detail amount has no sign, its type code gives the direction")
			v = -v
		}
		e.Amount = decimal.New(v, -p.decimals)
	}
	funds, _ := f.next()
	value, problems, located := bai2Funds(f, funds)
	e.ValueDate = value
	e.Errors = append(e.Errors, problems...)
	if located {
		e.BankReference, _ = f.next()
		e.CustomerReference, _ = f.next()
		p.detailText(f, &e)
	} else {
		e.Errors = append(e.Errors, "the bank and customer references and the text cannot be located after the funds type")
	}
	return p.h.entry(s, &e)
}

// bai2Funds reads the extra fields of a funds type: a value date and time
// (V), three availability amounts (S) or a distribution of days and
// amounts (D). It returns the value date, the problems found, and false
// when the fields after them cannot be located.
func bai2Funds(f *bai2Fields, funds string) (value *time.Time, problems []string, located bool) {
	switch strings.ToUpper(funds) {
	case "", "Z", "0", "1", "2":
	case "V":
		date, _ := f.next()
		tm, _ := f.next()
		if d, ok := bai2Date(date); ok {
			value = &d
		} else {
			problems = append(problems, "value date "+strconv.Quote(date)+" is not a valid YYMMDD date")
		}
		if _, ok := bai2Time(tm); !ok {
			problems = append(problems, "value time "+strconv.Quote(tm)+" is not a valid HHMM time")
		}
	case "S":
		for range 3 {
			a, _ := f.next()
			if _, _, err := bai2Amount(a); err != nil {
				problems = append(problems, "availability "+err.Error())
			}
		}
	case "D":
		n, _ := f.next()
		c, err := strconv.Atoi(n)
		if err != nil || c < 0 {
			return nil, append(problems, "funds distribution count "+strconv.Quote(n)+" is not a number"), false
		}
		for i := 0; i < c; i++ {
			days, ok := f.next()
			a, _ := f.next()
			if !ok {
				return nil, append(problems, "the funds distribution ends before its "+n+" pairs"), false
			}
			if _, err := strconv.Atoi(days); err != nil {
				problems = append(problems, "funds distribution days "+strconv.Quote(days)+" is not a number")
			}
			if _, _, err := bai2Amount(a); err != nil {
				problems = append(problems, "funds distribution "+err.Error())
			}
		}
	default:
		problems = append(problems, "unknown funds type "+strconv.Quote(funds))
	}
	return value, problems, true
}

// detailText gathers the text field and its continuations into
// Description, and reads tagged continuations.
func (p *bai2Parser) detailText(f *bai2Fields, e *Entry) {
	var parts []string
	if !f.done && f.i < len(f.segs) {
		if t := strings.TrimSpace(f.segs[f.i].text[f.pos:]); t != "" {
			parts = append(parts, t)
		}
		f.done = true
	}
	var crnm, dbnm, cact, dact string
	for f.i+1 < len(f.segs) {
		f.i++
		t := strings.TrimSpace(f.segs[f.i].text)
		if t == "" {
			continue
		}
		parts = append(parts, t)
		key, val, ok := bai2Tag(t)
		if !ok || val == "" {
			continue
		}
		switch key {
		case "EREF":
			if e.EndToEndID == "" {
				e.EndToEndID = val
			}
		case "REMI":
			if e.Remittance == "" {
				e.Remittance = val
			} else {
				e.Remittance += " " + val
			}
		case "CRNM":
			crnm = val
		case "DBNM":
			dbnm = val
		case "CACT":
			cact = val
		case "DACT":
			dact = val
		}
	}
	f.done = true
	switch len(parts) {
	case 0:
	case 1:
		e.Description = parts[0]
	default:
		e.Description = strings.Join(parts, " ")
	}
	switch e.Direction {
	case Credit:
		e.CounterpartyName, e.CounterpartyAcct = dbnm, dact
	case Debit:
		e.CounterpartyName, e.CounterpartyAcct = crnm, cact
	}
}

// bai2Tag splits a tagged continuation "ABCD: value".
func bai2Tag(s string) (key, val string, ok bool) {
	if len(s) < 5 || s[4] != ':' {
		return "", "", false
	}
	for i := 0; i < 4; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return "", "", false
		}
	}
	return s[:4], strings.TrimSpace(s[5:]), true
}

func (p *bai2Parser) accountTrailer(f *bai2Fields) error {
	line := p.pend.line
	s := p.stmt
	total, _ := f.next()
	count, _ := f.next()
	v, blank, err := bai2Amount(total)
	if err != nil {
		return Errorf(Position{Line: line}, "account trailer: control total: %s", err)
	}
	records, err := strconv.Atoi(count)
	if err != nil {
		return Errorf(Position{Line: line}, "account trailer: number of records %q is not a number", count)
	}
	if !blank && !p.acctTotalUnknown && v != p.acctTotal {
		if err := p.mismatch(line, "account trailer of account %s says control total %d, the records add up to %d", s.Account.ID, v, p.acctTotal); err != nil {
			return err
		}
	}
	if records != p.acctRecords {
		if err := p.mismatch(line, "account trailer of account %s says %d records, the account has %d (03 to 49)", s.Account.ID, records, p.acctRecords); err != nil {
			return err
		}
	}
	var ok bool
	if p.groupTotal, ok = bai2Add(p.groupTotal, p.acctTotal); !ok {
		return Errorf(Position{Line: line}, "account trailer: the group's amounts overflow")
	}
	p.groupTotalUnknown = p.groupTotalUnknown || p.acctTotalUnknown
	p.groupAccounts++
	p.state = bai2InGroup
	p.stmt = nil
	return p.h.end(s)
}

func (p *bai2Parser) groupTrailer(f *bai2Fields) error {
	line := p.pend.line
	total, _ := f.next()
	accounts, _ := f.next()
	count, _ := f.next()
	v, blank, err := bai2Amount(total)
	if err != nil {
		return Errorf(Position{Line: line}, "group trailer: control total: %s", err)
	}
	nAccounts, err := strconv.Atoi(accounts)
	if err != nil {
		return Errorf(Position{Line: line}, "group trailer: number of accounts %q is not a number", accounts)
	}
	records, err := strconv.Atoi(count)
	if err != nil {
		return Errorf(Position{Line: line}, "group trailer: number of records %q is not a number", count)
	}
	if !blank && !p.groupTotalUnknown && v != p.groupTotal {
		if err := p.mismatch(line, "group trailer says control total %d, the accounts add up to %d", v, p.groupTotal); err != nil {
			return err
		}
	}
	if nAccounts != p.groupAccounts {
		if err := p.mismatch(line, "group trailer says %d accounts, the group has %d", nAccounts, p.groupAccounts); err != nil {
			return err
		}
	}
	if records != p.groupRecords {
		if err := p.mismatch(line, "group trailer says %d records, the group has %d (02 to 98)", records, p.groupRecords); err != nil {
			return err
		}
	}
	var ok bool
	if p.fileTotal, ok = bai2Add(p.fileTotal, p.groupTotal); !ok {
		return Errorf(Position{Line: line}, "group trailer: the file's amounts overflow")
	}
	p.fileTotalUnknown = p.fileTotalUnknown || p.groupTotalUnknown
	p.fileGroups++
	p.state = bai2InFile
	return nil
}

func (p *bai2Parser) fileTrailer(f *bai2Fields) error {
	line := p.pend.line
	total, _ := f.next()
	groups, _ := f.next()
	count, _ := f.next()
	v, blank, err := bai2Amount(total)
	if err != nil {
		return Errorf(Position{Line: line}, "file trailer: control total: %s", err)
	}
	nGroups, err := strconv.Atoi(groups)
	if err != nil {
		return Errorf(Position{Line: line}, "file trailer: number of groups %q is not a number", groups)
	}
	records, err := strconv.Atoi(count)
	if err != nil {
		return Errorf(Position{Line: line}, "file trailer: number of records %q is not a number", count)
	}
	if !blank && !p.fileTotalUnknown && v != p.fileTotal {
		if err := p.mismatch(line, "file trailer says control total %d, the groups add up to %d", v, p.fileTotal); err != nil {
			return err
		}
	}
	if nGroups != p.fileGroups {
		if err := p.mismatch(line, "file trailer says %d groups, the file has %d", nGroups, p.fileGroups); err != nil {
			return err
		}
	}
	if records != p.fileRecords {
		if err := p.mismatch(line, "file trailer says %d records, the file has %d (01 to 99)", records, p.fileRecords); err != nil {
			return err
		}
	}
	p.state = bai2AfterFile
	return nil
}

// ---- values ----

// bai2Amount parses an amount in minor units: an optional sign and up to
// 18 significant digits.
func bai2Amount(s string) (v int64, blank bool, err error) {
	if s == "" {
		return 0, true, nil
	}
	digits := s
	neg := false
	switch s[0] {
	case '+':
		digits = s[1:]
	case '-':
		digits, neg = s[1:], true
	}
	if digits == "" {
		return 0, false, errors.New("amount " + strconv.Quote(s) + " is not a whole number of minor units")
	}
	for i := 0; i < len(digits); i++ {
		if !bai2IsDigit(digits[i]) {
			return 0, false, errors.New("amount " + strconv.Quote(s) + " is not a whole number of minor units")
		}
	}
	digits = strings.TrimLeft(digits, "0")
	if len(digits) > 18 {
		return 0, false, errors.New("amount " + strconv.Quote(s) + " is too large")
	}
	for i := 0; i < len(digits); i++ {
		v = v*10 + int64(digits[i]-'0')
	}
	if neg {
		v = -v
	}
	return v, false, nil
}

// bai2Add adds with an overflow check; control totals are sums of
// attacker-controlled amounts.
func bai2Add(a, b int64) (int64, bool) {
	c := a + b
	if (c > a) != (b > 0) {
		return 0, false
	}
	return c, true
}

func bai2TypeCode(s string) (int, error) {
	if len(s) != 3 || !bai2IsDigit(s[0]) || !bai2IsDigit(s[1]) || !bai2IsDigit(s[2]) {
		if s == "" {
			return 0, errors.New("type code is missing")
		}
		return 0, errors.New("type code " + strconv.Quote(s) + " is not a 3-digit code")
	}
	return int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0'), nil
}

// bai2Classify gives the direction and status of a 16's type code.
// Codes without a direction are information entries; Direction is then a
// placeholder, as the model has no "none".
func bai2Classify(code int) (Direction, string, string) {
	switch {
	case code < 100:
		return Credit, StatusInfo, "type code " + bai2Code3(code) + " is an account status code, not a transaction"
	case code < 400:
		return Credit, StatusBooked, ""
	case code < 700:
		return Debit, StatusBooked, ""
	case code >= 720 && code <= 728:
		return Credit, StatusBooked, ""
	case code == 760:
		return Debit, StatusBooked, ""
	case code >= 930 && code < 960:
		return Credit, StatusBooked, ""
	case code >= 960:
		return Debit, StatusBooked, ""
	}
	return Credit, StatusInfo, "" // loan status, 890 non-monetary, custom status
}

func bai2Code3(code int) string {
	s := strconv.Itoa(code)
	return strings.Repeat("0", 3-len(s)) + s
}

// bai2Date parses YYMMDD; years 70–99 are 19xx.
func bai2Date(s string) (time.Time, bool) {
	if len(s) != 6 {
		return time.Time{}, false
	}
	var n [3]int
	for i := range 3 {
		a, b := s[2*i], s[2*i+1]
		if !bai2IsDigit(a) || !bai2IsDigit(b) {
			return time.Time{}, false
		}
		n[i] = int(a-'0')*10 + int(b-'0')
	}
	y := 2000 + n[0]
	if n[0] >= 70 {
		y = 1900 + n[0]
	}
	d := time.Date(y, time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC)
	if d.Month() != time.Month(n[1]) || d.Day() != n[2] {
		return time.Time{}, false
	}
	return d, true
}

// bai2Time parses HHMM (blank is midnight; 2400 and 9999 mean the end of
// the day) as the time since midnight.
func bai2Time(s string) (time.Duration, bool) {
	switch s {
	case "":
		return 0, true
	case "2400", "9999":
		return 24 * time.Hour, true
	}
	if len(s) != 4 {
		return 0, false
	}
	for i := 0; i < 4; i++ {
		if !bai2IsDigit(s[i]) {
			return 0, false
		}
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[2]-'0')*10+int(s[3]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

func bai2ValidCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// bai2Decimals is the number of minor-unit digits of a currency (ISO 4217).
func bai2Decimals(ccy string) int32 {
	switch ccy {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}
