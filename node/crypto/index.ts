/** Keys, Ed25519 signing and verification, certificates, verification cache. */
export {
  type Aggregate,
  aggregate,
  type CertCheck,
  type CertificateInput,
  checkSignature,
  type MemberKeys,
  rememberOwnSignature,
  type SignedPart,
  verifyCertificate,
  verifyMemberSignature,
} from "./certificates.ts";
export { Signer, signMessage, verifyRaw, verifySigned } from "./ed25519.ts";
export { type KeyFile, readKeyFile, writeKeyFile } from "./keyfile.ts";
export { generateKeyPair, type KeyPair, publicKeyOf, reference } from "./keys.ts";
export { libp2pPrivateKey, peerIdOf } from "./node-key.ts";
export { VERIFY_CACHE_ENTRIES, VerifyCache } from "./verify-cache.ts";
