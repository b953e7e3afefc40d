package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

func ptr(i int) *int { return &i }

// checkResult compares a parse result with the rows and rejections wanted, in order.
func checkResult(t *testing.T, got ImportResult, rows []ImportRow, rejected []RowError) {
	t.Helper()
	if len(got.Rows) != len(rows) {
		t.Errorf("got %d rows, want %d", len(got.Rows), len(rows))
	}
	for i := range max(len(got.Rows), len(rows)) {
		var g, w ImportRow
		if i < len(got.Rows) {
			g = got.Rows[i]
		}
		if i < len(rows) {
			w = rows[i]
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if len(got.Rejected) != len(rejected) {
		t.Errorf("got %d rejections, want %d", len(got.Rejected), len(rejected))
	}
	for i := range max(len(got.Rejected), len(rejected)) {
		var g, w RowError
		if i < len(got.Rejected) {
			g = got.Rejected[i]
		}
		if i < len(rejected) {
			w = rejected[i]
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("rejection %d:\n got %s\nwant %s", i, showRowError(g), showRowError(w))
		}
	}
}

func showRowError(e RowError) string {
	idx := "nil"
	if e.Index != nil {
		idx = fmt.Sprint(*e.Index)
	}
	return fmt.Sprintf("{Line:%d Index:%s Error:%q}", e.Line, idx, e.Error)
}

const unterminated = "quoted field is never closed: the '\"' that opens it is on this line; the line was skipped"

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		region   string
		rows     []ImportRow
		rejected []RowError
	}{
		{
			name: "BOM, Chinese headers and notes, CRLF",
			in: "\ufeff姓名,手机号码,备注,城市\r\n" +
				"张三,138 0013 8000,备注：下午再打,北京\r\n" +
				"李四,+86 139-0013-9000,,上海\r\n",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "138 0013 8000", Name: "张三",
					Fields: map[string]string{"备注": "备注：下午再打", "城市": "北京"}},
				{Line: 3, Phone: "+8613900139000", RawPhone: "+86 139-0013-9000", Name: "李四",
					Fields: map[string]string{"城市": "上海"}},
			},
		},
		{
			name: "English headers any case, values trimmed, no other columns",
			in:   "Phone Number , NAME\n 13800138000 ,  Ann  \n",
			rows: []ImportRow{{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "Ann"}},
		},
		{
			name: "客户姓名 and 联系电话",
			in:   "客户姓名,联系电话\n王五,010-12345678\n",
			rows: []ImportRow{{Line: 2, Phone: "+861012345678", RawPhone: "010-12345678", Name: "王五"}},
		},
		{
			name: "semicolon delimiter",
			in:   "name;mobile;note\nAnn;138 0013 8000;a, b\n",
			rows: []ImportRow{{Line: 2, Phone: "+8613800138000", RawPhone: "138 0013 8000", Name: "Ann",
				Fields: map[string]string{"note": "a, b"}}},
		},
		{
			name: "tab delimiter",
			in:   "tel\tname\tnote\n13800138000\tAnn\tx;y,z\n",
			rows: []ImportRow{{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "Ann",
				Fields: map[string]string{"note": "x;y,z"}}},
		},
		{
			name: "quoted comma in header does not fool the delimiter sniffer",
			in:   "\"a;b;c\",phone\nx,13800138000\n",
			rows: []ImportRow{{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000",
				Fields: map[string]string{"a;b;c": "x"}}},
		},
		{
			name: "old Mac CR line ends",
			in:   "phone,name\r13800138000,Ann\r13900139000,Bob\r",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "Ann"},
				{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Name: "Bob"},
			},
		},
		{
			name: "quoted multi-line field moves later line numbers",
			in: "name,phone,note\n" +
				"Ann,13800138000,\"line one\nline two\nline three\"\n" +
				"Bob,13900139000,x\n" +
				"Cat,bad,x\n",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "Ann",
					Fields: map[string]string{"note": "line one\nline two\nline three"}},
				{Line: 5, Phone: "+8613900139000", RawPhone: "13900139000", Name: "Bob",
					Fields: map[string]string{"note": "x"}},
			},
			rejected: []RowError{{Line: 6, Error: `phone "bad": contains letters`}},
		},
		{
			name: "blank lines and delimiter-only lines are skipped, numbering kept",
			in:   "\n\nphone\n\n13800138000\n,\n  \n13900139000\n",
			rows: []ImportRow{
				{Line: 5, Phone: "+8613800138000", RawPhone: "13800138000"},
				{Line: 8, Phone: "+8613900139000", RawPhone: "13900139000"},
			},
		},
		{
			name: "duplicates keep the first",
			in:   "phone,name\n13800138000,a\n+86 138 0013 8000,b\n13900139000,c\n0086-138-0013-8000,d\n",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "a"},
				{Line: 4, Phone: "+8613900139000", RawPhone: "13900139000", Name: "c"},
			},
			rejected: []RowError{
				{Line: 3, Error: "duplicate of line 2"},
				{Line: 5, Error: "duplicate of line 2"},
			},
		},
		{
			name: "wrong field counts",
			in:   "phone,name,note\n13800138000,a\n13900139000,b,c,d\n13700137000,e,f\n",
			rows: []ImportRow{{Line: 4, Phone: "+8613700137000", RawPhone: "13700137000", Name: "e",
				Fields: map[string]string{"note": "f"}}},
			rejected: []RowError{
				{Line: 2, Error: "has 2 fields, header has 3"},
				{Line: 3, Error: "has 4 fields, header has 3"},
			},
		},
		{
			name: "missing phone",
			in:   "phone,name\n,Ann\n",
			rejected: []RowError{
				{Line: 2, Error: "missing phone"},
			},
		},
		{
			name: "bare quotes kept as text",
			in:   "name,phone\n张\"三,13800138000\nO\"Brien \"Bob\",13900139000\n",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "张\"三"},
				{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Name: "O\"Brien \"Bob\""},
			},
		},
		{
			name: "quoted field with escaped quotes and a bare quote",
			in:   "name,phone\n\"say \"\"hi\"\"\",13800138000\n\"a\"b\",13900139000\n",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "say \"hi\""},
				{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Name: "a\"b"},
			},
		},
		{
			name: "unterminated quote rejects its line and keeps the rows after it",
			in: "name,phone\n" +
				"Ann,13800138000\n" +
				"\"Bob,13900139000\n" +
				"Cat,13700137000\n" +
				"Dan,13600136000\n",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "Ann"},
				{Line: 4, Phone: "+8613700137000", RawPhone: "13700137000", Name: "Cat"},
				{Line: 5, Phone: "+8613600136000", RawPhone: "13600136000", Name: "Dan"},
			},
			rejected: []RowError{{Line: 3, Error: unterminated}},
		},
		{
			name: "stray quote that a quote on a later line closes",
			in: "name,phone,note\n" +
				"\"Ann,13800138000,x\n" +
				"Bob,13900139000,\"y\"\n" +
				"Cat,13700137000,z\n",
			// encoding/csv alone reads lines 2-3 as one field ending at `y"`.
			rows: []ImportRow{
				{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Name: "Bob",
					Fields: map[string]string{"note": "y"}},
				{Line: 4, Phone: "+8613700137000", RawPhone: "13700137000", Name: "Cat",
					Fields: map[string]string{"note": "z"}},
			},
			rejected: []RowError{{Line: 2, Error: "a quoted value opens on this line and runs on to line 3, leaving 1 field where the header has 3; check the quotes (the line was skipped)"}},
		},
		{
			name: "Excel number artefacts",
			in:   "phone\n13800138000.0\n1.3900139E+10\n8.61381E+12\n",
			rows: []ImportRow{
				{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000.0"},
				{Line: 3, Phone: "+8613900139000", RawPhone: "1.3900139E+10"},
			},
			rejected: []RowError{{Line: 4, Error: `phone "8.61381E+12": scientific notation 8.61381E+12 has lost digits (spreadsheet column formatted as a number); export the column as text`}},
		},
		{
			name: "duplicate and empty headers",
			in:   "phone,note,note,\n13800138000,a,b,c\n",
			rows: []ImportRow{{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000",
				Fields: map[string]string{"note": "a", "note (2)": "b", "column 4": "c"}}},
		},
		{
			name: "leftmost phone column wins, the other is kept",
			in:   "name,mobile,tel\nAnn,13800138000,010-12345678\n",
			rows: []ImportRow{{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "Ann",
				Fields: map[string]string{"tel": "010-12345678"}}},
		},
		{
			name:   "default region",
			region: "US",
			in:     "phone\n(415) 555-2671\n13800138000\n",
			rows:   []ImportRow{{Line: 2, Phone: "+14155552671", RawPhone: "(415) 555-2671"}},
			rejected: []RowError{
				{Line: 3, Error: `phone "13800138000": not a valid phone number for region US`},
			},
		},
		{
			name: "long bad phone is cut in the message",
			in:   "phone\n" + strings.Repeat("x", 50) + "\n",
			rejected: []RowError{
				{Line: 2, Error: `phone "` + strings.Repeat("x", 40) + `"…: contains letters`},
			},
		},
		{
			name: "last line without newline",
			in:   "phone\r\n13800138000",
			rows: []ImportRow{{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.in), PhoneNormalizer{DefaultRegion: tt.region})
			if err != nil {
				t.Fatalf("ParseCSV: %v", err)
			}
			checkResult(t, got, tt.rows, tt.rejected)
		})
	}
}

