#!/usr/bin/env bash
# libtrireme.so exports exactly the functions include/trireme.h declares,
# under the version node TRIREME_<major>, with SONAME libtrireme.so.<major>,
# and the header's version is the project's.
#   check-exports.sh LIB HEADER PROJECT_VERSION
set -euo pipefail
lib=$1 header=$2 version=$3
fail=0
major=$(sed -n 's/^#define TRIREME_VERSION_MAJOR \([0-9]*\)$/\1/p' "$header")
minor=$(sed -n 's/^#define TRIREME_VERSION_MINOR \([0-9]*\)$/\1/p' "$header")
patch=$(sed -n 's/^#define TRIREME_VERSION_PATCH \([0-9]*\)$/\1/p' "$header")
if [ "$major.$minor.$patch" != "$version" ]; then
	echo "FAIL: include/trireme.h says $major.$minor.$patch, meson.build $version"
	fail=1
fi
soname=$(objdump -p "$lib" | awk '$1 == "SONAME" {print $2}')
if [ "$soname" != "libtrireme.so.$major" ]; then
	echo "FAIL: SONAME is '$soname', not libtrireme.so.$major"
	fail=1
fi
# Declarations start at the line's start; the usage comment does not.
declared=$(grep -E '^[a-z].*\btrireme_[a-z0-9_]+\(' "$header" |
	grep -oE '\btrireme_[a-z0-9_]+\(' | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}' | sort -u)
nodes=$(nm -D --defined-only "$lib" | awk '$2 == "A" {print $3}' | sort -u)
extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
if [ -n "$extra" ]; then
	echo "FAIL: exported but not in the public header:" $extra
	fail=1
fi
if [ -n "$missing" ]; then
	echo "FAIL: declared in the public header but not exported:" $missing
	fail=1
fi
if [ "$nodes" != "TRIREME_$major" ]; then
	echo "FAIL: version nodes '$nodes', not TRIREME_$major"
	fail=1
fi
[ $fail -eq 0 ] && echo "abi: $soname exports the $(echo "$exported" | wc -l) functions of trireme.h $version, nothing else"
exit $fail
