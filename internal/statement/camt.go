package statement

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// ISO 20022 camt.052 (account report), camt.053 (statement) and camt.054
// (debit/credit notification), every version and with or without a
// namespace: elements are matched by local name only. The document is read
// token by token (camtLexer), so memory stays bounded by one entry (with its
// transaction details) and one statement's header and balances.

const (
	camtMaxToken = 1 << 20 // longest XML token (text, tag, comment) accepted
	camtMaxDepth = 256     // deepest element nesting accepted
	camtMaxPath  = 64 << 10
	// camtMaxTxDtls bounds the transaction details buffered for one entry:
	// they must all be read before the entry can be split and checked.
	camtMaxTxDtls = 1 << 20
	// camtMaxInterned bounds the short values (currencies, codes, dates)
	// kept as strings for the whole document.
	camtMaxInterned = 4096
)

// camtMessage is one of the three message types; the element names
// carried a version suffix in .001.01 (BkToCstmrStmtV01).
type camtMessage struct {
	root   string
	stmt   string
	format Format
}

var camtMessages = [...]camtMessage{
	{"BkToCstmrStmt", "Stmt", FormatCAMT053},
	{"BkToCstmrAcctRpt", "Rpt", FormatCAMT052},
	{"BkToCstmrDbtCdtNtfctn", "Ntfctn", FormatCAMT054},
}

func camtFindMessage(local string) (camtMessage, bool) {
	for _, m := range camtMessages {
		if !strings.HasPrefix(local, m.root) {
			continue
		}
		suffix := local[len(m.root):]
		if suffix == "" || camtIsVersionSuffix(suffix) {
			return m, true
		}
	}
	return camtMessage{}, false
}

func camtIsVersionSuffix(s string) bool {
	if len(s) < 2 || s[0] != 'V' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// DetectCAMT reports whether head, the first few KB of a file, is a camt
// document, and which message it holds. It looks for the message element
// (BkToCstmrStmt, BkToCstmrAcctRpt, BkToCstmrDbtCdtNtfctn) near the root, or
// a camt namespace on the root Document when head ends before the message.
func DetectCAMT(head []byte) (Format, bool) {
	d := xml.NewDecoder(bytes.NewReader(head))
	d.Strict = false
	d.CharsetReader = camtCharsetReader
	depth := 0
	var hinted Format
	for range 1000 {
		tok, err := d.RawToken()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if m, ok := camtFindMessage(t.Name.Local); ok {
				return m.format, true
			}
			if depth == 0 && t.Name.Local == "Document" {
				for _, a := range t.Attr {
					if f, ok := camtNamespaceFormat(a.Value); ok && (a.Name.Space == "xmlns" || a.Name.Local == "xmlns") {
						hinted = f
					}
				}
			}
			depth++
			if depth > 4 {
				return hinted, hinted != ""
			}
		case xml.EndElement:
			depth--
		}
	}
	return hinted, hinted != ""
}

func camtNamespaceFormat(ns string) (Format, bool) {
	switch {
	case strings.Contains(ns, "camt.052."):
		return FormatCAMT052, true
	case strings.Contains(ns, "camt.053."):
		return FormatCAMT053, true
	case strings.Contains(ns, "camt.054."):
		return FormatCAMT054, true
	}
	return "", false
}

// ParseCAMT reads a camt.052, camt.053 or camt.054 document and hands every
// entry to h.Entry as soon as it is complete, and every statement (Stmt,
// Rpt or Ntfctn) to h.End once its end tag is read.
//
// An entry (Ntry) with several transaction details (TxDtls) becomes one
// Entry per transaction, each with its own amount, references and
// counterparty, BatchRef set to the entry's reference and BatchIndex to its
// place; when the transaction amounts do not add up to the entry's amount
// each of them carries an error. An entry without a status (Sts) is taken
// as booked. Control totals (TxsSummry) that disagree with the entries read
// are a fatal error at the end of the statement.
func ParseCAMT(r io.Reader, h Handler) error {
	return ParseCAMTWith(r, h, Options{})
}

// ParseCAMTWith is ParseCAMT with options. With opt.ControlMismatch set,
// each TxsSummry figure (entry count, credit or debit count or sum) that
// the statement's entries do not add up to goes to it, and parsing goes on
// (the statement is handed to h.End) unless it returns an error (returned
// as-is; ErrStop ends parsing without one).
func ParseCAMTWith(r io.Reader, h Handler, opt Options) error {
	p := newCAMTParser(r, h, opt)
	err := p.run()
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// camtCharsetReader reads the single-byte encodings some banks declare
// instead of UTF-8.
func camtCharsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1":
		return &camtLatin1Reader{r: input}, nil
	case "windows-1252", "cp1252":
		return &camtLatin1Reader{r: input, cp1252: true}, nil
	}
	return nil, fmt.Errorf("unsupported encoding %q (camt files are UTF-8)", label)
}

type camtLatin1Reader struct {
	r       io.Reader
	cp1252  bool
	raw     [1024]byte
	pending []byte
}

