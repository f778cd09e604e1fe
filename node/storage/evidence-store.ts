import { type Evidence, evidenceFromJson, evidenceToJson } from "../types/index.ts";
import { StorageError } from "./errors.ts";
import { laneSpaceName, utf8 } from "./keys.ts";
import { plain, type Space } from "./level.ts";
import type { WriteSet } from "./write-set.ts";

/**
 * Proofs kept per (kind, member). One proof already convicts; a few show a
 * pattern. The key space `evidence/<kind>/<member>/<slot>` is therefore
 * bounded by kinds x committee x this.
 */
export const MAX_EVIDENCE_PER_MEMBER_KIND = 4;

/**
 * Equivocation evidence (`evidence/...`), JSON values. Loaded whole at open
 * (it is bounded) and kept in memory for GET /evidence. A duplicate, or a
 * proof beyond the per-member bound, is not stored (the metric still counts
 * every detection).
 */
export class EvidenceStore {
  readonly #space: Space;
  readonly #byKey = new Map<string, Evidence>();
  readonly #perMember = new Map<string, number>();

  private constructor(space: Space) {
    this.#space = space;
  }

  static async open(space: Space): Promise<EvidenceStore> {
    const store = new EvidenceStore(space);
    for await (const [key, value] of space.iterator()) {
      const name = new TextDecoder().decode(key);
      try {
        const e = evidenceFromJson(JSON.parse(new TextDecoder().decode(plain(value))));
        if (EvidenceStore.keyOf(e) !== name) throw new Error("key does not match the record");
        store.#add(name, e);
      } catch (err) {
        throw new StorageError(`evidence/${name}: ${(err as Error).message}`);
      }
    }
    return store;
  }

  static keyOf(e: Evidence): string {
    return `${e.kind}/${laneSpaceName(e.signer)}/${e.slot}`;
  }

  /** Every stored proof, oldest kind/member first. */
  list(): Evidence[] {
    return [...this.#byKey.values()];
  }

  get size(): number {
    return this.#byKey.size;
  }

  /** Stages `e` unless it is known or its member's bound for the kind is reached; true if staged. */
  put(ws: WriteSet, e: Evidence): boolean {
    const key = EvidenceStore.keyOf(e);
    if (this.#byKey.has(key)) return false;
    const member = `${e.kind}/${e.signer}`;
    if ((this.#perMember.get(member) ?? 0) >= MAX_EVIDENCE_PER_MEMBER_KIND) return false;
    ws.put(this.#space, utf8(key), utf8(JSON.stringify(evidenceToJson(e))));
    this.#add(key, e);
    ws.onUndo(() => {
      this.#byKey.delete(key);
      this.#perMember.set(member, (this.#perMember.get(member) ?? 1) - 1);
    });
    return true;
  }

  #add(key: string, e: Evidence): void {
    this.#byKey.set(key, e);
    const member = `${e.kind}/${e.signer}`;
    this.#perMember.set(member, (this.#perMember.get(member) ?? 0) + 1);
  }
}