func TestParseCSVEncodings(t *testing.T) {
	const text = "姓名,手机,备注\r\n张三,13800138000,备注：下午再打\r\n李四,13900139000,老客户\r\n"
	want := []ImportRow{
		{Line: 2, Phone: "+8613800138000", RawPhone: "13800138000", Name: "张三",
			Fields: map[string]string{"备注": "备注：下午再打"}},
		{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Name: "李四",
			Fields: map[string]string{"备注": "老客户"}},
	}
	mustEncode := func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"UTF-8", []byte(text)},
		{"UTF-8 with BOM", []byte("\ufeff" + text)},
		{"GBK", mustEncode(simplifiedchinese.GBK.NewEncoder().Bytes([]byte(text)))},
		{"GB18030", mustEncode(simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(text)))},
		{"UTF-16LE with BOM (Excel Unicode text)", mustEncode(
			unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(strings.ReplaceAll(text, ",", "\t"))))},
		{"UTF-16BE with BOM", mustEncode(
			unicode.UTF16(unicode.BigEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(bytes.NewReader(tt.in), PhoneNormalizer{})
			if err != nil {
				t.Fatalf("ParseCSV: %v", err)
			}
			checkResult(t, got, want, nil)
		})
	}
}

// TestParseCSVBadTextLater covers a file whose first MiB is valid UTF-8 and whose later
// bytes are not: the encoding is already chosen, so the row is rejected, not the file.
func TestParseCSVBadTextLater(t *testing.T) {
	var b strings.Builder
	b.WriteString("phone,note\n")
	note := strings.Repeat("备", (MaxFieldBytes-10)/3)
	lines := 1
	for i := 0; b.Len() <= sniffBytes; i++ {
		fmt.Fprintf(&b, "1380013%04d,%s\n", i, note)
		lines++
	}
	gbk, _ := simplifiedchinese.GBK.NewEncoder().String("张三")
	fmt.Fprintf(&b, "13900139000,%s\n", gbk)
	b.WriteString("13700137000,ok\n")

	got, err := ParseCSV(strings.NewReader(b.String()), PhoneNormalizer{})
	if err != nil {
		t.Fatalf("ParseCSV: %v", err)
	}
	if len(got.Rows) != lines {
		t.Errorf("got %d rows, want %d", len(got.Rows), lines)
	}
	wantErr := []RowError{{Line: lines + 1, Error: `column "note" is not valid UTF-8 text`}}
	if !reflect.DeepEqual(got.Rejected, wantErr) {
		t.Errorf("rejected %v, want %v", got.Rejected, wantErr)
	}
}