func (l *camtLatin1Reader) Read(p []byte) (int, error) {
	if len(l.pending) == 0 {
		n, err := l.r.Read(l.raw[:])
		out := l.pending[:0]
		for _, c := range l.raw[:n] {
			switch {
			case c < 0x80:
				out = append(out, c)
			case l.cp1252:
				out = utf8.AppendRune(out, windows1252[c-0x80])
			default:
				out = utf8.AppendRune(out, rune(c))
			}
		}
		l.pending = out
		if len(out) == 0 {
			return 0, err
		}
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

// camtFrame is an open element. Its name is in the parser's path, its
// prefix in prefixes: no string per element.
type camtFrame struct {
	pathLen   int // len(path) before this element's name was added
	nameOff   int // where its name starts in path
	prefixOff int // where its prefix starts in prefixes; it ends where the next one starts
	idx       int // 1-based index shown in positions, 0 for none
}

type camtBkTxCd struct{ domn, fmly, sub, prtry string }

// bkCode is b.String(), the same string as last time for the same code.
func (p *camtParser) bkCode(b camtBkTxCd) string {
	if b == (camtBkTxCd{}) {
		return ""
	}
	if b != p.bk {
		p.bk, p.bkString = b, b.String()
	}
	return p.bkString
}

func (b camtBkTxCd) String() string {
	if b.domn != "" {
		parts := []string{b.domn}
		if b.fmly != "" {
			parts = append(parts, b.fmly)
		}
		if b.sub != "" {
			parts = append(parts, b.sub)
		}
		return strings.Join(parts, "/")
	}
	return b.prtry
}

type camtParty struct{ name, acct string }

type camtTx struct {
	pos          Position
	amt, amtCcy  string
	hasAmt       bool
	txAmt, txCcy string
	hasTxAmt     bool
	cdi          string
	e2e, txID    string
	uetr, ref    string
	dbtr, cdtr   camtParty
	ustrd, strd  []string
	rtrRsn       string
	rtrInf       []string
	addtl        string
	bk           camtBkTxCd
}

type camtNtry struct {
	pos            Position
	amt, ccy       string
	hasAmt         bool
	cdi, rvsl, sts string
	hasSts         bool
	bookg, val     string
	bookgTm, valTm bool
	ref, ntryRef   string
	btchRef        string
	bk             camtBkTxCd
	addtl          string
	txs            []camtTx
}

type camtBal struct {
	pos    Position
	tp     string
	amt    decimal.Decimal
	hasAmt bool
	ccy    string
	cdi    string
	date   time.Time
}

// camtTotals are what a statement's TxsSummry states, or what was read.
type camtTotals struct {
	count, creditCount, debitCount          int
	credit, debit                           decimal.Decimal
	hasCount, hasCreditCount, hasDebitCount bool
	hasCredit, hasDebit                     bool
	creditText, debitText                   string
}

type camtParser struct {
	lx  *camtLexer
	h   Handler
	opt Options
	// names interns currency codes and other short values that repeat
	// from entry to entry.
	names map[string]string
	buf   []byte // scratch for paths
	// bk and bkString cache the last bank transaction code's text.
	bk       camtBkTxCd
	bkString string

	frames   []camtFrame
	path     []byte
	prefixes []byte // the open elements' prefixes, one after the other
	text     []byte
	leaf     bool   // no child element since the last start tag
	ccy      string // Ccy attribute of the last start tag
	line     int    // line where the current token starts

	rootName  string
	found     bool // a camt message was seen
	msg       camtMessage
	msgDepth  int
	stmtCount int

	stmtDepth, stmtOff int
	s                  *Statement
	stated, read       camtTotals
	openingIsOPBD      bool
	ntryCount          int
	balCount           int
	bal                camtBal

	ntryDepth, ntryOff int
	n                  camtNtry
	dtlsCount, txCount int

	txDepth, txOff int
}

func newCAMTParser(r io.Reader, h Handler, opt Options) *camtParser {
	return &camtParser{
		lx:        newCAMTLexer(r),
		h:         h,
		opt:       opt,
		names:     make(map[string]string),
		msgDepth:  -1,
		stmtDepth: -1,
		ntryDepth: -1,
		txDepth:   -1,
	}
}

func (p *camtParser) run() error {
	lx := p.lx
	for {
		tok, err := lx.next()
		p.line = lx.tokLine
		if err != nil {
			if err == io.EOF {
				if len(p.frames) > 0 {
					return p.truncated(lx.line, "")
				}
				return p.finish()
			}
			return p.lexError(err)
		}
		switch tok {
		case camtTokStart:
			if err := p.start(); err != nil {
				return err
			}
		case camtTokEnd:
			// The lexer leaves matching end tags to start tags to the parser,
			// which has the open elements anyway.
			if len(p.frames) == 0 {
				return Errorf(Position{Line: p.line}, "invalid XML: unexpected end element </%s>", camtQName(string(lx.prefix), string(lx.local)))
			}
			if top := len(p.frames) - 1; !bytes.Equal(p.name(top), lx.local) || !bytes.Equal(p.prefix(top), lx.prefix) {
				return Errorf(p.pos(top), "invalid XML: element <%s> closed by </%s>", camtQName(string(p.prefix(top)), string(p.name(top))), camtQName(string(lx.prefix), string(lx.local)))
			}
			if err := p.end(); err != nil {
				return err
			}
			if len(p.frames) == 0 {
				// Whatever follows the root element is not part of the document.
				return p.finish()
			}
		case camtTokText:
			if p.leaf && p.stmtDepth >= 0 {
				if len(p.text)+len(lx.text) > camtMaxToken {
					return Errorf(p.pos(len(p.frames)-1), "text of <%s> is longer than 1 MiB", p.name(len(p.frames)-1))
				}
				p.text = append(p.text, lx.text...)
			}
		}
	}
}

func camtQName(prefix, local string) string {
	if prefix == "" {
		return local
	}
	return prefix + ":" + local
}

// lexError places a lexer's error in the document.
func (p *camtParser) lexError(err error) error {
	var se *Error
	if !errors.As(err, &se) {
		return err
	}
	if p.lx.eofIn != "" && len(p.frames) > 0 {
		return p.truncated(se.Pos.Line, p.lx.eofIn)
	}
	se.Pos.Path = p.pathTo(len(p.frames) - 1)
	return se
}

// truncated is the error for a document that ends inside an element,
// within a tag, comment … when within is set.
func (p *camtParser) truncated(line int, within string) error {
	name := string(p.name(len(p.frames) - 1))
	if within != "" {
		name += "> (within " + within + ")"
	} else {
		name += ">"
	}
	return Errorf(Position{Line: line, Path: p.pathTo(len(p.frames) - 1)}, "file ends inside <%s: the XML document is truncated", name)
}

// name is the name of the open element at depth.
func (p *camtParser) name(depth int) []byte {
	end := len(p.path)
	if depth+1 < len(p.frames) {
		end = p.frames[depth+1].pathLen
	}
	return p.path[p.frames[depth].nameOff:end]
}

// prefix is the namespace prefix of the open element at depth.
func (p *camtParser) prefix(depth int) []byte {
	end := len(p.prefixes)
	if depth+1 < len(p.frames) {
		end = p.frames[depth+1].prefixOff
	}
	return p.prefixes[p.frames[depth].prefixOff:end]
}

// intern returns b as a string, the same string for the same bytes when
// b is short: currencies, codes and dates repeat from entry to entry.
func (p *camtParser) intern(b []byte) string {
	if s, ok := p.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(b) <= 64 && len(p.names) < camtMaxInterned {
		p.names[s] = s
	}
	return s
}

func (p *camtParser) finish() error {
	if p.found {
		return nil
	}
	if p.rootName == "" {
		return Errorf(Position{Line: p.line}, "not a camt file: no XML element found")
	}
	return Errorf(Position{Line: p.line}, "not a camt.052/053/054 file: no BkToCstmrStmt, BkToCstmrAcctRpt or BkToCstmrDbtCdtNtfctn element (root element is <%s>)", p.rootName)
}

// pos is the position of the element at depth, with the line where the
// current token starts.
func (p *camtParser) pos(depth int) Position {
	return Position{Line: p.line, Path: p.pathTo(depth)}
}

func (p *camtParser) pathTo(depth int) string {
	b := p.buf[:0]
	for i := 0; i <= depth && i < len(p.frames); i++ {
		if i > 0 {
			b = append(b, '/')
		}
		b = append(b, p.name(i)...)
		if idx := p.frames[i].idx; idx > 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(idx), 10)
			b = append(b, ']')
		}
	}
	p.buf = b
	return string(b)
}

