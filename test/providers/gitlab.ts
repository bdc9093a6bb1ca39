// GitLab, as documented:
// - https://docs.gitlab.com/api/oauth2/#device-authorization-grant-flow
// - https://docs.gitlab.com/api/oauth2/#authorization-code-with-proof-key-for-code-exchange-pkce
//   (redirect URIs must match a registered one exactly; a refresh rotates the refresh token)
// - Doorkeeper's invalid_grant text for a dead refresh token
import type { Profile } from './engine.ts';

export const gitlab: Profile = {
  name: 'GitLab',
  docs: ['https://docs.gitlab.com/api/oauth2/#device-authorization-grant-flow', 'https://docs.gitlab.com/api/oauth2/#authorization-code-with-proof-key-for-code-exchange-pkce'],
  issuerPath: '',
  discovery: true,
  paths: { authorize: '/oauth/authorize', token: '/oauth/token', device: '/oauth/authorize_device' },
  deviceAnswer: ({ device_code, user_code, base }) => ({
    status: 200,
    body: { device_code, user_code, verification_uri: `${base}/oauth/device`, verification_uri_complete: `${base}/oauth/device?user_code=${user_code}`, expires_in: 300, interval: 1 },
  }),
  pending: { status: 400, body: { error: 'authorization_pending', error_description: 'The authorization request is still pending.' } },
  denied: { status: 400, body: { error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.' } },
  expired: { status: 400, body: { error: 'expired_token', error_description: 'The device_code has expired, and the device authorization session has concluded.' } },
  tokens: ({ access, refresh }) => ({
    status: 200,
    body: { access_token: access, token_type: 'Bearer', expires_in: 7200, refresh_token: refresh, scope: 'openid', created_at: Math.floor(Date.now() / 1000) },
  }),
  rotates: true,
  deadRefresh: { status: 400, body: { error: 'invalid_grant', error_description: 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.' } },
  serverError: { status: 500, body: { message: '500 Internal Server Error' } },
  exactRedirects: ['http://127.0.0.1:53130/callback', 'http://127.0.0.1:53131/callback'],
};
