package crm

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Limits on one import. Errors that hit them name the limit.
const (
	// MaxImportRows is the most data rows (CSV records or JSON array elements) in one file.
	MaxImportRows = 1_000_000
	// MaxFieldBytes is the longest value of one column or JSON field, in bytes of UTF-8.
	MaxFieldBytes = 64 << 10
	// MaxJSONBytes is the largest JSON upload; a CSV upload is streamed and has no such cap.
	MaxJSONBytes = 1 << 30

	maxLineBytes   = 1 << 20 // one physical CSV line
	maxRecordLines = 100     // physical lines a quoted CSV field may span
	maxRecordBytes = 1 << 20 // bytes of one CSV record
	maxColumns     = 1000
	sniffBytes     = 1 << 20 // bytes inspected to choose the text encoding
	maxHeaderBytes = 64 << 10
)

// importRowLimit is MaxImportRows, lowered by tests.
var importRowLimit = MaxImportRows

// ErrBadImport is wrapped by the errors that make a whole upload unusable: no header, no
// phone column, not text, too many rows. Problems with single rows are never errors;
// they are RowErrors in ImportResult.Rejected.
var ErrBadImport = errors.New("unusable import file")

func badImport(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadImport, fmt.Sprintf(format, args...))
}

// ImportRow is one accepted contact from an upload.
type ImportRow struct {
	// Line is where the row starts in a CSV file, counted as a text editor counts lines
	// (the header is line 1; a quoted value spanning lines moves later rows down); 0 for JSON.
	Line int
	// Index is the 0-based position in a JSON array; nil for CSV.
	Index *int
	// Phone is the normalized E.164 number, unique within the upload.
	Phone string
	// RawPhone is the phone value as uploaded, trimmed.
	RawPhone string
	// Name is the trimmed value of the name column ("name", "姓名", "客户姓名"), if any.
	Name string
	// Fields holds every other non-empty column, keyed by its header as written (trimmed),
	// values trimmed. It is nil when there are none.
	Fields map[string]string
}

// RowError says why one row of an upload was rejected. CSV errors carry Line, JSON errors
// Index (0-based position in the array).
type RowError struct {
	Line  int    `json:"line,omitempty"`
	Index *int   `json:"index,omitempty"`
	Error string `json:"error"`
}

// Reject builds the error for a row refused after parsing (a number already in the list,
// say), pointing at its line or index as the parser would.
func (r ImportRow) Reject(msg string) RowError {
	return RowError{Line: r.Line, Index: r.Index, Error: msg}
}

// ImportResult is an upload split into the rows to import and the rows rejected, each in
// file order.
type ImportResult struct {
	Rows     []ImportRow
	Rejected []RowError
}

// Column headers (compared after headerKey) that hold the phone number and the name.
var (
	phoneHeaders = []string{
		"phone", "mobile", "number", "tel", "phone_number",
		"telephone", "phonenumber", "mobile_phone", "mobile_number",
		"电话", "手机", "手机号", "手机号码", "电话号码", "联系电话",
	}
	nameHeaders = []string{"name", "姓名", "客户姓名"}
)

// headerKey is how headers are compared: trimmed, lower case, runs of spaces and hyphens
// as one '_', so "Phone Number", "phone-number" and "PHONE_NUMBER" are one key.
func headerKey(h string) string {
	h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
	h = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u3000' {
			return '_'
		}
		return r
	}, h)
	for strings.Contains(h, "__") {
		h = strings.ReplaceAll(h, "__", "_")
	}
	return h
}

func findHeader(keys []string, names []string) int {
	for i, k := range keys {
		for _, n := range names {
			if k == n {
				return i
			}
		}
	}
	return -1
}

