/** Equivocation evidence: a registry of signed kinds and a pure, bounded detector. */
export { EquivocationDetector, MAX_SLOTS_PER_KIND, statementsOf, verifyEvidence } from "./detector.ts";
export { EVIDENCE_KINDS, EVIDENCE_RULES, type EvidenceKind, isEvidenceKind, type Statement } from "./rules.ts";
