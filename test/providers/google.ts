// Google, as documented:
// - https://developers.google.com/identity/protocols/oauth2/limited-input-device
//   (`verification_url`; pending is HTTP 428, denial and slow_down HTTP 403; the client secret goes in the body)
// - https://developers.google.com/identity/openid-connect/openid-connect#discovery
// - refresh: https://developers.google.com/identity/protocols/oauth2/native-app#offline
//   (a refresh answer has no new refresh token; a revoked one is 400 invalid_grant "Token has been expired or revoked.")
import type { Profile } from './engine.ts';

export const google: Profile = {
  name: 'Google',
  docs: ['https://developers.google.com/identity/protocols/oauth2/limited-input-device', 'https://developers.google.com/identity/openid-connect/openid-connect#discovery'],
  issuerPath: '',
  discovery: true,
  paths: { authorize: '/o/oauth2/v2/auth', token: '/token', device: '/device/code' },
  extraDiscovery: { token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'] },
  deviceAnswer: ({ device_code, user_code }) => ({
    status: 200,
    body: { device_code, user_code, expires_in: 1800, interval: 1, verification_url: 'https://www.google.com/device' },
  }),
  pending: { status: 428, body: { error: 'authorization_pending', error_description: 'Precondition Required' } },
  denied: { status: 403, body: { error: 'access_denied', error_description: 'Forbidden' } },
  expired: { status: 400, body: { error: 'expired_token', error_description: 'Bad Request' } },
  tokens: ({ access, refresh }) => ({
    status: 200,
    body: { access_token: access, expires_in: 3599, refresh_token: refresh, scope: 'openid', token_type: 'Bearer' },
  }),
  rotates: false,
  deadRefresh: { status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } },
  serverError: { status: 500, body: '<html><title>Error 500 (Server Error)!!1</title></html>', contentType: 'text/html' },
};
