import { parseArgs } from 'node:util';
import { issueLocalToken } from '../local/jwt-issuer';

/**
 * `npm run --silent token -- --tenant <tenantId> --role <admin|member>`: prints a JWT the
 * local stack accepts (same LOCAL_STATE_DIR), and nothing else. It is signed RS256, the
 * only kind the HTTP API JWT authorizer verifies.
 */
const { values } = parseArgs({
  options: { tenant: { type: 'string' }, role: { type: 'string', default: 'member' }, expires: { type: 'string' } },
});
if (!values.tenant || !/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$/.test(values.tenant)) {
  console.error('usage: npm run --silent token -- --tenant <tenantId> --role <admin|member>');
  process.exit(2);
}
if (values.role !== 'admin' && values.role !== 'member') {
  console.error('--role must be admin or member');
  process.exit(2);
}
const stateDir = process.env.LOCAL_STATE_DIR || '.local';
process.stdout.write(`${await issueLocalToken(stateDir, { tenantId: values.tenant, role: values.role, expiresIn: values.expires })}\n`);
