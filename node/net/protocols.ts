import { assertChainId } from "../types/index.ts";
import type { Topic } from "./metrics.ts";

export const TOPICS: readonly Topic[] = ["lane_vote", "consensus", "app_vote", "batch_vote", "ha_announce"];

/** Protocol ids and topic names, all scoped by chain id so two chains never mix. */
export interface ProtocolIds {
  push: string;
  sync: string;
  topic: Record<Topic, string>;
}

export function protocolIds(chainId: string): ProtocolIds {
  assertChainId(chainId);
  const base = `/validator/${chainId}`;
  return {
    push: `${base}/lanes/1`,
    sync: `${base}/sync/1`,
    topic: {
      lane_vote: `${base}/lane_vote/1`,
      consensus: `${base}/consensus/1`,
      app_vote: `${base}/app_vote/1`,
      batch_vote: `${base}/batch_vote/1`,
      ha_announce: `${base}/ha_announce/1`,
    },
  };
}

/** Reverse map: gossipsub topic string -> our topic name. */
export function topicOf(ids: ProtocolIds, topicString: string): Topic | undefined {
  for (const t of TOPICS) if (ids.topic[t] === topicString) return t;
  return undefined;
}
