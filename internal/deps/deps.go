package deps
import (
 _ "github.com/BurntSushi/toml"
 _ "github.com/gopacket/gopacket"
 _ "github.com/gopacket/gopacket/layers"
 _ "github.com/gopacket/gopacket/pcapgo"
 _ "golang.org/x/sys/unix"
)
