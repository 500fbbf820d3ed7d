/**
 * The deploy/ kit against the code it describes: files the compose files and Dockerfile reference
 * exist, the EMQX ACL grants devices exactly the channels of the MQTT contract
 * (shared/src/contract/topics.ts), so a new channel cannot be forgotten in the broker rules, and
 * the operations/security docs name only test files and deploy/ files that exist.
 * (Docker itself is not available on CI; these are the checks that do not need it.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEVICE_PUBLISH_CHANNELS, DEVICE_SUBSCRIBE_CHANNELS } from '@edgefleet/shared';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(repo, path), 'utf8');

describe('deploy/docker', () => {
  it.each(['deploy/docker/compose.yaml', 'deploy/docker/compose.emqx.yaml'])('%s mounts only files that exist', (file) => {
    const mounts = [...read(file).matchAll(/^\s*-\s*(\.\.?\/[^:\s]+):/gm)].map((m) => m[1] ?? '');
    expect(mounts.length).toBeGreaterThan(0);
    const missing = mounts.filter((m) => !existsSync(resolve(dirname(join(repo, file)), m)));
    expect(missing).toEqual([]);
  });

  it('the Dockerfile copies only paths that exist and runs as a non-root user', () => {
    const dockerfile = read('deploy/docker/Dockerfile');
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.filter((s) => !existsSync(join(repo, s)))).toEqual([]);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS build$/m);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:20-slim$/m);
    expect(dockerfile).toMatch(/^USER edgefleet:edgefleet$/m);
  });
});

describe('deploy/emqx ACL', () => {
  const acl = read('deploy/emqx/edgefleet-acl.conf');
  const rule = (action: string): string[] => {
    const body = new RegExp(`\\{allow, all, ${action}, \\[([^\\]]*)\\]\\}\\.`).exec(acl)?.[1] ?? '';
    return [...body.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '');
  };

  it('lets a device publish exactly its own device→control-plane channels', () => {
    expect(rule('publish').sort()).toEqual(DEVICE_PUBLISH_CHANNELS.map((c) => `edgefleet/v1/devices/\${username}/${c}`).sort());
  });

  it('lets a device subscribe exactly to its own control-plane→device channels', () => {
    expect(rule('subscribe').sort()).toEqual(DEVICE_SUBSCRIBE_CHANNELS.map((c) => `edgefleet/v1/devices/\${username}/${c}`).sort());
  });

  it('denies everything else', () => {
    expect(acl.trim().endsWith('{deny, all}.')).toBe(true);
    expect(read('deploy/emqx/emqx.conf')).toMatch(/no_match = deny/);
  });
});

describe('docs/security.md, operations.md and jetson.md stay true', () => {
  it.each(['docs/security.md', 'docs/operations.md', 'docs/jetson.md'])('every test file %s names exists', (doc) => {
    const named = [...read(doc).matchAll(/`([\w./-]+\.test\.ts)`/g)].map((m) => m[1] ?? '');
    if (doc === 'docs/security.md') expect(named.length).toBeGreaterThan(5);
    expect(named.filter((path) => !existsSync(join(repo, path)))).toEqual([]);
  });

  it('every deploy/ file the docs name exists', () => {
    const named = ['docs/security.md', 'docs/operations.md', 'docs/jetson.md'].flatMap((doc) =>
      [...read(doc).matchAll(/`(deploy\/[\w./-]+)`/g)].map((m) => (m[1] ?? '').replace(/\/$/, '')),
    );
    expect(named.length).toBeGreaterThan(5);
    expect([...new Set(named)].filter((path) => !existsSync(join(repo, path)))).toEqual([]);
  });
});