func (p *camtParser) start() error {
	lx := p.lx
	name := lx.local
	depth := len(p.frames)
	if depth >= camtMaxDepth {
		return Errorf(p.pos(depth-1), "elements are nested more than %d deep", camtMaxDepth)
	}
	pathLen := len(p.path)
	if depth > 0 {
		p.path = append(p.path, '/')
	} else if p.rootName == "" {
		p.rootName = string(name)
	}
	p.frames = append(p.frames, camtFrame{pathLen: pathLen, nameOff: len(p.path), prefixOff: len(p.prefixes)})
	p.path = append(p.path, name...)
	p.prefixes = append(p.prefixes, lx.prefix...)
	if len(p.path) > camtMaxPath {
		return Errorf(Position{Line: p.line}, "element path is longer than %d bytes", camtMaxPath)
	}
	p.text = p.text[:0]
	p.leaf = true
	p.ccy = ""
	if v, ok := lx.attr("Ccy"); ok {
		p.ccy = p.intern(v)
	}

	switch {
	case p.txDepth >= 0:
		// Transaction details hold fields only.
	case p.ntryDepth >= 0:
		switch string(p.path[p.ntryOff:]) {
		case "NtryDtls":
			p.dtlsCount++
			p.txCount = 0
			if p.dtlsCount > 1 {
				p.frames[depth].idx = p.dtlsCount
			}
		case "NtryDtls/TxDtls", "TxDtls":
			return p.startTx(depth)
		}
	case p.stmtDepth >= 0:
		switch string(p.path[p.stmtOff:]) {
		case "Ntry":
			p.startNtry(depth)
		case "Bal":
			p.balCount++
			p.frames[depth].idx = p.balCount
			p.bal = camtBal{pos: p.pos(depth)}
		}
	case p.msgDepth >= 0:
		if depth == p.msgDepth+1 && string(name) == p.msg.stmt {
			p.startStmt(depth)
		}
	default:
		if m, ok := camtFindMessage(string(name)); ok {
			p.found = true
			p.msg = m
			p.msgDepth = depth
			p.stmtCount = 0
		}
	}
	return nil
}

