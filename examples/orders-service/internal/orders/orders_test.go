package orders

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func validOrder() NewOrder {
	return NewOrder{Customer: "ada", Items: []Item{{SKU: "BOOK-1", Quantity: 2, PriceCents: 1500}, {SKU: "PEN-9", Quantity: 3, PriceCents: 120}}}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*NewOrder)
		fields []string // every field reported, in order; none for a valid order
	}{
		{"valid", func(*NewOrder) {}, nil},
		{"blank customer", func(n *NewOrder) { n.Customer = "  \t" }, []string{"customer"}},
		{"customer too long", func(n *NewOrder) { n.Customer = strings.Repeat("x", MaxCustomerLen+1) }, []string{"customer"}},
		{"customer at limit", func(n *NewOrder) { n.Customer = strings.Repeat("x", MaxCustomerLen) }, nil},
		{"no items", func(n *NewOrder) { n.Items = nil }, []string{"items"}},
		{"too many items", func(n *NewOrder) {
			n.Items = make([]Item, MaxItems+1)
			for i := range n.Items {
				n.Items[i] = Item{SKU: "A", Quantity: 1}
			}
		}, []string{"items"}},
		{"zero quantity", func(n *NewOrder) { n.Items[1].Quantity = 0 }, []string{"items[1].quantity"}},
		{"quantity over limit", func(n *NewOrder) { n.Items[0].Quantity = MaxQuantity + 1 }, []string{"items[0].quantity"}},
		{"negative price", func(n *NewOrder) { n.Items[0].PriceCents = -1 }, []string{"items[0].price_cents"}},
		{"free item is fine", func(n *NewOrder) { n.Items[0].PriceCents = 0 }, nil},
		{"blank sku", func(n *NewOrder) { n.Items[1].SKU = " " }, []string{"items[1].sku"}},
		{"long sku", func(n *NewOrder) { n.Items[1].SKU = strings.Repeat("s", MaxSKULen+1) }, []string{"items[1].sku"}},
		{"every problem at once", func(n *NewOrder) {
			n.Customer = ""
			n.Items[0] = Item{SKU: "", Quantity: -5, PriceCents: MaxPriceCents + 1}
		}, []string{"customer", "items[0].sku", "items[0].quantity", "items[0].price_cents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := validOrder()
			tt.edit(&n)
			err := n.Validate()
			var verr *ValidationError
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.As(err, &verr) {
				t.Fatalf("Validate() = %v, want *ValidationError", err)
			}
			var got []string
			for _, f := range verr.Fields {
				got = append(got, f.Field)
				if f.Message == "" {
					t.Errorf("field %s has no message", f.Field)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	err := NewOrder{Items: []Item{{SKU: "A", Quantity: 0}}}.Validate()
	want := "invalid order: customer: is required; items[0].quantity: must be between 1 and 1000"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestTotalAtTheLimitsFitsInt64(t *testing.T) {
	n := NewOrder{Customer: "big", Items: make([]Item, MaxItems)}
	for i := range n.Items {
		n.Items[i] = Item{SKU: "X", Quantity: MaxQuantity, PriceCents: MaxPriceCents}
	}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	want := int64(MaxItems) * MaxQuantity * MaxPriceCents
	if got := n.Total(); got != want || got <= 0 {
		t.Fatalf("Total() = %d, want %d", got, want)
	}
	if got := validOrder().Total(); got != 2*1500+3*120 {
		t.Fatalf("Total() = %d, want 3360", got)
	}
}

func TestStoreCreateGetList(t *testing.T) {
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	s := NewStore(func() time.Time { clock = clock.Add(time.Second); return clock })

	in := validOrder()
	in.Customer = "  ada  "
	in.Items[0].SKU = " BOOK-1 "
	created, err := s.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if created.Status != StatusPending || created.TotalCents != 3360 || created.Customer != "ada" || created.Items[0].SKU != "BOOK-1" {
		t.Fatalf("created = %+v", created)
	}
	if !strings.HasPrefix(created.ID, "ord_") || len(created.ID) != len("ord_")+16 {
		t.Fatalf("id = %q, want ord_ and 16 hex digits", created.ID)
	}
	if created.CreatedAt.Location() != time.UTC || !created.CreatedAt.Equal(clock) {
		t.Fatalf("created_at = %v, want %v in UTC", created.CreatedAt, clock)
	}

	got, err := s.Get(created.ID)
	if err != nil || got.ID != created.ID || got.TotalCents != created.TotalCents {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	got.Items[0].Quantity = 999 // callers own their copy
	if again, _ := s.Get(created.ID); again.Items[0].Quantity != 2 {
		t.Fatal("mutating a returned order changed the store")
	}

	if _, err := s.Get("ord_missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Create(NewOrder{}); err == nil || s.Len() != 1 {
		t.Fatalf("invalid order: err = %v, len = %d; want an error and nothing stored", err, s.Len())
	}
}

func TestStoreListNewestFirstWithLimit(t *testing.T) {
	s := NewStore(time.Now)
	var ids []string
	for i := range 5 {
		n := validOrder()
		n.Customer = fmt.Sprint("c", i)
		o, err := s.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	list := s.List(3)
	if len(list) != 3 {
		t.Fatalf("List(3) returned %d orders", len(list))
	}
	for i, o := range list {
		if want := ids[4-i]; o.ID != want {
			t.Errorf("List(3)[%d] = %s, want %s (newest first)", i, o.ID, want)
		}
	}
	if got := len(s.List(100)); got != 5 {
		t.Errorf("List(100) returned %d, want 5", got)
	}
	if got := s.List(0); len(got) != 0 {
		t.Errorf("List(0) returned %d orders", len(got))
	}
}

func TestStoreConcurrentCreates(t *testing.T) {
	s := NewStore(time.Now)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	ids := make(chan string, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				o, err := s.Create(validOrder())
				if err != nil {
					t.Error(err)
					return
				}
				ids <- o.ID
				s.List(10)
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	if s.Len() != workers*each || len(seen) != workers*each {
		t.Fatalf("stored %d, unique ids %d, want %d", s.Len(), len(seen), workers*each)
	}
}
