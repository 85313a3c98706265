// Custom domains end to end against real DNS and a real ACME CA: TXT verification through
// pebble-challtestsrv, certificates from Pebble over HTTP-01 answered by the edge (Pebble
// validates on 127.0.0.1:5002, so this is the one test file that binds it), HTTPS through
// the edge validated against Pebble's root, retries, renewal, removal.
import dgram from 'node:dgram';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateDeploymentDocument,
  CreateServiceDocument,
  DeleteDeploymentWithVolumesDocument,
  DeployServiceDocument,
  RemoveCustomDomainDocument,
  ServiceDomainDocument,
  SetCustomDomainDocument,
  VerifyCustomDomainDocument,
  type CustomDomainFieldsFragment,
} from '../client/generated/graphql.ts';
import { startTestApp, type TestApp } from './support/app.ts';
import { createDeploymentNamed, createServiceIn, deployAndWait } from './support/api.ts';
import { pushWeb } from './support/docker.ts';
import { challtestsrv, edgeRequest, eventually, freePort, pebbleRoot } from './support/edge.ts';
import { infra } from './support/infra.ts';

const BASE = 'spunto.test';
const run = Date.now().toString(36);
const domainA = `app-${run}.example.test`;
const domainB = `fail-${run}.example.test`;
const domainC = `next-${run}.example.test`;
let t: TestApp;
let root: string;
let httpsPort: number;
let deploymentId: string;
let webId: string;
let otherId: string;

const createService = (name: string, image: string) => createServiceIn(t, deploymentId, { name, image, httpPort: 8080 });

async function setDomain(serviceId: string, domain: string) {
  return (await t.client.request(SetCustomDomainDocument, { serviceId, domain })).setCustomDomain;
}

async function verify(serviceId: string): Promise<CustomDomainFieldsFragment> {
  const { verifyCustomDomain: r } = await t.client.request(VerifyCustomDomainDocument, { serviceId });
  if (r.__typename !== 'MutationVerifyCustomDomainSuccess') throw new Error(JSON.stringify(r));
  return r.data;
}

async function domainOf(serviceId: string): Promise<CustomDomainFieldsFragment | null> {
  const { service } = await t.client.request(ServiceDomainDocument, { id: serviceId });
  return service?.customDomain ?? null;
}

const overHttp = (host: string, path = '/') => edgeRequest({ port: t.app.edge.httpPort!, host, path });
const overHttps = (host: string) => edgeRequest({ port: httpsPort, host, tls: { ca: root } });
const txt = (domain: string) => `_spunto-challenge.${domain}.`;

beforeAll(async () => {
  root = await pebbleRoot();
  httpsPort = await freePort();
  t = await startTestApp({
    env: {
      SPUNTO_EDGE_HTTP_PORT: String(infra().pebbleHttpPort),
      SPUNTO_EDGE_HTTPS_PORT: String(httpsPort),
      SPUNTO_BASE_DOMAIN: BASE,
      SPUNTO_ACME_DIRECTORY: infra().acmeDirectory,
      SPUNTO_ACME_CA_FILE: infra().acmeCaFile,
      SPUNTO_DNS_SERVERS: infra().dnsServer,
    },
  });
  deploymentId = await createDeploymentNamed(t, 'domains');
  webId = await createService('web', await pushWeb(`dom-${run}`, 'through the edge'));
  otherId = await createService('other', infra().registryImageWeb);
  for (const id of [webId, otherId]) {
    const { deployService } = await t.client.request(DeployServiceDocument, { id, wait: true });
    if (deployService.__typename !== 'MutationDeployServiceSuccess') throw new Error(JSON.stringify(deployService));
  }
}, 180_000);

afterAll(async () => {
  for (const domain of [domainA, domainB, domainC]) {
    await challtestsrv('clear-txt', { host: txt(domain) }).catch(() => {});
    await challtestsrv('clear-servfail', { host: `${domain}.` }).catch(() => {});
  }
  if (deploymentId) await t?.client.request(DeleteDeploymentWithVolumesDocument, { id: deploymentId, removeVolumes: true }).catch(() => {});
  await t?.stop();
});