func (p *camtParser) end() error {
	depth := len(p.frames) - 1
	f := p.frames[depth]
	leaf := p.leaf
	p.leaf = false
	var err error
	switch {
	case p.txDepth >= 0:
		if depth == p.txDepth {
			p.txDepth = -1
		} else if leaf {
			p.txField(p.path[p.txOff:])
		}
	case p.ntryDepth >= 0:
		if depth == p.ntryDepth {
			err = p.endNtry()
		} else if leaf {
			p.ntryField(p.path[p.ntryOff:])
		}
	case p.stmtDepth >= 0:
		if depth == p.stmtDepth {
			err = p.endStmt()
			break
		}
		rel := p.path[p.stmtOff:]
		if string(rel) == "Bal" {
			err = p.endBal()
		} else if leaf {
			err = p.stmtField(rel)
		}
	case p.msgDepth >= 0:
		if depth == p.msgDepth {
			p.msgDepth = -1
			if p.stmtCount == 0 {
				err = Errorf(p.pos(depth), "no statement found: <%s> has no <%s>", p.name(depth), p.msg.stmt)
			}
		}
	}
	p.path = p.path[:f.pathLen]
	p.prefixes = p.prefixes[:f.prefixOff]
	p.frames = p.frames[:depth]
	p.text = p.text[:0]
	return err
}

// value is the text of the element just closed.
func (p *camtParser) value() string {
	return string(bytes.TrimSpace(p.text))
}

// code is value for the codes, dates and flags that repeat from entry to
// entry: the same string each time.
func (p *camtParser) code() string {
	return p.intern(bytes.TrimSpace(p.text))
}

func (p *camtParser) startStmt(depth int) {
	p.stmtCount++
	p.frames[depth].idx = p.stmtCount
	p.stmtDepth = depth
	p.stmtOff = len(p.path) + 1
	p.s = &Statement{Format: p.msg.format, Pos: p.pos(depth)}
	p.stated, p.read = camtTotals{}, camtTotals{}
	p.openingIsOPBD = false
	p.ntryCount, p.balCount = 0, 0
}

func (p *camtParser) stmtField(rel []byte) error {
	s := p.s
	switch string(rel) {
	case "Id":
		s.ID = p.value()
	case "ElctrncSeqNb":
		s.Sequence = p.value()
	case "LglSeqNb":
		if s.Sequence == "" {
			s.Sequence = p.value()
		}
	case "CreDtTm":
		t, err := p.stmtDateTime("CreDtTm")
		if err != nil {
			return err
		}
		s.CreatedAt = &t
	case "FrToDt/FrDtTm":
		t, err := p.stmtDateTime("FrToDt/FrDtTm")
		if err != nil {
			return err
		}
		s.From = &t
	case "FrToDt/ToDtTm":
		t, err := p.stmtDateTime("FrToDt/ToDtTm")
		if err != nil {
			return err
		}
		s.To = &t
	case "Acct/Id/IBAN":
		s.Account.IBAN = p.value()
		s.Account.ID = s.Account.IBAN
	case "Acct/Id/Othr/Id", "Acct/Id/PrtryAcct/Id", "Acct/Id/BBAN", "Acct/Id/UPIC":
		if s.Account.ID == "" {
			s.Account.ID = p.value()
		}
	case "Acct/Ccy":
		ccy, ok := currencyCode(p.value())
		if !ok {
			return Errorf(p.pos(len(p.frames)-1), "Acct/Ccy %q is not a currency code", p.value())
		}
		s.Account.Currency = ccy
		s.Currency = ccy
	case "Acct/Nm":
		s.Account.Name = p.value()
	case "Acct/Ownr/Nm", "Acct/Ownr/Pty/Nm":
		if s.Account.Name == "" {
			s.Account.Name = p.value()
		}
	case "Acct/Svcr/FinInstnId/BIC", "Acct/Svcr/FinInstnId/BICFI":
		s.Account.Servicer = p.value()
	case "Acct/Svcr/FinInstnId/ClrSysMmbId/MmbId":
		if s.Account.Servicer == "" {
			s.Account.Servicer = p.value()
		}
	case "Bal/Tp/CdOrPrtry/Cd", "Bal/Tp/CdOrPrtry/Prtry", "Bal/Tp/Cd", "Bal/Tp/Prtry":
		p.bal.tp = p.value()
	case "Bal/Amt":
		amt, err := camtAmount(p.value())
		if err != nil {
			return Errorf(p.pos(len(p.frames)-1), "Bal/Amt: %v", err)
		}
		p.bal.amt, p.bal.hasAmt, p.bal.ccy = amt, true, p.ccy
	case "Bal/CdtDbtInd":
		p.bal.cdi = p.value()
	case "Bal/Dt/Dt":
		t, err := camtDate(p.value())
		if err != nil {
			return Errorf(p.pos(len(p.frames)-1), "Bal/Dt/Dt: %v", err)
		}
		p.bal.date = t
	case "Bal/Dt/DtTm":
		t, err := camtDateTime(p.value())
		if err != nil {
			return Errorf(p.pos(len(p.frames)-1), "Bal/Dt/DtTm: %v", err)
		}
		p.bal.date = t
	case "TxsSummry/TtlNtries/NbOfNtries":
		if err := p.statedCount(&p.stated.count, &p.stated.hasCount, "TxsSummry/TtlNtries/NbOfNtries"); err != nil {
			return err
		}
		n := p.stated.count
		s.StatedCount = &n
	case "TxsSummry/TtlCdtNtries/NbOfNtries":
		return p.statedCount(&p.stated.creditCount, &p.stated.hasCreditCount, "TxsSummry/TtlCdtNtries/NbOfNtries")
	case "TxsSummry/TtlDbtNtries/NbOfNtries":
		return p.statedCount(&p.stated.debitCount, &p.stated.hasDebitCount, "TxsSummry/TtlDbtNtries/NbOfNtries")
	case "TxsSummry/TtlCdtNtries/Sum":
		if err := p.statedSum(&p.stated.credit, &p.stated.hasCredit, &p.stated.creditText, "TxsSummry/TtlCdtNtries/Sum"); err != nil {
			return err
		}
		sum := p.stated.credit
		s.StatedCredit = &sum
	case "TxsSummry/TtlDbtNtries/Sum":
		if err := p.statedSum(&p.stated.debit, &p.stated.hasDebit, &p.stated.debitText, "TxsSummry/TtlDbtNtries/Sum"); err != nil {
			return err
		}
		sum := p.stated.debit
		s.StatedDebit = &sum
	}
	return nil
}

