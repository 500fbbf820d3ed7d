#!/bin/sh
# Stands in for nvidia-smi in tests: checks it was asked the hardware profile's query, prints a recorded answer.
case "$1" in --query-gpu=name,driver_version,*) ;; *) echo "unexpected arguments: $*" >&2; exit 2 ;; esac
cat "$(dirname "$0")/nvidia-smi-2gpu.csv"
