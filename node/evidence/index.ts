/** Equivocation evidence: a registry of signed kinds and a pure, bounded detector. */
export { EquivocationDetector, MAX_SLOTS_PER_KIND, signedIn, statementsOf, verifyEvidence } from "./detector.ts";
export { EVIDENCE_KINDS, EVIDENCE_SLOTS, type EvidenceKind, isEvidenceKind, type Statement } from "./rules.ts";
