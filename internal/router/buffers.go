package router

import "sync"

// bufferPool lends ReverseProxy its copy buffers, shared by every target. The
// pool holds *[]byte, and the empty holders are pooled too, so that lending and
// returning a buffer allocates nothing.
type bufferPool struct {
	buffers sync.Pool // *[]byte with a buffer
	holders sync.Pool // *[]byte, empty
}

const proxyBufferSize = 32 << 10

func newBufferPool() *bufferPool {
	return &bufferPool{buffers: sync.Pool{New: func() any {
		b := make([]byte, proxyBufferSize)
		return &b
	}}}
}

func (p *bufferPool) Get() []byte {
	h := p.buffers.Get().(*[]byte)
	b := *h
	*h = nil
	p.holders.Put(h)
	return b
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) < proxyBufferSize {
		return
	}
	h, _ := p.holders.Get().(*[]byte)
	if h == nil {
		h = new([]byte)
	}
	*h = b[:proxyBufferSize]
	p.buffers.Put(h)
}
