export * from "./digest/index.js";
export { SipParseError, type SipParseErrorCode } from "./errors.js";
export { canonicalHeaderName, HeaderId, headerKey } from "./header-names.js";
export * from "./headers/auth.js";
export { type CSeq, parseCSeq } from "./headers/cseq.js";
export {
  formatNameAddr,
  type NameAddr,
  nameAddrUri,
  newNameAddr,
  parseNameAddr,
  tagOf,
} from "./headers/name-addr.js";
export { Params, parseParams } from "./headers/params.js";
export { formatVia, MAGIC_COOKIE, newVia, parseVia, type Via, viaBranch, viaRport } from "./headers/via.js";
export { newBranch, newCallId, newTag } from "./ids.js";
export { DEFAULT_LIMITS, type ParseLimits } from "./limits.js";
export { type AnySipMessage, SipMessage, SipRequest, SipResponse } from "./message.js";
export { type Framing, parseMessage } from "./parser.js";
export { reasonPhrase } from "./reason.js";
export { createResponse, type ResponseOptions } from "./response.js";
export { StreamFramer, type StreamFramerEvents } from "./stream.js";
export { parseDecimal, quote, splitComma, unescapePercent, unquote } from "./syntax.js";
export {
  bareHost,
  formatUri,
  isSipUri,
  isTelUri,
  type OtherUri,
  parseUri,
  type SipUri,
  type TelUri,
  type Uri,
} from "./uri.js";
export { checkMessage } from "./validate.js";
