//go:build integration

package integration

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

type order struct {
	ID         string
	Customer   string
	Status     string
	TotalCents int64     `json:"total_cents"`
	CreatedAt  time.Time `json:"created_at"`
	Items      []struct {
		SKU        string
		Quantity   int64
		PriceCents int64 `json:"price_cents"`
	}
}

type errorBody struct {
	Error   string
	Details []struct{ Field, Message string }
}

// baseURL is $ORDERS_URL (a deployed service) or a freshly started local process.
func baseURL(t *testing.T) string {
	if url := os.Getenv("ORDERS_URL"); url != "" {
		return strings.TrimRight(url, "/")
	}
	return startService(t).url
}

func TestOrdersAPI(t *testing.T) {
	url := baseURL(t)

	var health map[string]string
	if code := request(t, "GET", url+"/health", "", &health); code != 200 || health["status"] != "ok" {
		t.Fatalf("GET /health = %d %v", code, health)
	}
	var version struct {
		Version string
		Started time.Time
	}
	if code := request(t, "GET", url+"/version", "", &version); code != 200 || version.Version == "" || version.Started.IsZero() {
		t.Fatalf("GET /version = %d %+v", code, version)
	}
	if want := expectedVersion(); want != "" && version.Version != want {
		t.Fatalf("GET /version reports %q, want %q", version.Version, want)
	}

	customer := fmt.Sprintf("it-%d", time.Now().UnixNano())
	var created order
	body := fmt.Sprintf(`{"customer":%q,"items":[{"sku":"IT-1","quantity":3,"price_cents":250},{"sku":"IT-2","quantity":1,"price_cents":1}]}`, customer)
	if code := request(t, "POST", url+"/orders", body, &created); code != http.StatusCreated {
		t.Fatalf("POST /orders = %d", code)
	}
	if created.ID == "" || created.Status != "pending" || created.TotalCents != 751 || created.Customer != customer || len(created.Items) != 2 {
		t.Fatalf("created = %+v", created)
	}
	var second order
	request(t, "POST", url+"/orders", body, &second)

	var got order
	if code := request(t, "GET", url+"/orders/"+created.ID, "", &got); code != 200 || got.ID != created.ID || got.TotalCents != 751 {
		t.Fatalf("GET /orders/{id} = %d %+v", code, got)
	}

	var list struct{ Orders []order }
	if code := request(t, "GET", url+"/orders?limit=2", "", &list); code != 200 || len(list.Orders) != 2 ||
		list.Orders[0].ID != second.ID || list.Orders[1].ID != created.ID {
		t.Fatalf("GET /orders?limit=2 = %d %+v, want the two new orders, newest first", code, list.Orders)
	}

	var bad errorBody
	if code := request(t, "POST", url+"/orders", `{"customer":"x","items":[{"sku":"A","quantity":0,"price_cents":1}]}`, &bad); code != 400 ||
		bad.Error != "validation failed" || len(bad.Details) != 1 || bad.Details[0].Field != "items[0].quantity" {
		t.Fatalf("invalid order = %d %+v", code, bad)
	}
	if code := request(t, "POST", url+"/orders", `{"customer":`, &bad); code != 400 || !strings.HasPrefix(bad.Error, "invalid JSON body") {
		t.Fatalf("malformed JSON = %d %+v", code, bad)
	}
	if code := request(t, "GET", url+"/orders/ord_0000000000000000", "", &bad); code != 404 {
		t.Fatalf("unknown order = %d, want 404", code)
	}
	if code := request(t, "GET", url+"/orders?limit=0", "", &bad); code != 400 {
		t.Fatalf("limit=0 = %d, want 400", code)
	}
}

func TestSmokeCommand(t *testing.T) {
	url := baseURL(t)
	args := []string{"smoke", "-rounds", "2"}
	if want := expectedVersion(); want != "" {
		args = append(args, "-expect-version", want)
	}
	code, out, errOut := runBinary(t, nil, append(args, url)...)
	if code != 0 || !strings.Contains(out, "smoke: PASS against "+url) {
		t.Fatalf("smoke exited %d\n%s%s", code, out, errOut)
	}
	// As a deployment hook runs it: the URL from GREENLIGHT_TEST_URL.
	code, _, errOut = runBinary(t, []string{"GREENLIGHT_TEST_URL=" + url}, "smoke", "-rounds", "1")
	if code != 0 {
		t.Fatalf("smoke from GREENLIGHT_TEST_URL exited %d: %s", code, errOut)
	}
}

func TestSmokeSelf(t *testing.T) {
	code, out, errOut := runBinary(t, nil, "smoke", "-self", "-expect-version", "self")
	if code != 0 || !strings.Contains(out, "(in-process)") {
		t.Fatalf("smoke -self exited %d\n%s%s", code, out, errOut)
	}
}

func TestSmokeNeedsAURL(t *testing.T) {
	code, _, errOut := runBinary(t, []string{"GREENLIGHT_TEST_URL="}, "smoke")
	if code != 2 || !strings.Contains(errOut, "smoke: no base URL: give one as an argument or set GREENLIGHT_TEST_URL") {
		t.Fatalf("smoke without URL exited %d: %s", code, errOut)
	}
}
