package codec

import (
	"bytes"
	_ "embed"
	"strconv"
	"sync"
)

// CAFIS record kind codes of the built-in model (specs/cafis.yaml).
const (
	KindSignonReq         = "0010" // 開局
	KindSignonResp        = "0011"
	KindSignoffReq        = "0020" // 閉局
	KindSignoffResp       = "0021"
	KindEchoReq           = "0030"
	KindEchoResp          = "0031"
	KindSalesReq          = "0100"
	KindSalesResp         = "0101"
	KindCancelReq         = "0200" // app-initiated cancel
	KindCancelResp        = "0201"
	KindCancelCommand     = "0300" // 取消指令, system cancel
	KindCancelCommandResp = "0301"
	KindCancelConfirm     = "0400" // 取消確認指令
	KindCancelConfirmResp = "0401"
)

// CAFIS result codes (header, 3 digits).
const (
	ResultApproved          = "000" // approved / done
	ResultDoNotHonor        = "005"
	ResultNothingToCancel   = "025"
	ResultFormatError       = "030"
	ResultInsufficientFunds = "051"
	ResultNotSignedOn       = "091"
	ResultDuplicateSerial   = "094" // same 通番 with different content
)

// CAFIS sales operation codes (body field op).
const (
	OpSale     = "10"
	OpRefund   = "20"
	OpAuthOnly = "30"
)

// Cancel-confirmation response status (body field status).
const (
	StatusCancelled = 'C'
	StatusStands    = 'S'
	StatusNotKnown  = 'N'
)

// CAFIS header layout: offsets and lengths.
const (
	CafisHeaderLen = 48

	cafisOffKind     = 0
	cafisOffRetrans  = 4
	cafisOffMerchant = 5
	cafisOffSerial   = 18
	cafisOffDate     = 24
	cafisOffTime     = 32
	cafisOffResult   = 38
	cafisOffReserved = 41

	// MaxCafisFields bounds the body fields of one kind (CafisFields is a fixed array).
	MaxCafisFields = 32
	// MaxCafisKinds bounds the kinds of one spec (the field index packs the kind in 8 bits).
	MaxCafisKinds = 254
	// MaxCafisSerial is the largest 6-digit 通番.
	MaxCafisSerial = 999999
)

var cafisHeaderLayout = [...]struct {
	name    string
	content string
	length  int
}{
	{"kind", "n", 4}, {"retrans", "n", 1}, {"merchant", "an", 13}, {"serial", "n", 6},
	{"date", "n", 8}, {"time", "n", 6}, {"result", "n", 3}, {"reserved", "ans", 7},
}

type cafisField struct {
	name    string
	label   string // kind.name, e.g. 0100.pan, for errors
	content uint8
	mask    uint8
	off     int // from the start of the record
	length  int
}

type cafisKind struct {
	code     string
	code32   uint32
	name     string
	response int // kind position of the response, -1 if none
	fields   []cafisField
	bodyLen  int
}

// CafisSpec is a parsed CAFIS spec: the record kinds and their fixed body
// layouts. Immutable after loading, safe for concurrent use.
type CafisSpec struct {
	name  string
	kinds []cafisKind
}

// CafisHeader is the 48-byte record header in typed form.
type CafisHeader struct {
	Kind     [4]byte
	Retrans  bool
	Merchant [13]byte // an, left-aligned; NUL bytes are written as spaces
	Serial   uint32   // 通番, 0..999999
	Date     [8]byte  // cut-target date YYYYMMDD
	Time     [6]byte  // HHMMSS
	Result   [3]byte  // digits; all NUL (zero value) is written as "000"
}

// SetKind copies a kind code such as KindSalesReq.
func (h *CafisHeader) SetKind(code string) { copy(h.Kind[:], code) }

// SetMerchant copies a merchant code, space-padding it.
func (h *CafisHeader) SetMerchant(m string) {
	n := copy(h.Merchant[:], m)
	for ; n < len(h.Merchant); n++ {
		h.Merchant[n] = ' '
	}
}

