/**
 * oidc-auth-client: a ready bearer token from a py-oidc-auth application
 * server, with a token lifecycle you can watch.
 *
 * @packageDocumentation
 */
export { authenticate, authState, reauthenticate, type AuthenticateOptions, type AuthStateHandle } from './api/authenticate.ts';
export { authenticatedFetch, authHooks, type AuthenticatedFetchOptions, type AuthKyHooks } from './api/authenticated-fetch.ts';
export { sanitizeInspectionEvent, type Inspector } from './protocol/inspection.ts';
export { TokenStore, defaultStorePath, type TokenStoreOptions } from './adapters/store/file-store.ts';
export {
  BaseTokenStore, sameVersion, storedToken, putToken, removeToken, clearStore, listLogins,
  type TokenStoreBackend, type StoredSummary, type StoreRead, type StoreChange, type StoreLease, type StoreVersion, type StoredLogin, type StoredEntry, type LoginTurnOptions, type TurnHolder, type MaybePromise,
} from './adapters/store/contract.ts';
export { MemoryTokenStore } from './adapters/store/memory-store.ts';
export { BaseFlow, DeviceFlow, CodeFlow, type FlowOptions, type FlowInit, type FlowAuthenticateOptions } from './api/flows.ts';
export { AuthError, isAuthError, isKnownAuthErrorCode, KNOWN_AUTH_ERROR_CODES, type AuthErrorCode, type KnownAuthErrorCode, type AuthErrorOptions, type NetworkReason } from './errors.ts';
export type { WarningSink } from './adapters/store/file-format.ts';
export { DEFAULT_CONFIG, type Config, type Token, type Identity, type DeviceCode, type FlowKind, type Environment } from './types.ts';
export type { ServerOptions, ExchangeFrom } from './api/settings.ts';
export { switchAccount } from './api/accounts.ts';
export { startAgent, type Agent, type AgentOptions, type AgentStatus } from './api/agent.ts';
export { DEFAULT_ACCOUNT } from './protocol/store-key.ts';
export type { Presenter } from './host/presenter.ts';
export type { AuthStateView, AuthStateName, AuthStateError, AuthActorRef, AuthActorSnapshot, Unsubscribe } from './host/views.ts';
export type { PublicDeviceCode } from './protocol/device.ts';
export { normalizeHost } from './protocol/host.ts';
export { BATCH_VARIABLES } from './adapters/browser/environment.ts';
export { Client } from './servers/client/client.ts';
export { generateDpopKey, dpopKeyFromJwk, exportDpopKey, signDpopProof, type DpopKey } from './servers/client/dpop.ts';
export { DPOP_ALGORITHMS, type DpopAlgorithm } from './protocol/dpop.ts';
export type { ClientCertificate } from './adapters/http/proxy.ts';
export {
  DEVICE_FLOW, DEVICE_FLOW_RETRIABLE_ERRORS, GRANT_TYPE_JWT, GRANT_TYPE_SAML2, GRANT_TYPE_TOKEN_EXCHANGE, signJwtAssertion, pkcePair,
  type ClientOptions, type ClientAuthMethod, type AuthRequestOptions, type BrowserLoginOptions, type RefreshOptions, type ObtainingTokensEvent, type DeviceFlowState, type DeviceFlowPending, type SigningKey,
} from './servers/client/options.ts';
export { parseAuthResponse, type AuthCodeFlow, type AuthResponse, type ProviderMetadata, type TokenResponse } from './protocol/oauth.ts';
export { validateIdToken } from './servers/client/validate.ts';
export type { IdTokenExpectations, KeySource } from './servers/client/id-token.ts';
export type { MetadataCacheOptions } from './servers/client/metadata-cache.ts';
