// Microsoft Entra ID, as documented:
// - v2 device code: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code
//   (the user's refusal is `authorization_declined`; errors carry error_codes)
// - v2 auth code: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
// - refresh: https://learn.microsoft.com/en-us/entra/identity-platform/refresh-tokens (invalid_grant, AADSTS70008)
// - the older v1 device endpoint (/oauth2/devicecode) answers `verification_url` and sends expires_in and
//   interval as strings: https://learn.microsoft.com/en-us/previous-versions/azure/active-directory/azuread-dev/v1-protocols-oauth-code
import type { Profile } from './engine.ts';

const tenant = '/contoso-tenant';
const aadError = (error: string, description: string, code: number) => ({
  error, error_description: `AADSTS${code}: ${description}`, error_codes: [code], timestamp: '2026-11-30 00:00:00Z', trace_id: 't', correlation_id: 'c',
});

export const entra: Profile = {
  name: 'Microsoft Entra ID (v2)',
  docs: ['https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-device-code', 'https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow'],
  issuerPath: `${tenant}/v2.0`,
  discovery: true,
  paths: { authorize: `${tenant}/oauth2/v2.0/authorize`, token: `${tenant}/oauth2/v2.0/token`, device: `${tenant}/oauth2/v2.0/devicecode` },
  deviceAnswer: ({ device_code, user_code }) => ({
    status: 200,
    body: { user_code, device_code, verification_uri: 'https://microsoft.com/devicelogin', expires_in: 900, interval: 1, message: `To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ${user_code} to authenticate.` },
  }),
  pending: { status: 400, body: aadError('authorization_pending', 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.', 70016) },
  denied: { status: 400, body: aadError('authorization_declined', 'The end user denied the authorization request.', 70019) },
  expired: { status: 400, body: aadError('expired_token', 'Verification code expired.', 70020) },
  tokens: ({ access, refresh }) => ({
    status: 200,
    body: { token_type: 'Bearer', scope: 'openid offline_access', expires_in: 3599, ext_expires_in: 3599, access_token: access, refresh_token: refresh },
  }),
  rotates: true,
  deadRefresh: { status: 400, body: aadError('invalid_grant', 'The provided authorization code or refresh token has expired due to inactivity.', 70008) },
  serverError: { status: 503, body: aadError('temporarily_unavailable', 'The server is temporarily too busy to handle the request.', 50196) },
};

export const entraV1: Profile = {
  ...entra,
  name: 'Microsoft Entra ID (v1 device endpoint)',
  docs: ['https://learn.microsoft.com/en-us/previous-versions/azure/active-directory/azuread-dev/v1-protocols-oauth-code'],
  issuerPath: `${tenant}/`,
  discovery: false,
  paths: { token: `${tenant}/oauth2/token`, device: `${tenant}/oauth2/devicecode` },
  deviceAnswer: ({ device_code, user_code }) => ({
    status: 200,
    body: { user_code, device_code, verification_url: 'https://microsoft.com/devicelogin', expires_in: '900', interval: '1', message: `Enter the code ${user_code}.` },
  }),
  tokens: ({ access, refresh }) => ({
    status: 200,
    body: { token_type: 'Bearer', scope: 'user_impersonation', expires_in: '3599', ext_expires_in: '3599', expires_on: String(Math.floor(Date.now() / 1000) + 3599), resource: 'https://graph.microsoft.com', access_token: access, refresh_token: refresh },
  }),
};