func TestParseCSVLimits(t *testing.T) {
	t.Run("field too long", func(t *testing.T) {
		in := "phone,note\n13800138000," + strings.Repeat("a", MaxFieldBytes+1) + "\n13900139000,ok\n"
		got, err := ParseCSV(strings.NewReader(in), PhoneNormalizer{})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, got,
			[]ImportRow{{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Fields: map[string]string{"note": "ok"}}},
			[]RowError{{Line: 2, Error: fmt.Sprintf(`column "note" is longer than %d bytes`, MaxFieldBytes)}})
	})
	t.Run("line too long", func(t *testing.T) {
		in := "phone,note\n13800138000," + strings.Repeat("a", maxLineBytes) + "\n13900139000,ok\n"
		got, err := ParseCSV(strings.NewReader(in), PhoneNormalizer{})
		if err != nil {
			t.Fatal(err)
		}
		checkResult(t, got,
			[]ImportRow{{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Fields: map[string]string{"note": "ok"}}},
			[]RowError{{Line: 2, Error: fmt.Sprintf("line is longer than %d bytes", maxLineBytes)}})
	})
	t.Run("quoted field over 100 lines", func(t *testing.T) {
		in := "phone,note\n13800138000,\"" + strings.Repeat("x\n", maxRecordLines) + "\"\n13900139000,ok\n"
		got, err := ParseCSV(strings.NewReader(in), PhoneNormalizer{})
		if err != nil {
			t.Fatal(err)
		}
		// Line 2 opens a field that would run to line 102; lines 3-101 ("x") and 102 (`"`,
		// never closed before the end) are read again and rejected; line 103 is fine.
		if len(got.Rows) != 1 || got.Rows[0].Line != maxRecordLines+3 {
			t.Errorf("rows %+v, want one at line %d", got.Rows, maxRecordLines+3)
		}
		if n := len(got.Rejected); n != maxRecordLines+1 {
			t.Errorf("%d rejections, want %d", n, maxRecordLines+1)
		}
		if len(got.Rejected) == 0 || got.Rejected[0] != (RowError{Line: 2, Error: unterminated}) {
			t.Errorf("first rejection %v, want line 2 unterminated", got.Rejected[:min(1, len(got.Rejected))])
		}
	})
	t.Run("row limit", func(t *testing.T) {
		defer func(n int) { importRowLimit = n }(importRowLimit)
		importRowLimit = 3
		ok := "phone\n13800138000\n13900139000\n\n13700137000\n"
		if _, err := ParseCSV(strings.NewReader(ok), PhoneNormalizer{}); err != nil {
			t.Errorf("3 rows: %v", err)
		}
		_, err := ParseCSV(strings.NewReader(ok+"bad\n"), PhoneNormalizer{})
		if !errors.Is(err, ErrBadImport) || !strings.Contains(err.Error(), "more than 3 rows") {
			t.Errorf("4 rows: err = %v, want more than 3 rows", err)
		}
	})
}

