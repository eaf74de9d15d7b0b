package codec

import (
	"bytes"
	_ "embed"
	"strconv"
	"sync"

	"gopkg.in/yaml.v3"
)

// Length types of an ISO 8583 element.
const (
	lenFixed uint8 = iota + 1
	lenLL
	lenLLL
)

// Padding of a fixed element whose value is shorter than the element.
const (
	padNone       uint8 = iota + 1
	padZeroLeft         // numeric: right-aligned, left-padded with '0'
	padSpaceRight       // alphanumeric: left-aligned, right-padded with ' '
)

// MaxISOElementLen bounds any element (LLL's prefix cannot say more).
const MaxISOElementLen = 999

type isoElem struct {
	defined bool
	lenType uint8
	content uint8
	mask    uint8
	pad     uint8
	xn      uint8 // 1 for x+n: the sign character is checked apart from the digits
	max     int   // exact length for fixed elements, maximum for LL/LLL
	name    string
}

// ISOSpec is a parsed ISO 8583 spec: how the MTI and bitmap are encoded and
// every data element the network uses. It is immutable after loading and
// safe for concurrent use.
type ISOSpec struct {
	name  string
	elems [129]isoElem
}

// ISOElement describes one data element of a spec (introspection, docs, tests).
type ISOElement struct {
	DE      int
	Name    string
	Length  string // "fixed", "LL" or "LLL"
	Content string // "n", "an", "ans", "b" (ASCII hex), "x+n"
	Max     int    // characters on the wire (exact for fixed)
	Pad     string // "none", "zero-left", "space-right"
}

// Name is the spec's name.
func (s *ISOSpec) Name() string { return s.name }

// Element describes data element de.
func (s *ISOSpec) Element(de int) (ISOElement, bool) {
	if de < 2 || de > 128 || !s.elems[de].defined {
		return ISOElement{}, false
	}
	e := &s.elems[de]
	return ISOElement{DE: de, Name: e.name, Length: lenTypeName(e.lenType), Content: contentName(e.content), Max: e.max, Pad: padName(e.pad)}, true
}

// Elements lists the defined data element numbers in ascending order.
func (s *ISOSpec) Elements() []int {
	var des []int
	for de := 2; de <= 128; de++ {
		if s.elems[de].defined {
			des = append(des, de)
		}
	}
	return des
}

func lenTypeName(t uint8) string {
	switch t {
	case lenFixed:
		return "fixed"
	case lenLL:
		return "LL"
	case lenLLL:
		return "LLL"
	}
	return "?"
}

func padName(p uint8) string {
	switch p {
	case padNone:
		return "none"
	case padZeroLeft:
		return "zero-left"
	case padSpaceRight:
		return "space-right"
	}
	return "?"
}

// The YAML shape of an ISO 8583 spec file; see specs/cardnet.yaml.
type isoSpecFile struct {
	Name string `yaml:"name"`
	MTI  struct {
		Encoding string `yaml:"encoding"`
		Length   int    `yaml:"length"`
	} `yaml:"mti"`
	Bitmap struct {
		Encoding  string `yaml:"encoding"`
		Secondary *bool  `yaml:"secondary"`
	} `yaml:"bitmap"`
	Elements []isoElemFile `yaml:"elements"`
}

type isoElemFile struct {
	DE      int    `yaml:"de"`
	Name    string `yaml:"name"`
	Length  string `yaml:"length"`
	Content string `yaml:"content"`
	Max     int    `yaml:"max"`
	Pad     string `yaml:"pad"`
}

func specErr(field int, name, detail string) error {
	return &FieldError{Field: field, Name: name, Offset: -1, Err: ErrBadSpec, Detail: detail}
}

func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		return specErr(0, "spec file", err.Error())
	}
	return nil
}

