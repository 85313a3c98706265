// Scheduled jobs on a real engine and a real PostgreSQL: slots fire on time and are
// recorded like manual runs; two API instances run each slot once; slots that pass while
// no instance runs are recorded as MISSED when one comes back.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateJobDocument,
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
  JobDocument,
  UpdateJobDocument,
  type JobQuery,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed } from './support/api.ts';
import { createTestDatabase, type TestDatabase } from './support/database.ts';
import { exec } from './support/docker.ts';
import { infra } from './support/infra.ts';

type Job = NonNullable<JobQuery['job']>;

let database: TestDatabase;
let env: Record<string, string>;
let a: TestApp;
let b: TestApp | undefined;
let c: TestApp | undefined;
let deploymentId: string;
let serviceId: string;
let containerId: string;
let minuteJobId: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createJob(app: TestApp, input: Record<string, unknown>): Promise<Job> {
  const { createJob: r } = await app.client.request(CreateJobDocument, { input: { serviceId, ...input } as never });
  if (r.__typename !== 'MutationCreateJobSuccess') throw new Error(JSON.stringify(r));
  return (await job(app, r.data.id))!;
}

async function job(app: TestApp, id: string): Promise<Job> {
  return (await app.client.request(JobDocument, { id, first: 200 })).job!;
}

/** Polls the job until `done` holds for it. */
async function until(app: TestApp, id: string, done: (job: Job) => boolean): Promise<Job> {
  for (;;) {
    const current = await job(app, id);
    if (done(current)) return current;
    await sleep(200);
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  // Shared by every instance: the same database and the same sealing key.
  env = { DATABASE_URL: database.url, SPUNTO_SECRET_KEY: randomBytes(32).toString('base64') };
  a = await startTestApp({ env });
  deploymentId = await createDeploymentNamed(a, 'cron');
  const { createService } = await a.client.request(CreateServiceDocument, {
    input: { deploymentId, name: 'worker', image: infra().registryImageBusybox, command: 'idle' },
  });
  if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error('service');
  serviceId = createService.data.id;
  const { deployService } = await a.client.request(DeployServiceDocument, { id: serviceId, wait: true });
  if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(deployService));
  containerId = deployService.data.containerId!;
  // A plain five-field schedule, checked at the end of the file (it fires at the next minute).
  minuteJobId = (await createJob(a, { name: 'every-minute', command: 'echo minute', schedule: '* * * * *' })).id;
}, 180_000);

afterAll(async () => {
  const app = c ?? b ?? a;
  if (deploymentId) await app?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await c?.stop();
  await b?.stop();
  await a?.stop();
  await database?.drop();
});

