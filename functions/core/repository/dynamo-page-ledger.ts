import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ProviderId } from '../registry';
import { batchGet, transactConditionally } from './dynamo-batches';
import { CONNECTOR_SK, connectorPk, counterAttribute, pageMarkerPk, seenAttribute, syncLogSk } from './keys';
import type { PageCommit, PageLedger } from './types';

/** How long a page marker is kept: longer than any sync can run. */
const PAGE_MARKER_TTL_S = 14 * 24 * 3600;

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

/**
 * `PageLedger` over the single table. A page commits once (its marker), and only while the
 * connector's `activeSyncId` still names the work that wrote it (the fence): a sync that was
 * cancelled, or a purge that was superseded, can no longer move counters.
 */
export class DynamoPageLedger implements PageLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async commitPage(tenantId: string, providerId: ProviderId, commit: PageCommit): Promise<'committed' | 'duplicate' | 'lost'> {
    const pk = connectorPk(tenantId, providerId);
    const counts = Object.entries(commit.delta.counts).filter(([, n]) => n);
    const items: TransactItems = [
      {
        Put: {
          TableName: this.tableName,
          Item: { pk: pageMarkerPk(tenantId, providerId), sk: commit.pageKey, type: 'pageMarker', expiresAt: Math.floor(Date.now() / 1000) + PAGE_MARKER_TTL_S },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: { pk, sk: CONNECTOR_SK },
          ConditionExpression: 'activeSyncId = :owner',
          UpdateExpression: `SET lastPageKey = :page${commit.apiUsage ? ', apiUsage = :usage' : ''}${counts.length ? ` ADD ${counts.map((_, i) => `#c${i} :c${i}`).join(', ')}` : ''}`,
          ...(counts.length > 0 && { ExpressionAttributeNames: Object.fromEntries(counts.map(([type], i) => [`#c${i}`, counterAttribute(type)])) }),
          ExpressionAttributeValues: { ':owner': commit.owner, ':page': commit.pageKey, ...(commit.apiUsage && { ':usage': commit.apiUsage }), ...Object.fromEntries(counts.map(([, n], i) => [`:c${i}`, n])) },
        },
      },
    ];
    if (commit.syncLog) {
      const { delta } = commit;
      const { execution } = commit.syncLog;
      const seen = Object.entries(delta.seen).filter(([, n]) => n);
      items.push({
        Update: {
          TableName: this.tableName,
          Key: { pk, sk: syncLogSk(commit.syncLog.syncId) },
          // The execution lets a canceller stop the one running now (long syncs continue as new executions).
          UpdateExpression: `${execution === undefined ? '' : 'SET execution = :execution '}ADD recordsCreated :created, recordsUpdated :updated, recordsDeleted :deleted, recordsFailed :failed${delta.skipped ? ', recordsSkipped :skipped' : ''}${seen.map((_, i) => `, #s${i} :s${i}`).join('')}`,
          ...(seen.length > 0 && { ExpressionAttributeNames: Object.fromEntries(seen.map(([type], i) => [`#s${i}`, seenAttribute(type)])) }),
          ExpressionAttributeValues: {
            ...Object.fromEntries(seen.map(([, n], i) => [`:s${i}`, n])),
            ...(execution !== undefined && { ':execution': execution }),
            ':created': delta.created,
            ':updated': delta.updated,
            ':deleted': delta.deleted,
            ':failed': delta.failed,
            ...(delta.skipped > 0 && { ':skipped': delta.skipped }),
          },
        },
      });
    }
    const failed = await transactConditionally(() => this.client.send(new TransactWriteCommand({ TransactItems: items })));
    if (!failed) return 'committed';
    return failed.includes(1) ? 'lost' : 'duplicate';
  }

  async findCommittedPages(tenantId: string, providerId: ProviderId, pageKeys: string[]): Promise<Set<string>> {
    const committed = new Set<string>();
    const pk = pageMarkerPk(tenantId, providerId);
    await batchGet(
      this.client,
      this.tableName,
      pageKeys.map((sk) => ({ pk, sk })),
      'sk',
      (item) => committed.add(item.sk as string),
    );
    return committed;
  }
}
