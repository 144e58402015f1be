#!/usr/bin/env bash
# What an embedder does: install (into a scratch DESTDIR), ask pkg-config,
# compile a program against the installed <trireme.h> as C11 and as C++11,
# link it against the installed libtrireme.so and run it. pkg-config must
# give the header path and -ltrireme only (no DPDK -march or -include).
#   test_consumer.sh BUILD_DIR SOURCE PROJECT_VERSION [B_SANITIZE]
set -euo pipefail
build=$1 src=$2 version=$3 sanitize=${4:-none}
if [ "$sanitize" != none ]; then
	# A plain program cannot load a library built with -fsanitize.
	echo "consumer: skipped in a b_sanitize=$sanitize build"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for tool in gcc g++ pkg-config; do
	command -v $tool >/dev/null || { echo "FAIL: $tool missing: run scripts/install-deps.sh"; exit 1; }
done
DESTDIR="$tmp/root" meson install -C "$build" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }
pc=$(find "$tmp/root" -name trireme.pc)
[ -n "$pc" ] || { echo "FAIL: no trireme.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
prefix=$tmp/root$(pkg-config --variable=prefix trireme)
pc() { pkg-config --define-variable=prefix="$prefix" "$@" trireme; }
cflags=$(pc --cflags)
libs=$(pc --libs)
echo "pkg-config: cflags '$cflags' libs '$libs'"
case " $cflags $libs " in
*-march*|*-include*|*dpdk*|*urcu*)
	echo "FAIL: pkg-config pushes the library's own dependencies into consumers"; exit 1;;
esac
libdir=$(pc --variable=libdir)
gcc -x c -std=c11 -Wall -Wextra -Werror -pedantic $cflags "$src" -o "$tmp/embed-c" $libs
g++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic $cflags "$src" -o "$tmp/embed-cpp" $libs
for prog in embed-c embed-cpp; do
	LD_LIBRARY_PATH=$libdir "$tmp/$prog" "$version" || { echo "FAIL: $prog"; exit 1; }
done
echo "consumer: C11 and C++11 programs built and ran against the installed library"
