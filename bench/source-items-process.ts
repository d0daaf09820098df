/**
 * Writes the sandbox's items to a file (source-items.ts writeSourceItems) in a process of its
 * own, for both scenarios (the baseline process loads or streams the file): reading a million
 * records through 50,000-row Bulk pages grows a process's heap and allocator by a few hundred
 * MB that it keeps for a while after, and the bench measures the memory of its own process
 * (the stack's). Arguments: one JSON object
 * {url, clientId, clientSecret, tenantId, file}; prints one line of JSON ({length, itemBytes})
 * when done. The SALESFORCE_BULK_* variables come from the bench's environment.
 */
import { writeSourceItems } from './source-items';

const { url, clientId, clientSecret, tenantId, file } = JSON.parse(process.argv[2] ?? '{}') as { url: string; clientId: string; clientSecret: string; tenantId: string; file: string };
const { length, itemBytes } = await writeSourceItems({ url, clientId, clientSecret }, tenantId, file);
process.stdout.write(`${JSON.stringify({ length, itemBytes })}\n`);
