// Keycloak, as documented:
// - https://www.keycloak.org/docs/latest/securing_apps/#_oidc (endpoints under /realms/<realm>/protocol/openid-connect)
// - https://www.keycloak.org/docs/latest/server_admin/#device-authorization-grant
// - https://datatracker.ietf.org/doc/html/rfc8628#section-3.5 (the error answers Keycloak sends, HTTP 400)
// Token answers carry refresh_expires_in; a refresh returns a new refresh token; the authorization response carries iss (RFC 9207).
import type { Profile } from './engine.ts';

const realm = '/realms/demo/protocol/openid-connect';

export const keycloak: Profile = {
  name: 'Keycloak',
  docs: ['https://www.keycloak.org/docs/latest/securing_apps/#_oidc', 'https://www.keycloak.org/docs/latest/server_admin/#device-authorization-grant'],
  issuerPath: '/realms/demo',
  discovery: true,
  paths: { authorize: `${realm}/auth`, token: `${realm}/token`, device: `${realm}/auth/device` },
  extraDiscovery: { authorization_response_iss_parameter_supported: true, code_challenge_methods_supported: ['plain', 'S256'] },
  deviceAnswer: ({ device_code, user_code, base }) => ({
    status: 200,
    body: { device_code, user_code, verification_uri: `${base}/realms/demo/device`, verification_uri_complete: `${base}/realms/demo/device?user_code=${user_code}`, expires_in: 600, interval: 1 },
  }),
  pending: { status: 400, body: { error: 'authorization_pending', error_description: 'The authorization request is still pending' } },
  denied: { status: 400, body: { error: 'access_denied', error_description: 'The end user denied the authorization request' } },
  expired: { status: 400, body: { error: 'expired_token', error_description: 'Device code is expired' } },
  tokens: ({ access, refresh }) => ({
    status: 200,
    body: { access_token: access, expires_in: 300, refresh_expires_in: 1800, refresh_token: refresh, token_type: 'Bearer', 'not-before-policy': 0, session_state: 'ss-1', scope: 'openid offline_access' },
  }),
  rotates: true,
  deadRefresh: { status: 400, body: { error: 'invalid_grant', error_description: 'Token is not active' } },
  serverError: { status: 500, body: { error: 'unknown_error' } },
  issInResponse: true,
};
