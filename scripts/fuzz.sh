#!/usr/bin/env bash
# Runs every fuzz target of the module for FUZZTIME each (a duration such as 2m, or a count
# of inputs such as 3000x; default 5s): `make test` runs a
# short pass, `make fuzz` a long one (FUZZTIME=2m). A crash fails the run and leaves the
# input under the package's testdata/fuzz for `go test` to replay.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-5s}"
n=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >/tmp/callplane-fuzz.log 2>&1 || {
      cat /tmp/callplane-fuzz.log
      echo "fuzz: $pkg $target failed" >&2
      exit 1
    }
    n=$((n + 1))
  done
done
echo "fuzz: $n targets, $fuzztime each, no crash"
