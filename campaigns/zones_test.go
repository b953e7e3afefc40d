package campaigns

import (
	"testing"

	"github.com/callplane/callplane/crm"
)

func TestZoneKey(t *testing.T) {
	tests := []struct {
		name string
		row  crm.ImportRow
		want string
	}{
		{"china mobile", crm.ImportRow{Phone: "+8613800138000"}, "Asia/Shanghai"},
		{"explicit field wins", crm.ImportRow{Phone: "+8613800138000", Fields: map[string]string{"时区": "Asia/Urumqi"}}, "Asia/Urumqi"},
		{"invalid explicit zone is ignored", crm.ImportRow{Phone: "+8613800138000", Fields: map[string]string{"tz": "Mars/Olympus"}}, "Asia/Shanghai"},
		{"london", crm.ImportRow{Phone: "+442079460000"}, "Europe/London"},
		{"new york landline", crm.ImportRow{Phone: "+12125550123"}, "America/New_York"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ZoneKey(tt.row); got != tt.want {
				t.Errorf("ZoneKey = %q, want %q", got, tt.want)
			}
		})
	}
}
