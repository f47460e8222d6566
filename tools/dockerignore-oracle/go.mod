// The reference for how docker reads an ignore file and which paths it excludes: moby's own
// reader and matcher, which BuildKit's context transfer (fsutil) and pulumi-docker-build use.
// tests/test_dockerignore_conformance.py compares skillship.digest.Ignore with it.
module skillship.local/dockerignore-oracle

go 1.26.0

require github.com/moby/patternmatcher v0.6.1
