// Reads {"cases": [{"ignore": TEXT, "paths": [PATH, ...]}, ...], "globs": [[PATTERN, NAME], ...],
// "walks": [{"root": FOLDER, "ignore": TEXT}, ...]} on stdin. Writes {"cases": [...], "globs": [...],
// "walks": [...]}: for each case, whether docker excludes each path (a file path relative to the
// context root, '/'-separated) given that ignore file's text, or why docker refuses the file
// ({"excluded": [true, false, ...]} or {"refused": "..."}); for each glob, what Go's filepath.Match
// answers ([matched, malformed]); for each walk, every entry that is not a folder which BuildKit's
// client would send from that folder with those excludes ({"sent": [PATH, ...]} or {"refused": "..."}),
// walked by fsutil, the module BuildKit sends local contexts with.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/tonistiigi/fsutil"
)

type answer struct {
	Excluded []bool `json:"excluded,omitempty"`
	Refused  string `json:"refused,omitempty"`
}

type walk struct {
	Root   string `json:"root"`
	Ignore string `json:"ignore"`
}

type walked struct {
	Sent    []string `json:"sent"`
	Refused string   `json:"refused,omitempty"`
}

type oracleCase struct {
	Ignore string   `json:"ignore"`
	Paths  []string `json:"paths"`
}

func main() {
	var input struct {
		Cases []oracleCase `json:"cases"`
		Globs [][2]string  `json:"globs"`
		Walks []walk       `json:"walks"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		fmt.Fprintln(os.Stderr, "reading cases:", err)
		os.Exit(2)
	}
	output := struct {
		Cases []answer  `json:"cases"`
		Globs [][2]bool `json:"globs"`
		Walks []walked  `json:"walks"`
	}{make([]answer, len(input.Cases)), make([][2]bool, len(input.Globs)), make([]walked, len(input.Walks))}
	for i, c := range input.Cases {
		output.Cases[i] = judge(c)
	}
	for i, glob := range input.Globs {
		matched, err := filepath.Match(glob[0], glob[1])
		output.Globs[i] = [2]bool{matched, err != nil}
	}
	for i, w := range input.Walks {
		output.Walks[i] = send(w)
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

func send(w walk) walked {
	patterns, err := ignorefile.ReadAll(strings.NewReader(w.Ignore))
	if err != nil {
		return walked{Refused: err.Error()}
	}
	sent := []string{}
	err = fsutil.Walk(context.Background(), w.Root, &fsutil.FilterOpt{ExcludePatterns: patterns},
		func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if !info.IsDir() {
				sent = append(sent, filepath.ToSlash(path))
			}
			return nil
		})
	if err != nil {
		return walked{Refused: err.Error()}
	}
	return walked{Sent: sent}
}