// SetResult copies a result code such as ResultApproved.
func (h *CafisHeader) SetResult(code string) { copy(h.Result[:], code) }

func code32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (s *CafisSpec) kindPos(code []byte) int {
	if len(code) != 4 {
		return -1
	}
	c := code32(code)
	for i := range s.kinds {
		if s.kinds[i].code32 == c {
			return i
		}
	}
	return -1
}

// Name is the spec's name.
func (s *CafisSpec) Name() string { return s.name }

// Kinds lists the kind codes in spec order.
func (s *CafisSpec) Kinds() []string {
	out := make([]string, len(s.kinds))
	for i := range s.kinds {
		out[i] = s.kinds[i].code
	}
	return out
}

// KindName is the descriptive name of a kind code ("" if unknown).
func (s *CafisSpec) KindName(code string) string {
	if k := s.kindPos([]byte(code)); k >= 0 {
		return s.kinds[k].name
	}
	return ""
}

// ResponseKind is the response kind code of a request kind ("" if none).
func (s *CafisSpec) ResponseKind(code string) string {
	if k := s.kindPos([]byte(code)); k >= 0 && s.kinds[k].response >= 0 {
		return s.kinds[s.kinds[k].response].code
	}
	return ""
}

// RecordLen is the total record length (header + body) of a kind, or -1.
func (s *CafisSpec) RecordLen(code string) int {
	if k := s.kindPos([]byte(code)); k >= 0 {
		return CafisHeaderLen + s.kinds[k].bodyLen
	}
	return -1
}

// FieldNames lists a kind's body field names in wire order.
func (s *CafisSpec) FieldNames(code string) []string {
	k := s.kindPos([]byte(code))
	if k < 0 {
		return nil
	}
	out := make([]string, len(s.kinds[k].fields))
	for i, f := range s.kinds[k].fields {
		out[i] = f.name
	}
	return out
}

// FieldIndex resolves a body field of a kind (4-character code) to the index
// used by CafisRecord.Field and CafisFields.Set. Resolve once at init. The
// index also identifies the kind, so a field of one kind is never read from
// a record of another.
func (s *CafisSpec) FieldIndex(kind string, name string) (int, error) {
	k := s.kindPos([]byte(kind))
	if k < 0 {
		return 0, &FieldError{Name: "kind " + kind, Offset: -1, Err: ErrUnknownField}
	}
	for i, f := range s.kinds[k].fields {
		if f.name == name {
			return fieldIdx(k, i), nil
		}
	}
	return 0, &FieldError{Name: kind + "." + name, Offset: -1, Err: ErrUnknownField}
}

func fieldIdx(kindPos, fieldPos int) int { return (kindPos+1)<<8 | fieldPos }

func splitIdx(idx int) (kindPos, fieldPos int) { return idx>>8 - 1, idx & 0xff }

// MustFieldIndex is FieldIndex for package-level initialisation against a
// spec known to define the field; it panics otherwise.
func (s *CafisSpec) MustFieldIndex(kind, name string) int {
	i, err := s.FieldIndex(kind, name)
	if err != nil {
		panic(err)
	}
	return i
}

// CafisRecord is a decoded CAFIS record: a view of the payload. The zero
// value is ready for Decode; reuse it by decoding into it again.
type CafisRecord struct {
	spec   *CafisSpec
	raw    []byte
	kind   int
	serial uint32
}

