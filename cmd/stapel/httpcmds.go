package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
)

// cmdHTTPD makes the daemon serve HTTP on a Stapel TCP port with Go's
// net/http server until interrupted (an interop-test aid: curl on Linux
// fetches from it). GET serves FILE (at every URL) or the tree DIR; POST
// answers the SHA-256 and length of the body.
func cmdHTTPD(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("httpd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sock := fs.String("control", "", "control socket")
	path := fs.String("f", "", "file or directory to serve")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() != 1 {
		return usagef("want one PORT")
	}
	port, err := strconv.ParseUint(fs.Arg(0), 10, 16)
	if err != nil || port == 0 {
		return usagef("bad port %q", fs.Arg(0))
	}
	if *path != "" {
		if *path, err = filepath.Abs(*path); err != nil {
			return err
		}
	}
	ctx, cancel := signalContext()
	defer cancel()
	return client(*sock).HTTPD(ctx, uint16(port), *path, func(a netip.AddrPort) {
		fmt.Fprintf(stdout, "serving HTTP on %s (Stapel TCP); interrupt to stop\n", a)
	})
}

// cmdHTTPGet makes the daemon fetch URL with Go's net/http client over
// Stapel TCP and writes the body to stdout or -o FILE. Exit 1 on a
// status other than 2xx.
func cmdHTTPGet(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("http-get", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sock := fs.String("control", "", "control socket")
	out := fs.String("o", "", "write the body to FILE")
	head := fs.Bool("i", false, "print the status line and headers first")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	if fs.NArg() != 1 {
		return usagef("want one URL")
	}
	ctx, cancel := signalContext()
	defer cancel()
	res, body, err := client(*sock).HTTPGet(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	defer body.Close()
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if *head {
		fmt.Fprintf(stdout, "%s %s\n", res.Proto, res.Status)
		for k, vs := range res.Header {
			for _, v := range vs {
				fmt.Fprintf(stdout, "%s: %s\n", k, v)
			}
		}
		fmt.Fprintln(stdout)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		return err
	}
	if res.Length >= 0 && n != res.Length {
		return fmt.Errorf("body ended after %d of %d bytes", n, res.Length)
	}
	if res.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "stapel http-get: %s\n", res.Status)
		return exitError{1}
	}
	return nil
}
