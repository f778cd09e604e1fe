/** A write a store refuses: it breaks a WAL rule or a store invariant. */
export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageError";
  }
}

export const RESET_REMEDY =
  "the database cannot be trusted; restore it from a backup or wipe it with `validator reset --yes` and let the node sync from its peers";

/** The remedy command for damaged chain data: rebuild it from peers, keeping the safety record and keys. */
export function resyncCommand(home?: string): string {
  return home === undefined ? "validator resync --yes" : `validator resync --home ${home} --yes`;
}

export interface IntegrityFacts {
  /** The database directory (or the file in it) that is damaged. */
  path: string;
  /** Key range, e.g. `chain/block/34758..chain/block/34760`, or `*` when it cannot be told. */
  keyRange: string;
  /** What is wrong, in one clause. */
  problem: string;
  /** What was lost (or cannot be read), in one clause. */
  lost: string;
  /** The command (or action) that repairs it. */
  remedy: string;
}

/**
 * Damaged or lost durable data: a record LevelDB dropped, a table it cannot
 * read, a missing CURRENT, a gap or a broken hash link. Start-up (or the
 * scrub) stops with it; the node never runs on data it cannot vouch for.
 * Every field is structured for the operator-facing error line and JSON log:
 * `path`, `keyRange`, `problem`, `lost` and `remedy` (a command). Storage
 * does not know the node's home: the runtime calls `locate` to fill in the
 * path and the concrete remedy command.
 */
export class StorageIntegrityError extends Error implements IntegrityFacts {
  path: string;
  readonly keyRange: string;
  readonly problem: string;
  readonly lost: string;
  remedy: string;

  constructor(facts: IntegrityFacts) {
    super("");
    this.name = "StorageIntegrityError";
    this.path = facts.path;
    this.keyRange = facts.keyRange;
    this.problem = facts.problem;
    this.lost = facts.lost;
    this.remedy = facts.remedy;
    this.message = this.compose();
  }

  /** Fills in the database path and, for damaged chain data, the node's own resync command. */
  locate(path: string, home?: string): this {
    this.path = path;
    if (this.remedy === resyncCommand()) this.remedy = resyncCommand(home);
    this.message = this.compose();
    return this;
  }

  facts(): IntegrityFacts {
    return { path: this.path, keyRange: this.keyRange, problem: this.problem, lost: this.lost, remedy: this.remedy };
  }

  protected compose(): string {
    return `damaged database ${this.path} at ${this.keyRange}: ${this.problem}; lost: ${this.lost}; remedy: ${this.remedy}`;
  }
}

/**
 * Durable state that does not validate (a certificate that does not verify,
 * a safety record that contradicts the CommitQC WAL). Start-up stops: the
 * node must not guess what it signed before. Its remedy is a backup or a
 * reset, since what is wrong may be the safety record itself.
 */
export class RecoveryError extends StorageIntegrityError {
  constructor(keyRange: string, problem: string) {
    super({
      path: "the database",
      keyRange,
      problem,
      lost: "the records in that range cannot be trusted",
      remedy: RESET_REMEDY,
    });
    this.name = "RecoveryError";
  }

  protected override compose(): string {
    return `invalid durable state at ${this.keyRange}: ${this.problem}; ${RESET_REMEDY}`;
  }
}
