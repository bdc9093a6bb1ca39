// Auth0, as documented:
// - https://auth0.com/docs/get-started/authentication-and-authorization-flow/device-authorization-flow/call-your-api-using-the-device-authorization-flow
//   (pending, denial and expiry are HTTP 403; the issuer ends with a slash)
// - https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation (rotation; a reused or unknown one is 403 invalid_grant)
import type { Profile } from './engine.ts';

export const auth0: Profile = {
  name: 'Auth0',
  docs: ['https://auth0.com/docs/get-started/authentication-and-authorization-flow/device-authorization-flow/call-your-api-using-the-device-authorization-flow', 'https://auth0.com/docs/secure/tokens/refresh-tokens/refresh-token-rotation'],
  issuerPath: '/',
  discovery: true,
  paths: { authorize: '/authorize', token: '/oauth/token', device: '/oauth/device/code' },
  deviceAnswer: ({ device_code, user_code, base }) => ({
    status: 200,
    body: { device_code, user_code, verification_uri: `${base}/activate`, expires_in: 900, interval: 1, verification_uri_complete: `${base}/activate?user_code=${user_code}` },
  }),
  pending: { status: 403, body: { error: 'authorization_pending', error_description: 'User has yet to authorize device code.' } },
  denied: { status: 403, body: { error: 'access_denied', error_description: 'User cancelled the confirmation prompt or consent page; the code is no longer valid.' } },
  expired: { status: 403, body: { error: 'expired_token', error_description: 'The device_code has expired.' } },
  tokens: ({ access, refresh }) => ({ status: 200, body: { access_token: access, refresh_token: refresh, scope: 'openid offline_access', expires_in: 86400, token_type: 'Bearer' } }),
  rotates: true,
  deadRefresh: { status: 403, body: { error: 'invalid_grant', error_description: 'Unknown or invalid refresh token.' } },
  serverError: { status: 500, body: { error: 'server_error', error_description: 'Something went wrong' } },
};
