#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Debian unstable's python3.14 and python3.15, with the libraries they run
# on (glibc 2.43 among them), unpacked into one private root:
#
#   fetch_sid.sh BUILD_DIR
#
# leaves BUILD_DIR/pythons/sid/usr/bin/python3.14 and python3.15, run as
#   ROOT/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
#       --library-path ROOT/usr/lib/x86_64-linux-gnu ROOT/usr/bin/python3.14
# (a process with its own libc, as in a container built on a newer
# distribution), which BUILD_DIR/pythons/sid/run/python3.14 (and 3.15) do.
# Those executables are static; ROOT/run/python3.14-shared (and 3.15) run
# the same version through the shared libpython3.14.so, linked by a small
# program built here (tools/pythons/embed_python.c), as an application
# embedding CPython does. The headers come too, for building extensions
# (ROOT/usr/include). apt-get downloads them through a sources list, state and
# cache of its own under BUILD_DIR/apt-sid: suite sid of the Debian archive
# the system's apt sources already name. Nothing is installed and nothing
# outside BUILD_DIR is written. Exit status 0 when both interpreters run,
# 2 (with one line saying why) when the archive cannot be reached.
set -eu

mkdir -p "$1"
build=$(cd "$1" && pwd)
apt_dir=$build/apt-sid
root=$build/pythons/sid
src=$(cd "$(dirname "$0")" && pwd)
packages="python3.14-minimal libpython3.14-minimal libpython3.14-stdlib
	libpython3.14 libpython3.14-dev
	python3.15-minimal libpython3.15-minimal libpython3.15-stdlib
	libpython3.15 libpython3.15-dev
	libc6 zlib1g libexpat1 libssl3t64 libffi8 libzstd1 libbz2-1.0 liblzma5 libmpdec4
	libsqlite3-0 libtinfo6 libncursesw6 libreadline8t64 libuuid1"

runs() {
	"$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
		--library-path "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/$1" -c 'pass' \
		>/dev/null 2>&1
}

# ROOT/run/python3.X: the interpreter with its own libc, as one command;
# ROOT/run/python3.X-shared: the same through the shared library.
wrappers() {
	mkdir -p "$root/run"
	for v in 3.14 3.15; do
		cat >"$root/run/python$v" <<WRAP
#!/bin/sh
exec "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \\
	--library-path "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/python$v" "\$@"
WRAP
		# Linked against the library built for glibc 2.43 with the
		# host's toolchain: its newer symbols resolve at run time.
		cc -O2 -o "$root/run/embed$v" "$src/embed_python.c" \
			-L"$root/usr/lib/x86_64-linux-gnu" -l:libpython$v.so.1.0 \
			-Wl,--allow-shlib-undefined
		cat >"$root/run/python$v-shared" <<WRAP
#!/bin/sh
PYTHONHOME="$root/usr" exec "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \\
	--library-path "$root/usr/lib/x86_64-linux-gnu" "$root/run/embed$v" "\$@"
WRAP
		chmod +x "$root/run/python$v" "$root/run/python$v-shared"
	done
}

if runs python3.14 && runs python3.15 &&
	[ -e "$root/usr/lib/x86_64-linux-gnu/libpython3.14.so.1.0" ] &&
	[ -e "$root/usr/lib/x86_64-linux-gnu/libpython3.15.so.1.0" ] &&
	[ -e "$root/usr/include/python3.15/Python.h" ]; then
	wrappers
	exit 0
fi

# The Debian archive the system already uses: deb822 sources first, then
# one-line ones; security and updates suites are other archives.
uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null |
	tr ' ' '\n' | grep -v -e security -e '^$' | head -n 1 || true)
if [ -z "$uri" ]; then
	uri=$(sed -n 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\2/p' \
		/etc/apt/sources.list 2>/dev/null | grep -v security | head -n 1 || true)
fi
if [ -z "$uri" ]; then
	echo "fetch_sid: no Debian archive named in /etc/apt/sources.list(.d)" >&2
	exit 2
fi

rm -rf "$apt_dir" "$root.tmp"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/debs" "$root.tmp"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri sid main" \
	>"$apt_dir/sources.list"
set -- -q -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
	-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir" \
	-o Dir::Cache::Archives="$apt_dir/archives" -o Debug::NoLocking=1 \
	-o APT::Sandbox::User=root
echo "fetch_sid: Debian unstable's python3.14 and python3.15 from $uri"
if ! apt-get "$@" update >"$apt_dir/update.log" 2>&1; then
	echo "fetch_sid: cannot reach suite sid of $uri (see $apt_dir/update.log)" >&2
	exit 2
fi
# shellcheck disable=SC2086 # one word per package
if ! (cd "$apt_dir/debs" && apt-get "$@" download $packages >"$apt_dir/download.log" 2>&1); then
	echo "fetch_sid: download failed (see $apt_dir/download.log)" >&2
	exit 2
fi
for deb in "$apt_dir"/debs/*.deb; do
	dpkg -x "$deb" "$root.tmp"
done
rm -rf "$root"
mv "$root.tmp" "$root"
if ! runs python3.14 || ! runs python3.15; then
	echo "fetch_sid: the unpacked interpreters do not run" >&2
	exit 1
fi
wrappers
for v in 3.14 3.15; do
	if ! "$root/run/python$v-shared" -c 'pass' >/dev/null 2>&1; then
		echo "fetch_sid: python$v through libpython$v.so does not run" >&2
		exit 1
	fi
done
echo "fetch_sid: python3.14 and python3.15 ready in $root"
