// The reference for how docker reads an ignore file and which paths it excludes: moby's own
// reader and matcher, which BuildKit's context transfer (fsutil) and pulumi-docker-build use, and
// fsutil's walk itself, at the version BuildKit v0.31.0 (tools/builder) links.
// tests/test_dockerignore_conformance.py compares skillship.digest.Ignore with it.
module skillship.local/dockerignore-oracle

go 1.26.0

require (
	github.com/moby/patternmatcher v0.6.1
	github.com/tonistiigi/fsutil v0.0.0-20260609091201-0257b3308df4
)

require (
	github.com/Microsoft/go-winio v0.6.2 // indirect
	github.com/containerd/continuity v0.5.0 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/planetscale/vtprotobuf v0.6.0 // indirect
	golang.org/x/sync v0.19.0 // indirect
	golang.org/x/sys v0.41.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)