func TestParseCSVUnusable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "unusable import file: no header row: the file is empty"},
		{"only blank lines", "\r\n\r\n  \n", "unusable import file: no header row: the file is empty"},
		{"BOM only", "\ufeff", "unusable import file: no header row: the file is empty"},
		{"no phone column", "姓名,备注\n张三,x\n", "unusable import file: no phone column: the header row needs one of phone, mobile, number, tel, phone_number, telephone, phonenumber, mobile_phone, mobile_number, 电话, 手机, 手机号, 手机号码, 电话号码, 联系电话; it has 姓名, 备注"},
		{"binary", "PK\x03\x04\x00\x00zip", "unusable import file: not a text file (it contains NUL bytes); upload CSV text, not a spreadsheet"},
		{"neither UTF-8 nor GB18030", "phone\n\x80\xff\x80\xff\n", "unusable import file: text is neither UTF-8 nor GB18030; save the file as CSV UTF-8"},
		{"header too long", strings.Repeat("a", maxHeaderBytes+1), fmt.Sprintf("unusable import file: header row is longer than %d bytes", maxHeaderBytes)},
		{"unterminated quote in header", "\"phone,name\n1,2\n", "unusable import file: header row (line 1): " + unterminated},
		{"too many columns", "phone" + strings.Repeat(",c", maxColumns) + "\n", fmt.Sprintf("unusable import file: header row (line 1) has %d columns; at most %d are allowed", maxColumns+1, maxColumns)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCSV(strings.NewReader(tt.in), PhoneNormalizer{})
			if err == nil {
				t.Fatalf("ParseCSV = %+v, want error %q", got, tt.want)
			}
			if !errors.Is(err, ErrBadImport) || err.Error() != tt.want {
				t.Errorf("error = %q, want %q wrapping ErrBadImport", err, tt.want)
			}
			if got.Rows != nil || got.Rejected != nil {
				t.Errorf("result with the error: %+v", got)
			}
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	in := func() *bytes.Buffer { return bytes.NewBufferString("phone\n13800138000\n") }
	for name, parse := range map[string]func() error{
		"csv start": func() error { _, err := ParseCSV(failingReader{boom}, PhoneNormalizer{}); return err },
		"csv later": func() error {
			_, err := ParseCSV(ioMulti(in(), failingReader{boom}), PhoneNormalizer{})
			return err
		},
		"json": func() error { _, err := ParseJSON(failingReader{boom}, PhoneNormalizer{}); return err },
	} {
		if err := parse(); !errors.Is(err, boom) || errors.Is(err, ErrBadImport) {
			t.Errorf("%s: err = %v, want the read error, not ErrBadImport", name, err)
		}
	}
}