// LoadISOSpec parses and validates an ISO 8583 spec file (YAML; see
// specs/cardnet.yaml for the format). Errors wrap ErrBadSpec and name the
// element and the problem.
func LoadISOSpec(data []byte) (*ISOSpec, error) {
	var f isoSpecFile
	if err := decodeStrict(data, &f); err != nil {
		return nil, err
	}
	s := &ISOSpec{name: f.Name}
	if f.Name == "" {
		return nil, specErr(0, "name", "missing spec name")
	}
	if f.MTI.Encoding != "ascii" {
		return nil, specErr(0, "mti", "encoding "+strconv.Quote(f.MTI.Encoding)+" not supported (supported: ascii)")
	}
	if f.MTI.Length != 4 {
		return nil, specErr(0, "mti", "length must be 4, got "+strconv.Itoa(f.MTI.Length))
	}
	if f.Bitmap.Encoding != "hex" {
		return nil, specErr(0, "bitmap", "encoding "+strconv.Quote(f.Bitmap.Encoding)+" not supported (supported: hex, 16 ASCII hex characters per bitmap)")
	}
	secondary := f.Bitmap.Secondary == nil || *f.Bitmap.Secondary
	if len(f.Elements) == 0 {
		return nil, specErr(0, "elements", "no data elements defined")
	}
	for i := range f.Elements {
		ef := &f.Elements[i]
		label := ef.Name
		if label == "" {
			label = "element #" + strconv.Itoa(i+1)
		}
		if ef.DE < 2 || ef.DE > 128 {
			return nil, specErr(ef.DE, label, "data element number must be 2..128 (1 is the secondary bitmap)")
		}
		if ef.DE > 64 && !secondary {
			return nil, specErr(ef.DE, label, "elements above 64 need the secondary bitmap")
		}
		if ef.DE == 65 {
			return nil, specErr(ef.DE, label, "element 65 (tertiary bitmap) is not supported")
		}
		e := &s.elems[ef.DE]
		if e.defined {
			return nil, specErr(ef.DE, label, "defined twice")
		}
		if ef.Name == "" {
			return nil, specErr(ef.DE, label, "missing name")
		}
		e.name = ef.Name
		switch ef.Length {
		case "fixed":
			e.lenType = lenFixed
		case "LL":
			e.lenType = lenLL
		case "LLL":
			e.lenType = lenLLL
		default:
			return nil, specErr(ef.DE, label, "length "+strconv.Quote(ef.Length)+" invalid (fixed, LL or LLL)")
		}
		c, ok := parseContent(ef.Content)
		if !ok {
			return nil, specErr(ef.DE, label, "content "+strconv.Quote(ef.Content)+" invalid (n, an, ans, b or x+n)")
		}
		e.content, e.mask = c, contentMask(c)
		limit := MaxISOElementLen
		if e.lenType == lenLL {
			limit = 99
		}
		if ef.Max <= 0 || ef.Max > limit {
			return nil, specErr(ef.DE, label, "max "+strconv.Itoa(ef.Max)+" out of range 1.."+strconv.Itoa(limit))
		}
		e.max = ef.Max
		if c == contentB && e.max%2 != 0 {
			return nil, specErr(ef.DE, label, "binary (b) elements are ASCII hex: max must be even")
		}
		if c == contentXN {
			if e.lenType != lenFixed || e.max < 2 {
				return nil, specErr(ef.DE, label, "x+n elements must be fixed with max >= 2 (sign + digits)")
			}
			e.xn = 1
		}
		switch ef.Pad {
		case "":
			e.pad = padNone
			if e.lenType == lenFixed {
				switch c {
				case contentN:
					e.pad = padZeroLeft
				case contentAN, contentANS:
					e.pad = padSpaceRight
				}
			}
		case "none":
			e.pad = padNone
		case "zero-left":
			e.pad = padZeroLeft
		case "space-right":
			e.pad = padSpaceRight
		default:
			return nil, specErr(ef.DE, label, "pad "+strconv.Quote(ef.Pad)+" invalid (none, zero-left or space-right)")
		}
		if e.pad != padNone && e.lenType != lenFixed {
			return nil, specErr(ef.DE, label, "padding only applies to fixed-length elements")
		}
		if e.pad == padZeroLeft && c != contentN {
			return nil, specErr(ef.DE, label, "zero-left padding needs numeric (n) content")
		}
		if e.pad == padSpaceRight && c != contentAN && c != contentANS {
			return nil, specErr(ef.DE, label, "space-right padding needs an or ans content")
		}
		e.defined = true
	}
	return s, nil
}

//go:embed specs/cardnet.yaml
var cardnetYAML []byte

var cardnetSpec = sync.OnceValue(func() *ISOSpec {
	s, err := LoadISOSpec(cardnetYAML)
	if err != nil {
		// The embedded file is part of the build and covered by tests.
		panic("codec: built-in specs/cardnet.yaml: " + err.Error())
	}
	return s
})

// CardnetSpec is the built-in CARDNET model (specs/cardnet.yaml), parsed once.
func CardnetSpec() *ISOSpec { return cardnetSpec() }

// CardnetSpecYAML returns the embedded spec file, a starting point for a user's own.
func CardnetSpecYAML() []byte { return bytes.Clone(cardnetYAML) }
