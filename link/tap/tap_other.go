//go:build !linux

package tap

import (
	"errors"
	"time"

	"github.com/stapel-net/stapel/link"
	"github.com/stapel-net/stapel/wire"
)

// Config says how to open a TAP device (Linux only).
type Config struct {
	Name        string
	MTU         int
	MAC         wire.MAC
	CarrierPoll time.Duration
	Offload     bool
	Queues      int
}

// Device is unavailable off Linux.
type Device struct{ link.Endpoint }

// OffloadStats count the offload work of a Device (Linux only).
type OffloadStats struct {
	RxGSOFrames, RxSegmented, RxCsumPending, RxBadVnet uint64
	TxGSOFrames, TxCsumOffload                         uint64
}

// ErrUnsupported is returned by Open off Linux.
var ErrUnsupported = errors.New("tap: TAP devices are supported on Linux only")

func Open(name string, mtu int) (*Device, error) { return nil, ErrUnsupported }

func OpenConfig(cfg Config) (*Device, error) { return nil, ErrUnsupported }

func (*Device) Created() bool                                 { return false }
func (*Device) Vnet() bool                                    { return false }
func (*Device) Offloads() link.Offloads                       { return link.Offloads{} }
func (*Device) OffloadStats() OffloadStats                    { return OffloadStats{} }
func (*Device) WriteGSO(frame []byte, gso link.GSOInfo) error { return ErrUnsupported }
