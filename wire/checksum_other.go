//go:build !amd64 || purego

package wire

const (
	haveVector = false
	vectorMin  = 1 << 62
	// vectorChunk: see checksum_amd64.go (used by the tests here).
	vectorChunk = 4096 * 64
)

func sumVector([]byte) uint32 { panic("wire: no vector checksum on this platform") }
