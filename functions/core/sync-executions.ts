import { ExecutionAlreadyExists, ExecutionDoesNotExist, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import type { SyncState } from './model';

/** Starts and stops executions of the sync state machine; the services depend on this port, not on Step Functions. */
export interface SyncExecutions {
  /** Starts `name` with `state` as input; starting the same name twice is not an error. */
  start(name: string, state: SyncState): Promise<void>;
  /** Stops `name` if it runs; a name that never ran or has ended is not an error. */
  stop(name: string): Promise<void>;
}

/** The name of a sync's `execution`-th execution: the sync id, then `<syncId>-<n>` for each continuation. */
export function executionName(syncId: string, execution: number): string {
  return execution <= 1 ? syncId : `${syncId}-${execution}`;
}

/** `SyncExecutions` over Step Functions (locally, the same client pointed at the local runner). */
export class StepFunctionsSyncExecutions implements SyncExecutions {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, state: SyncState): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(state) }));
    } catch (error) {
      // The name is the sync id: an execution by that name is this sync, already started.
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
    }
  }

  async stop(name: string): Promise<void> {
    try {
      await this.client.send(new StopExecutionCommand({ executionArn: this.executionArn(name), error: 'SyncCancelled', cause: 'The sync was cancelled.' }));
    } catch (error) {
      if (!(error instanceof ExecutionDoesNotExist)) throw error;
    }
  }

  /** An execution's ARN from the state machine's: `arn:...:stateMachine:<machine>` becomes `arn:...:execution:<machine>:<name>`. */
  private executionArn(name: string): string {
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }
}
