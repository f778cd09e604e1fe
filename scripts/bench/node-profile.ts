/**
 * The bench's CPU profile of a running node: `GET /debug/cpu-profile`
 * (node/api/cpu-profile-route.ts), which the bench's clusters turn on when
 * asked for a profile.
 */
import { MAX_CPU_PROFILE_SECONDS } from "../../node/config/index.ts";
import { getText } from "../cluster/index.ts";

/** How long after the profile's end the bench waits for the node to answer with it. */
const ANSWER_SLACK_S = 30;

/**
 * Overrides that turn the profiling route on when `profile` is asked for;
 * the caller puts the user's --set after them, so the user's value wins.
 */
export function profilingSets(profile: boolean): string[] {
  return profile ? [`api.cpuProfileMaxSeconds=${MAX_CPU_PROFILE_SECONDS}`] : [];
}

/**
 * A CPU profile of the node behind `apiUrl` over the next `seconds`, as the
 * API answers it (JSON text). `signal` gives up early (the node ends the
 * profile when its client goes away).
 */
export function fetchCpuProfile(apiUrl: string, seconds: number, signal?: AbortSignal): Promise<string> {
  // Bounded: a node that stopped answering must not hang the bench.
  return getText(`${apiUrl}/debug/cpu-profile?seconds=${seconds}`, (seconds + ANSWER_SLACK_S) * 1000, signal);
}
