/** The whole database schema, one file per table family; drizzle-kit reads this folder. */
export { type DomainRow, domains } from "./domains.js";
export { type SubscriberRow, subscribers } from "./subscribers.js";
