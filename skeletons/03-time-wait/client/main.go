// Command client is the starting point of the load client of case study
// 03-time-wait, "TIME_WAIT misdiagnosed as a leak". Read
// assignments/03-time-wait/README.md first.
//
//	client -addr HOST:PORT -n N -c C
//
// It sends ECHO 1 ... ECHO N with C workers, checks every reply, and prints the
// result line. As given, every request opens a connection of its own and closes it
// after the reply. Through a narrow ephemeral port range it runs out of ports:
// dials start failing with "cannot assign requested address".
//
// You may split the program into several files; keep it package main, standard
// library only (plus golang.org/x/sys/unix if you want it).
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// config holds the command-line flags.
type config struct {
	addr string
	n    int
	c    int
}

// result is the line printed on stdout.
type result struct {
	Requests    int64 `json:"requests"`
	Succeeded   int64 `json:"succeeded"`
	Failed      int64 `json:"failed"`
	Connections int64 `json:"connections"`
}

func main() {
	log.SetPrefix("client: ") // logs go to stderr; stdout is for the result line only

	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "client: %v\n", err)
			fmt.Fprintln(os.Stderr, "usage: client -addr HOST:PORT -n N -c C")
		}
		os.Exit(2)
	}

	jobs := make(chan int, cfg.n)
	for i := 1; i <= cfg.n; i++ {
		jobs <- i
	}
	close(jobs)

	var succeeded, failed, connections atomic.Int64
	var firstErr sync.Once
	var wg sync.WaitGroup
	for range cfg.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				// TODO(task 8): a new connection for every request, closed by
				// this side right after the reply. Where does each of those
				// connections end up, and for how long? Reuse at most C
				// persistent connections instead, and close them gracefully at
				// the end.
				err := request(cfg.addr, i, &connections)
				if err != nil {
					failed.Add(1)
					firstErr.Do(func() { log.Printf("request %d failed: %v", i, err) })
					continue
				}
				succeeded.Add(1)
			}
		}()
	}
	wg.Wait()

	res := result{
		Requests:    int64(cfg.n),
		Succeeded:   succeeded.Load(),
		Failed:      failed.Load(),
		Connections: connections.Load(),
	}
	if res.Failed > 1 {
		log.Printf("%d requests failed in all", res.Failed)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if res.Failed > 0 {
		os.Exit(1)
	}
}

// request opens a connection, sends "ECHO <i>", checks that the reply is "<i>",
// and closes the connection.
func request(addr string, i int, connections *atomic.Int64) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	connections.Add(1)
	defer conn.Close()

	conn.SetDeadline(time.Now().Add(10 * time.Second))
	want := strconv.Itoa(i)
	if _, err := io.WriteString(conn, "ECHO "+want+"\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line != want+"\n" {
		return fmt.Errorf("reply %q, want %q", line, want)
	}
	return nil
}

// parseFlags parses and validates the command line.
func parseFlags(args []string) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", "", "the server, HOST:PORT (required)")
	fs.IntVar(&cfg.n, "n", 0, "number of requests (required, positive)")
	fs.IntVar(&cfg.c, "c", 0, "maximum number of connections and of requests in flight (required, positive)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.addr == "":
		return cfg, errors.New("-addr is required")
	case cfg.n <= 0:
		return cfg, fmt.Errorf("-n must be positive, got %d", cfg.n)
	case cfg.c <= 0:
		return cfg, fmt.Errorf("-c must be positive, got %d", cfg.c)
	}
	return cfg, nil
}
