#!/usr/bin/env bash
set -eu
cd "$(dirname "$0")"
pushd ../../tools
./lint.sh
popd
cd ../../public
ls index.html
