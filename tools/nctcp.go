package tools

import (
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// NetcatTCP copies in to c (then half-closes) and c to out. It returns when
// the peer has closed its side, when Linger has passed after in ended
// (Linger < 0: wait for the peer), or when ctx ends.
func NetcatTCP(ctx context.Context, c StreamConn, in io.Reader, out io.Writer, o NetcatOptions) error {
	rx := make(chan error, 1)
	tx := make(chan error, 1)
	go func() {
		_, err := io.Copy(out, c)
		rx <- err
	}()
	go func() {
		_, err := io.Copy(c, in)
		if err == nil {
			err = c.CloseWrite()
		}
		tx <- err
	}()
	defer c.Close()
	var linger <-chan time.Time
	for {
		select {
		case err := <-rx:
			if errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) {
				err = nil
			}
			return err
		case err := <-tx:
			if err != nil {
				return err
			}
			if o.Linger >= 0 {
				t := time.NewTimer(o.Linger)
				defer t.Stop()
				linger = t.C
			}
		case <-linger:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}
