import type { ResolvedConfig } from './config';

/** What a signed-out person sees: the local stack's tenant-and-role form, or the platform's sign-in link. */
export function SignIn({ config, expired }: { config: ResolvedConfig; expired: boolean }) {
  const returnTo = `${window.location.origin}${window.location.pathname}`;
  return (
    <main className="page sign-in">
      <h1>Connections</h1>
      {expired && (
        <p className="alert" role="alert">
          Your sign-in ended or was refused by the API. Sign in again.
        </p>
      )}
      {config.localSignIn && config.signInUrl ? (
        <form method="get" action={config.signInUrl} className="card" aria-labelledby="sign-in-title">
          <h2 id="sign-in-title">Sign in to the local stack</h2>
          <p className="hint">
            A local token for any tenant and role, as <code>npm run token</code> makes; the deployed service takes its tokens from
            the platform's sign-in.
          </p>
          <input type="hidden" name="return_to" value={window.location.pathname} />
          <div className="fields">
            <label>
              Tenant
              <input name="tenant" defaultValue="acme" required pattern="[A-Za-z0-9][A-Za-z0-9_.:@\-]{0,127}" autoComplete="off" />
            </label>
            <label>
              Role
              <select name="role" defaultValue="admin">
                <option value="admin">admin</option>
                <option value="member">member</option>
              </select>
            </label>
          </div>
          <button type="submit" className="primary">
            Sign in
          </button>
        </form>
      ) : config.signInUrl ? (
        <p className="card">
          <a className="button primary" href={`${config.signInUrl}${config.signInUrl.includes('?') ? '&' : '?'}return_to=${encodeURIComponent(returnTo)}`}>
            Sign in
          </a>
        </p>
      ) : (
        <p className="card">Sign in through the platform that links to this page; it has no sign-in of its own configured.</p>
      )}
    </main>
  );
}
