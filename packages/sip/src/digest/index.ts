/** Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 8760): public API. */
export {
  DIGEST_ALGORITHMS,
  type DigestAlgorithm,
  type DigestHash,
  digestHashOf,
  digestHex,
  digestHexLength,
  isSessionAlgorithm,
  resolveDigestAlgorithm,
} from "./algorithm.js";
export { buildChallenge, type ChallengeOptions } from "./challenge.js";
export {
  type AnswerFailure,
  type AnswerOptions,
  answerChallenge,
  type ChallengeAnswer,
  pickChallenge,
} from "./client.js";
export {
  computeHa1,
  computeResponse,
  computeSessionHa1,
  computeUserhash,
  type DigestQop,
  formatNonceCount,
  type ResponseInput,
} from "./compute.js";
export { checkNonce, createNonce, type NonceCheck } from "./nonce.js";
export { randomHex } from "./random.js";
export { type VerifyOptions, verifyCredentials } from "./verify.js";