describe('setting a custom domain', () => {
  it.each([
    ['*.example.test', 'wildcard domains are not supported'],
    ['127.0.0.1', 'an IP address cannot be a custom domain'],
    ['[::1]', 'an IP address cannot be a custom domain'],
    ['1.2.3', 'an IP address cannot be a custom domain'],
    ['https://app.example.test/', 'enter a bare domain name'],
    ['example', 'at least two labels'],
    ['bad_label.example.test', 'label "bad_label" is invalid'],
    [`web.domains.${BASE}`, "under the platform's base domain"],
    [BASE, "under the platform's base domain"],
  ])('refuses %s', async (domain, message) => {
    const r = await setDomain(webId, domain);
    expect(r.__typename).toBe('ValidationError');
    if (r.__typename !== 'ValidationError') return;
    expect(r.issues[0]).toMatchObject({ path: 'domain' });
    expect(r.issues[0].message).toContain(message);
  });

  it('stores an international name in its ASCII form', async () => {
    const r = await setDomain(otherId, `Bücher-${run}.Example.TEST.`);
    expect(r.__typename).toBe('MutationSetCustomDomainSuccess');
    if (r.__typename !== 'MutationSetCustomDomainSuccess') return;
    expect(r.data.domain).toMatch(new RegExp(`^xn--bcher-${run}-[a-z0-9]+\\.example\\.test$`));
    expect(r.data.unicodeDomain).toBe(`bücher-${run}.example.test`);
  });

  it('issues a verification token and says which TXT record to create', async () => {
    const r = await setDomain(webId, domainA);
    expect(r.__typename).toBe('MutationSetCustomDomainSuccess');
    if (r.__typename !== 'MutationSetCustomDomainSuccess') return;
    const domain = r.data;
    expect(domain).toMatchObject({
      domain: domainA,
      txtRecordName: `_spunto-challenge.${domainA}`,
      verified: false,
      status: 'PENDING',
      observedTxt: [],
      certificateStatus: 'NONE',
    });
    expect(domain.verificationToken).toMatch(/^spunto-verify=[0-9a-f]{32}$/);
    expect(domain.message).toBe(`Create a TXT record named _spunto-challenge.${domainA} with the value "${domain.verificationToken}", then verify.`);
    // Setting the same domain again keeps the token.
    const again = await setDomain(webId, domainA.toUpperCase());
    expect(again).toMatchObject({ data: { verificationToken: domain.verificationToken } });
  });

  it('does not route an unverified domain', async () => {
    expect((await overHttp(domainA)).status).toBe(404);
  });

  it('refuses a domain another service already has', async () => {
    const r = await setDomain(otherId, domainA);
    expect(r.__typename).toBe('ConflictError');
  });
});

describe('verifying by TXT record', () => {
  it('reports a missing record', async () => {
    const d = await verify(webId);
    expect(d).toMatchObject({ verified: false, status: 'MISSING', observedTxt: [] });
    expect(d.message).toContain(`_spunto-challenge.${domainA} has no TXT record yet`);
    expect(d.message).toContain(d.verificationToken);
    expect(d.lastCheckedAt).not.toBeNull();
  });

  it('reports a wrong value and what it saw', async () => {
    await challtestsrv('set-txt', { host: txt(domainA), value: 'someone-elses-token' });
    const d = await verify(webId);
    expect(d).toMatchObject({ verified: false, status: 'MISMATCH', observedTxt: ['someone-elses-token'], certificateStatus: 'NONE' });
    expect(d.message).toContain('"someone-elses-token"');
    expect(d.message).toContain(`not the verification token "${d.verificationToken}"`);
  });

  it('verifies the right token (beside other records) and queues the certificate', async () => {
    const { verificationToken } = (await domainOf(webId))!;
    await challtestsrv('set-txt', { host: txt(domainA), value: verificationToken });
    const d = await verify(webId);
    expect(d).toMatchObject({ verified: true, status: 'VERIFIED' });
    expect(d.observedTxt.sort()).toEqual(['someone-elses-token', verificationToken].sort());
    expect(['PENDING', 'ISSUED']).toContain(d.certificateStatus);
    // Routed over HTTP as soon as it is verified.
    expect(await overHttp(domainA)).toMatchObject({ status: 200, body: 'through the edge' });
  });
});