describe('scheduled jobs', () => {
  it('exposes the next run time and fires a seconds schedule on its slot, recorded like a manual run', async () => {
    const created = await createJob(a, { name: 'tick', command: 'echo ticked', schedule: '*/2 * * * * *' });
    const next = Date.parse(created.nextRunAt!);
    expect(next % 2000).toBe(0);
    expect(next).toBeGreaterThan(Date.now() - 2000);
    const fired = await until(a, created.id, (j) => j.runs.some((r) => r.status === 'SUCCEEDED'));
    const run = fired.runs.find((r) => r.status === 'SUCCEEDED')!;
    expect(run).toMatchObject({ trigger: 'SCHEDULE', triggeredBy: 'schedule', exitCode: 0, output: 'ticked\n' });
    expect(Date.parse(run.scheduledFor!) % 2000).toBe(0);
    expect(Date.parse(run.startedAt)).toBeGreaterThanOrEqual(Date.parse(run.scheduledFor!));
    expect(Date.parse(fired.nextRunAt!)).toBeGreaterThan(Date.parse(run.scheduledFor!));
    await a.client.request(UpdateJobDocument, { input: { id: created.id, schedule: null } });
    expect((await job(a, created.id)).nextRunAt).toBeNull();
  });

  it('with two instances on one database, each slot runs exactly once', async () => {
    b = await startTestApp({ env });
    const counter = await createJob(a, { name: 'count', command: 'echo "$SPUNTO_EXEC_ID" >> /tmp/count', schedule: '* * * * * *' });
    const seen = await until(b, counter.id, (j) => j.runs.filter((r) => r.status === 'SUCCEEDED').length >= 5);
    await b.client.request(UpdateJobDocument, { input: { id: counter.id, schedule: null } });
    const settled = await until(b, counter.id, (j) => j.runs.every((r) => r.status !== 'RUNNING'));
    expect(settled.runs.length).toBeGreaterThanOrEqual(seen.runs.length);
    const slots = settled.runs.map((r) => r.scheduledFor!);
    expect(new Set(slots).size).toBe(slots.length);
    // Consecutive seconds, none skipped and none twice.
    const seconds = slots.map((s) => Date.parse(s) / 1000).sort((x, y) => x - y);
    expect(seconds.at(-1)! - seconds[0]).toBe(seconds.length - 1);
    // (A slot can only be MISSED if both schedulers were late for it.)
    expect(settled.runs.map((r) => r.status).filter((s) => s !== 'SUCCEEDED' && s !== 'MISSED')).toEqual([]);
    // Inside the container: one line per run, written by that run.
    const lines = (await exec(containerId, ['cat', '/tmp/count'])).output.trim().split('\n');
    const succeeded = settled.runs.filter((r) => r.status === 'SUCCEEDED');
    expect(lines.sort()).toEqual(succeeded.map((r) => r.id).sort());
  });

  it('records slots that passed while no instance was running as MISSED, and runs the next one', async () => {
    const created = await createJob(a, { name: 'missable', command: 'echo caught-up', schedule: '*/3 * * * * *' });
    const firstSlot = Date.parse(created.nextRunAt!);
    await b!.stop();
    await a.stop();
    // Every instance is down for three slots: the older ones are later than their grace (5 s).
    await sleep(9_000);
    const downUntil = Date.now();
    c = await startTestApp({ env });
    const after = await until(c, created.id, (j) => j.runs.some((r) => r.status === 'SUCCEEDED'));
    const missed = after.runs.filter((r) => r.status === 'MISSED');
    expect(missed.length).toBeGreaterThanOrEqual(1);
    expect(missed.some((r) => r.error!.startsWith('missed: no scheduler was running at '))).toBe(true);
    for (const run of missed) {
      expect(run).toMatchObject({ trigger: 'SCHEDULE', exitCode: null, execId: null });
      expect(run.error).toMatch(/^missed: /);
      expect(Date.parse(run.scheduledFor!)).toBeLessThan(downUntil);
      expect(run.startedAt).toBe(run.scheduledFor);
    }
    const ran = after.runs.find((r) => r.status === 'SUCCEEDED')!;
    expect(ran.output).toBe('caught-up\n');
    expect(Date.parse(ran.scheduledFor!)).toBeGreaterThan(Date.parse(missed[0].scheduledFor!));
    // Slots from the first to the one that ran: each recorded once, missed or run.
    const slots = after.runs.map((r) => Date.parse(r.scheduledFor!)).sort((x, y) => x - y);
    expect(slots[0]).toBe(firstSlot);
    for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBe(3000);
    await c.client.request(UpdateJobDocument, { input: { id: created.id, schedule: null } });
  });

  it('fires a five-field schedule within its minute', { timeout: 150_000 }, async () => {
    const fired = await until(c!, minuteJobId, (j) => j.runs.some((r) => r.status === 'SUCCEEDED'));
    const run = fired.runs.find((r) => r.status === 'SUCCEEDED')!;
    expect(run).toMatchObject({ trigger: 'SCHEDULE', output: 'minute\n' });
    expect(Date.parse(run.scheduledFor!) % 60_000).toBe(0);
    expect(Date.parse(run.startedAt) - Date.parse(run.scheduledFor!)).toBeLessThan(60_000);
  });
});