// ioMulti is io.MultiReader without its EOF handling: the last reader's error is final.
func ioMulti(a *bytes.Buffer, b failingReader) *multi { return &multi{a, b} }

type multi struct {
	a *bytes.Buffer
	b failingReader
}

func (m *multi) Read(p []byte) (int, error) {
	if m.a.Len() > 0 {
		return m.a.Read(p)
	}
	return m.b.Read(p)
}

// TestParseCSV200 is the acceptance case: 200 good rows and 3 malformed ones at known
// lines give exactly the 200 rows and the 3 lines.
func TestParseCSV200(t *testing.T) {
	var b strings.Builder
	b.WriteString("\ufeff姓名,手机号,备注\r\n")
	bad := map[int]string{
		57:  "坏号码,12345678901,x\r\n",    // valid-looking, unallocated
		120: "少一列,13312345678\r\n",      // wrong field count
		181: "字母,138abcd8000,备注：字母\r\n", // letters
	}
	wantBad := []RowError{
		{Line: 57, Error: `phone "12345678901": not a valid phone number for region CN`},
		{Line: 120, Error: "has 2 fields, header has 3"},
		{Line: 181, Error: `phone "138abcd8000": contains letters`},
	}
	good := 0
	for line := 2; good < 200 || len(bad) > 0; line++ {
		if s, ok := bad[line]; ok {
			b.WriteString(s)
			delete(bad, line)
			continue
		}
		fmt.Fprintf(&b, "客户%d,139 %04d %04d,备注：第%d行\r\n", good, good, 1000+good, line)
		good++
	}
	got, err := ParseCSV(strings.NewReader(b.String()), PhoneNormalizer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != 200 {
		t.Errorf("got %d rows, want 200", len(got.Rows))
	}
	for i, r := range got.Rows {
		if want := fmt.Sprintf("备注：第%d行", r.Line); r.Fields["备注"] != want || r.Name != fmt.Sprintf("客户%d", i) {
			t.Errorf("row %d at line %d: %+v", i, r.Line, r)
			break
		}
	}
	checkResult(t, ImportResult{Rejected: got.Rejected}, nil, wantBad)
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		rows     []ImportRow
		rejected []RowError
	}{
		{
			name: "strings, numbers, bools, nulls",
			in: `[
				{"phone": "138 0013 8000", "name": "张三", "备注": "下午再打", "age": 42, "vip": true, "x": null, "empty": ""},
				{"phone": 13900139000, "score": 1.5e3, "tiny": 2.50},
				{"phone": 1.3700137E+10}
			]`,
			rows: []ImportRow{
				{Index: ptr(0), Phone: "+8613800138000", RawPhone: "138 0013 8000", Name: "张三",
					Fields: map[string]string{"备注": "下午再打", "age": "42", "vip": "true"}},
				{Index: ptr(1), Phone: "+8613900139000", RawPhone: "13900139000",
					Fields: map[string]string{"score": "1500", "tiny": "2.50"}},
				{Index: ptr(2), Phone: "+8613700137000", RawPhone: "13700137000"},
			},
		},
		{
			name: "per-index errors",
			in: `[{"phone":"13800138000"}, "13900139000", {"phone":"abc"}, {"name":"x"},
				{"phone":"13700137000","tags":["a"]}, {"phone":"13600136000","addr":{"city":"北京"}},
				{"phone":"+86 138-0013-8000"}, null, {"phone":true}, {"phone":"13500135000"}]`,
			rows: []ImportRow{
				{Index: ptr(0), Phone: "+8613800138000", RawPhone: "13800138000"},
				{Index: ptr(9), Phone: "+8613500135000", RawPhone: "13500135000"},
			},
			rejected: []RowError{
				{Index: ptr(1), Error: "not a JSON object"},
				{Index: ptr(2), Error: `phone "abc": contains letters`},
				{Index: ptr(3), Error: "missing phone"},
				{Index: ptr(4), Error: `field "tags": nested objects and arrays are not supported`},
				{Index: ptr(5), Error: `field "addr": nested objects and arrays are not supported`},
				{Index: ptr(6), Error: "duplicate of index 0"},
				{Index: ptr(7), Error: "not a JSON object"},
				{Index: ptr(8), Error: `phone "true": contains letters`},
			},
		},
		{
			name: "BOM and empty array",
			in:   "\ufeff[]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJSON(strings.NewReader(tt.in), PhoneNormalizer{})
			if err != nil {
				t.Fatalf("ParseJSON: %v", err)
			}
			checkResult(t, got, tt.rows, tt.rejected)
		})
	}
}

