# tests/share-gen.sh — sourced by the scripts that build the same sources a second time in a
# tree of their own (run-san.sh, fuzz/run.sh).
#
# share_generated FROM TO: copy build FROM's generated files — vmlinux.h, the BPF objects and
# skeletons, the doctor's build-time facts — into build TO with their times kept, so that make
# finds them up to date there and compiles only the C objects with TO's flags. They do not
# depend on those flags; FROM has just been built from the same sources.
# instrumented_make BUILD TARGET...: make TARGETs in BUILD-fuzz, the one instrumented tree: clang,
# AddressSanitizer and UBSan, and libFuzzer's coverage (-fsanitize=fuzzer-no-link), so that the
# unit tests under the sanitizers and the fuzz harness share its objects (one compile, not two).
instrumented_make() {
	local b=$1 root
	shift
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	share_generated "$b" "$b-fuzz" &&
		make -C "$root" --no-print-directory -j2 OUTPUT="$b-fuzz" CC="${CLANG:-clang}" \
			SAN=address,undefined CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" "$@"
}

share_generated() {
	local f
	mkdir -p "$2/bpf" || return 1
	for f in "$1"/vmlinux.h "$1"/*.skel.h "$1"/*.bpf.o "$1"/taskregs_btf.h; do
		[ -f "$f" ] && cp -p "$f" "$2/"
	done
	for f in "$1"/bpf/*.o; do
		[ -f "$f" ] && cp -p "$f" "$2/bpf/"
	done
	return 0
}