// ParseCSV reads a contact list exported from a spreadsheet or CRM. The first non-blank
// line is the header; the phone column is the leftmost whose header is one of phone,
// mobile, number, tel, phone_number (any case, spaces or hyphens for '_'), 电话, 手机,
// 手机号, 手机号码, 电话号码 or 联系电话.
//
// The text may be UTF-8 (with or without BOM), GB18030/GBK (chosen when the first MiB is
// not valid UTF-8 but is valid GB18030), or UTF-16 with a BOM (Excel's "Unicode text").
// The delimiter is ',', ';' or tab, whichever the header line has most of outside quotes.
// Lines may end in LF, CRLF or (old Mac) CR. Bare quotes inside fields are kept as text.
//
// Rows that cannot be imported are reported in Rejected with their line and the reason,
// and parsing goes on: a bad phone number, the wrong number of fields, a quoted field
// never closed (the line that opens it is rejected and the lines after it are read
// again as rows of their own), a line over 1 MiB, a value over MaxFieldBytes, text not
// in the file's encoding or holding a NUL character, and a number seen earlier in the
// file ("duplicate of line N"; the first is kept). Lines with nothing but delimiters and
// spaces are skipped. A file with a NUL byte on its first line is not text (a
// spreadsheet): that, and a header with a value that is not text, make it unusable.
//
// The error is non-nil only when the file as a whole is unusable (it then wraps
// ErrBadImport) or reading r fails; the result is then empty.
func ParseCSV(r io.Reader, n PhoneNormalizer) (ImportResult, error) {
	text, enc, err := decodeText(r)
	if err != nil {
		return ImportResult{}, err
	}
	src := bufio.NewReaderSize(text, maxHeaderBytes)
	delim, term, err := sniffCSV(src)
	if err != nil {
		return ImportResult{}, err
	}
	g := &recordGuard{src: src, delim: delim, term: term}
	cr := csv.NewReader(g)
	cr.Comma = rune(delim)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true

	var header []string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return ImportResult{}, badImport("no header row: the file is empty")
		}
		if err != nil {
			return ImportResult{}, fmt.Errorf("read import: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if reason := g.takeBad(line); reason != "" {
			return ImportResult{}, badImport("header row (line %d): %s", line, reason)
		}
		if blankRecord(rec) {
			continue
		}
		if len(rec) > maxColumns {
			return ImportResult{}, badImport("header row (line %d) has %d columns; at most %d are allowed", line, len(rec), maxColumns)
		}
		header = make([]string, len(rec))
		for i, h := range rec {
			header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
			if msg := badText(h, enc); msg != "" {
				return ImportResult{}, badImport("header row (line %d): column %d %s", line, i+1, msg)
			}
		}
		break
	}
	g.want = len(header)
	keys := make([]string, len(header))
	for i, h := range header {
		keys[i] = headerKey(h)
	}
	phoneCol := findHeader(keys, phoneHeaders)
	if phoneCol < 0 {
		return ImportResult{}, badImport("no phone column: the header row needs one of %s; it has %s",
			strings.Join(phoneHeaders, ", "), strings.Join(header, ", "))
	}
	nameCol := findHeader(keys, nameHeaders)
	fieldNames := fieldNames(header)

	var (
		res  ImportResult
		seen = make(map[string]int)
		rows int
	)
	reject := func(line int, format string, args ...any) {
		res.Rejected = append(res.Rejected, RowError{Line: line, Error: fmt.Sprintf(format, args...)})
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return ImportResult{}, fmt.Errorf("read import: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if reason := g.takeBad(line); reason != "" {
			rows++
			reject(line, "%s", reason)
			continue
		}
		if blankRecord(rec) {
			continue
		}
		if rows++; rows > importRowLimit {
			return ImportResult{}, badImport("more than %d rows; split the file", importRowLimit)
		}
		if len(rec) != len(header) {
			reject(line, "has %s, header has %d", plural(len(rec), "field"), len(header))
			continue
		}
		if msg := checkFields(rec, header, enc); msg != "" {
			reject(line, "%s", msg)
			continue
		}
		raw := strings.TrimSpace(rec[phoneCol])
		if raw == "" {
			reject(line, "missing phone")
			continue
		}
		e164, err := n.Normalize(raw)
		if err != nil {
			reject(line, "phone %s: %v", quoteShort(raw), err)
			continue
		}
		if first, dup := seen[e164]; dup {
			reject(line, "duplicate of line %d", first)
			continue
		}
		seen[e164] = line
		row := ImportRow{Line: line, Phone: e164, RawPhone: raw}
		if nameCol >= 0 {
			row.Name = strings.TrimSpace(rec[nameCol])
		}
		for i, v := range rec {
			if i == phoneCol || i == nameCol {
				continue
			}
			if v = strings.TrimSpace(v); v != "" {
				if row.Fields == nil {
					row.Fields = make(map[string]string, len(rec)-1)
				}
				row.Fields[fieldNames[i]] = v
			}
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// fieldNames returns the keys of ImportRow.Fields: the headers as written, "column N" for
// an empty one, and "name (2)", "name (3)" for repeats.
func fieldNames(header []string) []string {
	out := make([]string, len(header))
	used := make(map[string]bool, len(header))
	for i, h := range header {
		if h == "" {
			h = "column " + strconv.Itoa(i+1)
		}
		name := h
		for k := 2; used[name]; k++ {
			name = h + " (" + strconv.Itoa(k) + ")"
		}
		used[name] = true
		out[i] = name
	}
	return out
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// checkFields reports the first value that is too long, not in the file's encoding or
// holds a NUL character (which PostgreSQL refuses in text).
func checkFields(rec, header []string, enc textEncoding) string {
	for i, f := range rec {
		if len(f) > MaxFieldBytes {
			return fmt.Sprintf("column %s is longer than %d bytes", quoteShort(header[i]), MaxFieldBytes)
		}
		if msg := badText(f, enc); msg != "" {
			return fmt.Sprintf("column %s %s", quoteShort(header[i]), msg)
		}
	}
	return ""
}

// badText says why f, decoded from enc, cannot be stored as text, or "".
func badText(f string, enc textEncoding) string {
	switch {
	case enc == encUTF8 && !utf8.ValidString(f):
		return "is not valid UTF-8 text"
	case enc != encUTF8 && strings.ContainsRune(f, utf8.RuneError):
		return fmt.Sprintf("is not valid %s text", enc)
	case strings.IndexByte(f, 0) >= 0:
		return "contains a NUL character"
	}
	return ""
}

// quoteShort quotes s for an error message, cut to 40 characters.
func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		i := 0
		for n := 0; n < 40; n++ {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
		}
		return strconv.Quote(s[:i]) + "…"
	}
	return strconv.Quote(s)
}

type textEncoding string

const (
	encUTF8    textEncoding = "UTF-8"
	encGB18030 textEncoding = "GB18030"
	encUTF16   textEncoding = "UTF-16"
)

// decodeText chooses the upload's text encoding from its first MiB and returns a reader of
// its text as UTF-8, without a byte order mark.
func decodeText(r io.Reader) (io.Reader, textEncoding, error) {
	br := bufio.NewReaderSize(r, sniffBytes)
	b, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF {
		return nil, "", fmt.Errorf("read import: %w", err)
	}
	full := len(b) == sniffBytes
	switch {
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
		_, _ = br.Discard(3)
		b = b[3:]
	case bytes.HasPrefix(b, []byte("\xFF\xFE")):
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()), encUTF16, nil
	case bytes.HasPrefix(b, []byte("\xFE\xFF")):
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()), encUTF16, nil
	}
	// A spreadsheet (xlsx is a zip, xls an OLE file) has NUL bytes before its first line
	// ends; a text file with a stray NUL further on is read, and the rows holding one are
	// rejected (checkFields).
	first := b
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		first = b[:i]
	}
	if bytes.IndexByte(first, 0) >= 0 {
		return nil, "", badImport("not a text file (it contains NUL bytes); upload CSV text, not a spreadsheet")
	}
	if full {
		// The sniffed window may end inside a character; judge the complete ones.
		b = b[:len(b)-3]
	}
	if validUTF8Prefix(b) {
		return br, encUTF8, nil
	}
	if gb, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b); err == nil && !bytes.ContainsRune(gb, utf8.RuneError) {
		return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), encGB18030, nil
	}
	return nil, "", badImport("text is neither UTF-8 nor GB18030; save the file as CSV UTF-8")
}

