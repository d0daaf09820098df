import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Properties of a {@link DeadLetterQueue}. */
export interface DeadLetterQueueProps {
  /** What lands here, as a phrase: `stream batches publishEvents gave up on`. */
  readonly holds: string;
  /**
   * What an operator does about a message here: where to look, what to run. The queue's
   * alarm (lib/service-alarms.ts) says it.
   */
  readonly runbook: string;
}

/**
 * Where an asynchronous delivery of the service lands once its retries are spent, so that a
 * failure leaves a message an alarm sees instead of vanishing: an SQS queue encrypted with
 * SQS-managed keys, reachable only over TLS, keeping a message 14 days (SQS's longest) so a
 * failure found after a weekend can still be read and redriven. Unnamed: CloudFormation names
 * it, so replacing it never collides with a retained namesake.
 */
export class DeadLetterQueue extends Construct {
  /** The queue. */
  public readonly queue: Queue;
  /** What lands here. */
  public readonly holds: string;
  /** What an operator does about a message here. */
  public readonly runbook: string;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    super(scope, id);
    this.holds = props.holds;
    this.runbook = props.runbook;
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    // On the AWS::SQS::Queue itself: the L2 queue also holds the TLS-only queue policy.
    Validations.of(this.queue.node.defaultChild!).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: `This queue is itself a dead-letter queue (it holds ${props.holds}); an alarm watches it and operators read it, nothing consumes it, so a dead-letter queue of its own would hold nothing.`,
    });
  }
}
