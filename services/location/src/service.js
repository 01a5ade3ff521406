import { normalizeAor } from "@sip-platform/bindings";
import { EdgeWatcher, events, requests } from "@sip-platform/bus";
/**
 * The location service: answers "where is this address of record now" from the binding store (the
 * single source of truth), in the `location` queue group. It also watches edge presence: when an
 * edge is gone, the flows it owned are dropped from every binding, so nobody tries a dead connection.
 */
export async function startLocation(deps) {
  const { bus, bindings, log } = deps;
  const now = deps.now ?? Date.now;
  const lookup = await bus.serve(
    requests.locationLookup,
    { queue: requests.locationLookup.queue },
    async ({ aor }) => ({
      bindings: await bindings.lookup(normalizeAor(aor), now()),
    }),
  );
  /** Drops the edge's flows and tells binding caches which AoRs changed; returns how many. */
  const dropFlows = async (edgeId) => {
    const aors = await bindings.dropFlowsOf(edgeId);
    for (const aor of aors) {
      const count = (await bindings.lookup(aor, now())).length;
      bus.publish(events.bindingChanged, { aor, count });
    }
    return aors.length;
  };
  const watcher = await EdgeWatcher.start({
    bus,
    onGone: (edgeId, reason) => {
      dropFlows(edgeId).then(
        (aors) => log.info({ edgeId, reason, aors }, "edge gone: its flows are dead"),
        (err) => log.warn({ err, edgeId }, "could not drop the flows of a gone edge"),
      );
    },
  });
  log.info("location serving");
  return {
    async close() {
      await watcher.stop();
      await lookup.drain();
    },
  };
}
//# sourceMappingURL=service.js.map
