import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';

type JSONValue = Parameters<StateMachine['run']>[0];
/** A state machine definition, as the local runner takes it. */
export type SyncDefinition = ConstructorParameters<typeof StateMachine>[0];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
export const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:connector-sync`;
const START_EXECUTION_RESOURCE = 'arn:aws:states:::states:startExecution';

type StepHandler = (event: unknown, context: Context) => Promise<unknown>;
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';

export interface LocalExecution {
  name: string;
  status: ExecutionStatus;
  input: unknown;
  /** Epoch milliseconds at StartExecution (kept across restarts). */
  startDate: number;
  /** Epoch milliseconds at which the execution ended. */
  stopDate?: number;
  done: Promise<void>;
}

export interface LocalStepFunctions {
  /** The endpoint to point an SFNClient at (SFN_ENDPOINT). */
  readonly endpoint: string;
  readonly stateMachineArn: string;
  readonly executions: ReadonlyMap<string, LocalExecution>;
  /**
   * Resumes every execution the state directory records as running, each from the state
   * it was about to run. Call it once the handlers' environment is set.
   * @returns the names of the executions resumed
   */
  resumeExecutions(): Promise<string[]>;
  /**
   * Stops a running execution as StopExecution does: aborts it, waits for the Task in
   * flight to return, marks it ABORTED and sends it to the recovery handler.
   * @returns the execution, or undefined when no execution has that name
   */
  stopExecution(name: string): Promise<LocalExecution | undefined>;
  /**
   * Makes every Task of `stateName` wait before its handler runs, until the returned function
   * is called: a test can act while a sync is between two pages, with no timing involved.
   */
  holdTask(stateName: string): () => void;
  /**
   * From now on a Task runs only when `step` admits it, one at a time, in arrival order: a
   * test decides exactly how executions interleave with its own calls (the model-based test
   * replays a generated sequence this way). A stopped execution's waiting Tasks never run.
   */
  gateTasks(): TaskGate;
  /** Resolves once no execution is running (continuations included). */
  idle(): Promise<void>;
  /**
   * State transitions so far over all executions, as AWS bills them: every state entered
   * (Choice, Wait and Task states alike; a Task's retries re-enter it and are counted apart).
   */
  transitions(): { entered: number; retried: number; byState: Record<string, number> };
  stop(): Promise<void>;
}

/** Tasks held until admitted one at a time (see LocalStepFunctions.gateTasks). */
export interface TaskGate {
  /** Runs the oldest waiting Task (or fails it, `injectFault`) and waits until every execution waits again or ended; false when none waited. */
  step(): Promise<boolean>;
  /** The Tasks waiting: execution name and state name, oldest first. */
  waiting(): { execution: string; state: string }[];
  /** The next Task admitted of `state` dies as a Lambda dies: before its handler runs, or after it returned. */
  injectFault(state: string, when: 'before' | 'after'): void;
  /** Drops the faults injected that no Task has met yet. */
  clearFaults(): void;
  /** Waits until every running execution waits at the gate or has ended. */
  settled(): Promise<void>;
}

export interface LocalStepFunctionsOptions {
  /** Milliseconds each Retry waits instead of the definition's backoff (tests make retries instant). */
  retryDelayMs?: number;
  /** Milliseconds each Wait state waits instead of the provider's Retry-After. */
  waitMs?: number;
  /**
   * The stack's state directory. Running executions are recorded under `<stateDir>/executions`
   * after every state, so a restarted stack resumes them; without it they live in memory only.
   */
  stateDir?: string;
  /**
   * Freezes the first execution that reaches this Task state, to test a crash exactly there:
   * `State` holds it before the handler runs, `State:after` once the handler has returned
   * (before the result moves on). The runner prints `halted <execution> at <State>` when held.
   */
  haltAt?: string;
}

/** What `<stateDir>/executions/<name>.json` holds. */
export interface ExecutionFile {
  name: string;
  status: ExecutionStatus;
  /** The execution's own input (what StartExecution got). */
  input: unknown;
  startDate: number;
  stopDate?: number;
  /** RUNNING only: the state about to run and the JSON passed into it. */
  state?: string;
  stateInput?: unknown;
}

/** The runner's bookkeeping of one execution, beyond what callers see. */
interface Execution extends LocalExecution {
  abort?: () => void;
  /** Task handler calls not yet returned: StopExecution waits for them. */
  inFlight: Set<Promise<unknown>>;
  /** Writes of the execution file, in order. */
  writes: Promise<void>;
  /** Resolves once StartExecution's first record is on disk. */
  started: Promise<void>;
  /** Set once StopExecution began; the run's rejection then is not a failure. */
  stopping?: Promise<void>;
  /** The state it entered last, as the event log said. */
  currentState?: string;
  /** Callbacks waiting for the execution to enter a state (see haltAt). */
  enteredWaiters: Array<(state: string) => void>;
}

/**
 * Step Functions on this machine: executes statemachines/sync.asl.json itself with
 * aws-local-stepfunctions, every Task state mapped to the same handler the deployed Lambda
 * runs (statemachines/sync.tasks.json). It answers StartExecution, StopExecution and
 * DescribeExecution in the Step Functions JSON protocol, so the service uses the real SFN
 * client; a failed or aborted execution goes to the recovery handler, as the EventBridge
 * rule sends it in AWS. With a state directory, running executions survive a restart of
 * the stack, as Standard executions survive anything in AWS.
 */
export async function startLocalStepFunctions(options: LocalStepFunctionsOptions = {}): Promise<LocalStepFunctions> {
  const definition = await loadSyncDefinition();
  const states = definition.States as Record<string, { Type: string; Resource?: string }>;
  // aws-local-stepfunctions always starts at StartAt; a resumed execution runs the same
  // States with StartAt moved to where it stopped, which is the same execution from there.
  const machines = new Map<string, StateMachine>();
  const machineStartingAt = (state: string): StateMachine => {
    if (!machines.has(state)) {
      machines.set(state, new StateMachine({ ...definition, StartAt: state }, { validationOptions: { checkPaths: true } }));
    }
    return machines.get(state)!;
  };
  machineStartingAt(definition.StartAt as string);
  const executionsDir = options.stateDir ? join(resolve(options.stateDir), 'executions') : undefined;
  if (executionsDir) await mkdir(executionsDir, { recursive: true });

  // Loaded on first use: handlers build their runtime from the environment the stack sets after this starts.
  const loaded = new Map<string, Promise<StepHandler>>();
  const load = (name: string): Promise<StepHandler> => {
    if (!loaded.has(name)) {
      loaded.set(name, import(pathToFileURL(join(ROOT, 'functions/sync', `${name}.ts`)).href).then((module: { handler: StepHandler }) => module.handler));
    }
    return loaded.get(name)!;
  };
  const baseHandlers: Record<string, (input: JSONValue) => Promise<JSONValue>> = {};
  for (const [stateName, state] of Object.entries(states)) {
    if (state.Type !== 'Task') continue;
    if (state.Resource === START_EXECUTION_RESOURCE) {
      // Step Functions' own integration: start the next execution here, durably, before answering.
      baseHandlers[stateName] = async (input) => {
        const { Name, Input } = input as { Name: string; Input: unknown };
        const next = startExecution(Name, Input);
        await next.started;
        return { ExecutionArn: executionArn(Name), StartDate: next.startDate };
      };
      continue;
    }
    const handlerName = /function:connector-(\w+)$/.exec(state.Resource ?? '')?.[1];
    if (!handlerName) throw new Error(`state ${stateName} names no known handler`);
    baseHandlers[stateName] = async (input) => (await (await load(handlerName))(input, lambdaContext(handlerName))) as JSONValue;
  }
  const recover = (event: unknown) => load('recoverSync').then((handler) => handler(event, lambdaContext('recoverSync')));
  const halt = parseHalt(options.haltAt, states);
  let halted = false;

  const executions = new Map<string, Execution>();
  const transitions = { entered: 0, retried: 0, byState: {} as Record<string, number> };
  const running = new Set<Promise<void>>();
  const retryOverrides = Object.fromEntries(Object.keys(baseHandlers).map((name) => [name, options.retryDelayMs ?? 0]));
  const waitOverrides = Object.fromEntries(
    Object.entries(states)
      .filter(([, state]) => state.Type === 'Wait')
      .map(([name]) => [name, options.waitMs ?? 0]),
  );

  /** Queues a write of the execution's file; writes land in order, each atomically. */
  const record = (execution: Execution, current?: { state: string; stateInput: unknown }): Promise<void> => {
    if (!executionsDir) return Promise.resolve();
    const file: ExecutionFile = {
      name: execution.name,
      status: execution.status,
      input: execution.input,
      startDate: execution.startDate,
      ...(execution.stopDate !== undefined && { stopDate: execution.stopDate }),
      ...(current && { state: current.state, stateInput: current.stateInput }),
    };
    execution.writes = execution.writes.then(() => writeAtomically(join(executionsDir, executionFileName(execution.name)), JSON.stringify(file)));
    return execution.writes;
  };

  /** Task states held by holdTask, each until its release. */
  const held = new Map<string, Promise<void>>();
  /** With gateTasks: the Tasks waiting to be admitted, and the faults to inject. */
  let gate: { waiting: GateEntry[]; faults: { state: string; when: 'before' | 'after' }[] } | undefined;
  interface GateEntry {
    execution: Execution;
    state: string;
    admit: (fault: 'before' | 'after' | undefined) => void;
    refuse: (error: Error) => void;
    call?: Promise<unknown>;
  }
  /** What Step Functions reports when a Lambda dies mid-invocation (its Retry covers it). */
  const lambdaDied = () => Object.assign(new Error('injected: the Lambda died'), { name: 'Lambda.Unknown' });

  /** Each run gets its own Task handlers, so the calls in flight are known per execution. */
  const handlersFor = (execution: Execution): Record<string, (input: JSONValue) => Promise<JSONValue>> =>
    Object.fromEntries(
      Object.entries(baseHandlers).map(([stateName, handler]) => [
        stateName,
        (input: JSONValue) => {
          const call: Promise<JSONValue> = (async () => {
            // As in AWS, a Task never runs before its state is recorded: a restart re-runs at most this Task
            // (one macrotask lets the event log deliver this state's StateEntered; then its write must land).
            await new Promise((next) => setImmediate(next));
            await execution.writes.catch(() => undefined);
            if (halt?.state === stateName && !halt.after) await holdForever(execution, stateName);
            await held.get(stateName);
            let fault: 'before' | 'after' | undefined;
            if (gate) {
              const waiting = gate.waiting;
              // A Task the runner schedules after StopExecution began never starts.
              if (execution.stopping) throw new Error('the execution was stopped');
              fault = await new Promise<'before' | 'after' | undefined>((admit, refuse) => {
                // Reached after the awaits above, so `call` is assigned by now.
                waiting.push({ execution, state: stateName, admit, refuse, call });
              });
            }
            if (fault === 'before') throw lambdaDied();
            const output = await handler(input);
            if (fault === 'after') throw lambdaDied();
            if (halt?.state === stateName && halt.after) await holdForever(execution, stateName);
            return output;
          })();
          execution.inFlight.add(call);
          void call.then(
            () => execution.inFlight.delete(call),
            () => execution.inFlight.delete(call),
          );
          return call;
        },
      ]),
    );

  /** Holds the first execution that gets here (haltAt), once its place is on disk, and says so. */
  const holdForever = async (execution: Execution, stateName: string): Promise<never> => {
    if (halted) return new Promise<never>(() => undefined);
    halted = true;
    await untilEntered(execution, stateName);
    await execution.writes;
    process.stdout.write(`halted ${execution.name} at ${stateName}${halt?.after ? ':after' : ''}\n`);
    return new Promise<never>(() => undefined);
  };

  const untilEntered = (execution: Execution, stateName: string): Promise<void> =>
    new Promise((entered) => {
      if (execution.currentState === stateName) return entered();
      const waiter = (state: string) => {
        if (state !== stateName) return;
        execution.enteredWaiters.splice(execution.enteredWaiters.indexOf(waiter), 1);
        entered();
      };
      execution.enteredWaiters.push(waiter);
    });

  /**
   * Starts (or, with `resumeAt`, resumes) an execution. StartExecution with the name and
   * input of a running execution answers that execution, as AWS does.
   */
  function startExecution(name: string, input: unknown, resumed?: ExecutionFile): Execution {
    const existing = executions.get(name);
    if (existing && !resumed) {
      if (existing.status === 'RUNNING' && isDeepStrictEqual(existing.input, input)) return existing;
      throw Object.assign(new Error(`Execution already exists: '${executionArn(name)}'`), { type: 'ExecutionAlreadyExists' });
    }
    const startAt = resumed?.state ?? (definition.StartAt as string);
    const runInput = (resumed ? resumed.stateInput : input) as JSONValue;
    const execution: Execution = {
      name,
      status: 'RUNNING',
      input,
      startDate: resumed?.startDate ?? Date.now(),
      done: Promise.resolve(),
      inFlight: new Set(),
      writes: Promise.resolve(),
      started: Promise.resolve(),
      enteredWaiters: [],
    };
    executions.set(name, execution);
    execution.started = record(execution, { state: startAt, stateInput: runInput });
    const run = machineStartingAt(startAt).run(runInput, {
      overrides: {
        taskResourceLocalHandlers: handlersFor(execution),
        ...(options.retryDelayMs !== undefined && { retryIntervalOverrides: retryOverrides }),
        ...(options.waitMs !== undefined && { waitTimeOverrides: waitOverrides }),
      },
      // $$.Execution.Input of a resumed run is the resumed state's input (the definition does not read it).
      context: { StateMachine: { Id: LOCAL_STATE_MACHINE_ARN, Name: 'connector-sync' }, Execution: { Id: executionArn(name), Name: name } },
    });
    execution.abort = run.abort;

    // The event log says which state runs next and with what input: that is what a restart needs.
    const followed = (async () => {
      for await (const event of run.eventLogs as AsyncGenerator<{ type: string; index?: number; state?: { name: string; input: unknown } }>) {
        if (event.type === 'StateRetried') transitions.retried += 1;
        if (event.type !== 'StateEntered' || !event.state || event.index !== undefined) continue;
        transitions.entered += 1;
        transitions.byState[event.state.name] = (transitions.byState[event.state.name] ?? 0) + 1;
        execution.currentState = event.state.name;
        if (execution.status === 'RUNNING' && !execution.stopping) void record(execution, { state: event.state.name, stateInput: event.state.input }).catch(() => undefined);
        for (const waiter of [...execution.enteredWaiters]) waiter(event.state.name);
      }
    })().catch(() => undefined);
    const finished = run.result.then(
      async () => {
        execution.status = 'SUCCEEDED';
        execution.stopDate = Date.now();
        await record(execution);
      },
      async (failure: unknown) => {
        if (execution.stopping) return execution.stopping;
        execution.status = 'FAILED';
        execution.stopDate = Date.now();
        await record(execution).catch(() => undefined);
        // As EventBridge's status change does: the error and cause the execution failed with (a Fail state's, or the uncaught error's).
        const reason = (failure as { cause?: unknown } | undefined)?.cause;
        const error = reason instanceof Error ? { error: reason.name, cause: reason.message } : {};
        await recover({ detail: { status: 'FAILED', name, input: JSON.stringify(input), ...error } }).catch(() => undefined);
      },
    );
    // The event log closes with the execution; waiting for it keeps the transition count exact at idle().
    execution.done = Promise.all([finished, followed]).then(() => undefined);
    running.add(execution.done);
    void execution.done.finally(() => running.delete(execution.done));
    return execution;
  }

  /** Refuses the execution's Tasks waiting at the gate (they never run). */
  function refuseGated(execution: Execution): void {
    if (!gate) return;
    for (const entry of gate.waiting.filter((waiting) => waiting.execution === execution)) entry.refuse(new Error('the execution was stopped'));
    gate.waiting = gate.waiting.filter((waiting) => waiting.execution !== execution);
  }

  async function stopExecution(name: string): Promise<Execution | undefined> {
    const execution = executions.get(name);
    if (!execution) return undefined;
    if (execution.status !== 'RUNNING') return execution;
    execution.stopping ??= (async () => {
      execution.abort?.();
      // The Lambda in flight is not interrupted in AWS either: what it writes must land before recovery looks.
      // Tasks waiting at the gate never start, as no new Task starts after StopExecution in AWS.
      while (execution.inFlight.size > 0) {
        refuseGated(execution);
        await Promise.race([Promise.allSettled([...execution.inFlight]), new Promise((next) => setTimeout(next, 10))]);
      }
      execution.status = 'ABORTED';
      execution.stopDate = Date.now();
      await record(execution).catch(() => undefined);
      await recover({ detail: { status: 'ABORTED', name, input: JSON.stringify(execution.input) } }).catch(() => undefined);
    })();
    await execution.stopping;
    return execution;
  }

  const server: Server = createServer((req, res) => {
    handleApi(req, res, { startExecution, stopExecution, describeExecution: (name) => executions.get(name) }).catch(() =>
      sendJson(res, 500, { __type: 'InternalFailure', message: 'local runner failed' }),
    );
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', () => ready()));
  const address = server.address();
  let resumedOnce = false;
  return {
    endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    stateMachineArn: LOCAL_STATE_MACHINE_ARN,
    executions,
    resumeExecutions: async () => {
      if (!executionsDir || resumedOnce) return [];
      resumedOnce = true;
      // Temp files of writes a kill cut short: the file they were to replace is still whole.
      for (const entry of await readdir(executionsDir)) if (entry.endsWith('.tmp')) await rm(join(executionsDir, entry), { force: true });
      const resumed: string[] = [];
      for (const file of await readExecutionFiles(executionsDir)) {
        if (executions.has(file.name)) continue;
        if (file.status === 'RUNNING' && file.state && states[file.state]) {
          startExecution(file.name, file.input, file);
          resumed.push(file.name);
        } else {
          // Ended before the restart: kept so names stay taken and DescribeExecution still answers.
          executions.set(file.name, {
            name: file.name,
            status: file.status === 'RUNNING' ? 'FAILED' : file.status,
            input: file.input,
            startDate: file.startDate,
            stopDate: file.stopDate,
            done: Promise.resolve(),
            inFlight: new Set(),
            writes: Promise.resolve(),
            started: Promise.resolve(),
            enteredWaiters: [],
          });
        }
      }
      return resumed;
    },
    stopExecution,
    gateTasks: () => {
      gate ??= { waiting: [], faults: [] };
      const open = gate;
      const settled = async () => {
        // Bounded: an execution between two Tasks reaches the gate (or its end) within a few turns.
        for (let turn = 0; turn < 2000; turn++) {
          const running = [...executions.values()].filter((execution) => execution.status === 'RUNNING');
          const atGate = new Set(open.waiting.map((entry) => entry.execution));
          if (running.every((execution) => atGate.has(execution))) return;
          await new Promise((next) => setTimeout(next, turn < 50 ? 0 : 5));
        }
        throw new Error('executions neither reached the task gate nor ended');
      };
      return {
        step: async () => {
          await settled();
          const entry = open.waiting.shift();
          if (!entry) return false;
          const at = open.faults.findIndex((fault) => fault.state === entry.state);
          const fault = at >= 0 ? open.faults.splice(at, 1)[0]!.when : undefined;
          entry.admit(fault);
          // The entry's call is known once the wrapper ran; wait for the Task to return, then for the rest to settle.
          await new Promise((next) => setImmediate(next));
          await entry.call?.catch(() => undefined);
          await settled();
          return true;
        },
        waiting: () => open.waiting.map((entry) => ({ execution: entry.execution.name, state: entry.state })),
        injectFault: (state, when) => void open.faults.push({ state, when }),
        clearFaults: () => void open.faults.splice(0),
        settled,
      };
    },
    holdTask: (stateName) => {
      let release: () => void = () => undefined;
      held.set(stateName, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        held.delete(stateName);
        release();
      };
    },
    idle: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    transitions: () => ({ ...transitions, byState: { ...transitions.byState } }),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      await Promise.all([...executions.values()].map((execution) => execution.writes.catch(() => undefined)));
    },
  };
}

/**
 * statemachines/sync.asl.json as CDK deploys it: every `${...}` substitution replaced by the
 * ARN of the Lambda that statemachines/sync.tasks.json names (`function:connector-<handler>`).
 */
export async function loadSyncDefinition(): Promise<SyncDefinition> {
  const definitionText = await readFile(join(ROOT, 'statemachines/sync.asl.json'), 'utf8');
  const tasks = JSON.parse(await readFile(join(ROOT, 'statemachines/sync.tasks.json'), 'utf8')) as Record<string, string>;
  return JSON.parse(
    definitionText.replace(/\$\{(\w+)\}/g, (_, name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:connector-${tasks[name]}`),
  );
}

