package crm

import "testing"

func TestMaskPhone(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"CN mobile", "+8613800138000", "+86 138****8000"},
		{"CN Beijing landline", "+861012345678", "+86 101***5678"},
		{"CN Shenzhen landline", "+8675588888888", "+86 755****8888"},
		{"US", "+14155552671", "+1 415***2671"},
		{"UK", "+442079460958", "+44 207***0958"},
		{"Hong Kong, 8 digits", "+85251234567", "+852 51***567"},
		{"Iceland, 7 digits", "+3544211234", "+354 *****34"},
		{"5-digit national number", "+8611234", "+86 ***34"},
		{"4-digit national number", "+861123", "+86 ****"},
		{"invalid but parseable keeps country code", "+8612345678901", "+86 123****8901"},
		{"not E.164", "13800138000", "138****8000"},
		{"formatted, not E.164", "138-0013-8000", "138****8000"},
		{"unknown country code: digits alone", "+99912345678", "+999****5678"},
		{"no digits", "张三", "****"},
		{"plus and no digits", "+", "****"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskPhone(tt.in); got != tt.want {
				t.Errorf("MaskPhone(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
