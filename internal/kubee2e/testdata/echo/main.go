// Command echo is the application of the real-Kubernetes test: "echo serve"
// answers every HTTP request with its pod and node name; "echo get URL"
// fetches URL (retrying while DNS or the Service is not ready yet) and
// prints the answer.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		os.Exit(get(os.Args[2]))
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "echo from pod %s on node %s\n", os.Getenv("POD_NAME"), os.Getenv("NODE_NAME"))
	})
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func get(url string) int {
	c := http.Client{Timeout: 5 * time.Second}
	var last error
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		resp, err := c.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("from node %s: %s", os.Getenv("NODE_NAME"), b)
		return 0
	}
	fmt.Fprintln(os.Stderr, "giving up:", last)
	return 1
}
