package awsfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// protocol is one wire protocol: how a request body reads and an answer writes.
type protocol interface {
	decode(body []byte) (map[string]any, error)
	write(w http.ResponseWriter, out any, e *Error)
}

// protocolOf tells the protocol and the operation of a request, refusing a
// request neither protocol would send.
func protocolOf(r *http.Request) (protocol, string, error) {
	if r.Method != http.MethodPost {
		return nil, "", errors.New("AWS's JSON and CBOR protocols POST")
	}
	if svc, op, ok := rpcv2Path(r.URL.Path); ok {
		if r.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || r.Header.Get("Accept") != "application/cbor" {
			return nil, "", fmt.Errorf("RPC v2 CBOR headers: Smithy-Protocol %q, Accept %q", r.Header.Get("Smithy-Protocol"), r.Header.Get("Accept"))
		}
		if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/cbor" {
			return nil, "", fmt.Errorf("Content-Type %q", ct)
		}
		return cborProtocol{}, svc + "." + op, nil
	}
	target := r.Header.Get("X-Amz-Target")
	switch {
	case r.URL.Path != "/":
		return nil, "", errors.New("the JSON protocol POSTs to /")
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
		return nil, "", fmt.Errorf("%s: Content-Type %q, want application/x-amz-json-1.1", target, r.Header.Get("Content-Type"))
	case !strings.Contains(target, "."):
		return nil, "", fmt.Errorf("X-Amz-Target %q is not Service.Operation", target)
	}
	return jsonProtocol{}, target, nil
}

func rpcv2Path(path string) (svc, op string, ok bool) {
	rest, found := strings.CutPrefix(path, "/service/")
	if !found {
		return "", "", false
	}
	svc, op, ok = strings.Cut(rest, "/operation/")
	return svc, op, ok && svc != "" && op != "" && !strings.Contains(op, "/")
}

// jsonProtocol is awsJson1_1.
type jsonProtocol struct{}

func (jsonProtocol) decode(body []byte) (map[string]any, error) {
	in := map[string]any{}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, fmt.Errorf("not a JSON object: %s", body)
	}
	return in, nil
}

func (jsonProtocol) write(w http.ResponseWriter, out any, e *Error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if e != nil {
		w.WriteHeader(e.Status)
		out = map[string]string{"__type": e.Type, "message": e.Message}
	}
	if out == nil {
		out = map[string]any{}
	}
	data, err := json.Marshal(out)
	if err != nil {
		panic(fmt.Sprintf("awsfake: answer is not JSON: %v", err))
	}
	_, _ = w.Write(data)
}

// cborProtocol is Smithy RPC v2 CBOR.
type cborProtocol struct{}

func (cborProtocol) decode(body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	v, err := cbor.Decode(body)
	if err != nil {
		return nil, err
	}
	m, ok := fromCBOR(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a CBOR map: %T", v)
	}
	return m, nil
}

func (cborProtocol) write(w http.ResponseWriter, out any, e *Error) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if e != nil {
		w.WriteHeader(e.Status)
		out = map[string]any{"__type": e.Type, "message": e.Message}
	}
	if out == nil {
		out = map[string]any{}
	}
	_, _ = w.Write(cbor.Encode(toCBOR(jsonShaped(out))))
}

// jsonShaped turns a struct answer into maps and slices through JSON, keeping
// Time values (which CBOR writes differently) as they are.
func jsonShaped(v any) any {
	switch v := v.(type) {
	case map[string]any, []any, Time:
		return v
	}
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("awsfake: answer is not JSON: %v", err))
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

func toCBOR(v any) cbor.Value {
	switch v := v.(type) {
	case nil:
		return &cbor.Nil{}
	case map[string]any:
		m := cbor.Map{}
		for k, x := range v {
			m[k] = toCBOR(jsonShaped(x))
		}
		return m
	case []any:
		l := cbor.List{}
		for _, x := range v {
			l = append(l, toCBOR(jsonShaped(x)))
		}
		return l
	case Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(time.Time(v).UnixMilli()) / 1000)}
	case string:
		return cbor.String(v)
	case bool:
		return cbor.Bool(v)
	case int:
		return toCBOR(float64(v))
	case float64:
		if v == math.Trunc(v) && v >= 0 && v < 1<<53 {
			return cbor.Uint(uint64(v))
		}
		if v == math.Trunc(v) && v < 0 && v > -(1<<53) {
			return cbor.NegInt(uint64(-v))
		}
		return cbor.Float64(v)
	}
	return toCBOR(jsonShaped(v))
}

func fromCBOR(v cbor.Value) any {
	switch v := v.(type) {
	case cbor.Map:
		m := map[string]any{}
		for k, x := range v {
			m[k] = fromCBOR(x)
		}
		return m
	case cbor.List:
		l := []any{}
		for _, x := range v {
			l = append(l, fromCBOR(x))
		}
		return l
	case cbor.String:
		return string(v)
	case cbor.Uint:
		return float64(v)
	case cbor.NegInt:
		return -float64(v)
	case cbor.Float64:
		return float64(v)
	case cbor.Float32:
		return float64(v)
	case cbor.Bool:
		return bool(v)
	case *cbor.Tag:
		return fromCBOR(v.Value) // timestamps: epoch seconds, as JSON has them
	case cbor.Slice:
		return []byte(v)
	}
	return nil
}