// Decode parses one record (a frame's payload) into r, validating the header
// and every body field. r keeps a reference to payload; on error r is empty.
func (s *CafisSpec) Decode(r *CafisRecord, payload []byte) error {
	r.spec = s
	r.raw = nil
	r.kind = -1
	p := payload
	if len(p) < CafisHeaderLen {
		return fieldErr(0, "header", len(p), ErrShortFrame)
	}
	k := s.kindPos(p[cafisOffKind : cafisOffKind+4])
	if k < 0 {
		return fieldErr(0, "header.kind", cafisOffKind, ErrUnknownField)
	}
	if c := p[cafisOffRetrans]; c != '0' && c != '1' {
		return fieldErr(0, "header.retrans", cafisOffRetrans, ErrBadValue)
	}
	if i := badByte(p[cafisOffMerchant:cafisOffSerial], contentAN, classAlnum); i >= 0 {
		return fieldErr(0, "header.merchant", cafisOffMerchant+i, ErrBadCharacter)
	}
	serial, ok := parseDigits(p[cafisOffSerial:cafisOffDate])
	if !ok {
		return fieldErr(0, "header.serial", cafisOffSerial, ErrNotNumeric)
	}
	for _, h := range [...]struct {
		name     string
		from, to int
	}{{"header.date", cafisOffDate, cafisOffTime}, {"header.time", cafisOffTime, cafisOffResult}, {"header.result", cafisOffResult, cafisOffReserved}} {
		if i := badByte(p[h.from:h.to], contentN, classDigit); i >= 0 {
			return fieldErr(0, h.name, h.from+i, ErrNotNumeric)
		}
	}
	kd := &s.kinds[k]
	if want := CafisHeaderLen + kd.bodyLen; len(p) != want {
		if len(p) < want {
			return &FieldError{Name: "record " + kd.code, Offset: len(p), Err: ErrShortFrame, Detail: "body shorter than the kind's layout"}
		}
		return &FieldError{Name: "record " + kd.code, Offset: want, Err: ErrBadLength, Detail: "bytes after the kind's layout"}
	}
	for i := range kd.fields {
		f := &kd.fields[i]
		if v := p[f.off : f.off+f.length]; !allIn(v, f.mask) {
			j := badByte(v, f.content, f.mask)
			return fieldErr(fieldIdx(k, i), f.label, f.off+j, contentErr(f.content, j))
		}
	}
	r.raw = payload
	r.kind = k
	r.serial = uint32(serial)
	return nil
}

func (r *CafisRecord) hdr(from, to int) []byte {
	if r.raw == nil {
		return nil
	}
	return r.raw[from:to:to]
}

// Raw is the whole record.
func (r *CafisRecord) Raw() []byte { return r.raw }

// Kind is the 4-digit kind code.
func (r *CafisRecord) Kind() []byte { return r.hdr(cafisOffKind, cafisOffRetrans) }

// KindIs reports whether the record is of the given kind code.
func (r *CafisRecord) KindIs(code string) bool {
	return r.raw != nil && string(r.raw[cafisOffKind:cafisOffRetrans]) == code
}

// Retrans reports the retransmission flag （再）.
func (r *CafisRecord) Retrans() bool { return r.raw != nil && r.raw[cafisOffRetrans] == '1' }

// Merchant is the 13-byte merchant code, padding included.
func (r *CafisRecord) Merchant() []byte { return r.hdr(cafisOffMerchant, cafisOffSerial) }

// Serial is the processing serial number 通番.
func (r *CafisRecord) Serial() uint32 { return r.serial }

// Date is the cut-target date YYYYMMDD.
func (r *CafisRecord) Date() []byte { return r.hdr(cafisOffDate, cafisOffTime) }

// Time is HHMMSS.
func (r *CafisRecord) Time() []byte { return r.hdr(cafisOffTime, cafisOffResult) }

// Result is the 3-digit result code.
func (r *CafisRecord) Result() []byte { return r.hdr(cafisOffResult, cafisOffReserved) }

// Header returns the header in typed form (a copy; no allocation).
func (r *CafisRecord) Header() CafisHeader {
	var h CafisHeader
	if r.raw == nil {
		return h
	}
	copy(h.Kind[:], r.Kind())
	h.Retrans = r.Retrans()
	copy(h.Merchant[:], r.Merchant())
	h.Serial = r.serial
	copy(h.Date[:], r.Date())
	copy(h.Time[:], r.Time())
	copy(h.Result[:], r.Result())
	return h
}

func (r *CafisRecord) field(idx int) *cafisField {
	if r.raw == nil {
		return nil
	}
	k, i := splitIdx(idx)
	if k != r.kind || i >= len(r.spec.kinds[k].fields) {
		return nil
	}
	return &r.spec.kinds[k].fields[i]
}

