/**
 * The bench's CPU profile of a running node: `GET /debug/cpu-profile`
 * (node/api/cpu-profile-route.ts), which the bench's clusters turn on when
 * asked for a profile.
 */

/** The longest profile the bench asks for (the schema's bound on api.cpuProfileMaxSeconds). */
export const MAX_PROFILE_SECONDS = 600;

/** How long after the profile's end the bench waits for the node to answer with it. */
const ANSWER_SLACK_S = 60;

/**
 * Overrides that turn the profiling route on when `profile` is asked for;
 * the caller puts the user's --set after them, so the user's value wins.
 */
export function profilingSets(profile: boolean): string[] {
  return profile ? [`api.cpuProfileMaxSeconds=${MAX_PROFILE_SECONDS}`] : [];
}

/** A CPU profile of the node behind `apiUrl` over the next `seconds`, as the API answers it (JSON text). */
export async function fetchCpuProfile(apiUrl: string, seconds: number): Promise<string> {
  // Bounded: a node that stopped answering must not hang the bench.
  const res = await fetch(`${apiUrl}/debug/cpu-profile?seconds=${seconds}`, {
    signal: AbortSignal.timeout((seconds + ANSWER_SLACK_S) * 1000),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${apiUrl}/debug/cpu-profile: ${res.status} ${body.slice(0, 200)}`);
  return body;
}
