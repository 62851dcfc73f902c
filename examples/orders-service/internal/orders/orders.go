// Package orders owns the order domain: what a valid order is, how its total is
// computed, and an in-memory store of orders.
package orders

import (
	"fmt"
	"strings"
	"time"
)

// Order statuses. A new order is always pending; nothing else changes it in this
// example service.
const StatusPending = "pending"

// Limits on what a client may submit.
const (
	MaxCustomerLen = 200
	MaxSKULen      = 64
	MaxItems       = 100
	MaxQuantity    = 1000
	MaxPriceCents  = 100_000_000 // one million in the currency's main unit
)

// Item is one line of an order.
type Item struct {
	SKU        string `json:"sku"`
	Quantity   int64  `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

// NewOrder is what a client submits to create an order.
type NewOrder struct {
	Customer string `json:"customer"`
	Items    []Item `json:"items"`
}

// Order is a stored order.
type Order struct {
	ID         string    `json:"id"`
	Customer   string    `json:"customer"`
	Items      []Item    `json:"items"`
	Status     string    `json:"status"`
	TotalCents int64     `json:"total_cents"`
	CreatedAt  time.Time `json:"created_at"`
}

// FieldError says which field of a NewOrder is wrong and why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every problem of a NewOrder, not only the first.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid order: " + strings.Join(parts, "; ")
}

// Validate checks n and returns a *ValidationError naming every bad field, or nil.
// The limits keep TotalCents far from overflowing int64.
func (n NewOrder) Validate() error {
	var errs []FieldError
	add := func(field, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	customer := strings.TrimSpace(n.Customer)
	switch {
	case customer == "":
		add("customer", "is required")
	case len(customer) > MaxCustomerLen:
		add("customer", "must be at most %d bytes", MaxCustomerLen)
	}
	switch {
	case len(n.Items) == 0:
		add("items", "must contain at least one item")
	case len(n.Items) > MaxItems:
		add("items", "must contain at most %d items", MaxItems)
	}
	for i, it := range n.Items {
		field := fmt.Sprintf("items[%d]", i)
		sku := strings.TrimSpace(it.SKU)
		switch {
		case sku == "":
			add(field+".sku", "is required")
		case len(sku) > MaxSKULen:
			add(field+".sku", "must be at most %d bytes", MaxSKULen)
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			add(field+".quantity", "must be between 1 and %d", MaxQuantity)
		}
		if it.PriceCents < 0 || it.PriceCents > MaxPriceCents {
			add(field+".price_cents", "must be between 0 and %d", MaxPriceCents)
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// Total is the sum of quantity times price over the items. Validate's limits keep it
// within int64.
func (n NewOrder) Total() int64 {
	var total int64
	for _, it := range n.Items {
		total += it.Quantity * it.PriceCents
	}
	return total
}
