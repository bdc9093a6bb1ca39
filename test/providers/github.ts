// GitHub, as documented:
// - https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow
//   (no discovery; errors arrive with HTTP 200; JSON only when asked for with Accept: application/json)
// - https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens
//   (expiring user tokens: expires_in, refresh_token, refresh_token_expires_in, token_type "bearer";
//   a refresh rotates the refresh token; a bad one is `bad_refresh_token`)
import type { Profile } from './engine.ts';

export const github: Profile = {
  name: 'GitHub',
  docs: ['https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps#device-flow', 'https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens'],
  issuerPath: '',
  discovery: false,
  paths: { authorize: '/login/oauth/authorize', token: '/login/oauth/access_token', device: '/login/device/code' },
  deviceAnswer: ({ device_code, user_code }) => ({
    status: 200,
    body: { device_code, user_code, verification_uri: 'https://github.com/login/device', expires_in: 900, interval: 1 },
  }),
  pending: { status: 200, body: { error: 'authorization_pending', error_description: 'The authorization request is still pending.', error_uri: 'https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow' } },
  denied: { status: 200, body: { error: 'access_denied', error_description: 'The authorization request was denied.' } },
  expired: { status: 200, body: { error: 'expired_token', error_description: 'The device_code has expired.' } },
  tokens: ({ access, refresh }) => ({
    status: 200,
    body: { access_token: `ghu_${access}`, expires_in: 28800, refresh_token: `ghr_${refresh}`, refresh_token_expires_in: 15811200, scope: '', token_type: 'bearer' },
  }),
  rotates: true,
  deadRefresh: { status: 200, body: { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' } },
  serverError: { status: 502, body: '<html><body>Unicorn!</body></html>', contentType: 'text/html' },
};