// Field is the raw (padded) bytes of a body field; nil if idx belongs to
// another kind or the record is empty.
func (r *CafisRecord) Field(idx int) []byte {
	f := r.field(idx)
	if f == nil {
		return nil
	}
	end := f.off + f.length
	return r.raw[f.off:end:end]
}

// FieldTrim is Field without the padding: trailing spaces of alphanumeric
// fields are removed (numeric fields are returned as they are).
func (r *CafisRecord) FieldTrim(idx int) []byte {
	f := r.field(idx)
	if f == nil {
		return nil
	}
	v := r.raw[f.off : f.off+f.length]
	if f.content != contentN {
		for len(v) > 0 && v[len(v)-1] == ' ' {
			v = v[:len(v)-1]
		}
	}
	return v
}

// FieldUint parses a numeric body field in place.
func (r *CafisRecord) FieldUint(idx int) (uint64, bool) { return parseDigits(r.Field(idx)) }

// CafisFields collects the body fields of a record to encode. Fixed array,
// reusable (Reset); setters never allocate and keep a reference to v until
// the record is encoded.
type CafisFields struct {
	kind int // kind position + 1; 0 = not yet bound to a kind
	set  uint32
	v    [MaxCafisFields]isoValue
	bad  int
}

// Reset removes every field.
func (f *CafisFields) Reset() {
	for i := 0; f.set != 0; i++ {
		if f.set&1 != 0 {
			f.v[i] = isoValue{}
		}
		f.set >>= 1
	}
	f.kind = 0
	f.bad = 0
}

func (f *CafisFields) slot(idx int) *isoValue {
	k, i := splitIdx(idx)
	if k < 0 || k >= MaxCafisKinds || i >= MaxCafisFields || (f.kind != 0 && f.kind != k+1) {
		if f.bad == 0 {
			f.bad = idx
			if f.bad == 0 {
				f.bad = -1
			}
		}
		return nil
	}
	f.kind = k + 1
	f.set |= 1 << uint(i)
	return &f.v[i]
}

// Set sets a body field (index from FieldIndex) to v, before padding.
func (f *CafisFields) Set(idx int, v []byte) {
	if p := f.slot(idx); p != nil {
		*p = isoValue{b: v, kind: valBytes}
	}
}

// SetString is Set for a string; it does not allocate.
func (f *CafisFields) SetString(idx int, v string) {
	if p := f.slot(idx); p != nil {
		*p = isoValue{b: bytesOf(v), kind: valBytes}
	}
}

// SetUint sets a field to a number, right-aligned and zero-padded at encode time.
func (f *CafisFields) SetUint(idx int, v uint64) {
	if p := f.slot(idx); p != nil {
		*p = isoValue{u: v, kind: valUint}
	}
}