func (p *camtParser) stmtDateTime(field string) (time.Time, error) {
	t, err := camtDateTime(p.value())
	if err != nil {
		return time.Time{}, Errorf(p.pos(len(p.frames)-1), "%s: %v", field, err)
	}
	return t, nil
}

func (p *camtParser) statedCount(dst *int, has *bool, field string) error {
	v := p.value()
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return Errorf(p.pos(len(p.frames)-1), "%s %q is not a number of entries", field, v)
	}
	*dst, *has = n, true
	return nil
}

func (p *camtParser) statedSum(dst *decimal.Decimal, has *bool, text *string, field string) error {
	v := p.value()
	// Some banks state the debit sum as a negative number; the sign says
	// nothing the element name does not.
	amt, err := camtAmount(strings.TrimPrefix(v, "-"))
	if err != nil {
		return Errorf(p.pos(len(p.frames)-1), "%s: %v", field, err)
	}
	*dst, *has, *text = amt, true, v
	return nil
}

func (p *camtParser) endBal() error {
	b := &p.bal
	if b.tp == "" {
		return Errorf(b.pos, "Bal has no type (Tp/CdOrPrtry)")
	}
	if !b.hasAmt {
		return Errorf(b.pos, "Bal %s has no Amt", b.tp)
	}
	amt := b.amt
	switch b.cdi {
	case "CRDT", "":
	case "DBIT":
		amt = amt.Neg()
	default:
		return Errorf(b.pos, "Bal %s: unknown CdtDbtInd %q (want CRDT or DBIT)", b.tp, b.cdi)
	}
	ccy := p.s.Account.Currency
	if b.ccy != "" {
		var ok bool
		if ccy, ok = currencyCode(b.ccy); !ok {
			return Errorf(b.pos, "Bal %s: Amt Ccy %q is not a currency code", b.tp, b.ccy)
		}
	}
	bal := Balance{Type: b.tp, Amount: amt, Currency: ccy, Date: b.date}
	s := p.s
	s.Balances = append(s.Balances, bal)
	if s.Currency == "" {
		s.Currency = ccy
	}
	switch b.tp {
	case "OPBD":
		if !p.openingIsOPBD {
			s.Opening, p.openingIsOPBD = &bal, true
		}
	case "PRCD":
		if s.Opening == nil {
			s.Opening = &bal
		}
	case "CLBD":
		if s.Closing == nil {
			s.Closing = &bal
		}
	}
	return nil
}

func (p *camtParser) endStmt() error {
	p.stmtDepth = -1
	s := p.s
	p.s = nil
	st, rd := &p.stated, &p.read
	var bad []string
	if st.hasCount && st.count != rd.count {
		bad = append(bad, fmt.Sprintf("TtlNtries/NbOfNtries says %d entries, the statement has %d", st.count, rd.count))
	}
	if st.hasCreditCount && st.creditCount != rd.creditCount {
		bad = append(bad, fmt.Sprintf("TtlCdtNtries/NbOfNtries says %d credit entries, the statement has %d", st.creditCount, rd.creditCount))
	}
	if st.hasCredit && !st.credit.Equal(rd.credit) {
		bad = append(bad, fmt.Sprintf("TtlCdtNtries/Sum says %s, the credit entries sum to %s", st.creditText, rd.credit))
	}
	if st.hasDebitCount && st.debitCount != rd.debitCount {
		bad = append(bad, fmt.Sprintf("TtlDbtNtries/NbOfNtries says %d debit entries, the statement has %d", st.debitCount, rd.debitCount))
	}
	if st.hasDebit && !st.debit.Equal(rd.debit) {
		bad = append(bad, fmt.Sprintf("TtlDbtNtries/Sum says %s, the debit entries sum to %s", st.debitText, rd.debit))
	}
	if len(bad) > 0 {
		pos := p.pos(len(p.frames) - 1)
		if p.opt.ControlMismatch == nil {
			return Errorf(pos, "control totals (TxsSummry) disagree with the entries: %s", strings.Join(bad, "; "))
		}
		for _, b := range bad {
			if err := p.opt.ControlMismatch(Errorf(pos, "control total (TxsSummry) disagrees with the entries: %s", b)); err != nil {
				return err
			}
		}
	}
	return p.h.end(s)
}

