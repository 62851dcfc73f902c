package orders

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned for an order id the store does not hold.
var ErrNotFound = errors.New("order not found")

// Store keeps orders in memory, in creation order. It is safe for concurrent use.
// Each running task has its own store: the example trades durability for having no
// dependencies.
type Store struct {
	now func() time.Time

	mu     sync.RWMutex
	byID   map[string]*Order
	orders []*Order // creation order, oldest first
}

// NewStore returns an empty store that stamps orders with now().
func NewStore(now func() time.Time) *Store {
	return &Store{now: now, byID: make(map[string]*Order)}
}

// Create validates n and stores it as a new pending order.
func (s *Store) Create(n NewOrder) (Order, error) {
	if err := n.Validate(); err != nil {
		return Order{}, err
	}
	id, err := newID()
	if err != nil {
		return Order{}, fmt.Errorf("create order: %w", err)
	}
	o := &Order{
		ID:         id,
		Customer:   strings.TrimSpace(n.Customer),
		Items:      cleanItems(n.Items),
		Status:     StatusPending,
		TotalCents: n.Total(),
		CreatedAt:  s.now().UTC(),
	}
	s.mu.Lock()
	s.byID[o.ID] = o
	s.orders = append(s.orders, o)
	s.mu.Unlock()
	return o.clone(), nil
}

// Get returns the order with id, or ErrNotFound.
func (s *Store) Get(id string) (Order, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o, ok := s.byID[id]
	if !ok {
		return Order{}, fmt.Errorf("order %q: %w", id, ErrNotFound)
	}
	return o.clone(), nil
}

// List returns at most limit orders, newest first.
func (s *Store) List(limit int) []Order {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := min(limit, len(s.orders))
	out := make([]Order, 0, max(n, 0))
	for i := len(s.orders) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, s.orders[i].clone())
	}
	return out
}

// Len is the number of stored orders.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.orders)
}

// clone copies o so that callers never share the stored items slice.
func (o *Order) clone() Order {
	c := *o
	c.Items = append([]Item(nil), o.Items...)
	return c
}

func cleanItems(items []Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{SKU: strings.TrimSpace(it.SKU), Quantity: it.Quantity, PriceCents: it.PriceCents}
	}
	return out
}

// newID returns "ord_" and 16 random hex digits: unguessable, and unique enough that
// blue and green tasks never hand out the same id.
func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return "ord_" + hex.EncodeToString(b[:]), nil
}
