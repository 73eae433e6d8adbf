import { ApiError, NetworkError, readProblem } from '../api/problem.ts';

/**
 * The development identity provider's sign-in (authMode "dev"): username and password for an
 * access token. Not through the API client: a 401 here is a wrong password, not an ended session.
 */
export async function devSignIn(username: string, password: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch('/auth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' },
      body: JSON.stringify({ username, password }),
      cache: 'no-store',
    });
  } catch (error) {
    throw new NetworkError(error);
  }
  if (!response.ok) throw new ApiError(response.status, await readProblem(response), `sign-in answered ${response.status}`);
  const body = (await response.json()) as { access_token?: unknown };
  if (typeof body.access_token !== 'string') throw new ApiError(response.status, undefined, 'no access_token in the answer');
  return body.access_token;
}