func (p *camtParser) startNtry(depth int) {
	p.ntryCount++
	p.frames[depth].idx = p.ntryCount
	p.ntryDepth = depth
	p.ntryOff = len(p.path) + 1
	p.dtlsCount, p.txCount = 0, 0
	txs := p.n.txs[:0]
	p.n = camtNtry{pos: p.pos(depth), txs: txs}
}

func (p *camtParser) ntryField(rel []byte) {
	n := &p.n
	switch string(rel) {
	case "Amt":
		n.amt, n.ccy, n.hasAmt = p.value(), p.ccy, true
	case "CdtDbtInd":
		n.cdi = p.code()
	case "RvslInd":
		n.rvsl = p.code()
	case "Sts", "Sts/Cd", "Sts/Prtry":
		n.sts, n.hasSts = p.code(), true
	case "BookgDt/Dt":
		n.bookg, n.bookgTm = p.code(), false
	case "BookgDt/DtTm":
		n.bookg, n.bookgTm = p.code(), true
	case "ValDt/Dt":
		n.val, n.valTm = p.code(), false
	case "ValDt/DtTm":
		n.val, n.valTm = p.code(), true
	case "AcctSvcrRef":
		n.ref = p.value()
	case "NtryRef":
		n.ntryRef = p.value()
	case "NtryDtls/Btch/PmtInfId", "Btch/PmtInfId":
		if n.btchRef == "" {
			n.btchRef = p.value()
		}
	case "BkTxCd/Domn/Cd":
		n.bk.domn = p.code()
	case "BkTxCd/Domn/Fmly/Cd":
		n.bk.fmly = p.code()
	case "BkTxCd/Domn/Fmly/SubFmlyCd":
		n.bk.sub = p.code()
	case "BkTxCd/Prtry/Cd":
		n.bk.prtry = p.code()
	case "AddtlNtryInf":
		n.addtl = camtJoin(n.addtl, p.value(), " ")
	}
}

func (p *camtParser) startTx(depth int) error {
	if len(p.n.txs) >= camtMaxTxDtls {
		return Errorf(p.pos(depth), "entry has more than %d transaction details", camtMaxTxDtls)
	}
	p.txCount++
	p.frames[depth].idx = p.txCount
	p.txDepth = depth
	p.txOff = len(p.path) + 1
	p.n.txs = append(p.n.txs, camtTx{pos: p.pos(depth)})
	return nil
}

func (p *camtParser) txField(rel []byte) {
	tx := &p.n.txs[len(p.n.txs)-1]
	switch string(rel) {
	case "Amt":
		tx.amt, tx.amtCcy, tx.hasAmt = p.value(), p.ccy, true
	case "AmtDtls/TxAmt/Amt":
		tx.txAmt, tx.txCcy, tx.hasTxAmt = p.value(), p.ccy, true
	case "CdtDbtInd":
		tx.cdi = p.code()
	case "Refs/EndToEndId":
		if v := p.value(); v != "NOTPROVIDED" {
			tx.e2e = v
		}
	case "Refs/TxId":
		tx.txID = p.value()
	case "Refs/UETR":
		tx.uetr = p.value()
	case "Refs/AcctSvcrRef":
		tx.ref = p.value()
	case "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm", "RltdPties/Dbtr/Agt/FinInstnId/Nm":
		if tx.dbtr.name == "" {
			tx.dbtr.name = p.value()
		}
	case "RltdPties/DbtrAcct/Id/IBAN", "RltdPties/DbtrAcct/Id/Othr/Id":
		if tx.dbtr.acct == "" {
			tx.dbtr.acct = p.value()
		}
	case "RltdPties/Cdtr/Nm", "RltdPties/Cdtr/Pty/Nm", "RltdPties/Cdtr/Agt/FinInstnId/Nm":
		if tx.cdtr.name == "" {
			tx.cdtr.name = p.value()
		}
	case "RltdPties/CdtrAcct/Id/IBAN", "RltdPties/CdtrAcct/Id/Othr/Id":
		if tx.cdtr.acct == "" {
			tx.cdtr.acct = p.value()
		}
	case "RmtInf/Ustrd":
		if v := p.value(); v != "" {
			tx.ustrd = append(tx.ustrd, v)
		}
	case "RmtInf/Strd/CdtrRefInf/Ref":
		if v := p.value(); v != "" {
			tx.strd = append(tx.strd, v)
		}
	case "RtrInf/Rsn/Cd", "RtrInf/Rsn/Prtry":
		tx.rtrRsn = p.code()
	case "RtrInf/AddtlInf":
		if v := p.value(); v != "" {
			tx.rtrInf = append(tx.rtrInf, v)
		}
	case "AddtlTxInf":
		tx.addtl = p.value()
	case "BkTxCd/Domn/Cd":
		tx.bk.domn = p.code()
	case "BkTxCd/Domn/Fmly/Cd":
		tx.bk.fmly = p.code()
	case "BkTxCd/Domn/Fmly/SubFmlyCd":
		tx.bk.sub = p.code()
	case "BkTxCd/Prtry/Cd":
		tx.bk.prtry = p.code()
	}
}

