import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * The node's Prometheus metrics (prefix `validator_`). One registry per node,
 * not prom-client's global one, so several nodes can live in one process
 * (tests, the simulator).
 */
export function createMetrics(opts: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry, prefix: "validator_process_" });
    // prom-client exports heap total/used and `external` but not the ArrayBuffer share of it
    // (Buffers: sockets, LevelDB values), which tells buffered bytes apart from other native memory.
    new Gauge({
      name: "validator_process_nodejs_array_buffers_bytes",
      help: "Memory of ArrayBuffers and Buffers (process.memoryUsage().arrayBuffers), part of external",
      registers: [registry],
      collect() {
        this.set(process.memoryUsage().arrayBuffers);
      },
    });
  }
  const r = [registry];
  return {
    registry,
    finalizedIndex: new Gauge({ name: "validator_finalized_index", help: "Highest finalized index", registers: r }),
    viewIndex: new Gauge({ name: "validator_view_index", help: "Current consensus index", registers: r }),
    viewRound: new Gauge({ name: "validator_view_round", help: "Current round within the index", registers: r }),
    timeouts: new Counter({
      name: "validator_timeouts_total",
      help: "View timeouts this node voted for",
      registers: r,
    }),
    proposals: new Counter({
      name: "validator_proposals_total",
      help: "Proposals this node made as leader, by its wait for lane certificates (consensus.proposeGatherMs): none, gathered (every held block certified in time), expired",
      labelNames: ["wait"] as const,
      registers: r,
    }),
    roundChanges: new Counter({
      name: "validator_round_changes_total",
      help: "Moves to a higher round by TimeoutQC",
      registers: r,
    }),
    finalityLatency: new Histogram({
      name: "validator_finality_latency_seconds",
      help: "From a tx entering this node's mempool to its index being final",
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
      registers: r,
    }),
    indexConsensus: new Histogram({
      name: "validator_index_consensus_seconds",
      help: "From accepting an index's round-0 proposal to its CommitQC being durable, for indexes decided live in round 0",
      buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2],
      registers: r,
    }),
    laneBlocks: new Counter({
      name: "validator_lane_blocks_total",
      help: "Lane blocks by outcome (produced, accepted, rejected, equivocation)",
      labelNames: ["outcome"] as const,
      registers: r,
    }),
    laneQcs: new Counter({
      name: "validator_lane_qcs_total",
      help: "LaneQCs this node knows: formed from votes here, or announced by their lane's owner",
      registers: r,
    }),
    scrubBytes: new Counter({
      name: "validator_scrub_bytes_total",
      help: "Bytes the background scrub read and checked (table blocks, global blocks)",
      registers: r,
    }),
    scrubPasses: new Counter({
      name: "validator_scrub_passes_total",
      help: "Complete passes of the background scrub over the whole database",
      registers: r,
    }),
    txsFinalized: new Counter({
      name: "validator_txs_finalized_total",
      help: "Transactions in finalized blocks",
      registers: r,
    }),
    storageWriteBytes: new Counter({
      name: "validator_storage_write_bytes_total",
      help: "Bytes of keys and values the node wrote to LevelDB (group commits), before LevelDB's own log and compaction",
      registers: r,
    }),
    storageWriteBytesPerTx: new Gauge({
      name: "validator_storage_write_bytes_per_finalized_tx",
      help: "validator_storage_write_bytes_total / validator_txs_finalized_total since start",
      registers: r,
    }),
    chainRetainedFrom: new Gauge({
      name: "validator_chain_retained_from",
      help: "The lowest finalized global block the chain store keeps (storage.retainIndexes prunes below it)",
      registers: r,
    }),
    chainPrunedBlocks: new Counter({
      name: "validator_chain_pruned_blocks_total",
      help: "Global blocks pruned by retention (storage.retainIndexes)",
      registers: r,
    }),
    eventStreamsDropped: new Counter({
      name: "validator_event_streams_dropped_total",
      help: "GET /events streams refused at the cap (too_many_streams) or cut off: a client whose buffer filled (slow_client), or every stream when the fan-out fell behind (hub_overflow)",
      labelNames: ["reason"] as const,
      registers: r,
    }),
    mempoolTxs: new Gauge({ name: "validator_mempool_txs", help: "Transactions waiting in the mempool", registers: r }),
    laneBlockDelay: new Gauge({
      name: "validator_lane_block_delay_seconds",
      help: "The block delay: period of the wall-clock ticks on which the own lane cuts a block that is not full (lanes.maxBlockDelayMs, longer while consensus is slow)",
      registers: r,
    }),
    laneHeldBytes: new Gauge({
      name: "validator_lane_held_bytes",
      help: "Payload bytes of lane blocks held in memory: not yet executed here (the lane window, and blocks final but not executed) or buffered past a gap",
      registers: r,
    }),
    outboxPendingWrites: new Gauge({
      name: "validator_outbox_pending_writes",
      help: "Writes the outbox holds signed messages behind, waiting for their durable acknowledgement",
      registers: r,
    }),
    mempoolRejected: new Counter({
      name: "validator_mempool_rejected_total",
      help: "Txs refused because the mempool was full",
      registers: r,
    }),
    levelDbFiles: new Gauge({
      name: "validator_leveldb_files",
      help: "LevelDB table files, by level",
      labelNames: ["level"] as const,
      registers: r,
    }),
    levelDbBytes: new Gauge({
      name: "validator_leveldb_level_bytes",
      help: "Size of LevelDB's table files, by level (LevelDB rounds it to whole MiB)",
      labelNames: ["level"] as const,
      registers: r,
    }),
    levelDbCompactionSeconds: new Counter({
      name: "validator_leveldb_compaction_seconds_total",
      help: "Wall-clock time of LevelDB's compactions into each level, on its one background thread, I/O included (rounded to whole seconds)",
      labelNames: ["level"] as const,
      registers: r,
    }),
    levelDbCompactionReadBytes: new Counter({
      name: "validator_leveldb_compaction_read_bytes_total",
      help: "Bytes LevelDB's compactions into each level read (rounded to whole MiB)",
      labelNames: ["level"] as const,
      registers: r,
    }),
    levelDbCompactionWrittenBytes: new Counter({
      name: "validator_leveldb_compaction_written_bytes_total",
      help: "Bytes LevelDB's compactions, and its memtable flushes (mostly into level 0), wrote into each level (rounded to whole MiB)",
      labelNames: ["level"] as const,
      registers: r,
    }),
    walWriteSeconds: new Histogram({
      name: "validator_wal_write_seconds",
      help: "Latency of one group-commit batch (sync write)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers: r,
    }),
    walBatchWrites: new Histogram({
      name: "validator_wal_batch_writes",
      help: "LevelDB operations per group-commit batch",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024],
      registers: r,
    }),
    peers: new Gauge({ name: "validator_peers", help: "Connected peers", registers: r }),
    gossipMessages: new Counter({
      name: "validator_gossip_messages_total",
      help: "Gossip messages received by topic and validation verdict",
      labelNames: ["topic", "verdict"] as const,
      registers: r,
    }),
    syncRequests: new Counter({
      name: "validator_sync_requests_total",
      help: "Sync requests by kind, direction and outcome",
      labelNames: ["kind", "direction", "outcome"] as const,
      registers: r,
    }),
    signatureChecks: new Counter({
      name: "validator_signature_checks_total",
      help: "Signature checks by result: verified (an Ed25519 verification ran) or cached (seen and verified before, e.g. a vote inside a certificate)",
      labelNames: ["result"] as const,
      registers: r,
    }),
    equivocations: new Counter({
      name: "validator_equivocations_total",
      help: "Equivocations detected (two different signed statements of one member for one slot), by signed kind",
      labelNames: ["kind"] as const,
      registers: r,
    }),
    warningsSuppressed: new Counter({
      name: "validator_warnings_suppressed_total",
      help: "Warning lines not written because one source exceeded its rate (summed up in one line)",
      labelNames: ["module"] as const,
      registers: r,
    }),
    peersBanned: new Counter({
      name: "validator_peers_banned_total",
      help: "Peers disconnected and kept out for a while after sending invalid messages",
      registers: r,
    }),
    apiRejected: new Counter({
      name: "validator_api_rejected_total",
      help: "HTTP requests or connections refused by the API's bounds, by reason",
      labelNames: ["reason"] as const,
      registers: r,
    }),
    attestationNextBatch: new Gauge({
      name: "validator_attestation_next_batch",
      help: "The next batch to attest: the main node's published status (its own next BatchQC on the main node)",
      registers: r,
    }),
    batchQcsStored: new Gauge({
      name: "validator_batch_qcs_stored",
      help: "BatchQCs held in the gap-free WAL (the next BatchQC number)",
      registers: r,
    }),
    batchQcs: new Counter({
      name: "validator_batch_qcs_total",
      help: "BatchQCs stored by this process",
      registers: r,
    }),
    batchVotes: new Counter({
      name: "validator_batch_votes_total",
      help: "Batch votes received by verdict (accepted, duplicate, invalid, old, out_of_window, superseded, equivocation)",
      labelNames: ["verdict"] as const,
      registers: r,
    }),
    batchVotesSigned: new Counter({
      name: "validator_batch_votes_signed_total",
      help: "Batch votes this node signed",
      registers: r,
    }),
    attestationPollErrors: new Counter({
      name: "validator_attestation_poll_errors_total",
      help: "Failed polls of the main node's attestation status, by kind",
      labelNames: ["kind"] as const,
      registers: r,
    }),
    haRole: new Gauge({
      name: "validator_ha_role",
      help: "HA role of this instance: 0 standby (also without [ha]), 1 reconciling, 2 leader",
      registers: r,
    }),
    haEpoch: new Gauge({
      name: "validator_ha_epoch",
      help: "Fencing epoch of this instance's last lease",
      registers: r,
    }),
    haFailovers: new Counter({
      name: "validator_ha_failovers_total",
      help: "Times this instance took over signing (won the lease and reconciled)",
      registers: r,
    }),
    haOutstandingPublishes: new Gauge({
      name: "validator_ha_outstanding_publishes",
      help: "Sign-state writes to slow redis-servers still running after their publish returned",
      registers: r,
    }),
    haOpSeconds: new Histogram({
      name: "validator_ha_op_seconds",
      help: "Latency of HA quorum operations (acquire, renew, publish, reconcile, release)",
      labelNames: ["op"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    dropped: new Counter({
      name: "validator_dropped_total",
      help: "Items dropped because a bounded queue or buffer was full",
      labelNames: ["queue"] as const,
      registers: r,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
