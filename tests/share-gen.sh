# tests/share-gen.sh — sourced by the scripts that build the same sources a second time in a
# tree of their own (run-san.sh, fuzz/run.sh).
#
# share_generated FROM TO: copy build FROM's generated files — vmlinux.h, the BPF objects and
# skeletons, the doctor's build-time facts — into build TO with their times kept, so that make
# finds them up to date there and compiles only the C objects with TO's flags. They do not
# depend on those flags; FROM has just been built from the same sources.
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
