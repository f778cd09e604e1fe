#!/usr/bin/env bash
# Measures what LevelDB's own checks would give the node (README, Storage,
# "What is verified at start"): builds LevelDB 1.20 from the sources
# classic-level bundles plus bench.cc, then
#   1. opens a copy of a database whose log has 4 KiB overwritten, with
#      paranoid_checks off and on;
#   2. writes $2 batches (default 40,000; 8 x 2 KiB, every 16th synced)
#      with paranoid_checks off and on;
#   3. scans the result with verify_checksums off and on, twice.
# Needs g++ and libsnappy-dev (apt-get install libsnappy-dev). Work dir: $1 (default /tmp/leveldb-checks).
# Usage: scripts/leveldb-checks/run.sh [WORKDIR] [BATCHES]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$here/../../node_modules/classic-level/deps/leveldb/leveldb-1.20"
work="${1:-/tmp/leveldb-checks}"
batches="${2:-40000}"
rm -rf "$work" && mkdir -p "$work"
cp -r "$src" "$work/leveldb"
cd "$work/leveldb"
chmod +x build_detect_platform && ./build_detect_platform build_config.mk ./ >/dev/null
# classic-level patches Get() (a ValueSink); the C API it leaves unpatched is not needed here.
sources=$(grep '^SOURCES=' build_config.mk | sed 's/^SOURCES=//; s# db/c.cc##')
g++ -O2 -std=c++11 -I. -I./include -pthread -DOS_LINUX -DLEVELDB_PLATFORM_POSIX -DLEVELDB_ATOMIC_PRESENT -DSNAPPY \
  -fno-builtin-memcmp "$here/bench.cc" $sources -lsnappy -o "$work/bench"
cd "$work"
./bench write small 0 200
for p in 0 1; do
  cp -r small "damaged$p"
  log=$(ls damaged$p/*.log | tail -1)
  size=$(stat -c %s "$log")
  head -c 4096 /dev/urandom | dd of="$log" bs=1 seek=$((size / 2 - 2048)) conv=notrunc status=none
  ./bench open "damaged$p" "$p"
done
grep -h "dropping" damaged0/LOG || true
./bench write big0 0 "$batches"
./bench write big1 1 "$batches"
for i in 1 2; do ./bench scan big0 0; ./bench scan big0 1; done