/** Reads the execution files of a state directory's `executions` folder (unreadable ones are skipped). */
export async function readExecutionFiles(executionsDir: string): Promise<ExecutionFile[]> {
  const files: ExecutionFile[] = [];
  for (const entry of await readdir(executionsDir).catch(() => [] as string[])) {
    const path = join(executionsDir, entry);
    if (!entry.endsWith('.json')) continue;
    try {
      files.push(JSON.parse(await readFile(path, 'utf8')) as ExecutionFile);
    } catch {
      // A file is only ever replaced by rename, so this is not ours; leave it alone.
    }
  }
  return files.sort((a, b) => a.startDate - b.startDate);
}

interface RunnerActions {
  startExecution(name: string, input: unknown): { started: Promise<void>; startDate: number };
  stopExecution(name: string): Promise<LocalExecution | undefined>;
  describeExecution(name: string): LocalExecution | undefined;
}

/** The Step Functions actions the service calls (JSON 1.0 protocol): StartExecution, StopExecution, DescribeExecution. */
async function handleApi(req: IncomingMessage, res: ServerResponse, actions: RunnerActions): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const action = String(req.headers['x-amz-target'] ?? '').replace('AWSStepFunctions.', '');
  const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { name?: string; input?: string; executionArn?: string };
  const notFound = () => sendJson(res, 400, { __type: 'ExecutionDoesNotExist', message: `Execution does not exist: '${body.executionArn}'` });
  switch (action) {
    case 'StartExecution': {
      const name = body.name ?? randomUUID();
      let execution;
      try {
        execution = actions.startExecution(name, JSON.parse(body.input ?? '{}'));
      } catch (error) {
        return sendJson(res, 400, { __type: (error as { type?: string }).type ?? 'InvalidExecutionInput', message: (error as Error).message });
      }
      // Answer once the execution is on disk: from then on it survives a restart.
      await execution.started;
      return sendJson(res, 200, { executionArn: executionArn(name), startDate: execution.startDate / 1000 });
    }
    case 'StopExecution': {
      // AWS answers ExecutionDoesNotExist for an unknown execution, and 200 (a no-op) for one that already ended.
      const execution = await actions.stopExecution(executionName(body.executionArn));
      if (!execution) return notFound();
      return sendJson(res, 200, { stopDate: (execution.stopDate ?? Date.now()) / 1000 });
    }
    case 'DescribeExecution': {
      const execution = actions.describeExecution(executionName(body.executionArn));
      if (!execution) return notFound();
      return sendJson(res, 200, {
        executionArn: executionArn(execution.name),
        stateMachineArn: LOCAL_STATE_MACHINE_ARN,
        name: execution.name,
        status: execution.status,
        startDate: execution.startDate / 1000,
        ...(execution.stopDate !== undefined && { stopDate: execution.stopDate / 1000 }),
        input: JSON.stringify(execution.input),
      });
    }
    default:
      return sendJson(res, 400, { __type: 'UnknownOperationException', message: `${action} is not served locally` });
  }
}

