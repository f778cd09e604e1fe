import { CHAIN_ID_PATTERN } from "../types/index.ts";
import { UsageError } from "./errors.ts";

/** Checks a --chain-id value (in the action, so that the command definitions stay cheap to load). */
export function checkChainId(chainId: string): string {
  if (!CHAIN_ID_PATTERN.test(chainId)) {
    throw new UsageError(
      `--chain-id ${JSON.stringify(chainId)}: a chain id is 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
    );
  }
  return chainId;
}
