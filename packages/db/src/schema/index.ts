/** The whole database schema, one file per table family; drizzle-kit reads this folder. */
export { type CallRecordRow, callEventsApplied, callRecords } from "./calls.js";
export { type DomainRow, domains } from "./domains.js";
export { type CallForwardingRow, callForwarding } from "./forwarding.js";
export { type SubscriberRow, subscribers } from "./subscribers.js";
