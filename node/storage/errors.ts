/** A write a store refuses: it breaks a WAL rule or a store invariant. */
export class StorageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StorageError";
  }
}

export const RESET_REMEDY =
  "the database cannot be trusted; restore it from a backup or wipe it with `validator reset --yes` and let the node sync from its peers";

/**
 * Durable state that does not validate. Start-up stops: the node must not
 * guess what it signed before.
 */
export class RecoveryError extends Error {
  readonly keyRange: string;
  readonly problem: string;
  readonly remedy: string;
  constructor(keyRange: string, problem: string) {
    super(`invalid durable state at ${keyRange}: ${problem}; ${RESET_REMEDY}`);
    this.name = "RecoveryError";
    this.keyRange = keyRange;
    this.problem = `invalid durable state at ${keyRange}: ${problem}`;
    this.remedy = RESET_REMEDY;
  }
}
