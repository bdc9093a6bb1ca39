// Okta, as documented:
// - https://developer.okta.com/docs/guides/device-authorization-grant/main/
// - https://developer.okta.com/docs/guides/refresh-tokens/main/ (rotation; an invalid one is 400 invalid_grant)
// - https://developer.okta.com/docs/reference/error-codes/ (server errors: errorCode/errorSummary, no OAuth error)
import type { Profile } from './engine.ts';

const server = '/oauth2/default';

export const okta: Profile = {
  name: 'Okta',
  docs: ['https://developer.okta.com/docs/guides/device-authorization-grant/main/', 'https://developer.okta.com/docs/guides/refresh-tokens/main/'],
  issuerPath: server,
  discovery: true,
  paths: { authorize: `${server}/v1/authorize`, token: `${server}/v1/token`, device: `${server}/v1/device/authorize` },
  deviceAnswer: ({ device_code, user_code, base }) => ({
    status: 200,
    body: { device_code, user_code, verification_uri: `${base}/activate`, verification_uri_complete: `${base}/activate?user_code=${user_code}`, expires_in: 600, interval: 1 },
  }),
  pending: { status: 400, body: { error: 'authorization_pending', error_description: 'The device authorization is pending. Please try again later.' } },
  denied: { status: 400, body: { error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.' } },
  expired: { status: 400, body: { error: 'expired_token', error_description: 'The device code has expired.' } },
  tokens: ({ access, refresh }) => ({ status: 200, body: { token_type: 'Bearer', expires_in: 3600, access_token: access, scope: 'openid offline_access', refresh_token: refresh } }),
  rotates: true,
  deadRefresh: { status: 400, body: { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' } },
  serverError: { status: 500, body: { errorCode: 'E0000009', errorSummary: 'Internal Server Error', errorLink: 'E0000009', errorId: 'x', errorCauses: [] } },
};
