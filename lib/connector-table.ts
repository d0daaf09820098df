import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, StreamViewType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** The attribute whose epoch-seconds value lets DynamoDB expire an item (OAuth state, locks). */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The sparse index of connectors with a next scheduled sync: partition `scheduleKey` (one
 * value, set only while a sync is scheduled), sort `nextSyncAt` (ISO time), so the scheduled
 * sync finds the due connectors with one Query. It projects only what starting a sync needs.
 */
export const SCHEDULE_INDEX = {
  indexName: 'bySchedule',
  partitionKey: { name: 'scheduleKey', type: AttributeType.STRING },
  sortKey: { name: 'nextSyncAt', type: AttributeType.STRING },
  projectionType: ProjectionType.INCLUDE,
  nonKeyAttributes: ['tenantId', 'providerId'],
} as const;

/** Properties of a {@link ConnectorTable}. */
export interface ConnectorTableProps {
  /**
   * Whether the table outlives the stack and resists deletion (deletion protection + RETAIN).
   * @default true
   */
  readonly retainData?: boolean;
}

/**
 * The service's single table: connectors, sync logs, counters, entities and OAuth state,
 * keyed `pk` (always starting with the tenant) and `sk`, with the sparse `bySchedule` index
 * and a stream of every change with its old and new image, from which the domain events are
 * derived (lib/domain-events.ts). `ensureTable` in local/dynamodb-local.ts must create the
 * same key schema, index, stream and TTL locally; a test compares the template with the
 * CreateTable input ensureTable sends.
 */
export class ConnectorTable extends Construct {
  /** The table. */
  public readonly table: TableV2;

  constructor(scope: Construct, id: string, props: ConnectorTableProps = {}) {
    super(scope, id);
    const retainData = props.retainData ?? true;

    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      timeToLiveAttribute: TTL_ATTRIBUTE,
      // Both images: an event says what changed (status from -> to), which needs the item before.
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      globalSecondaryIndexes: [
        {
          ...SCHEDULE_INDEX,
          nonKeyAttributes: [...SCHEDULE_INDEX.nonKeyAttributes],
        },
      ],
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS-managed key, not the connector key: a table grant then needs no KMS permission,
      // so reading the table never implies being able to unwrap provider credentials.
      encryption: TableEncryptionV2.awsManagedKey(),
      deletionProtection: retainData,
      removalPolicy: retainData ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
  }
}