// Append appends one record (header and body; no frame header) to dst. f
// may be nil for kinds without a body. Every body field of the kind must be
// set. On error dst is returned unchanged in length.
func (s *CafisSpec) Append(dst []byte, h *CafisHeader, f *CafisFields) ([]byte, error) {
	start := len(dst)
	k := s.kindPos(h.Kind[:])
	if k < 0 {
		return dst, fieldErr(0, "header.kind", -1, ErrUnknownField)
	}
	kd := &s.kinds[k]
	if f != nil {
		if f.bad != 0 {
			return dst, fieldErr(f.bad, "", -1, ErrUnknownField)
		}
		if f.kind != 0 && f.kind != k+1 {
			return dst, &FieldError{Name: "record " + kd.code, Offset: -1, Err: ErrUnknownField, Detail: "fields belong to kind " + s.kinds[f.kind-1].code}
		}
	}
	dst = append(dst, h.Kind[:]...)
	if h.Retrans {
		dst = append(dst, '1')
	} else {
		dst = append(dst, '0')
	}
	for _, c := range h.Merchant {
		if c == 0 {
			c = ' '
		}
		if charClass[c]&classAlnum == 0 {
			return dst[:start], fieldErr(0, "header.merchant", -1, ErrBadCharacter)
		}
		dst = append(dst, c)
	}
	if h.Serial > MaxCafisSerial {
		return dst[:start], fieldErr(0, "header.serial", -1, ErrFieldTooLong)
	}
	dst, _ = appendUintPad(dst, uint64(h.Serial), 6)
	if badByte(h.Date[:], contentN, classDigit) >= 0 {
		return dst[:start], fieldErr(0, "header.date", -1, ErrNotNumeric)
	}
	dst = append(dst, h.Date[:]...)
	if badByte(h.Time[:], contentN, classDigit) >= 0 {
		return dst[:start], fieldErr(0, "header.time", -1, ErrNotNumeric)
	}
	dst = append(dst, h.Time[:]...)
	switch {
	case h.Result == [3]byte{}:
		dst = append(dst, ResultApproved...)
	case badByte(h.Result[:], contentN, classDigit) >= 0:
		return dst[:start], fieldErr(0, "header.result", -1, ErrNotNumeric)
	default:
		dst = append(dst, h.Result[:]...)
	}
	dst = append(dst, "       "...)
	var err error
	for i := range kd.fields {
		fd := &kd.fields[i]
		if f == nil || f.set&(1<<uint(i)) == 0 {
			return dst[:start], fieldErr(fieldIdx(k, i), fd.label, -1, ErrMissingField)
		}
		v := &f.v[i]
		switch v.kind {
		case valUint:
			var ok bool
			if dst, ok = appendUintPad(dst, v.u, fd.length); !ok {
				err = fieldErr(fieldIdx(k, i), fd.label, -1, ErrFieldTooLong)
			}
		default:
			dst, err = appendCafisField(dst, fd, fieldIdx(k, i), v.b)
		}
		if err != nil {
			return dst[:start], err
		}
	}
	return dst, nil
}

func appendCafisField(dst []byte, fd *cafisField, idx int, v []byte) ([]byte, error) {
	n := len(v)
	if n > fd.length {
		return dst, fieldErr(idx, fd.label, -1, ErrFieldTooLong)
	}
	if !allIn(v, fd.mask) {
		i := badByte(v, fd.content, fd.mask)
		return dst, fieldErr(idx, fd.label, -1, contentErr(fd.content, i))
	}
	if fd.content == contentN {
		dst = append(dst, zeros[:fd.length-n]...)
		return append(dst, v...), nil
	}
	dst = append(dst, v...)
	return append(dst, spaces[:fd.length-n]...), nil
}

// The YAML shape of a CAFIS spec file; see specs/cafis.yaml.
type cafisSpecFile struct {
	Name   string           `yaml:"name"`
	Header []cafisFieldFile `yaml:"header"`
	Kinds  []struct {
		Code     string           `yaml:"code"`
		Name     string           `yaml:"name"`
		Response string           `yaml:"response"`
		Fields   []cafisFieldFile `yaml:"fields"`
	} `yaml:"kinds"`
}

type cafisFieldFile struct {
	Name    string `yaml:"name"`
	Content string `yaml:"content"`
	Length  int    `yaml:"length"`
}

// MaxCafisFieldLen bounds one body field.
const MaxCafisFieldLen = 999

