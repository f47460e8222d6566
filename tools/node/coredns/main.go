// CoreDNS with only the plugins the real-node suite's cluster DNS uses: answering Service names
// from the API server (kubernetes), binding to the node's address (bind), and error logging.
// The full build links every cloud provider's plugin and takes minutes longer to compile; a main
// package that imports a chosen set is how CoreDNS documents building a smaller server.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
)

func main() {
	coremain.Run()
}
