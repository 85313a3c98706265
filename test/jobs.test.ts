// Jobs on a real engine: each run is an Engine exec of `sh -c <command>` in the service's
// live container, with stored output and the exit code from exec inspect; timeouts and
// cancels really end the processes (checked with `docker top`).
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CancelJobRunDocument,
  CreateJobDocument,
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeleteJobDocument,
  DeployServiceDocument,
  JobDocument,
  JobRunDocument,
  JobRunOutputDocument,
  RunJobDocument,
  ServiceJobsDocument,
  UpdateJobDocument,
  type JobRunFieldsFragment,
  type JobRunOutputSubscription,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed } from './support/api.ts';
import { docker, exec } from './support/docker.ts';
import { infra } from './support/infra.ts';
import { wsSubscribe } from './support/subscriptions.ts';

let t: TestApp;
let deploymentId: string;
let serviceId: string;
let containerId: string;

async function createJob(input: Record<string, unknown>): Promise<string> {
  const { createJob: r } = await t.client.request(CreateJobDocument, { input: { serviceId, ...input } as never });
  if (r.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(r));
  return r.data.id;
}

async function runJob(jobId: string): Promise<JobRunFieldsFragment> {
  const { runJob: r } = await t.client.request(RunJobDocument, { id: jobId });
  if (r.__typename !== 'MutationRunJobSuccess') throw new Error(JSON.stringify(r));
  return r.data;
}

