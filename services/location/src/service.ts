import { type BindingStore, normalizeAor } from "@sip-platform/bindings";
import { type Bus, EdgeWatcher, events, requests } from "@sip-platform/bus";
import type { Logger } from "pino";

export interface LocationDeps {
  readonly bus: Bus;
  readonly bindings: BindingStore;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface RunningLocation {
  close(): Promise<void>;
}

/**
 * The location service: answers "where is this address of record now" from the binding store (the
 * single source of truth), in the `location` queue group. It also watches edge presence: when an
 * edge is gone, the flows it owned are dropped from every binding, so nobody tries a dead connection.
 */
export async function startLocation(deps: LocationDeps): Promise<RunningLocation> {
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
  const dropFlows = async (edgeId: string): Promise<number> => {
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
        (err: unknown) => log.warn({ err, edgeId }, "could not drop the flows of a gone edge"),
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
