// Measures what LevelDB 1.20's own checks (the version classic-level 3 bundles)
// would give the node: paranoid_checks on a damaged log, and the cost of
// verify_checksums on a full read and of paranoid_checks on a write load.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include "leveldb/db.h"
#include "leveldb/write_batch.h"
using namespace std;
using clk = chrono::steady_clock;
static double ms(clk::time_point a) { return chrono::duration<double, milli>(clk::now() - a).count(); }

int main(int argc, char** argv) {
  string mode = argv[1];
  string path = argv[2];
  leveldb::Options o;
  o.create_if_missing = true;
  if (mode == "write") {  // write N batches of 8 x 2 KiB values, synced every 16th batch
    o.paranoid_checks = string(argv[3]) == "1";
    int n = atoi(argv[4]);
    leveldb::DB* db; leveldb::Status s = leveldb::DB::Open(o, path, &db);
    if (!s.ok()) { printf("open: %s\n", s.ToString().c_str()); return 1; }
    string v(2048, 'x'); unsigned seed = 7;
    auto t = clk::now();
    for (int i = 0; i < n; i++) {
      leveldb::WriteBatch b;
      for (int j = 0; j < 8; j++) {
        for (auto& c : v) { seed = seed * 1103515245 + 12345; c = (char)(seed >> 16); if ((seed >> 8) & 3) c = 'a'; }
        char k[32]; snprintf(k, sizeof k, "k%012d", i * 8 + j);
        b.Put(k, v);
      }
      leveldb::WriteOptions w; w.sync = (i % 16 == 0);
      s = db->Write(w, &b);
      if (!s.ok()) { printf("write: %s\n", s.ToString().c_str()); return 1; }
    }
    printf("write paranoid=%d batches=%d: %.0f ms\n", o.paranoid_checks, n, ms(t));
    delete db;
  } else if (mode == "scan") {  // full scan, verify_checksums on or off
    o.paranoid_checks = false;
    leveldb::DB* db; leveldb::Status s = leveldb::DB::Open(o, path, &db);
    if (!s.ok()) { printf("open: %s\n", s.ToString().c_str()); return 1; }
    leveldb::ReadOptions r; r.verify_checksums = string(argv[3]) == "1"; r.fill_cache = false;
    auto t = clk::now();
    long bytes = 0, keys = 0;
    leveldb::Iterator* it = db->NewIterator(r);
    for (it->SeekToFirst(); it->Valid(); it->Next()) { bytes += it->key().size() + it->value().size(); keys++; }
    printf("scan verify_checksums=%d: %ld keys %.1f MB in %.0f ms (%s)\n", r.verify_checksums, keys, bytes / 1e6, ms(t), it->status().ToString().c_str());
    delete it; delete db;
  } else if (mode == "open") {  // open a damaged copy with paranoid_checks on or off
    o.create_if_missing = false;
    o.paranoid_checks = string(argv[3]) == "1";
    leveldb::DB* db; leveldb::Status s = leveldb::DB::Open(o, path, &db);
    printf("open paranoid=%d: %s\n", o.paranoid_checks, s.ToString().c_str());
    if (s.ok()) delete db;
  }
  return 0;
}