// validUTF8Prefix is utf8.Valid, forgiving one incomplete character at the very end.
func validUTF8Prefix(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	for k := 1; k <= 3 && k <= len(b); k++ {
		if utf8.Valid(b[:len(b)-k]) && !utf8.FullRune(b[len(b)-k:]) {
			return true
		}
	}
	return false
}

// sniffCSV picks the delimiter from the first non-blank line and the line terminator
// ('\n', or '\r' for a file with CR line ends only).
func sniffCSV(src *bufio.Reader) (delim, term byte, err error) {
	b, err := src.Peek(maxHeaderBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return 0, 0, fmt.Errorf("read import: %w", err)
	}
	term = '\n'
	if bytes.IndexByte(b, '\n') < 0 && bytes.IndexByte(b, '\r') >= 0 {
		term = '\r'
	}
	rest := b
	for {
		if len(rest) == 0 {
			return 0, 0, badImport("no header row: the file is empty")
		}
		line := rest
		i := bytes.IndexByte(rest, term)
		if i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			if len(b) == maxHeaderBytes {
				return 0, 0, badImport("header row is longer than %d bytes", maxHeaderBytes)
			}
			rest = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		counts := map[byte]int{}
		quoted := false
		for _, c := range line {
			switch {
			case c == '"':
				quoted = !quoted
			case !quoted && (c == ',' || c == ';' || c == '\t'):
				counts[c]++
			}
		}
		delim = ','
		for _, c := range []byte{'\t', ';'} {
			if counts[c] > counts[delim] {
				delim = c
			}
		}
		return delim, term, nil
	}
}

