package campaigns

import "testing"

func TestHubFansOutAndCountsDrops(t *testing.T) {
	h := NewHub()
	fast, slow := h.Subscribe(10), h.Subscribe(1)
	for i := 0; i < 3; i++ {
		h.Publish(LiveEvent{Type: "call.originated", CampaignID: int64(i)})
	}
	for i := 0; i < 3; i++ {
		if ev := <-fast.C; ev.CampaignID != int64(i) {
			t.Fatalf("fast subscriber got %+v at %d", ev, i)
		}
	}
	if ev := <-slow.C; ev.CampaignID != 0 {
		t.Fatalf("slow subscriber got %+v", ev)
	}
	if d := slow.Dropped(); d != 2 {
		t.Fatalf("slow subscriber dropped %d, want 2", d)
	}
	if d := slow.Dropped(); d != 0 {
		t.Fatalf("Dropped resets: %d", d)
	}
	slow.Close()
	slow.Close() // idempotent
	if _, ok := <-slow.C; ok {
		t.Fatal("closed subscription still open")
	}
	h.Publish(LiveEvent{Type: "call.ended"}) // no panic after a subscriber left
	var nilHub *Hub
	nilHub.Publish(LiveEvent{})

	h.Close()
	if ev := <-fast.C; ev.Type != "call.ended" {
		t.Fatalf("buffered events survive Close: %+v", ev)
	}
	if _, ok := <-fast.C; ok {
		t.Fatal("Close ends every subscription")
	}
	if _, ok := <-h.Subscribe(1).C; ok {
		t.Fatal("a subscription after Close starts closed")
	}
}