func TestParseJSONUnusable(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", "unusable import file: empty file; want a JSON array of objects"},
		{"object", `{"phone":"13800138000"}`, "unusable import file: want a JSON array of objects"},
		{"malformed element", `[{"phone":"13800138000"}, {"phone":]`, "unusable import file: not valid JSON: invalid character ']' looking for beginning of value"},
		{"truncated", `[{"phone":"13800138000"}`, "unusable import file: not valid JSON: unexpected EOF"},
		{"data after the array", `[] []`, "unusable import file: unexpected data after the JSON array"},
		{"not JSON", `phone,name`, "unusable import file: not valid JSON: invalid character 'p' looking for beginning of value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSON(strings.NewReader(tt.in), PhoneNormalizer{})
			if !errors.Is(err, ErrBadImport) || err.Error() != tt.want {
				t.Errorf("error = %v, want %q wrapping ErrBadImport", err, tt.want)
			}
		})
	}
	t.Run("row limit", func(t *testing.T) {
		defer func(n int) { importRowLimit = n }(importRowLimit)
		importRowLimit = 2
		_, err := ParseJSON(strings.NewReader(`[{"phone":"13800138000"},{"phone":"1"},{"phone":"2"}]`), PhoneNormalizer{})
		if !errors.Is(err, ErrBadImport) || !strings.Contains(err.Error(), "more than 2 rows") {
			t.Errorf("err = %v, want more than 2 rows", err)
		}
	})
}