// recordGuard sits between the text and csv.Reader and passes the text through line for
// line, except that it never lets a quoted field run away. csv.Reader with LazyQuotes
// reads a quote that is never closed as one field to the end of the file, silently
// swallowing every row after it. The guard follows the same quoting rules as
// encoding/csv (a '"' opens a quoted field only as its first character; `""` is a quote;
// a quote closes the field only before the delimiter or the end of a line) and, when a
// quoted field is still open after maxRecordLines lines or maxRecordBytes bytes or at the
// end of the file, replaces the record's first line by a placeholder, notes the line as
// bad and reads the lines after it again from a fresh start. It writes exactly one line
// for each line it reads, so csv.Reader's line numbers are the file's.
type recordGuard struct {
	src   *bufio.Reader
	delim byte
	term  byte // line terminator of src; written out as '\n'

	pending []guardLine    // lines read ahead and pushed back, oldest first
	out     []byte         // text ready for Read
	off     int            // read position in out
	lines   int            // lines written so far
	want    int            // fields in the header, once ParseCSV knows; 0 before
	bad     map[int]string // line -> reason, for placeholders csv.Reader has not returned yet
	err     error          // from src; io.EOF at its end
}

// Read returns the rest of the last record judged, or judges the next one. Handing out
// one record per call keeps the guard from reading ahead of csv.Reader: ParseCSV sets
// want after the header and before the guard judges any row.
func (g *recordGuard) Read(p []byte) (int, error) {
	if g.off >= len(g.out) {
		g.out, g.off = g.out[:0], 0
		for len(g.out) == 0 && (len(g.pending) > 0 || g.err == nil) {
			g.fill()
		}
		if len(g.out) == 0 {
			return 0, g.err
		}
	}
	n := copy(p, g.out[g.off:])
	g.off += n
	return n, nil
}

// takeBad returns and forgets the reason line was replaced by a placeholder, or "".
func (g *recordGuard) takeBad(line int) string {
	reason, ok := g.bad[line]
	if ok {
		delete(g.bad, line)
	}
	return reason
}

// guardLine is one physical line with its terminator. A line longer than maxLineBytes
// has long set and no text.
type guardLine struct {
	b    []byte
	long bool
}

// next returns the next line; ok is false at the end. A line read from src aliases its
// buffer until the next call; pending lines are owned.
func (g *recordGuard) next() (l guardLine, ok bool) {
	if len(g.pending) > 0 {
		l = g.pending[0]
		g.pending = g.pending[1:]
		return l, true
	}
	if g.err != nil {
		return guardLine{}, false
	}
	n := 0
	for {
		chunk, err := g.src.ReadSlice(g.term)
		n += len(chunk)
		switch {
		case n > maxLineBytes:
			l = guardLine{long: true}
		case err == bufio.ErrBufferFull || l.b != nil:
			l.b = append(l.b, chunk...)
		default:
			l.b = chunk
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			g.err = err
		}
		break
	}
	return l, n > 0
}

func (g *recordGuard) emit(l guardLine) {
	g.lines++
	b := l.b
	if len(b) > 0 && b[len(b)-1] == g.term {
		g.out = append(g.out, b[:len(b)-1]...)
		g.out = append(g.out, '\n')
		return
	}
	g.out = append(g.out, b...)
}

func (g *recordGuard) emitBad(reason string) {
	g.lines++
	if g.bad == nil {
		g.bad = make(map[int]string)
	}
	g.bad[g.lines] = reason
	g.out = append(g.out, "-\n"...) // one unquoted field: csv.Reader returns it as a record
}

const reasonUnterminated = "quoted field is never closed: the '\"' that opens it is on this line; the line was skipped"