func (p *camtParser) endNtry() error {
	p.ntryDepth = -1
	n := &p.n
	s := p.s

	base := Entry{Pos: n.pos}
	var amt decimal.Decimal
	amtOK := false
	switch {
	case !n.hasAmt:
		base.Errors = append(base.Errors, "Amt is missing")
	default:
		var err error
		if amt, err = camtAmount(n.amt); err != nil {
			base.Errors = append(base.Errors, "Amt: "+err.Error())
		} else {
			amtOK = true
			base.Amount = amt
		}
	}
	base.Currency = p.entryCurrency(&base, n.ccy, "Amt")
	base.Direction = camtDirection(&base, n.cdi, "CdtDbtInd")

	p.read.count++
	if amtOK {
		switch base.Direction {
		case Credit:
			p.read.creditCount++
			p.read.credit = p.read.credit.Add(amt)
		case Debit:
			p.read.debitCount++
			p.read.debit = p.read.debit.Add(amt)
		}
	}

	switch n.rvsl {
	case "", "false", "0":
	case "true", "1":
		base.Reversal = true
	default:
		base.Errors = append(base.Errors, fmt.Sprintf("RvslInd %q is not true or false", n.rvsl))
	}
	switch {
	case !n.hasSts:
		base.Status = StatusBooked
	case n.sts == "BOOK":
		base.Status = StatusBooked
	case n.sts == "PDNG" || n.sts == "FUTR":
		base.Status = StatusPending
	case n.sts == "INFO":
		base.Status = StatusInfo
	default:
		base.Errors = append(base.Errors, fmt.Sprintf("Sts %q is not a known status (BOOK, PDNG, INFO, FUTR)", n.sts))
	}
	dates := new([2]time.Time) // one allocation for both
	base.BookingDate = camtEntryDate(&base, &dates[0], n.bookg, n.bookgTm, "BookgDt")
	base.ValueDate = camtEntryDate(&base, &dates[1], n.val, n.valTm, "ValDt")
	base.BankReference = n.ref
	if base.BankReference == "" {
		base.BankReference = n.ntryRef
	}
	base.TypeCode = p.bkCode(n.bk)
	base.Description = n.addtl

	if s.Currency == "" && base.Currency != "" {
		s.Currency = base.Currency
	}

	switch len(n.txs) {
	case 0:
		return p.emit(&base)
	case 1:
		p.applyTx(&base, &n.txs[0])
		if base.BankReference == "" {
			base.BankReference = n.txs[0].ref
		}
		return p.emit(&base)
	}
	return p.split(&base, amt, amtOK)
}