// LoadCafisSpec parses and validates a CAFIS spec file (YAML; see
// specs/cafis.yaml). Errors wrap ErrBadSpec and name the field and the problem.
func LoadCafisSpec(data []byte) (*CafisSpec, error) {
	var f cafisSpecFile
	if err := decodeStrict(data, &f); err != nil {
		return nil, err
	}
	if f.Name == "" {
		return nil, specErr(0, "name", "missing spec name")
	}
	if len(f.Header) != len(cafisHeaderLayout) {
		return nil, specErr(0, "header", "must list the "+strconv.Itoa(len(cafisHeaderLayout))+" header fields of the 48-byte header, got "+strconv.Itoa(len(f.Header)))
	}
	for i, h := range f.Header {
		want := cafisHeaderLayout[i]
		if h.Name != want.name || h.Content != want.content || h.Length != want.length {
			return nil, specErr(0, "header."+h.Name, "header field "+strconv.Itoa(i+1)+" must be {name: "+want.name+", content: "+want.content+", length: "+strconv.Itoa(want.length)+"}")
		}
	}
	if len(f.Kinds) == 0 {
		return nil, specErr(0, "kinds", "no record kinds defined")
	}
	if len(f.Kinds) > MaxCafisKinds {
		return nil, specErr(0, "kinds", "more than "+strconv.Itoa(MaxCafisKinds)+" kinds")
	}
	s := &CafisSpec{name: f.Name, kinds: make([]cafisKind, len(f.Kinds))}
	for ki, kf := range f.Kinds {
		label := "kind " + kf.Code
		if len(kf.Code) != 4 || badByte([]byte(kf.Code), contentN, classDigit) >= 0 {
			return nil, specErr(0, label, "code must be 4 decimal digits")
		}
		if s.kindPos([]byte(kf.Code)) >= 0 {
			return nil, specErr(0, label, "defined twice")
		}
		if kf.Name == "" {
			return nil, specErr(0, label, "missing name")
		}
		if len(kf.Fields) > MaxCafisFields {
			return nil, specErr(0, label, "more than "+strconv.Itoa(MaxCafisFields)+" fields")
		}
		kd := &s.kinds[ki]
		kd.code, kd.code32, kd.name, kd.response = kf.Code, code32([]byte(kf.Code)), kf.Name, -1
		off := CafisHeaderLen
		for fi, ff := range kf.Fields {
			flabel := kf.Code + "." + ff.Name
			if ff.Name == "" {
				return nil, specErr(fieldIdx(ki, fi), kf.Code+" field #"+strconv.Itoa(fi+1), "missing name")
			}
			for _, prev := range kd.fields {
				if prev.name == ff.Name {
					return nil, specErr(fieldIdx(ki, fi), flabel, "defined twice")
				}
			}
			c, ok := parseContent(ff.Content)
			if !ok || (c != contentN && c != contentAN && c != contentANS) {
				return nil, specErr(fieldIdx(ki, fi), flabel, "content "+strconv.Quote(ff.Content)+" invalid (n, an or ans)")
			}
			if ff.Length <= 0 || ff.Length > MaxCafisFieldLen {
				return nil, specErr(fieldIdx(ki, fi), flabel, "length "+strconv.Itoa(ff.Length)+" out of range 1.."+strconv.Itoa(MaxCafisFieldLen))
			}
			kd.fields = append(kd.fields, cafisField{name: ff.Name, label: flabel, content: c, mask: contentMask(c), off: off, length: ff.Length})
			off += ff.Length
		}
		kd.bodyLen = off - CafisHeaderLen
		if off > MaxPayloadASCII4 {
			return nil, specErr(0, label, "record longer than a 4-digit frame can carry")
		}
	}
	for ki, kf := range f.Kinds {
		if kf.Response == "" {
			continue
		}
		r := s.kindPos([]byte(kf.Response))
		if r < 0 {
			return nil, specErr(0, "kind "+kf.Code, "response kind "+strconv.Quote(kf.Response)+" not defined")
		}
		s.kinds[ki].response = r
	}
	return s, nil
}

//go:embed specs/cafis.yaml
var cafisYAML []byte

var cafisSpec = sync.OnceValue(func() *CafisSpec {
	s, err := LoadCafisSpec(cafisYAML)
	if err != nil {
		panic("codec: built-in specs/cafis.yaml: " + err.Error())
	}
	return s
})

// CafisBuiltin is the built-in CAFIS model (specs/cafis.yaml), parsed once.
func CafisBuiltin() *CafisSpec { return cafisSpec() }

// CafisSpecYAML returns the embedded spec file, a starting point for a user's own.
func CafisSpecYAML() []byte { return bytes.Clone(cafisYAML) }
