//go:build tools

// Package tools pins actionlint, which tests/test_ci_files.py runs on ci/github-workflow.yml.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
