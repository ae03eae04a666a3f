#!/usr/bin/env bash
# Build the Pulumi CLI pinned in tools/pulumi-cli.version from Pulumi's Go modules as
# served by the Go module proxy (GOPROXY), and install
# it with the pulumi-resource-pulumi-python launcher (tools/) into a cache outside
# the repository:
#   ${ORCHESTRA_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orchestra-ops/pulumi}/vX.Y.Z/bin
#
# stdout: only the bin directory (one line), so  PATH="$(tools/build-pulumi.sh):$PATH"
# works; progress goes to stderr. A finished build is reused at once.
#
# The pin: the CLI should match the `pulumi` SDK of requirements.lock (3.272.0), but
# the proxy does not serve github.com/pulumi/pulumi/pkg/v3 at v3.271.0-v3.273.0 (403
# "not available"); v3.274.1 is the nearest newer one served, and a CLI newer than the
# SDK is the supported direction. ORCHESTRA_PULUMI_CLI_VERSION=X.Y.Z overrides it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
lock="$repo/requirements.lock"
launcher="$repo/tools/pulumi-resource-pulumi-python"

say() { printf 'build-pulumi: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

sdk_version=$(sed -n 's/^pulumi==\([0-9][0-9.]*\).*/\1/p' "$lock" | head -n 1)
[[ -n $sdk_version ]] || die "no 'pulumi==' pin found in $lock"
pinned=$(tr -d '[:space:]' <"$repo/tools/pulumi-cli.version")
cli_version=${ORCHESTRA_PULUMI_CLI_VERSION:-$pinned}
version=v${cli_version#v}

cache=${ORCHESTRA_PULUMI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orchestra-ops/pulumi}
dest=$cache/$version
bin=$dest/bin

install_launcher() { # $1: bin dir; refreshes the launcher atomically if it changed
    if ! cmp -s "$launcher" "$1/pulumi-resource-pulumi-python"; then
        cp "$launcher" "$1/.pulumi-resource-pulumi-python.new"
        chmod 755 "$1/.pulumi-resource-pulumi-python.new"
        mv -f "$1/.pulumi-resource-pulumi-python.new" "$1/pulumi-resource-pulumi-python"
    fi
}

if [[ -x $bin/pulumi ]]; then
    install_launcher "$bin"
    echo "$bin"
    exit 0
fi

command -v go >/dev/null || die "the Go toolchain (go) is needed on PATH"
[[ $version == "v$sdk_version" ]] ||
    say "note: CLI $version with the pulumi SDK $sdk_version of requirements.lock"

mkdir -p "$cache"
# Leftovers of builds killed with SIGKILL (older than a day, so not a running one).
find "$cache" -mindepth 1 -maxdepth 1 -name '.build-*' -mmin +1440 \
    -exec chmod -R u+w {} + -exec rm -rf {} + 2>/dev/null || true
work=$(mktemp -d "$cache/.build-$version.XXXXXX")
cleanup() { chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM

pkg=github.com/pulumi/pulumi/pkg/v3
sdk=github.com/pulumi/pulumi/sdk/v3
start=$SECONDS

say "[1/4] downloading $pkg@$version"
info=$(cd "$work" && go mod download -json "$pkg@$version") || true
moddir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$info")
if [[ -z $moddir || ! -f $moddir/go.mod ]]; then
    say "$info"
    say "versions on the proxy: go list -m -versions $pkg; to build one of them anyway,"
    say "set ORCHESTRA_PULUMI_CLI_VERSION (the CLI should not be older than the SDK)"
    die "could not download $pkg@$version (GOPROXY=$(go env GOPROXY))"
fi

say "[2/4] patching a copy: dropping 'replace $sdk => ../sdk', requiring $sdk $version"
src=$work/src
cp -R "$moddir" "$src"
chmod -R u+w "$src"
cd "$src"
go mod edit -dropreplace="$sdk" -require="$sdk@$version"
# Every other replace must point at a module version: a local path would be
# missing from the module zip.
if go mod edit -json | grep -q '"Path": "\.\{0,2\}/'; then
    go mod edit -print | grep '=>' >&2
    die "$pkg@$version has replaces to local paths besides the sdk one"
fi

say "[3/4] downloading dependencies"
# `go get` adds the go.sum lines of the sdk (checked against GOSUMDB like every
# module); `go list -deps` fetches just the modules the CLI's packages need.
go get "$sdk@$version"
go list -mod=readonly -deps ./cmd/pulumi >/dev/null

say "[4/4] building $pkg/cmd/pulumi (several minutes on a cold build cache)"
out=$work/out
mkdir -p "$out/bin"
CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath \
    -ldflags "-X $sdk/go/common/version.Version=$version" \
    -o "$out/bin/pulumi" ./cmd/pulumi
install_launcher "$out/bin"

built=$("$out/bin/pulumi" version)
[[ $built == "$version" ]] || die "the built CLI reports version '$built', expected '$version'"

cd "$cache"
rm -rf "$dest"
mv -T "$out" "$dest"
say "built pulumi $built in $((SECONDS - start))s"
echo "$bin"