// fill judges the next record and writes it, or its placeholder, to out.
func (g *recordGuard) fill() {
	first, ok := g.next()
	if !ok {
		return
	}
	if first.long {
		g.emitBad(fmt.Sprintf("line is longer than %d bytes", maxLineBytes))
		return
	}
	open, delims := scanQuoted(g.content(first.b), g.delim, false)
	if !open {
		g.emit(first)
		return
	}
	held := []guardLine{{b: bytes.Clone(first.b)}}
	size := len(first.b)
	for open {
		l, ok := g.next()
		if !ok || l.long || len(held) >= maxRecordLines || size+len(l.b) > maxRecordBytes {
			if ok {
				l.b = bytes.Clone(l.b)
				held = append(held, l)
			}
			g.pending = append(held[1:], g.pending...)
			g.emitBad(reasonUnterminated)
			return
		}
		held = append(held, guardLine{b: bytes.Clone(l.b)})
		size += len(l.b)
		var d int
		open, d = scanQuoted(g.content(l.b), g.delim, true)
		delims += d
	}
	if fields := delims + 1; g.want > 0 && fields != g.want {
		// A quoted value spans lines and the record comes out the wrong shape: most
		// likely a stray quote that a quote on a later line happened to close. Reject
		// the line that opens it and read the lines after it as rows of their own.
		last := g.lines + len(held)
		g.pending = append(held[1:], g.pending...)
		g.emitBad(fmt.Sprintf("a quoted value opens on this line and runs on to line %d, leaving %s where the header has %d; check the quotes (the line was skipped)",
			last, plural(fields, "field"), g.want))
		return
	}
	for _, l := range held {
		g.emit(l)
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// content strips a line's terminator the way encoding/csv does ("\r\n" and a final "\r").
func (g *recordGuard) content(l []byte) []byte {
	l = bytes.TrimSuffix(l, []byte{g.term})
	return bytes.TrimSuffix(l, []byte{'\r'})
}

// scanQuoted reports whether a quoted field is still open at the end of line, given
// whether one was open at its start, by encoding/csv's rules with LazyQuotes, and counts
// the delimiters that separate fields.
func scanQuoted(line []byte, delim byte, inQuote bool) (open bool, delims int) {
	i := 0
	for {
		if !inQuote {
			// At the start of a field.
			if i < len(line) && line[i] == '"' {
				inQuote = true
				i++
				continue
			}
			j := bytes.IndexByte(line[i:], delim)
			if j < 0 {
				return false, delims
			}
			i += j + 1
			delims++
			continue
		}
		j := bytes.IndexByte(line[i:], '"')
		if j < 0 {
			return true, delims
		}
		i += j + 1
		switch {
		case i == len(line):
			return false, delims // `"` at the end of the line ends the record
		case line[i] == '"':
			i++ // `""`
		case line[i] == delim:
			i++ // `",` ends the field
			delims++
			inQuote = false
		}
		// otherwise a bare quote inside the field, kept as text
	}
}

// ParseJSON reads a JSON array of objects, each with the phone number under "phone" (a
// string, or a number given in digits) and optionally "name". Every other key is kept
// in Fields: strings as they are, numbers as decimal text (exponents written out), true
// and false as words; null and "" are left out. An element that is not an object, has a
// nested object or array, a key given twice, a key or value that is not valid UTF-8 or
// holds a NUL character (PostgreSQL stores neither), a value over MaxFieldBytes, more
// than 1000 keys, lacks a phone, or repeats an earlier number ("duplicate of index N") is
// rejected with its 0-based index, which accepted rows carry as Index.
//
// The error is non-nil, wrapping ErrBadImport, when the input is not a JSON array, is
// malformed JSON anywhere, has more than MaxImportRows elements or MaxJSONBytes bytes.
func ParseJSON(r io.Reader, n PhoneNormalizer) (ImportResult, error) {
	lr := &limitedReader{r: r, left: MaxJSONBytes}
	br := bufio.NewReader(lr)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	dec := json.NewDecoder(br)
	fail := func(err error) (ImportResult, error) {
		if errors.Is(err, errJSONTooLarge) {
			return ImportResult{}, badImport("larger than %d bytes", MaxJSONBytes)
		}
		if err == io.EOF {
			return ImportResult{}, badImport("empty file; want a JSON array of objects")
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ImportResult{}, badImport("not valid JSON: %v", err)
		}
		return ImportResult{}, fmt.Errorf("read import: %w", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	if tok != json.Delim('[') {
		return ImportResult{}, badImport("want a JSON array of objects")
	}
	var (
		res  ImportResult
		seen = make(map[string]int)
	)
	for i := 0; dec.More(); i++ {
		if i >= importRowLimit {
			return ImportResult{}, badImport("more than %d rows; split the file", importRowLimit)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail(err)
		}
		index := i
		reject := func(format string, args ...any) {
			res.Rejected = append(res.Rejected, RowError{Index: &index, Error: fmt.Sprintf(format, args...)})
		}
		row, msg := jsonRow(raw)
		if msg != "" {
			reject("%s", msg)
			continue
		}
		if row.RawPhone == "" {
			reject("missing phone")
			continue
		}
		e164, err := n.Normalize(row.RawPhone)
		if err != nil {
			reject("phone %s: %v", quoteShort(row.RawPhone), err)
			continue
		}
		if first, dup := seen[e164]; dup {
			reject("duplicate of index %d", first)
			continue
		}
		seen[e164] = i
		row.Index, row.Phone = &index, e164
		res.Rows = append(res.Rows, row)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return fail(err)
		}
		return ImportResult{}, badImport("unexpected data after the JSON array")
	}
	return res, nil
}

// jsonRow turns one array element into a row without Line and Phone, or says why not.
func jsonRow(raw json.RawMessage) (ImportRow, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return ImportRow{}, "not a JSON object"
	}
	obj, msg := jsonObject(raw)
	if msg != "" {
		return ImportRow{}, msg
	}
	var row ImportRow
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		if !utf8.Valid(v) {
			return ImportRow{}, fmt.Sprintf("field %s is not valid UTF-8 text", quoteShort(k))
		}
		text, msg := jsonText(v)
		if msg != "" {
			return ImportRow{}, fmt.Sprintf("field %s: %s", quoteShort(k), msg)
		}
		if len(text) > MaxFieldBytes {
			return ImportRow{}, fmt.Sprintf("field %s is longer than %d bytes", quoteShort(k), MaxFieldBytes)
		}
		if strings.IndexByte(text, 0) >= 0 {
			return ImportRow{}, fmt.Sprintf("field %s contains a NUL character", quoteShort(k))
		}
		text = strings.TrimSpace(text)
		switch k {
		case "phone":
			row.RawPhone = text
		case "name":
			row.Name = text
		default:
			if text != "" {
				if row.Fields == nil {
					row.Fields = make(map[string]string, len(obj))
				}
				row.Fields[k] = text
			}
		}
	}
	return row, ""
}

// jsonObject splits a JSON object (syntax already checked) into its keys and raw values,
// or says why its keys cannot be stored: one given twice (encoding/json would keep the
// last silently), not valid UTF-8 (it would become U+FFFD silently), holding NUL, too
// long, too many.
func jsonObject(raw []byte) (map[string]json.RawMessage, string) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, "not a JSON object"
	}
	obj := make(map[string]json.RawMessage)
	for dec.More() {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, "not a JSON object"
		}
		k, _ := tok.(string)
		switch {
		case !utf8.Valid(raw[start:dec.InputOffset()]):
			return nil, "a field name is not valid UTF-8 text"
		case strings.IndexByte(k, 0) >= 0:
			return nil, fmt.Sprintf("field name %s contains a NUL character", quoteShort(k))
		case len(k) > MaxFieldBytes:
			return nil, fmt.Sprintf("a field name is longer than %d bytes", MaxFieldBytes)
		}
		if _, dup := obj[k]; dup {
			return nil, fmt.Sprintf("field %s appears twice", quoteShort(k))
		}
		if len(obj) == maxColumns {
			return nil, fmt.Sprintf("more than %d fields", maxColumns)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, "not a JSON object"
		}
		obj[k] = v
	}
	return obj, ""
}

// jsonText renders a JSON scalar as text; objects and arrays are refused.
func jsonText(v json.RawMessage) (string, string) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "", ""
	}
	switch v[0] {
	case '"':
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", "not a valid string"
		}
		return s, ""
	case '{', '[':
		return "", "nested objects and arrays are not supported"
	case 'n':
		return "", ""
	case 't', 'f':
		return string(v), ""
	}
	return numberText(string(v)), ""
}

// numberText writes a JSON number as decimal text: as given, unless it has an exponent,
// which is written out ("1.3800138E+10" becomes "13800138000"). Numbers too large to
// write out are kept as given.
func numberText(lit string) string {
	if !strings.ContainsAny(lit, "eE") {
		return lit
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || f > 1e21 || f < -1e21 {
		return lit
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

var errJSONTooLarge = errors.New("json too large")

// limitedReader is io.LimitReader that says when the limit cut the input short.
type limitedReader struct {
	r    io.Reader
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, errJSONTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
