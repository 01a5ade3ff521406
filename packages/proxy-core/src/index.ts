/**
 * The stateful SIP proxy core (RFC 3261 §16): request checks (§16.3), Route pre-processing (§16.4),
 * branch requests (§16.6), the response context and best-response rules (§16.7), Timer C (§16.8),
 * CANCEL (§16.10), stateless forwarding (§16.11). Where a request goes is the caller's decision.
 */
export { aggregateChallenges, chooseBest, groupByQ, upstreamStatus } from "./best-response.js";
export { loopHash, loopHashOf, proxyBranch, statelessBranch } from "./branch.js";
export {
  type ForwardHooks,
  type HeaderList,
  ProxyCore,
  type ProxyCoreOptions,
  type ProxyTarget,
  ResponseContext,
  type ViaAddress,
} from "./proxy.js";
export { type IsSelf, preprocessRoute, type RoutePreprocess } from "./route.js";
export {
  checkLoop,
  checkMaxForwards,
  checkProxyRequire,
  checkUriScheme,
  type Rejection,
} from "./validate.js";
