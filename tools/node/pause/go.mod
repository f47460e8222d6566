// The pause program of the real node's pod sandboxes (see main.go). No dependencies.
module skillship.local/tools/node/pause

go 1.24.0
