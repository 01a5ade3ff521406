/**
 * The Redis layout of registrations, defined once. This package is its only writer.
 *
 *   <prefix>reg:{<aor>}           hash, one per AoR
 *       field: binding identity (`bindingIdentity`): `<urn:…>;reg-id=N` for an RFC 5626
 *              instance + reg-id, else the normalised Contact URI
 *       value: the Binding as compact JSON, without `aor` (it is in the key)
 *       PEXPIREAT: the latest `expiresAt` of its bindings, so Redis reclaims an AoR whose
 *              bindings all expired; deleted outright when its last binding is removed
 *   <prefix>edge-aors:{<edgeId>}  set of AoRs that had a binding with a flow on that edge;
 *       PEXPIREAT: the latest `expiresAt` of those bindings. May hold AoRs whose flow binding has
 *       since expired (harmless: `dropFlowsOf` re-checks each binding).
 *
 * The `{…}` hash tags keep each key's slot a function of the AoR (or edge) alone.
 */
export interface RedisKeys {
  aor(aor: string): string;
  edge(edgeId: string): string;
  /** `edge(id)` is `edgePrefix + id + "}"`; the scripts build edge keys from this. */
  readonly edgePrefix: string;
}

export function redisKeys(prefix = ""): RedisKeys {
  const edgePrefix = `${prefix}edge-aors:{`;
  return Object.freeze({
    aor: (aor: string) => `${prefix}reg:{${aor}}`,
    edge: (edgeId: string) => `${edgePrefix}${edgeId}}`,
    edgePrefix,
  });
}