async function finished(runId: string): Promise<JobRunFieldsFragment> {
  for (;;) {
    const { jobRun } = await t.client.request(JobRunDocument, { id: runId });
    if (jobRun && jobRun.status !== 'RUNNING') return jobRun;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Command lines of the processes in the service container, as the host sees them. */
async function processes(): Promise<string[]> {
  const top = (await docker().getContainer(containerId).top({ ps_args: '-eo pid,args' })) as { Processes: string[][] };
  return top.Processes.map((p) => p.slice(1).join(' '));
}

/** Every event of the run's output subscription (graphql-ws), once the server ends it. */
async function collect(jobRunId: string) {
  const subscription = wsSubscribe<JobRunOutputSubscription>(t.url, t.adminToken, print(JobRunOutputDocument), { jobRunId });
  await subscription.done;
  await subscription.close();
  return subscription.results.map((result) => {
    if (result.errors?.length) throw new Error(JSON.stringify(result.errors));
    return result.data!.jobRunOutput;
  });
}

beforeAll(async () => {
  t = await startTestApp();
  deploymentId = await createDeploymentNamed(t, 'jobs');
  const { createService } = await t.client.request(CreateServiceDocument, {
    input: { deploymentId, name: 'worker', image: infra().registryImageBusybox, command: 'idle', envVars: [{ key: 'GREETING', value: 'hi' }] },
  });
  if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error(JSON.stringify(createService));
  serviceId = createService.data.id;
  const { deployService } = await t.client.request(DeployServiceDocument, { id: serviceId, wait: true });
  if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(deployService));
  containerId = deployService.data.containerId!;
}, 180_000);

afterAll(async () => {
  if (deploymentId) await t?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await t?.stop();
});

describe('running jobs in the live container', () => {
  it('runs the command with the container env and stores its output and exit code', async () => {
    const jobId = await createJob({ name: 'hello', command: 'echo "$GREETING from $(hostname)"; echo to-stderr >&2; echo made-by-job > /tmp/job-file' });
    const run = await runJob(jobId);
    expect(run).toMatchObject({ status: 'RUNNING', trigger: 'MANUAL', triggeredBy: 'bootstrap', exitCode: null });
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'SUCCEEDED', exitCode: 0, error: null, outputTruncated: false });
    const hostname = (await docker().getContainer(containerId).inspect()).Config.Hostname;
    expect(done.output).toContain(`hi from ${hostname}\n`);
    expect(done.output).toContain('to-stderr\n');
    expect(done.execId).toMatch(/^[0-9a-f]{64}$/);
    expect(Date.parse(done.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done.startedAt));
    // It ran inside the service's container, not anywhere else.
    expect(await exec(containerId, ['cat', '/tmp/job-file'])).toEqual({ output: 'made-by-job\n', exitCode: 0 });
    const info = await docker().getExec(done.execId!).inspect();
    expect(info).toMatchObject({ Running: false, ExitCode: 0, ContainerID: containerId });
    expect(info.ProcessConfig).toMatchObject({ entrypoint: 'sh', arguments: ['-c', expect.stringContaining('$GREETING')] });
  });

  it('a command that exits 3 fails with exit code 3', async () => {
    const jobId = await createJob({ name: 'boom', command: 'echo before; exit 3' });
    const done = await finished((await runJob(jobId)).id);
    expect(done).toMatchObject({ status: 'FAILED', exitCode: 3, output: 'before\n', error: 'exited with code 3' });
  });

  it('a run past its timeout is TIMED_OUT and its processes are gone, children and TERM-ignorers included', async () => {
    const jobId = await createJob({ name: 'slow', command: 'trap "" TERM; echo started; sleep 779 & sleep 778', timeoutSeconds: 2 });
    const run = await runJob(jobId);
    const done = await finished(run.id);
    expect(done).toMatchObject({ status: 'TIMED_OUT', output: 'started\n' });
    expect(done.error).toContain('timed out after 2s');
    expect(done.exitCode).toBe(137); // SIGKILL: TERM was ignored
    expect(Date.parse(done.finishedAt!) - Date.parse(done.startedAt)).toBeGreaterThanOrEqual(2000);
    expect((await docker().getExec(done.execId!).inspect()).Running).toBe(false);
    const left = await processes();
    expect(left.filter((p) => /sleep 77[89]/.test(p))).toEqual([]);
  });

  it('refuses an overlapping run unless the job allows it, and cancels runs for real', async () => {
    const jobId = await createJob({ name: 'long', command: 'echo working; sleep 771' });
    const first = await runJob(jobId);
    const { runJob: second } = await t.client.request(RunJobDocument, { id: jobId });
    expect(second).toMatchObject({ __typename: 'JobAlreadyRunningError', code: 'JOB_ALREADY_RUNNING', jobRun: { id: first.id, status: 'RUNNING' } });

    const { updateJob } = await t.client.request(UpdateJobDocument, { input: { id: jobId, allowOverlap: true } });
    expect(updateJob).toMatchObject({ data: { allowOverlap: true } });
    const overlapping = await runJob(jobId);
    expect(overlapping.status).toBe('RUNNING');

    for (const run of [first, overlapping]) {
      const { cancelJobRun } = await t.client.request(CancelJobRunDocument, { id: run.id });
      expect(cancelJobRun).toMatchObject({ __typename: 'MutationCancelJobRunSuccess', data: { status: 'CANCELLED', error: 'cancelled by bootstrap' } });
      const done = await finished(run.id);
      expect(done.status).toBe('CANCELLED');
    }
    // The exit code arrives once the exec has stopped; the processes are gone by then.
    for (const run of [first, overlapping]) {
      for (let i = 0; (await finished(run.id)).exitCode === null && i < 100; i++) await new Promise((r) => setTimeout(r, 100));
      expect((await finished(run.id)).exitCode).toBe(143); // SIGTERM
    }
    expect((await processes()).filter((p) => p.includes('sleep 771'))).toEqual([]);
    const { cancelJobRun: again } = await t.client.request(CancelJobRunDocument, { id: first.id });
    expect(again).toMatchObject({ __typename: 'ConflictError' });
  });

  it('fails fast with a typed error when the service is not running', async () => {
    const { createService } = await t.client.request(CreateServiceDocument, {
      input: { deploymentId, name: 'never-deployed', image: infra().registryImageBusybox, command: 'idle' },
    });
    if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error('service');
    const { createJob: job } = await t.client.request(CreateJobDocument, { input: { serviceId: createService.data.id, name: 'x', command: 'true' } });
    if (job.__typename !== 'MutationCreateJobSuccess') throw new Error('job');
    const { runJob: r } = await t.client.request(RunJobDocument, { id: job.data.id });
    expect(r).toMatchObject({ __typename: 'ServiceNotRunningError', code: 'SERVICE_NOT_RUNNING', serviceId: createService.data.id, status: 'CREATED' });
    const { job: stored } = await t.client.request(JobDocument, { id: job.data.id });
    expect(stored!.runs).toEqual([]);
  });

  it('streams output live; a late subscriber gets the stored output first, without gaps or duplicates', async () => {
    const jobId = await createJob({ name: 'stream', command: 'for i in $(seq 1 30); do echo line-$i; sleep 0.1; done; echo done >&2' });
    const run = await runJob(jobId);
    const early = collect(run.id);
    // Join late: after some output is already stored.
    for (;;) {
      const { jobRun } = await t.client.request(JobRunDocument, { id: run.id });
      if (jobRun!.output.includes('line-5\n')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const late = collect(run.id);
    const [earlyEvents, lateEvents] = await Promise.all([early, late]);
    const done = await finished(run.id);
    const expected = Array.from({ length: 30 }, (_, i) => `line-${i + 1}\n`).join('') + 'done\n';
    expect(done).toMatchObject({ status: 'SUCCEEDED', output: expected });
    for (const events of [earlyEvents, lateEvents]) {
      const output = events.filter((e) => e.kind === 'OUTPUT');
      expect(output.map((e) => e.data).join('')).toBe(expected);
      let offset = 0;
      for (const e of output) {
        expect(e.offset).toBe(offset);
        offset += e.data.length;
      }
      expect(events.at(-1)).toMatchObject({ kind: 'FINISHED', status: 'SUCCEEDED', exitCode: 0 });
    }
    // The late subscriber got what was stored as one replayed chunk first, then live chunks.
    expect(lateEvents[0]).toMatchObject({ kind: 'OUTPUT', offset: 0, stream: null });
    expect(lateEvents[0].data).toContain('line-5\n');
    expect(lateEvents.filter((e) => e.kind === 'OUTPUT').length).toBeGreaterThan(1);
    // A subscriber after the end gets the stored output and the outcome, then the stream ends.
    const after = await collect(run.id);
    expect(after).toEqual([
      { jobRunId: run.id, kind: 'OUTPUT', offset: 0, data: expected, stream: null, status: null, exitCode: null },
      { jobRunId: run.id, kind: 'FINISHED', offset: expected.length, data: '', stream: null, status: 'SUCCEEDED', exitCode: 0 },
    ]);
  });

  it('keeps the run history newest first and lists jobs on the service', async () => {
    const { service } = await t.client.request(ServiceJobsDocument, { id: serviceId });
    expect(service!.jobs.map((j) => j.name)).toEqual(['boom', 'hello', 'long', 'slow', 'stream']);
    const long = service!.jobs.find((j) => j.name === 'long')!;
    const { job } = await t.client.request(JobDocument, { id: long.id });
    expect(job!.runs.map((r) => r.status)).toEqual(['CANCELLED', 'CANCELLED']);
    const starts = job!.runs.map((r) => Date.parse(r.startedAt));
    expect(starts[0]).toBeGreaterThanOrEqual(starts[1]);
  });

  it('validates jobs when saved', async () => {
    const { createJob: bad } = await t.client.request(CreateJobDocument, {
      input: { serviceId, name: '-bad', command: ' ', schedule: '61 * * * *', timeoutSeconds: 0 },
    });
    expect(bad.__typename).toBe('ValidationError');
    if (bad.__typename !== 'ValidationError') return;
    expect(bad.issues.map((i) => i.path).sort()).toEqual(['command', 'name', 'schedule', 'timeoutSeconds']);
    const { createJob: dup } = await t.client.request(CreateJobDocument, { input: { serviceId, name: 'hello', command: 'true' } });
    expect(dup.__typename).toBe('ConflictError');
    const { createJob: never } = await t.client.request(CreateJobDocument, { input: { serviceId, name: 'feb30', command: 'true', schedule: '0 0 30 2 *' } });
    expect(never).toMatchObject({ __typename: 'ValidationError', issues: [{ path: 'schedule', message: 'never fires' }] });
  });

  it('deletes a job with its history', async () => {
    const jobId = await createJob({ name: 'temp', command: 'true' });
    await finished((await runJob(jobId)).id);
    const { deleteJob } = await t.client.request(DeleteJobDocument, { id: jobId });
    expect(deleteJob).toMatchObject({ __typename: 'MutationDeleteJobSuccess', data: jobId });
    expect((await t.client.request(JobDocument, { id: jobId })).job).toBeNull();
  });
});
