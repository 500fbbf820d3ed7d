import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import AdmZip from 'adm-zip';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { archiveKind, extractArchive } from './extract-archive.js';

type TarEntry = { name: string; body?: string; type?: tar.Headers['type']; linkname?: string; size?: number };

/** A .tar.gz built entry by entry, so the test can write what no well-behaved tar would. */
async function tarGz(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => pack.on('end', resolve));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const header: tar.Headers = { name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}) };
      if (e.type === 'file' || e.type === undefined) pack.entry(header, e.body ?? '', (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

/** A .zip; names and modes are set after addFile, which would clean them up, so hostile ones stay hostile. */
function zip(entries: { name: string; body: string; mode?: number }[]): Buffer {
  const z = new AdmZip();
  for (const e of entries) {
    const entry = z.addFile(`placeholder-${z.getEntries().length}`, Buffer.from(e.body));
    entry.entryName = e.name;
    if (e.mode !== undefined) entry.header.attr = (e.mode * 0x10000) >>> 0;
  }
  return z.toBuffer();
}

describe('extractArchive', () => {
  let root: string;
  let dest: string;
  const file = async (name: string, bytes: Buffer): Promise<string> => {
    const p = join(root, name);
    await writeFile(p, bytes);
    return p;
  };
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'extract-test-'));
    dest = join(root, 'out');
    await import('node:fs/promises').then((fs) => fs.mkdir(dest));
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('knows archives by name', () => {
    expect([archiveKind('m.tar.gz'), archiveKind('M.TGZ'), archiveKind('m.zip'), archiveKind('dir'), archiveKind('m.onnx')]).toEqual(['tar.gz', 'tar.gz', 'zip', undefined, undefined]);
  });

  it('extracts a .tar.gz with folders', async () => {
    const a = await file('m.tgz', await tarGz([{ name: 'model/', type: 'directory' }, { name: 'model/MLmodel', body: 'flavors: {}\n' }, { name: 'model/sub/x.json', body: '[1]' }]));
    await extractArchive(a, dest, { maxBytes: 1024 });
    expect(await readFile(join(dest, 'model/MLmodel'), 'utf8')).toBe('flavors: {}\n');
    expect(await readFile(join(dest, 'model/sub/x.json'), 'utf8')).toBe('[1]');
  });

  it('extracts a .tar.gz made with `tar -C dir .` (a ./ directory entry)', async () => {
    const a = await file('dot.tar.gz', await tarGz([{ name: './', type: 'directory' }, { name: './MLmodel', body: 'm' }]));
    await extractArchive(a, dest, { maxBytes: 1024 });
    expect(await readdir(dest)).toEqual(['MLmodel']);
  });

  it('extracts a .zip with folders', async () => {
    const a = await file('m.zip', zip([{ name: 'MLmodel', body: 'flavors: {}\n' }, { name: 'sub/x.json', body: '[1]' }]));
    await extractArchive(a, dest, { maxBytes: 1024 });
    expect(await readFile(join(dest, 'MLmodel'), 'utf8')).toBe('flavors: {}\n');
    expect(await readFile(join(dest, 'sub/x.json'), 'utf8')).toBe('[1]');
  });

  it.each<[string, () => Promise<Buffer>, string, RegExp]>([
    ['a tar entry with ..', () => tarGz([{ name: 'ok', body: 'a' }, { name: 'model/../../evil', body: 'x' }]), 'a.tar.gz', /entry "model\/\.\.\/\.\.\/evil" leaves the archive's directory/],
    ['a tar entry with an absolute path', () => tarGz([{ name: '/etc/evil', body: 'x' }]), 'a.tar.gz', /entry "\/etc\/evil" has an absolute or non-portable path/],
    ['a tar symlink pointing out', () => tarGz([{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }]), 'a.tgz', /entry "link" is a symlink; links and special files are not extracted/],
    ['a tar hard link', () => tarGz([{ name: 'a', body: 'x' }, { name: 'b', type: 'link', linkname: '../../a' }]), 'a.tgz', /entry "b" is a link/],
    ['a tar over the size limit', () => tarGz([{ name: 'a', body: 'x'.repeat(600) }, { name: 'b', body: 'y'.repeat(600) }]), 'a.tgz', /expands past the limit of 1024 bytes/],
    ['a tar file entry with no name', () => tarGz([{ name: './', body: 'x' }]), 'a.tgz', /file entry "\.\/" has no file name/],
    ['a tar naming a file twice', () => tarGz([{ name: 'a', body: 'x' }, { name: 'a', body: 'y' }]), 'a.tgz', /names the file "a" twice/],
    ['gzip that is not a tar', async () => gzipSync(Buffer.from('no tar here'.repeat(100))), 'a.tgz', /is not a readable \.tar\.gz archive/],
    ['a file that is not gzip', async () => Buffer.from('plain text'), 'a.tar.gz', /is not a readable \.tar\.gz archive/],
    ['a zip entry with ..', async () => zip([{ name: '../evil', body: 'x' }]), 'a.zip', /entry "\.\.\/evil" leaves the archive's directory/],
    ['a zip entry with a backslash path', async () => zip([{ name: '..\\evil', body: 'x' }]), 'a.zip', /has an absolute or non-portable path/],
    ['a zip symlink', async () => zip([{ name: 'link', body: '/etc/passwd', mode: 0o120777 }]), 'a.zip', /entry "link" is a symlink/],
    ['a zip over the size limit', async () => zip([{ name: 'a', body: '0'.repeat(2000) }]), 'a.zip', /expands past the limit of 1024 bytes/],
    ['a file that is not a zip', async () => Buffer.from('PK but not really'), 'a.zip', /is not a readable \.zip archive/],
  ])('refuses %s with ARCHIVE_REFUSED', async (_what, make, name, message) => {
    const a = await file(name, await make());
    await expect(extractArchive(a, dest, { maxBytes: 1024 })).rejects.toMatchObject({ code: 'ARCHIVE_REFUSED', message: expect.stringMatching(message) });
    // Nothing lands outside dest whatever happened inside it.
    expect((await readdir(root)).sort()).toEqual(['out', name].sort());
  });

  it('refuses a zip whose entry count passes the limit before writing any', async () => {
    const a = await file('many.zip', zip(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: 'x' }))));
    await expect(extractArchive(a, dest, { maxBytes: 1024, maxEntries: 4 })).rejects.toMatchObject({ code: 'ARCHIVE_REFUSED', message: expect.stringMatching(/more than 4 entries/) });
    expect(await readdir(dest)).toEqual([]);
  });
});