describe('certificates from Pebble over HTTP-01', () => {
  let firstSerial: string;

  it('issues the certificate through the edge and serves HTTPS by SNI', async () => {
    const d = await eventually('certificate issued', async () => {
      const current = await domainOf(webId);
      return current?.certificateStatus === 'ISSUED' && current;
    });
    expect(d).toMatchObject({ certificateError: null, certificateAttempts: 0 });
    expect(new Date(d.certificateExpiresAt!).getTime()).toBeGreaterThan(Date.now());
    const res = await overHttps(domainA);
    expect(res).toMatchObject({ status: 200, body: 'through the edge' });
    expect(res.certificate?.subjectaltname).toContain(`DNS:${domainA}`);
    firstSerial = res.certificate!.serialNumber;
  });

  it('redirects HTTP to HTTPS for the domain, but not the default hostname', async () => {
    const res = await overHttp(domainA, '/some/path?q=1');
    expect(res.status).toBe(308);
    expect(res.headers.location).toBe(`https://${domainA}:${httpsPort}/some/path?q=1`);
    expect(await overHttp(`web.domains.${BASE}`)).toMatchObject({ status: 200, body: 'through the edge' });
  });

  it('keeps keys sealed at rest: the certificate key and the one ACME account key', async () => {
    const row = await t.app.db.prisma.customDomain.findUniqueOrThrow({ where: { domain: domainA } });
    expect(row.privateKeySealed).toMatch(/^v1:/);
    expect(row.privateKeySealed).not.toContain('PRIVATE KEY');
    const accounts = await t.app.db.prisma.acmeAccount.findMany();
    expect(accounts).toHaveLength(1);
    expect(accounts[0]).toMatchObject({ directoryUrl: infra().acmeDirectory, accountKeySealed: expect.stringMatching(/^v1:/) });
    expect(accounts[0].accountUrl).toMatch(/^https:\/\/127\.0\.0\.1:14000\//);
  });

  it('renews when a third of the lifetime is left and serves the new certificate at once', async () => {
    const row = await t.app.db.prisma.customDomain.findUniqueOrThrow({ where: { domain: domainA } });
    const leaf = new X509Certificate(row.certificatePem!);
    const notBefore = new Date(leaf.validFrom).getTime();
    const notAfter = new Date(leaf.validTo).getTime();
    expect(Math.abs(row.nextAttemptAt!.getTime() - (notAfter - (notAfter - notBefore) / 3))).toBeLessThan(1000);
    // Not due yet: nothing happens.
    await t.app.services.certificates.attempt(webId);
    expect((await overHttps(domainA)).certificate?.serialNumber).toBe(firstSerial);
    // At renewal time a new certificate is ordered and served without any redeploy.
    const renewed = await t.app.services.certificates.attempt(webId, new Date(row.nextAttemptAt!.getTime() + 1000));
    expect(renewed).toMatchObject({ certificateStatus: 'ISSUED', certificateError: null });
    expect(renewed!.certificatePem).not.toBe(row.certificatePem);
    const res = await overHttps(domainA);
    expect(res.status).toBe(200);
    expect(res.certificate?.serialNumber).not.toBe(firstSerial);
  });

  it('records a failing challenge and retries it later with backoff', async () => {
    // Pebble can't resolve the domain: the HTTP-01 validation fails.
    await challtestsrv('set-servfail', { host: `${domainB}.` });
    const set = await setDomain(otherId, domainB);
    if (set.__typename !== 'MutationSetCustomDomainSuccess') throw new Error(JSON.stringify(set));
    await challtestsrv('set-txt', { host: txt(domainB), value: set.data.verificationToken });
    expect(await verify(otherId)).toMatchObject({ verified: true });
    const failed = await eventually('certificate failed', async () => {
      const d = await domainOf(otherId);
      return d?.certificateStatus === 'FAILED' && d;
    });
    expect(failed.certificateAttempts).toBe(1);
    expect(failed.certificateError).toMatch(/^attempt 1 failed: .*could not resolve URL "http:\/\/fail-.*:5002\/\.well-known\/acme-challenge\//);
    const firstRetry = new Date(failed.nextCertificateAttemptAt!).getTime();
    expect(firstRetry - Date.now()).toBeGreaterThan(9 * 60_000);

    // Before it is due nothing is ordered; when due, it is retried and backs off further.
    await t.app.services.certificates.processDue();
    expect((await domainOf(otherId))!.certificateAttempts).toBe(1);
    const retried = await t.app.services.certificates.attempt(otherId, new Date(firstRetry + 1000));
    expect(retried).toMatchObject({ certificateStatus: 'FAILED', certificateAttempts: 2 });
    expect(retried!.certificateError).toMatch(/^attempt 2 failed: /);
    expect(retried!.nextAttemptAt!.getTime() - (firstRetry + 1000)).toBe(20 * 60_000);

    // Once the name resolves, the next retry succeeds.
    await challtestsrv('clear-servfail', { host: `${domainB}.` });
    const fixed = await t.app.services.certificates.attempt(otherId, new Date(retried!.nextAttemptAt!.getTime() + 1000));
    expect(fixed).toMatchObject({ certificateStatus: 'ISSUED', certificateAttempts: 0, certificateError: null });
    expect(await overHttps(domainB)).toMatchObject({ status: 200, body: 'hello' });
  });

  it('changing the domain removes the old routes and certificate, and stops renewing it', async () => {
    const r = await setDomain(webId, domainC);
    expect(r).toMatchObject({ __typename: 'MutationSetCustomDomainSuccess', data: { domain: domainC, verified: false, certificateStatus: 'NONE' } });
    expect((await overHttp(domainA)).status).toBe(404);
    await expect(overHttps(domainA)).rejects.toThrow();
    expect((await overHttp(domainC)).status).toBe(404);
    expect(await t.app.db.prisma.customDomain.count({ where: { domain: domainA } })).toBe(0);
    // The default hostname is untouched.
    expect(await overHttp(`web.domains.${BASE}`)).toMatchObject({ status: 200, body: 'through the edge' });
  });

  it('removing the domain unroutes it at once', async () => {
    const { removeCustomDomain: r } = await t.client.request(RemoveCustomDomainDocument, { serviceId: otherId });
    expect(r).toMatchObject({ __typename: 'MutationRemoveCustomDomainSuccess', data: { id: otherId, customDomain: null } });
    expect((await overHttp(domainB)).status).toBe(404);
    await expect(overHttps(domainB)).rejects.toThrow();
    const again = await t.client.request(VerifyCustomDomainDocument, { serviceId: otherId });
    expect(again.verifyCustomDomain.__typename).toBe('NotFoundError');
  });
});

describe('DNS failures a resolver can answer with', () => {
  let dns: dgram.Socket;
  let t2: TestApp;
  let serviceId: string;

  beforeAll(async () => {
    // A real DNS server over UDP that answers NXDOMAIN for names with "nx", and never answers names with "slow".
    dns = dgram.createSocket('udp4');
    dns.on('message', (query, peer) => {
      let end = 12;
      const labels: string[] = [];
      while (query[end]) {
        labels.push(query.subarray(end + 1, end + 1 + query[end]).toString());
        end += query[end] + 1;
      }
      if (labels.some((l) => l.startsWith('slow'))) return;
      const reply = Buffer.from(query.subarray(0, end + 5));
      reply[2] = 0x80 | (query[2] & 0x79);
      reply[3] = 0x80 | 3;
      reply.writeUInt16BE(0, 6);
      reply.writeUInt16BE(0, 8);
      reply.writeUInt16BE(0, 10);
      dns.send(reply, peer.port, peer.address);
    });
    await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));
    t2 = await startTestApp({ env: { SPUNTO_DNS_SERVERS: `127.0.0.1:${(dns.address() as AddressInfo).port}`, SPUNTO_BASE_DOMAIN: BASE } });
    const { createDeployment } = await t2.client.request(CreateDeploymentDocument, { input: { name: 'dns' } });
    if (createDeployment.__typename !== 'MutationCreateDeploymentSuccess') throw new Error('deployment');
    const { createService } = await t2.client.request(CreateServiceDocument, {
      input: { deploymentId: createDeployment.data.id, name: 'web', image: infra().registryImageWeb, httpPort: 8080 },
    });
    if (createService.__typename !== 'MutationCreateServiceSuccess') throw new Error('service');
    serviceId = createService.data.id;
  });

  afterAll(async () => {
    await t2?.stop();
    dns?.close();
  });

  it('reports NXDOMAIN', async () => {
    await t2.client.request(SetCustomDomainDocument, { serviceId, domain: 'nx.example.test' });
    const { verifyCustomDomain: r } = await t2.client.request(VerifyCustomDomainDocument, { serviceId });
    expect(r).toMatchObject({ data: { verified: false, status: 'NXDOMAIN' } });
    if (r.__typename !== 'MutationVerifyCustomDomainSuccess') return;
    expect(r.data.message).toContain('_spunto-challenge.nx.example.test does not exist (NXDOMAIN');
  });

  it('reports a resolver that does not answer', async () => {
    await t2.client.request(SetCustomDomainDocument, { serviceId, domain: 'slow.example.test' });
    const { verifyCustomDomain: r } = await t2.client.request(VerifyCustomDomainDocument, { serviceId });
    expect(r).toMatchObject({ data: { verified: false, status: 'TIMEOUT' } });
    if (r.__typename !== 'MutationVerifyCustomDomainSuccess') return;
    expect(r.data.message).toContain('did not answer for _spunto-challenge.slow.example.test');
  });
});
