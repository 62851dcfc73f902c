package router

import (
	"bufio"
	"io"
	"sync"
)

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

// h1Buffers pools the fast path's buffers, shared by every listener and target:
// small read buffers for client connections (request heads are small; the
// reader grows when one is not), large ones for target connections, and
// writers. Connections hold them only while they use them.
type h1Buffers struct {
	small   sync.Pool // *[]byte of smallReadBuffer
	large   sync.Pool // *[]byte of largeReadBuffer
	writers sync.Pool // *bufio.Writer of writeBuffer
}

const (
	smallReadBuffer = 4 << 10
	largeReadBuffer = 16 << 10
	writeBuffer     = 16 << 10
)

func newH1Buffers() *h1Buffers {
	return &h1Buffers{
		small: sync.Pool{New: func() any {
			b := make([]byte, smallReadBuffer)
			return &b
		}},
		large: sync.Pool{New: func() any {
			b := make([]byte, largeReadBuffer)
			return &b
		}},
		writers: sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBuffer) }},
	}
}

func (p *h1Buffers) getSmall() *[]byte  { return p.small.Get().(*[]byte) }
func (p *h1Buffers) putSmall(b *[]byte) { p.small.Put(b) }
func (p *h1Buffers) getLarge() *[]byte  { return p.large.Get().(*[]byte) }
func (p *h1Buffers) putLarge(b *[]byte) { p.large.Put(b) }

func (p *h1Buffers) getWriter(w io.Writer) *bufio.Writer {
	bw := p.writers.Get().(*bufio.Writer)
	bw.Reset(w)
	return bw
}

func (p *h1Buffers) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	p.writers.Put(bw)
}
