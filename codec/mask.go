package codec

// MaskPAN appends pan masked for logs and status output: the first 6 and
// last 4 characters kept, '*' in between (PCI DSS display rule). Surrounding
// spaces (CAFIS padding) are dropped. A PAN too short for that rule to hide
// anything is masked harder: 8..12 characters keep only the last 4, shorter
// ones are masked entirely. Never panics, whatever the input.
func MaskPAN(dst, pan []byte) []byte {
	for len(pan) > 0 && pan[0] == ' ' {
		pan = pan[1:]
	}
	for len(pan) > 0 && pan[len(pan)-1] == ' ' {
		pan = pan[:len(pan)-1]
	}
	n := len(pan)
	head, tail := 0, 0
	switch {
	case n >= 13:
		head, tail = 6, 4
	case n >= 8:
		tail = 4
	}
	dst = append(dst, pan[:head]...)
	for i := head; i < n-tail; i++ {
		dst = append(dst, '*')
	}
	return append(dst, pan[n-tail:]...)
}

// MaskPANString is MaskPAN for strings.
func MaskPANString(pan string) string {
	var buf [32]byte
	return string(MaskPAN(buf[:0], []byte(pan)))
}