func TestRowErrorJSON(t *testing.T) {
	for _, tt := range []struct {
		e    RowError
		want string
	}{
		{RowError{Line: 3, Error: "x"}, `{"line":3,"error":"x"}`},
		{RowError{Index: ptr(0), Error: "x"}, `{"index":0,"error":"x"}`},
	} {
		b, err := jsonMarshal(tt.e)
		if err != nil || b != tt.want {
			t.Errorf("json of %s = %s, %v; want %s", showRowError(tt.e), b, err, tt.want)
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		"phone,name\n13800138000,a\n",
		"\ufeff姓名,手机号,备注\r\n张三,138 0013 8000,备注：下午再打\r\n",
		"name;mobile\n\"a\nb\";13800138000\n",
		"phone\n\"13800138000\n13900139000\n",
		"phone,n\n\"a\"b\",\"\"\"\n,\n",
		"phone\r13800138000\r",
		"tel\tx\n1.3800138E+10\t\"\t\"\n",
		"phone\n13800138000\n13800138000\n",
		"\xff\xfep\x00h\x00o\x00n\x00e\x00\n\x001\x00",
		"phone\n\x80\x81\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := ParseCSV(bytes.NewReader(in), PhoneNormalizer{})
		if err != nil {
			if !errors.Is(err, ErrBadImport) {
				t.Fatalf("error %v does not wrap ErrBadImport", err)
			}
			return
		}
		last := bytes.Count(in, []byte{'\n'}) + bytes.Count(in, []byte{'\r'}) + 1
		seen := map[int]bool{}
		check := func(line int, what string) {
			if line < 2 || line > last {
				t.Fatalf("%s at line %d; the input has lines 1-%d", what, line, last)
			}
			if seen[line] {
				t.Fatalf("line %d reported twice", line)
			}
			seen[line] = true
		}
		for _, r := range res.Rows {
			check(r.Line, "row")
			if r.Phone == "" || r.Phone[0] != '+' {
				t.Fatalf("row %+v without an E.164 phone", r)
			}
		}
		for _, e := range res.Rejected {
			check(e.Line, "rejection")
			if e.Index != nil || e.Error == "" {
				t.Fatalf("bad rejection %s", showRowError(e))
			}
		}
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`[{"phone":"13800138000","name":"张三","n":1e400}]`))
	f.Add([]byte(`[{"phone":13800138000},{"phone":{"a":1}},[],"x",null]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := ParseJSON(bytes.NewReader(in), PhoneNormalizer{})
		if err != nil {
			if !errors.Is(err, ErrBadImport) {
				t.Fatalf("error %v does not wrap ErrBadImport", err)
			}
			return
		}
		for _, e := range res.Rejected {
			if e.Index == nil || *e.Index < 0 || e.Line != 0 {
				t.Fatalf("bad rejection %s", showRowError(e))
			}
		}
	})
}

func BenchmarkParseCSV(b *testing.B) {
	const rows = 100_000
	var buf bytes.Buffer
	buf.WriteString("\ufeff姓名,手机号,备注,城市\r\n")
	for i := range rows {
		fmt.Fprintf(&buf, "客户%d,1%d%d 0013 %04d,备注：下午再打,北京\r\n", i, 3+i%6, i%10, i%10000)
	}
	in := buf.Bytes()
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	parsed := 0
	for b.Loop() {
		res, err := ParseCSV(bytes.NewReader(in), PhoneNormalizer{})
		if err != nil {
			b.Fatal(err)
		}
		parsed += len(res.Rows) + len(res.Rejected)
	}
	if parsed/b.N != rows {
		b.Fatalf("parsed %d rows per run, want %d", parsed/b.N, rows)
	}
	b.ReportMetric(float64(parsed)/b.Elapsed().Seconds(), "rows/s")
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// TestParseHostileRows covers values PostgreSQL refuses (NUL) and text that would be
// stored changed (bad UTF-8, a key given twice): each is one rejected row, with its line
// or index, and the good rows around it are kept.
func TestParseHostileRows(t *testing.T) {
	t.Run("JSON", func(t *testing.T) {
		in := `[{"phone":"13800138000","name":"a\u0000b"},` +
			"{\"phone\":\"13900139000\",\"note\":\"caf\xe9\"}," +
			`{"phone":"13700137000","phone":"13600136000"},` +
			`{"phone":"13500135000","n\u0000":"x"},` +
			"{\"phone\":\"13400134000\",\"\xff\":\"x\"}," +
			`{"phone":"13300133000","note":"ok"}]`
		got, err := ParseJSON(strings.NewReader(in), PhoneNormalizer{})
		if err != nil {
			t.Fatalf("ParseJSON: %v", err)
		}
		checkResult(t, got,
			[]ImportRow{{Index: ptr(5), Phone: "+8613300133000", RawPhone: "13300133000", Fields: map[string]string{"note": "ok"}}},
			[]RowError{
				{Index: ptr(0), Error: `field "name" contains a NUL character`},
				{Index: ptr(1), Error: `field "note" is not valid UTF-8 text`},
				{Index: ptr(2), Error: `field "phone" appears twice`},
				{Index: ptr(3), Error: `field name "n\x00" contains a NUL character`},
				{Index: ptr(4), Error: "a field name is not valid UTF-8 text"},
			})
	})
	t.Run("CSV", func(t *testing.T) {
		in := "phone,note\n13800138000,a\x00b\n13900139000,ok\n"
		got, err := ParseCSV(strings.NewReader(in), PhoneNormalizer{})
		if err != nil {
			t.Fatalf("ParseCSV: %v", err)
		}
		checkResult(t, got,
			[]ImportRow{{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Fields: map[string]string{"note": "ok"}}},
			[]RowError{{Line: 2, Error: `column "note" contains a NUL character`}})
	})
	t.Run("UTF-16 CSV", func(t *testing.T) {
		in, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes(
			[]byte("phone\tnote\n13800138000\ta\x00b\n13900139000\tok\n"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseCSV(bytes.NewReader(in), PhoneNormalizer{})
		if err != nil {
			t.Fatalf("ParseCSV: %v", err)
		}
		checkResult(t, got,
			[]ImportRow{{Line: 3, Phone: "+8613900139000", RawPhone: "13900139000", Fields: map[string]string{"note": "ok"}}},
			[]RowError{{Line: 2, Error: `column "note" contains a NUL character`}})
	})
	t.Run("UTF-16 CSV with NUL in the header", func(t *testing.T) {
		in, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte("phone\tn\x00\n13800138000\tx\n"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseCSV(bytes.NewReader(in), PhoneNormalizer{})
		want := "unusable import file: header row (line 1): column 2 contains a NUL character"
		if !errors.Is(err, ErrBadImport) || err.Error() != want {
			t.Errorf("error = %v, want %q", err, want)
		}
	})
}

// FuzzImportRow puts one fuzzed key and value into a JSON row and one fuzzed value into a
// CSV row: whatever they are, parsing does not panic, every accepted row holds valid
// UTF-8 without NUL, and every rejection points at its index (JSON) or line (CSV).
func FuzzImportRow(f *testing.F) {
	for _, s := range [][2]string{
		{`"note"`, `"ok"`},
		{`"note"`, `"a\u0000b"`},
		{`"n\u0000"`, `"x"`},
		{`"phone"`, `"13900139000"`},
		{"\"\xff\"", `"x"`},
		{`"note"`, "\"caf\xe9\""},
		{`"note"`, `"\ud800"`},
		{`"note"`, `1e400`},
		{`"note"`, `{"a":1}`},
		{`"note"`, "\"\"\n13700137000,x"},
	} {
		f.Add(s[0], s[1])
	}
	textOK := func(t *testing.T, what, s string) {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			t.Fatalf("accepted %s %q is not storable text", what, s)
		}
	}
	rowOK := func(t *testing.T, r ImportRow) {
		textOK(t, "phone", r.RawPhone)
		textOK(t, "name", r.Name)
		for k, v := range r.Fields {
			textOK(t, "key", k)
			textOK(t, "value", v)
		}
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		in := `[{"phone":"13800138000",` + key + `:` + value + `},{"phone":"13900139000"}]`
		res, err := ParseJSON(strings.NewReader(in), PhoneNormalizer{})
		if err == nil {
			for _, r := range res.Rows {
				rowOK(t, r)
				if r.Index == nil || *r.Index > 1 {
					t.Fatalf("row %+v without its index", r)
				}
			}
			for _, e := range res.Rejected {
				if e.Index == nil || *e.Index > 1 || e.Line != 0 || e.Error == "" {
					t.Fatalf("bad rejection %s", showRowError(e))
				}
			}
		} else if !errors.Is(err, ErrBadImport) {
			t.Fatalf("error %v does not wrap ErrBadImport", err)
		}

		in = "phone,note\n13800138000," + value + "\n13900139000,ok\n"
		res, err = ParseCSV(strings.NewReader(in), PhoneNormalizer{})
		if err != nil {
			if !errors.Is(err, ErrBadImport) {
				t.Fatalf("error %v does not wrap ErrBadImport", err)
			}
			return
		}
		last := strings.Count(in, "\n") + strings.Count(in, "\r")
		for _, r := range res.Rows {
			rowOK(t, r)
			if r.Line < 2 || r.Line > last {
				t.Fatalf("row at line %d; the input has lines 1-%d", r.Line, last)
			}
		}
		for _, e := range res.Rejected {
			if e.Line < 2 || e.Line > last || e.Index != nil || e.Error == "" {
				t.Fatalf("bad rejection %s", showRowError(e))
			}
		}
	})
}
