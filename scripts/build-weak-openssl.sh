#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# build-weak-openssl.sh PREFIX: builds Debian's own OpenSSL 3.0 source with
# enable-weak-ssl-ciphers into PREFIX, for routes to endpoints that offer only
# 3DES or RC4 (Windows Server 2003-era).  Debian's libssl is built without
# those suites, so the system library cannot reach such endpoints at all, and
# loading the legacy provider does not change that.  The system library is
# not touched; link tlsbroker against the result with
#     ./configure --with-openssl=PREFIX
# An RC4 route also needs upstream_legacy_provider = yes (RC4 lives in the
# legacy provider, which this build installs under PREFIX/lib/ossl-modules).
#
# The source comes from the distribution's source archive (apt-get source),
# using the same archive entries as the binary packages.  A finished build is
# reused: PREFIX/.tlsbroker-weak-openssl records the version built.
set -euo pipefail

prefix=${1:?usage: build-weak-openssl.sh PREFIX}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
stamp=$prefix/.tlsbroker-weak-openssl

if [ -f "$stamp" ] && [ -x "$prefix/bin/openssl" ]; then
    echo "weak-cipher OpenSSL already built in $prefix: $(cat "$stamp")"
    exit 0
fi

# deb-src entries mirroring the configured deb ones (no host is named here).
if ! apt-get source --help >/dev/null 2>&1; then
    echo "apt-get source is not available" >&2; exit 1
fi
src_list=/etc/apt/sources.list.d/tlsbroker-src.sources
if [ ! -e "$src_list" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    [ "$(id -u)" -eq 0 ] || { echo "need root to add deb-src entries" >&2; exit 1; }
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$src_list"
    apt-get update -qq
elif [ ! -e "$src_list" ] && [ -f /etc/apt/sources.list ] &&
     ! grep -q '^deb-src' /etc/apt/sources.list; then
    [ "$(id -u)" -eq 0 ] || { echo "need root to add deb-src entries" >&2; exit 1; }
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/tlsbroker-src.list
    apt-get update -qq
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
# Only the upstream tarball is needed (Debian's patches do not touch the
# cipher table); apt checks it against the signed source index.
apt-get source --download-only openssl >/dev/null 2>&1 || true
tarball=$(ls openssl_3.0.*.orig.tar.gz 2>/dev/null | head -n1)
[ -n "$tarball" ] || { echo "could not download the openssl 3.0 source" >&2; exit 1; }
tar xzf "$tarball"
srcdir=$(ls -d openssl-3.0.*/ | head -n1)
cd "$srcdir"
echo "building ${tarball%.orig.tar.gz} with enable-weak-ssl-ciphers into $prefix (several minutes)"
./Configure linux-"$(uname -m)" enable-weak-ssl-ciphers no-tests shared \
    --prefix="$prefix" --libdir=lib --openssldir="$prefix/ssl" >/dev/null
make -j"$(nproc)" >/dev/null 2>&1
make install_sw install_ssldirs >/dev/null 2>&1
# A certificate store like the system's, so "verify against the system store" works.
rmdir "$prefix/ssl/certs" 2>/dev/null && ln -s /etc/ssl/certs "$prefix/ssl/certs" || true
echo "${tarball%.orig.tar.gz} enable-weak-ssl-ciphers" > "$stamp"
"$prefix/bin/openssl" version