// split hands over one Entry per transaction of a batch entry.
func (p *camtParser) split(base *Entry, amt decimal.Decimal, amtOK bool) error {
	n := &p.n
	batchRef := base.BankReference
	if batchRef == "" {
		batchRef = n.btchRef
	}
	entries := make([]Entry, len(n.txs))
	var sum decimal.Decimal
	sumOK := amtOK && base.Direction != ""
	for i := range n.txs {
		tx := &n.txs[i]
		e := *base
		e.Errors = base.Errors[:len(base.Errors):len(base.Errors)]
		e.Pos = tx.pos
		e.BatchRef = batchRef
		e.BatchIndex = i + 1
		e.Amount = decimal.Zero
		if tx.ref != "" {
			e.BankReference = tx.ref
		}
		if tx.cdi != "" {
			e.Direction = camtDirection(&e, tx.cdi, "TxDtls/CdtDbtInd")
		}
		text, ccy, field := camtTxAmount(tx, base.Currency)
		if text == "" && field == "" {
			e.Errors = append(e.Errors, fmt.Sprintf("transaction %d of %d has no amount (TxDtls/Amt or AmtDtls/TxAmt/Amt)", i+1, len(n.txs)))
			sumOK = false
		} else if a, err := camtAmount(text); err != nil {
			e.Errors = append(e.Errors, field+": "+err.Error())
			sumOK = false
		} else {
			e.Amount = a
			switch e.Direction {
			case base.Direction:
				sum = sum.Add(a)
			case "":
				sumOK = false
			default:
				sum = sum.Sub(a)
			}
		}
		if ccy != "" {
			e.Currency = p.entryCurrency(&e, ccy, field)
		}
		p.applyTx(&e, tx)
		entries[i] = e
	}
	if sumOK && !sum.Equal(amt) {
		dir, net := base.Direction, sum
		if net.IsNegative() {
			dir, net = camtOpposite(dir), net.Neg()
		}
		msg := fmt.Sprintf("transaction details sum to %s %s, the entry says %s %s", net, dir, n.amt, base.Direction)
		for i := range entries {
			entries[i].Errors = append(entries[i].Errors, msg)
		}
	}
	for i := range entries {
		if err := p.emit(&entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// camtTxAmount picks a transaction's amount: TxDtls/Amt or
// AmtDtls/TxAmt/Amt, preferring the one in the entry's currency.
func camtTxAmount(tx *camtTx, ccy string) (text, amtCcy, field string) {
	switch {
	case tx.hasAmt && (!tx.hasTxAmt || strings.EqualFold(tx.amtCcy, ccy) || !strings.EqualFold(tx.txCcy, ccy)):
		return tx.amt, tx.amtCcy, "TxDtls/Amt"
	case tx.hasTxAmt:
		return tx.txAmt, tx.txCcy, "AmtDtls/TxAmt/Amt"
	}
	return "", "", ""
}

// applyTx fills in what a transaction's details say about the entry.
func (p *camtParser) applyTx(e *Entry, tx *camtTx) {
	e.EndToEndID = tx.e2e
	e.TransactionID = tx.txID
	if e.TransactionID == "" {
		e.TransactionID = tx.uetr
	}
	// The counterparty paid us on a credit and was paid on a debit; a
	// reversal undoes a movement the other way, with the original parties.
	dir := e.Direction
	if e.Reversal {
		dir = camtOpposite(dir)
	}
	party := tx.cdtr
	if dir == Credit {
		party = tx.dbtr
	}
	e.CounterpartyName, e.CounterpartyAcct = party.name, party.acct
	if len(tx.ustrd) > 0 {
		e.Remittance = strings.Join(tx.ustrd, " ")
	} else {
		e.Remittance = strings.Join(tx.strd, " ")
	}
	if code := p.bkCode(tx.bk); code != "" {
		e.TypeCode = code
	}
	e.Description = camtJoin(e.Description, tx.addtl, "; ")
	if tx.rtrRsn != "" || len(tx.rtrInf) > 0 {
		rtr := "return reason " + tx.rtrRsn
		if len(tx.rtrInf) > 0 {
			rtr = camtJoin(rtr, strings.Join(tx.rtrInf, " "), ": ")
		}
		e.Description = camtJoin(e.Description, strings.TrimSpace(rtr), "; ")
	}
}

func (p *camtParser) emit(e *Entry) error {
	return p.h.entry(p.s, e)
}

func (p *camtParser) entryCurrency(e *Entry, ccy, field string) string {
	if ccy == "" {
		if p.s.Currency == "" {
			e.Errors = append(e.Errors, field+" has no Ccy and the account no currency")
		}
		return p.s.Currency
	}
	c, ok := currencyCode(ccy)
	if !ok {
		e.Errors = append(e.Errors, fmt.Sprintf("%s Ccy %q is not a currency code", field, ccy))
		return ""
	}
	return c
}

func camtDirection(e *Entry, cdi, field string) Direction {
	switch cdi {
	case "CRDT":
		return Credit
	case "DBIT":
		return Debit
	case "":
		e.Errors = append(e.Errors, field+" is missing")
	default:
		e.Errors = append(e.Errors, fmt.Sprintf("%s %q is not CRDT or DBIT", field, cdi))
	}
	return ""
}

func camtOpposite(d Direction) Direction {
	switch d {
	case Credit:
		return Debit
	case Debit:
		return Credit
	}
	return d
}

func camtEntryDate(e *Entry, dst *time.Time, v string, withTime bool, field string) *time.Time {
	if v == "" {
		return nil
	}
	var t time.Time
	var err error
	sub := "/Dt"
	if withTime {
		t, err = camtDateTime(v)
		sub = "/DtTm"
	} else {
		t, err = camtDate(v)
	}
	if err != nil {
		e.Errors = append(e.Errors, field+sub+": "+err.Error())
		return nil
	}
	*dst = t
	return dst
}

func camtJoin(a, b, sep string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}

// camtAmount parses an ISO 20022 amount: digits with an optional decimal
// point, no sign, no exponent.
func camtAmount(s string) (decimal.Decimal, error) {
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return decimal.Zero, fmt.Errorf("%q is not an amount", camtClip(s))
		}
	}
	if digits == 0 || digits > 30 {
		return decimal.Zero, fmt.Errorf("%q is not an amount", camtClip(s))
	}
	return decimal.NewFromString(s)
}

// camtDate parses an ISODate (YYYY-MM-DD) as UTC midnight.
func camtDate(s string) (time.Time, error) {
	// Every entry has one or two: read the usual form without time.Parse.
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		y, okY := camtDigits(s[:4])
		m, okM := camtDigits(s[5:7])
		d, okD := camtDigits(s[8:])
		if okY && okM && okD && m >= 1 && m <= 12 && d >= 1 {
			if t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC); t.Day() == d {
				return t, nil
			}
		}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", camtClip(s))
	}
	return t, nil
}

func camtDigits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// camtDateTime parses an ISODateTime, with or without fractional seconds
// and zone; without a zone it is taken as UTC.
func camtDateTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (YYYY-MM-DDThh:mm:ss)", camtClip(s))
}

// camtClip shortens a bad value quoted in an error message.
func camtClip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:61] + "..."
}
