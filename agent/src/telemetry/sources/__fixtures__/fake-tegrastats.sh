#!/bin/sh
# Stands in for tegrastats in tests: prints the recorded Orin line every --interval ms until killed.
[ "$1" = "--interval" ] || { echo "unexpected arguments: $*" >&2; exit 2; }
line=$(grep '^orin-nano-jp6' "$(dirname "$0")/tegrastats.txt" | cut -f2)
while true; do echo "$line"; sleep 0.05; done
