# Sourced by the scripts that build Go programs into a shared cache (tools/engine/build.sh).
#
#   cached_go_build CACHE WRAPPER_DIR OUTPUT PACKAGE [LDFLAGS] [PREPARE]
#
# builds PACKAGE of the wrapper module at WRAPPER_DIR into CACHE/<wrapper>-<key>/OUTPUT and links
# CACHE/bin/OUTPUT to it. PREPARE, if given, is a shell function run inside a temporary copy of the
# wrapper before `go build`. The key hashes what decides the binary: the wrapper's go.mod and
# go.sum, GOFLAGS, CGO_ENABLED, the package, the ldflags and PREPARE's body. It does not hash this
# file, so a change to how the cache is kept does not force a rebuild of everything.
#
# Safe whoever asks at once (pytest workers, two checkouts, CI beside a developer):
# - one build per binary at a time: a lock (flock) per cache folder; whoever waited finds the
#   binary built and takes it;
# - a binary appears under its final name only complete: go build writes OUTPUT.partial.<pid> and
#   a rename (atomic within one filesystem) publishes it;
# - a build killed halfway leaves at worst a .partial file and a released lock (the kernel drops
#   a dead process's lock); the next build removes such leftovers under the lock and starts over.

cached_go_build() {
  local cache="$1" wrapper_dir="$2" output="$3" package="$4" ldflags="${5:-}" prepare="${6:-}"
  local wrapper recipe key dir
  wrapper="$(basename "$wrapper_dir")"
  recipe="GOFLAGS=${GOFLAGS:-} CGO_ENABLED=${CGO_ENABLED:-} package=$package ldflags=$ldflags"
  if [ -n "$prepare" ]; then recipe="$recipe $(declare -f "$prepare")"; fi
  key="$( { cat "$wrapper_dir/go.mod" "$wrapper_dir/go.sum"; printf '%s' "$recipe"; } | sha256sum | cut -c1-16)"
  dir="$cache/$wrapper-$key"
  mkdir -p "$dir" "$cache/bin" "$cache/locks"
  (
    flock 9
    if [ -x "$dir/$output" ]; then
      echo "  $output: cached ($dir)" >&2
    else
      rm -f "$dir/$output".partial.*
      local start=$SECONDS work
      echo "  $output: building $package ..." >&2
      work="$(mktemp -d)"
      trap 'rm -rf "$work"' EXIT
      cp -R "$wrapper_dir/." "$work/"
      if [ -n "$prepare" ]; then (cd "$work" && "$prepare"); fi
      (cd "$work" && go build -ldflags "-s -w $ldflags" -o "$dir/$output.partial.$$" "$package")
      mv -f "$dir/$output.partial.$$" "$dir/$output"
      echo "  $output: built in $((SECONDS - start)) s" >&2
    fi
    # Replace the link by a rename too: `ln -sf` unlinks then creates, and two callers racing
    # through that gap fail with "File exists".
    ln -s "$dir/$output" "$cache/bin/.$output.$$"
    mv -Tf "$cache/bin/.$output.$$" "$cache/bin/$output"
  ) 9>"$cache/locks/$wrapper-$key-$output.lock"
}

# The cache folder and build settings every tools/*/build.sh uses: sets `cache` for the caller.
# No inlining outside the standard library: a cold build takes about a sixth less time
# (tools/engine/README.md has the figures), which matters on a new CI machine, where these builds
# are most of the run. The standard library keeps its optimizations (the later -gcflags pattern
# wins for it): it is compiled once for all binaries and carries their hot paths (TLS, JSON,
# HTTP, the runtime).
use_shared_go_settings() {
  cache="${SKILLSHIP_ENGINE_CACHE:-$HOME/.cache/skillship-engine}"
  export GOFLAGS="-mod=mod -trimpath -gcflags=all=-l -gcflags=std="
  export CGO_ENABLED=0
}
