#!/bin/sh
# Install the Debian packages conlab needs to build and test, only those that are missing.
# Run as root (sudo make deps / demo / test). Safe to run again: it does nothing when all are there.
# With the argument `bench`, also what the benchmarks compare against and compute with.
set -eu

PKGS="clang llvm make libbpf-dev bpftool libelf-dev zlib1g-dev libdw-dev libcmocka-dev pkg-config \
liburing-dev libzstd-dev zstd python3 python3-gevent python3-twisted python3-eventlet procps \
protobuf-compiler chromium python3-mpi4py openmpi-bin rabbitmq-server python3-celery python3-pyro4 \
strace"
[ "${1:-}" = bench ] && PKGS="$PKGS bc linux-perf valgrind"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "conlab: missing Debian packages:$missing; run 'sudo make deps' (or install them)" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "conlab: missing packages:$missing, and no apt-get to install them" >&2
	exit 1
fi
echo "  DEPS     installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

# The labs start a private broker of their own (conlab lab service rabbitmq); a system broker
# that the package may have started would only take port 5672 and memory: stop and disable it.
case " $missing " in
*" rabbitmq-server "*)
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
	elif command -v invoke-rc.d >/dev/null 2>&1; then
		invoke-rc.d rabbitmq-server stop >/dev/null 2>&1 || true
	fi
	;;
esac
