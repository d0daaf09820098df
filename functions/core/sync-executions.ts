import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SyncState } from './model';

/** Starts executions of the sync state machine; the service depends on this port, not on Step Functions. */
export interface SyncExecutions {
  /** Starts `name` with `state` as input; starting the same name twice is not an error. */
  start(name: string, state: SyncState): Promise<void>;
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
}
