export { contactChange } from "./contacts.js";
export { REGISTER_FAILURES, type RegisterFailure } from "./outcome.js";
export { REGISTRAR_DEFAULTS, type RegistrarPolicy } from "./policy.js";
export type { CredentialsSource, DomainDirectory, SubscriberCredentials } from "./ports.js";
export { type RegisterOrigin, Registrar, type RegistrarDeps } from "./registrar.js";
