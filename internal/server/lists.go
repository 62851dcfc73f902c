package server

import (
	"encoding"
	"encoding/json"
	"reflect"
)

// emptyLists returns v with every nil slice in it, at any depth, made empty, so
// that a list with nothing in it is answered [] and never null: clients range
// over lists without a null check, whichever backend built the value. v itself
// is not changed (backends may share what they return): what holds a nil slice
// is copied. Byte slices (JSON strings) and values that encode themselves
// (json.Marshaler, encoding.TextMarshaler) are left as they are. Answers are
// trees: a value that points back into itself would not end.
func emptyLists(v any) any {
	if v == nil {
		return nil
	}
	return fillLists(reflect.ValueOf(v)).Interface()
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// encodesItself reports whether encoding/json hands t's values to their own
// marshaler, by value or through a pointer.
func encodesItself(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		pt.Implements(jsonMarshaler) || pt.Implements(textMarshaler)
}

// fillLists returns a value of v's type with its nil slices made empty.
func fillLists(v reflect.Value) reflect.Value {
	if encodesItself(v.Type()) {
		return v
	}
	switch v.Kind() {
	case reflect.Slice:
		return fillSlice(v)
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			out.Index(i).Set(fillLists(v.Index(i)))
		}
		return out
	case reflect.Struct:
		return fillStruct(v)
	case reflect.Map:
		return fillMap(v)
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(fillLists(v.Elem()))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(fillLists(v.Elem()))
		return out
	}
	return v
}

func fillSlice(v reflect.Value) reflect.Value {
	if v.Type().Elem().Kind() == reflect.Uint8 {
		return v
	}
	out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
	for i := range v.Len() {
		out.Index(i).Set(fillLists(v.Index(i)))
	}
	return out
}

// fillStruct copies v and fills its exported fields (the only ones encoded).
func fillStruct(v reflect.Value) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	out.Set(v)
	for i := range v.NumField() {
		if f := out.Field(i); f.CanSet() {
			f.Set(fillLists(v.Field(i)))
		}
	}
	return out
}

func fillMap(v reflect.Value) reflect.Value {
	if v.IsNil() {
		return v
	}
	out := reflect.MakeMapWithSize(v.Type(), v.Len())
	for it := v.MapRange(); it.Next(); {
		out.SetMapIndex(it.Key(), fillLists(it.Value()))
	}
	return out
}