function executionArn(name: string): string {
  return `arn:aws:states:${REGION}:${ACCOUNT}:execution:connector-sync:${name}`;
}

/** The execution name an execution ARN ends with (the name never contains ':'). */
function executionName(arn: string | undefined): string {
  return String(arn ?? '').split(':').pop() ?? '';
}

/** Execution names are 1-80 characters of any kind; the file name keeps them unambiguous. */
function executionFileName(name: string): string {
  return `${encodeURIComponent(name)}.json`;
}

let tempCounter = 0;

/**
 * Replaces a file by writing a temp file beside it and renaming it over: a process killed
 * mid-write leaves the old file whole. (No fsync: this guards against a killed process,
 * which leaves the page cache intact, not against a machine losing power.)
 */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.${(tempCounter += 1)}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

/** Reads the haltAt option: a Task state's name, optionally followed by `:after`. */
function parseHalt(haltAt: string | undefined, states: Record<string, { Type: string }>): { state: string; after: boolean } | undefined {
  if (!haltAt) return undefined;
  const [state = '', when] = haltAt.split(':');
  if (states[state]?.Type !== 'Task' || (when !== undefined && when !== 'after')) {
    throw new Error(`haltAt must name a Task state of the definition, optionally with ':after'; got ${haltAt}`);
  }
  return { state, after: when === 'after' };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/x-amz-json-1.0');
  res.end(JSON.stringify(body));
}

function lambdaContext(name: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `connector-local-${name}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:connector-${name}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/connector-local-${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 300_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
