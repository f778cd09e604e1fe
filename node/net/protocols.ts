import { assertChainId } from "../types/index.ts";
import type { SharedTopic } from "./metrics.ts";

/** Topics every node subscribes to (a lane owner also subscribes to its own lane's vote topic). */
export const TOPICS: readonly SharedTopic[] = [
  "lane_vote",
  "lane_qc",
  "consensus",
  "app_vote",
  "batch_vote",
  "ha_announce",
];

/** Protocol ids and topic names, all scoped by chain id so two chains never mix. */
export interface ProtocolIds {
  push: string;
  sync: string;
  topic: Record<SharedTopic, string>;
  /**
   * Per lane, the topic its owner alone subscribes to: other members' votes
   * on its blocks (lanes/vote-routing.ts). A flood publish reaches the
   * subscribed peers only: every instance of the owner (HA), nobody else.
   */
  laneVoteTo: readonly string[];
}

/** `lanes`: the committee size (one owner vote topic per lane; 0 where no lane vote is sent). */
export function protocolIds(chainId: string, lanes: number): ProtocolIds {
  assertChainId(chainId);
  const base = `/validator/${chainId}`;
  return {
    push: `${base}/lanes/1`,
    sync: `${base}/sync/1`,
    topic: {
      lane_vote: `${base}/lane_vote/1`,
      lane_qc: `${base}/lane_qc/1`,
      consensus: `${base}/consensus/1`,
      app_vote: `${base}/app_vote/1`,
      batch_vote: `${base}/batch_vote/1`,
      ha_announce: `${base}/ha_announce/1`,
    },
    laneVoteTo: Array.from({ length: lanes }, (_, lane) => `${base}/lane_vote_to/${lane}/1`),
  };
}

/** Every topic string a node may see: the shared ones and every lane owner's. */
export function allTopicStrings(ids: ProtocolIds): string[] {
  return [...TOPICS.map((t) => ids.topic[t]), ...ids.laneVoteTo];
}
