// Reads {"cases": [{"ignore": TEXT, "paths": [PATH, ...]}, ...], "globs": [[PATTERN, NAME], ...]}
// on stdin. Writes {"cases": [...], "globs": [...]}: for each case, whether docker excludes each
// path (a file path relative to the context root, '/'-separated) given that ignore file's text, or
// why docker refuses the file ({"excluded": [true, false, ...]} or {"refused": "..."}); for each
// glob, what Go's filepath.Match answers ([matched, malformed]).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

type answer struct {
	Excluded []bool `json:"excluded,omitempty"`
	Refused  string `json:"refused,omitempty"`
}

type oracleCase struct {
	Ignore string   `json:"ignore"`
	Paths  []string `json:"paths"`
}

func main() {
	var input struct {
		Cases []oracleCase `json:"cases"`
		Globs [][2]string  `json:"globs"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		fmt.Fprintln(os.Stderr, "reading cases:", err)
		os.Exit(2)
	}
	output := struct {
		Cases []answer  `json:"cases"`
		Globs [][2]bool `json:"globs"`
	}{make([]answer, len(input.Cases)), make([][2]bool, len(input.Globs))}
	for i, c := range input.Cases {
		output.Cases[i] = judge(c)
	}
	for i, glob := range input.Globs {
		matched, err := filepath.Match(glob[0], glob[1])
		output.Globs[i] = [2]bool{matched, err != nil}
	}
	if err := json.NewEncoder(os.Stdout).Encode(output); err != nil {
		fmt.Fprintln(os.Stderr, "writing answers:", err)
		os.Exit(2)
	}
}

func judge(c oracleCase) answer {
	patterns, err := ignorefile.ReadAll(strings.NewReader(c.Ignore))
	if err != nil {
		return answer{Refused: err.Error()}
	}
	matcher, err := patternmatcher.New(patterns)
	if err != nil {
		return answer{Refused: err.Error()}
	}
	excluded := make([]bool, len(c.Paths))
	for j, path := range c.Paths {
		// A file is excluded when it, or a folder above it, matches (the last matching pattern wins).
		if excluded[j], err = matcher.MatchesOrParentMatches(path); err != nil {
			return answer{Refused: err.Error()}
		}
	}
	return answer{Excluded: excluded}
}
