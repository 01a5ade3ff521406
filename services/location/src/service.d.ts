import { type BindingStore } from "@sip-platform/bindings";
import { type Bus } from "@sip-platform/bus";
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
export declare function startLocation(deps: LocationDeps): Promise<RunningLocation>;
//# sourceMappingURL=service.d.ts.map
