package codec

// CARDNET message type indicators of the model.
const (
	MTIAuthReq            = "0100"
	MTIAuthResp           = "0110"
	MTIFinancialReq       = "0200"
	MTIFinancialResp      = "0210"
	MTIAdvice             = "0220"
	MTIAdviceRepeat       = "0221"
	MTIAdviceResp         = "0230"
	MTIReversalReq        = "0400"
	MTIReversalRepeat     = "0401"
	MTIReversalResp       = "0410"
	MTIReversalAdvice     = "0420"
	MTIReversalAdviceRep  = "0421"
	MTIReversalAdviceResp = "0430"
	MTIReconciliationReq  = "0500"
	MTIReconciliationResp = "0510"
	MTINetworkMgmtReq     = "0800"
	MTINetworkMgmtResp    = "0810"
)

// DE70 network management information codes.
const (
	NetSignon  = "001"
	NetSignoff = "002"
	NetCutover = "201"
	NetEcho    = "301"
)

// DE66 reconciliation results.
const (
	ReconInBalance    = "1"
	ReconOutOfBalance = "2"
)

// Data element numbers the switch and simulator use by name.
const (
	DEPAN              = 2
	DEProcessingCode   = 3
	DEAmount           = 4
	DETransmissionTime = 7
	DESTAN             = 11
	DELocalTime        = 12
	DELocalDate        = 13
	DEExpiry           = 14
	DESettlementDate   = 15
	DEMerchantType     = 18
	DEPOSEntryMode     = 22
	DEPOSCondition     = 25
	DEAcquirerID       = 32
	DERRN              = 37
	DEAuthCode         = 38
	DEResponseCode     = 39
	DETerminalID       = 41
	DEMerchantID       = 42
	DECurrency         = 49
	DEMAC              = 64
	DEReconResult      = 66
	DENetMgmtCode      = 70
	DECreditsCount     = 74
	DECreditRevCount   = 75
	DEDebitsCount      = 76
	DEDebitRevCount    = 77
	DECreditsAmount    = 86
	DECreditRevAmount  = 87
	DEDebitsAmount     = 88
	DEDebitRevAmount   = 89
	DEOriginalData     = 90
	DENetSettlement    = 97
	DEMAC2             = 128
)

// DE90 layout: original MTI (4) + STAN (6) + DE7 (10) + acquirer id (11) + forwarding id (11).
const DE90Len = 42

func appendZeroPadded(dst, v []byte, width int) []byte {
	for n := len(v); n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, v...)
}

// AppendDE90 appends the original data elements of a reversal: the original
// MTI, STAN, transmission date and time (DE7) and acquirer id, each
// left-zero-padded to its width, and a forwarding id of 11 zeros. It does not
// truncate: a part longer than its width makes the value longer than 42,
// which Append then rejects with ErrFieldTooLong.
func AppendDE90(dst, mti []byte, stan uint32, de7 []byte, acq []byte) []byte {
	dst = appendZeroPadded(dst, mti, 4)
	dst, _ = appendUintPad(dst, uint64(stan), 6)
	dst = appendZeroPadded(dst, de7, 10)
	dst = appendZeroPadded(dst, acq, 11)
	return append(dst, "00000000000"...)
}

// ParseDE90 splits DE90 into sub-slices of v (no copy); acq keeps its zero padding.
func ParseDE90(v []byte) (mti []byte, stan uint32, de7 []byte, acq []byte, err error) {
	if len(v) != DE90Len {
		return nil, 0, nil, nil, &FieldError{Field: DEOriginalData, Name: "original data elements", Offset: -1, Err: ErrBadLength, Detail: "want 42 digits"}
	}
	if i := badByte(v, contentN, classDigit); i >= 0 {
		return nil, 0, nil, nil, fieldErr(DEOriginalData, "original data elements", i, ErrNotNumeric)
	}
	s, _ := parseDigits(v[4:10])
	return v[0:4:4], uint32(s), v[10:20:20], v[20:31:31], nil
}

// MaxDE97 is the largest magnitude DE97's 16 digits can carry.
const MaxDE97 = 9999999999999999

// AppendDE97 appends a net settlement amount: 'C' and 16 digits when net >= 0,
// 'D' and 16 digits of -net when negative. A magnitude above MaxDE97 yields
// more than 16 digits, which Append rejects with ErrFieldTooLong.
func AppendDE97(dst []byte, net int64) []byte {
	u := uint64(net)
	if net < 0 {
		dst = append(dst, 'D')
		u = uint64(-(net + 1)) + 1 // safe for math.MinInt64
	} else {
		dst = append(dst, 'C')
	}
	out, ok := appendUintPad(dst, u, 16)
	if !ok {
		out, _ = appendUintPad(dst, u, 0)
	}
	return out
}

// ParseDE97 parses a net settlement amount (C >= 0, D < 0).
func ParseDE97(v []byte) (int64, error) {
	if len(v) != 17 {
		return 0, &FieldError{Field: DENetSettlement, Name: "amount, net settlement", Offset: -1, Err: ErrBadLength, Detail: "want sign and 16 digits"}
	}
	if v[0] != 'C' && v[0] != 'D' {
		return 0, fieldErr(DENetSettlement, "amount, net settlement", 0, ErrBadValue)
	}
	u, ok := parseDigits(v[1:])
	if !ok {
		return 0, fieldErr(DENetSettlement, "amount, net settlement", 1, ErrNotNumeric)
	}
	if v[0] == 'D' {
		return -int64(u), nil
	}
	return int64(u), nil
}
